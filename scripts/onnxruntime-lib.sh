#!/usr/bin/env bash
# Prints the path of an ONNX Runtime shared library for vsrqa's `onnxruntime` backend, fetching it
# first when needed: the library inside the `onnxruntime` wheel from PyPI (downloaded with pip, no
# dependencies, nothing installed into Python), unpacked under ~/.cache/vsrqa/onnxruntime-VERSION.
# Use: export ORT_DYLIB_PATH="$(bash scripts/onnxruntime-lib.sh)"
set -euo pipefail
VERSION="${VSRQA_ONNXRUNTIME_VERSION:-1.32.0}"
DIR="${XDG_CACHE_HOME:-$HOME/.cache}/vsrqa/onnxruntime-$VERSION"
find_lib() { { find "$DIR" -name 'libonnxruntime.so.*' -type f 2>/dev/null || true; } | sort | head -n 1; }
lib="$(find_lib)"
if [ -z "$lib" ]; then
  mkdir -p "$DIR/wheel"
  python3 -m pip download --quiet --no-deps --only-binary=:all: "onnxruntime==$VERSION" -d "$DIR/wheel" >&2
  python3 - "$DIR" <<'PY'
import pathlib, sys, zipfile
root = pathlib.Path(sys.argv[1])
for wheel in (root / "wheel").glob("onnxruntime-*.whl"):
    with zipfile.ZipFile(wheel) as z:
        for name in z.namelist():
            if "/capi/libonnxruntime.so" in name:
                z.extract(name, root)
PY
  rm -rf "$DIR/wheel"
  lib="$(find_lib)"
fi
if [ -z "$lib" ]; then
  echo "onnxruntime-lib.sh: no libonnxruntime.so in the onnxruntime $VERSION wheel" >&2
  exit 1
fi
echo "$lib"
