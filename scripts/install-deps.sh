#!/usr/bin/env bash
# Installs what building and testing vsrqa needs on Debian/Ubuntu: a C/C++ toolchain, CMake and
# pkg-config (the C package and its tests), FFmpeg (the CLI to make test videos, the libraries for
# the FFmpeg example and the CLI's decoder; libclang for ffmpeg-sys-next's bindgen), and Rust with
# rustfmt and clippy when missing; valgrind for the C ABI test under memcheck (tests/capi); abigail-tools (abidiff) for the ABI check against abi/vsrqa-1.abi; the ONNX
# Runtime library for the `onnxruntime` backend (scripts/onnxruntime-lib.sh, from the PyPI wheel);
# TensorRT-RTX's library for the GPU-path tests that need no GPU (scripts/tensorrt-rtx-lib.sh);
# NVRTC, which compiles the GPU preprocessing kernels without a GPU (scripts/nvrtc-lib.sh);
# python3-venv for the Python package's test venv (scripts/test.sh); GStreamer's development
# packages, tools and base/good/libav plugins for the GStreamer element (crates/gst-vsrqa) and its
# pipeline tests; on Debian, a deb-src entry for Debian's FFmpeg 5.1 and 7.1 sources, which the
# FFmpeg filter's build takes (`apt-get source`, ffmpeg/build.sh), and dpkg-dev to unpack them.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

packages=(build-essential util-linux cmake pkg-config curl ca-certificates ffmpeg libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libclang-dev valgrind abigail-tools python3 python3-pip python3-venv
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev gstreamer1.0-tools gstreamer1.0-plugins-base
  gstreamer1.0-plugins-good gstreamer1.0-libav dpkg-dev)
deb_src=/etc/apt/sources.list.d/vsrqa-deb-src.sources
added_deb_src=0
if grep -qx "ID=debian" /etc/os-release 2>/dev/null && [ ! -f "$deb_src" ]; then
  printf '%s\n' "Types: deb-src" "URIs: http://deb.debian.org/debian" "Suites: bookworm trixie" "Components: main" \
    "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" | $SUDO tee "$deb_src" >/dev/null
  added_deb_src=1
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
elif [ "$added_deb_src" = 1 ]; then
  $SUDO apt-get update -qq
fi

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "installing Rust (rustup, stable)"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
fi
if command -v rustup >/dev/null 2>&1; then
  rustup component add rustfmt clippy >/dev/null 2>&1 || true
fi
cargo --version
echo "ONNX Runtime: $(bash "$(dirname "$0")/onnxruntime-lib.sh")"
echo "TensorRT-RTX: $(bash "$(dirname "$0")/tensorrt-rtx-lib.sh")"
echo "NVRTC: $(bash "$(dirname "$0")/nvrtc-lib.sh")"
