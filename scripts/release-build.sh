#!/usr/bin/env bash
# Builds the release libraries (libvsrqa.so and libvsrqa.a, the `dist` profile: fat LTO, stripped)
# for any x86-64 Linux with glibc 2.17 or later (RHEL/CentOS 7 and everything since), checks the
# glibc floor and prints the sizes. The host's own toolchain would tie the libraries to the
# host's glibc; cargo-zigbuild links against glibc 2.17's symbol versions instead.
#
#   bash scripts/release-build.sh [OUT_DIR]     (default OUT_DIR: target/release-2.17)
#
# Then install them as a package (the tool links the host's FFmpeg, so it is left out):
#   cmake -S . -B build -DVSRQA_PREBUILT_LIB_DIR=OUT_DIR -DVSRQA_INSTALL_CLI=OFF ... (docs/c-api.md).
# Needs network access once, for cargo-zigbuild and Zig (PyPI, in a venv under target/). About
# 15 minutes on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
out="${1:-target/release-2.17}"
glibc_floor="2.17"
triple="x86_64-unknown-linux-gnu"

venv="target/zig-venv"
if [ ! -x "$venv/bin/cargo-zigbuild" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "cargo-zigbuild==0.24.1" "ziglang==0.17.1"
fi
export PATH="$PWD/$venv/bin:$PATH"
rustup target add "$triple" >/dev/null

target_dir="target/zigbuild"
cargo zigbuild -p vsrqa-capi --lib --locked --profile dist --target "$triple.$glibc_floor" --target-dir "$target_dir"
built="$target_dir/$triple/dist"

# The newest glibc symbol version the shared library asks for must not pass the floor.
newest="$(objdump -T "$built/libvsrqa_capi.so" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -Vu | tail -1)"
if [ "$(printf '%s\n%s\n' "$newest" "$glibc_floor" | sort -V | tail -1)" != "$glibc_floor" ]; then
  echo "error: libvsrqa.so needs glibc $newest, above the floor $glibc_floor" >&2
  exit 1
fi

mkdir -p "$out"
# cargo names them after the crate (vsrqa-capi); they ship, and install, as libvsrqa.
cp "$built/libvsrqa_capi.so" "$out/libvsrqa.so"
cp "$built/libvsrqa_capi.a" "$out/libvsrqa.a"
echo "libvsrqa.so and libvsrqa.a in $out (newest glibc symbol: $newest)"
ls -l "$out/libvsrqa.so" "$out/libvsrqa.a"
