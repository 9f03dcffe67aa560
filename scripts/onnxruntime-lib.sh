#!/usr/bin/env bash
# Prints the path of an ONNX Runtime shared library for vsrqa's `onnxruntime` backend, fetching it
# first when needed from the `onnxruntime` wheel on PyPI (scripts/wheel-lib.sh).
# Use: export ORT_DYLIB_PATH="$(bash scripts/onnxruntime-lib.sh)"
set -euo pipefail
exec bash "$(dirname "$0")/wheel-lib.sh" onnxruntime "${VSRQA_ONNXRUNTIME_VERSION:-1.32.0}" \
  /capi/libonnxruntime.so 'libonnxruntime.so.*'
