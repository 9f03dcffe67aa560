#!/usr/bin/env bash
# The GPU suite (docs/gpu.md) on a machine with an NVIDIA GPU but no Rust toolchain, e.g. a GPU
# machine that receives a copy of this repository:
#   bash scripts/gpu-suite.sh pack   # here: the GPU test binaries, stripped, into target/gpu-suite
#   bash scripts/gpu-suite.sh run    # there, from the copy with target/gpu-suite: runs them
# `pack` takes tests/gpu_cuda.rs: the kernels against the CPU path, the caller's stream, device
# frames through whole sessions (the TensorRT tests need TensorRT's library on that machine, and
# cargo: see docs/gpu.md). `run` finds NVRTC at $VSRQA_NVRTC_LIBRARY, else in the CUDA toolkit,
# prints the GPUs, runs every test including the ignored gpu_ ones, and exits non-zero if any
# failed. The binaries read tests/data under the directory they were built in; `run` links that
# path to the copy when the copy lives elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=target/gpu-suite
case "${1:-}" in
  pack)
    export PATH="$HOME/.cargo/bin:$PATH"
    rm -rf "$DIR"
    mkdir -p "$DIR"
    cargo test -p vsrqa --locked --test gpu_cuda --no-run --message-format=json \
      | grep -o '"executable":"[^"]*"' | cut -d'"' -f4 | while read -r exe; do
        name="$(basename "$exe")"
        cp "$exe" "$DIR/${name%-*}"
        strip "$DIR/${name%-*}"
      done
    pwd > "$DIR/built-in"
    du -sh "$DIR"
    ;;
  run)
    [ -f "$DIR/built-in" ] || { echo "no $DIR: run 'bash scripts/gpu-suite.sh pack' where cargo is" >&2; exit 2; }
    built_in="$(cat "$DIR/built-in")"
    if [ "$built_in" != "$(pwd)" ] && [ ! -e "$built_in" ]; then
      mkdir -p "$(dirname "$built_in")"
      ln -s "$(pwd)" "$built_in"
    fi
    if [ -z "${VSRQA_NVRTC_LIBRARY:-}" ]; then
      VSRQA_NVRTC_LIBRARY="$(ls /usr/local/cuda/lib64/libnvrtc.so.* /usr/local/cuda-*/lib64/libnvrtc.so.* 2>/dev/null \
        | grep -v builtins | head -n 1 || true)"
      export VSRQA_NVRTC_LIBRARY
    fi
    echo "NVRTC: ${VSRQA_NVRTC_LIBRARY:-not found}"
    nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total --format=csv || true
    status=0
    for test in "$DIR"/*; do
      [ "$(basename "$test")" = built-in ] && continue
      echo "== $(basename "$test")"
      # child_process_* tests run as children of their parents, never on their own.
      "$test" --include-ignored --skip child_process_ --test-threads 1 || status=1
    done
    exit "$status"
    ;;
  *)
    echo "usage: bash scripts/gpu-suite.sh pack|run" >&2
    exit 2
    ;;
esac
