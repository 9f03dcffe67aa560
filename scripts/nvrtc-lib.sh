#!/usr/bin/env bash
# Prints the path of NVRTC's libnvrtc.so.13 (with its libnvrtc-builtins beside it), fetching them
# first when needed from the `nvidia-cuda-nvrtc` wheel on PyPI (scripts/wheel-lib.sh). NVRTC
# compiles vsrqa's preprocessing kernels to PTX; it needs no GPU, so CI compiles them with it.
# Use: export VSRQA_NVRTC_LIBRARY="$(bash scripts/nvrtc-lib.sh)"
set -euo pipefail
exec bash "$(dirname "$0")/wheel-lib.sh" nvidia-cuda-nvrtc "${VSRQA_NVRTC_VERSION:-13.0.88}" \
  'nvidia/cu13/lib/libnvrtc' 'libnvrtc.so.13'
