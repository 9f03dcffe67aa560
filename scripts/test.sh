#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (.ci/run installs dependencies, then runs this).
#   - formatting and lints (cargo fmt --check, clippy -D warnings), the layering check and the
#     library's dependency tree
#   - cargo test over the workspace: unit tests, golden parity with the PyTorch reference, bundle
#     errors, engine and session behaviour, the committed C header being current (tests/header.rs),
#     the C ABI through the installed CMake and pkg-config package (tests/capi_package.rs, runs
#     ctest), FFmpeg decoding against ffmpeg/ffprobe (crates/vsrqa-ffmpeg/tests) and the CLI
#     (crates/vsrqa-cli/tests), training (crates/vsrqa-train/tests), the GPU preprocessing kernels emulated on the CPU and compiled
#     by NVRTC, device frames through whole sessions (tests/gpu_kernels_emulated.rs,
#     tests/device_frames_emulated.rs, tests/gpu_cuda.rs; its gpu_* tests need a GPU and
#     are ignored here), real full disks (tmpfs in a user namespace) and out-of-memory children,
#     the GStreamer element in gst-launch pipelines (crates/gst-vsrqa/tests), the encoder loop
#     example (ctest, through tests/capi_package.rs)
#   - the FFmpeg filter (ffmpeg/): FFmpeg 5.1 and 7.1 built with it, its scores against the CLI's
#   - the Python package against the CLI, and batch scoring on a two-node Ray cluster (pytest)
#   - the real-weights command's downloads against a loopback server (pytest, tools/vsrqa_models)
#   - what the Python extension exports: no C API (check-exports.py)
set -euo pipefail
cd "$(dirname "$0")/.."
# Each step is echoed with the seconds since the start, so a log shows where the time goes.
export PS4='+ [${SECONDS}s] '
set -x
export PATH="$HOME/.cargo/bin:$PATH"
# The onnxruntime backend's tests need the library (fetched by scripts/install-deps.sh).
export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-$(bash scripts/onnxruntime-lib.sh)}"
# The GPU-path tests that need no GPU load TensorRT-RTX's library (also fetched by install-deps.sh).
export VSRQA_TEST_TENSORRT_RTX="${VSRQA_TEST_TENSORRT_RTX:-$(bash scripts/tensorrt-rtx-lib.sh)}"
# NVRTC compiles the GPU preprocessing kernels in tests/gpu_cuda.rs (no GPU needed; from PyPI).
export VSRQA_NVRTC_LIBRARY="${VSRQA_NVRTC_LIBRARY:-$(bash scripts/nvrtc-lib.sh)}"
# The TensorRT features compile vsrqa's C++ facade against a TensorRT header set (crates.io):
# `tensorrt-rtx` against TensorRT-RTX 1.7's, `tensorrt` against TensorRT 11.4's.
RTX_HEADERS="$(bash scripts/tensorrt-headers.sh rtx)"
TENSORRT_HEADERS="$(bash scripts/tensorrt-headers.sh 11)"
export VSRQA_TENSORRT_INCLUDE_DIR="$RTX_HEADERS"
cargo fmt --check
# The library's layering: a layer imports only from the layers below it (no file under src/backend/
# imports bundle, branch or frame) and no import circle (scripts/check-layering.py, which first
# checks on a made-up tree that it catches both).
python3 scripts/check-layering.py --self-test
python3 scripts/check-layering.py src
# The README is read in five minutes: at most 150 lines (the rest lives in docs/).
if [ "$(wc -l < README.md)" -gt 150 ]; then echo "error: README.md has more than 150 lines"; exit 1; fi
# The library stays small: training's numeric crates live in crates/vsrqa-train, not in its tree.
if cargo tree -p vsrqa --locked -e normal,build,dev --prefix none | grep -E "^(levenberg-marquardt|nalgebra) "; then
  echo "error: vsrqa's dependency tree has training's crates (above)"; exit 1
fi
cargo clippy --workspace --all-targets --locked -- -D warnings
# Every feature combination builds: the library and the C API without the default `cuda` feature,
# and with each TensorRT runner (the two exclude each other, so there is no --all-features build).
cargo clippy -p vsrqa -p vsrqa-capi --no-default-features --all-targets --locked -- -D warnings
# The library as users get it: its API alone, the internals private (no `internal` feature, which
# the workspace's tests and tools switch on), warnings as errors, and its documentation's links.
cargo clippy -p vsrqa --lib --locked -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc -p vsrqa --no-deps --locked
# Every public enum that will grow is #[non_exhaustive] (read from the documentation just built).
python3 scripts/check-enums.py --self-test
python3 scripts/check-enums.py target/doc/vsrqa
cargo clippy --workspace --features vsrqa-cli/tensorrt-rtx --all-targets --locked -- -D warnings
VSRQA_TENSORRT_INCLUDE_DIR="$TENSORRT_HEADERS" \
  cargo clippy --workspace --features vsrqa-cli/tensorrt --all-targets --locked -- -D warnings
cargo test --workspace --locked
# The FFmpeg filter (ffmpeg/vf_vsrqa.c, docs/ffmpeg.md): the C package installed from the build
# above, FFmpeg 5.1 and 7.1 (Debian's sources) built with the filter against it (ffmpeg/build.sh,
# about 2.5 minutes each; kept while nothing it is built from changes), then the filter's tests,
# which a plain `cargo test` leaves out (they need these builds). The C libraries come from
# target/debug/deps: `cargo test` builds them there and copies them up to target/debug only on
# `cargo build` (tests/capi_package.rs says more), so on a fresh clone only deps/ has them.
FFMPEG_DIR="$PWD/target/ffmpeg"
cmake -S . -B "$FFMPEG_DIR/package-build" -DVSRQA_PREBUILT_LIB_DIR="$PWD/target/debug/deps" \
  -DCMAKE_INSTALL_PREFIX="$FFMPEG_DIR/package" -DCMAKE_INSTALL_LIBDIR=lib -DVSRQA_INSTALL_CLI=OFF > /dev/null
cmake --build "$FFMPEG_DIR/package-build" > /dev/null
cmake --install "$FFMPEG_DIR/package-build" > /dev/null
for version in 5.1 7.1; do
  VSRQA_PKG="$FFMPEG_DIR/package" bash ffmpeg/build.sh "$version" "$FFMPEG_DIR/$version"
done
VSRQA_TEST_FFMPEG="$FFMPEG_DIR/5.1/bin/ffmpeg $FFMPEG_DIR/7.1/bin/ffmpeg" \
  cargo test -p vsrqa-cli --locked --test ffmpeg_filter -- --ignored
# The Python package (crates/vsrqa-python), installed by the README's pip command into a venv of
# its own (the dev profile, so that maturin reuses the build above), then pytest: the API against
# the CLI on the same files (target/debug/vsrqa, built above), and batch scoring on a two-node Ray
# cluster started on this machine.
python3 -m venv target/python-test
target/python-test/bin/pip install --quiet --upgrade pip
target/python-test/bin/pip install --quiet "ray==2.60.*" "pytest>=7"
MATURIN_PEP517_ARGS="--profile dev" target/python-test/bin/pip install --quiet --force-reinstall ./crates/vsrqa-python
(cd crates/vsrqa-python && ../../target/python-test/bin/python -m pytest -q tests)
# The real-weights command's downloads (tools/vsrqa_models) against a loopback server: sources in
# turn, resume, hashes, the mirror, --from, licence terms, disk space (no PyTorch needed).
target/python-test/bin/python -m pytest -q tools/vsrqa_models/tests
# The export's handling of networks over 2 GB (tools/vsrqa_ref/onnx_files.py: weights gathered
# into one file a piece at a time), with the onnx tools/requirements.txt was verified with.
target/python-test/bin/pip install --quiet "onnx==1.23.*"
target/python-test/bin/python -m pytest -q tools/vsrqa_ref/tests
# Only the C package's library exports the C API and has its SONAME: the Python extension installed
# above exports its entry point only (scripts/check-exports.py; its self-test first checks that it
# catches a stray export, an exported vsrqa_* function and the C library's SONAME). The GStreamer
# plugin's own test checks the plugin (crates/gst-vsrqa/tests/exports.rs).
python3 scripts/check-exports.py --self-test \
  "$(target/python-test/bin/python -c 'import vsrqa._native as native; print(native.__file__)')=PyInit_"
# The TensorRT features' tests. Each feature is built once, for the whole workspace: every step of
# a feature selects the same packages, so Cargo resolves the same features and reuses one build,
# and the dependencies are the default build's (Cargo.toml keeps their features the same).
RTX=(--workspace --features vsrqa-cli/tensorrt-rtx --locked)
# TensorRT-RTX engine builds of the fixture networks through the facade (no GPU needed), and
# `vsrqa build-engines`.
cargo test "${RTX[@]}" --test gpu_tensorrt_build --test gpu_tensorrt_backend --test build_engines
# The C package of a library holding the TensorRT facade (C++): static and shared links, and runs.
cargo test "${RTX[@]}" --test capi_package tensorrt_runner
cargo test "${RTX[@]}" --test cli info_says_why_the_gpu_path_is_unavailable
# The TensorRT 10/11 runner: its header checks, and the libraries it refuses or accepts.
export VSRQA_TENSORRT_INCLUDE_DIR="$TENSORRT_HEADERS"
TRT=(--workspace --features vsrqa-cli/tensorrt --locked)
cargo test "${TRT[@]}" --lib tensorrt
cargo test "${TRT[@]}" --test build_engines
cargo test "${TRT[@]}" --test cli info_says_why_the_gpu_path_is_unavailable
