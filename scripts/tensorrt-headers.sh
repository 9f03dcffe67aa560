#!/usr/bin/env bash
# Prints the include directory of a TensorRT header set (Apache-2.0), fetching it first when needed
# from the crates.io package `trtx-sys` 0.9.1+rtx1.7, which ships them with a 4-line
# cuda_runtime_api.h stub (in the parent directory) so that they compile without CUDA. The download
# is checked against the checksum crates.io's index records.
#   bash scripts/tensorrt-headers.sh [rtx]  TensorRT-RTX 1.7, for the `tensorrt-rtx` feature
#   bash scripts/tensorrt-headers.sh 11     TensorRT 11.4, for the `tensorrt` feature
# Use: export VSRQA_TENSORRT_INCLUDE_DIR="$(bash scripts/tensorrt-headers.sh)"
set -euo pipefail
case "${1:-rtx}" in
  rtx) SET="TRT-RTX-1.7" ;;
  11) SET="TRT-Enterprise-11.4" ;;
  *) echo "usage: $0 [rtx|11]" >&2; exit 2 ;;
esac
VERSION="0.9.1+rtx1.7"
SHA256="5480ee056292951daa1bc74532162d6cb75190f091e45d7d97c0c356916ae171"
DIR="${XDG_CACHE_HOME:-$HOME/.cache}/vsrqa/trtx-sys-$VERSION"
INCLUDE="$DIR/TensorRT-Headers/$SET"
if [ ! -f "$INCLUDE/NvInfer.h" ]; then
  mkdir -p "$DIR"
  crate="$DIR/download.crate"
  curl -sSfL -o "$crate" "https://static.crates.io/crates/trtx-sys/trtx-sys-${VERSION/+/%2B}.crate"
  echo "$SHA256  $crate" | sha256sum -c --quiet -
  # Both sets at once: the test suite builds with each.
  tar -xzf "$crate" -C "$DIR" --strip-components=1 "trtx-sys-$VERSION/TensorRT-Headers/TRT-RTX-1.7" \
    "trtx-sys-$VERSION/TensorRT-Headers/TRT-Enterprise-11.4" "trtx-sys-$VERSION/TensorRT-Headers/cuda_runtime_api.h"
  rm -f "$crate"
fi
echo "$INCLUDE"
