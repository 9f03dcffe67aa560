#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (.ci/run installs dependencies, then runs this).
#   - formatting and lints (cargo fmt --check, clippy -D warnings)
#   - cargo test over the workspace: unit tests, golden parity with the PyTorch reference, bundle
#     errors, engine and session behaviour, the committed C header being current (tests/header.rs),
#     the C ABI through the installed CMake and pkg-config package (tests/capi_package.rs, runs
#     ctest), FFmpeg decoding against ffmpeg/ffprobe (crates/vsrqa-ffmpeg/tests) and the CLI
#     (crates/vsrqa-cli/tests), the GPU preprocessing kernels emulated on the CPU and compiled
#     by NVRTC, device frames through whole sessions (tests/gpu_kernels_emulated.rs,
#     tests/device_frames_emulated.rs, tests/gpu_cuda.rs; its gpu_* tests need a GPU and
#     are ignored here), real full disks (tmpfs in a user namespace) and out-of-memory children
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
# The onnxruntime backend's tests need the library (fetched by scripts/install-deps.sh).
export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-$(bash scripts/onnxruntime-lib.sh)}"
# The GPU-path tests that need no GPU load TensorRT-RTX's library (also fetched by install-deps.sh).
export VSRQA_TEST_TENSORRT_RTX="${VSRQA_TEST_TENSORRT_RTX:-$(bash scripts/tensorrt-rtx-lib.sh)}"
# NVRTC compiles the GPU preprocessing kernels in tests/gpu_cuda.rs (no GPU needed; from PyPI).
export VSRQA_NVRTC_LIBRARY="${VSRQA_NVRTC_LIBRARY:-$(bash scripts/nvrtc-lib.sh)}"
# The `tensorrt-rtx` feature compiles vsrqa's C++ facade against TensorRT-RTX's headers (crates.io).
export VSRQA_TENSORRT_INCLUDE_DIR="${VSRQA_TENSORRT_INCLUDE_DIR:-$(bash scripts/tensorrt-headers.sh)}"
cargo fmt --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# Every feature combination builds: the library without its default `cuda` feature, and with all.
cargo clippy -p vsrqa --no-default-features --all-targets --locked -- -D warnings
cargo clippy --workspace --all-features --all-targets --locked -- -D warnings
cargo test --workspace --locked
# TensorRT-RTX engine builds of the fixture networks through the facade (no GPU needed).
cargo test -p vsrqa --features tensorrt-rtx --locked --test gpu_tensorrt_build
cargo test -p vsrqa-cli --features tensorrt-rtx --locked --test build_engines
