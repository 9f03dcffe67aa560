#!/usr/bin/env bash
# Prints the path of TensorRT-RTX's libtensorrt_rtx.so.1 (its ONNX parser beside it), fetching them
# first when needed from the `tensorrt-rtx-cu13-libs` wheel on PyPI (scripts/wheel-lib.sh). The
# library loads, parses ONNX and builds engines ahead of time on a machine without a GPU.
# Use: export VSRQA_TENSORRT_LIBRARY="$(bash scripts/tensorrt-rtx-lib.sh)"
set -euo pipefail
exec bash "$(dirname "$0")/wheel-lib.sh" tensorrt-rtx-cu13-libs "${VSRQA_TENSORRT_RTX_VERSION:-1.7.1.116}" \
  tensorrt_rtx_libs/lib 'libtensorrt_rtx.so.1'
