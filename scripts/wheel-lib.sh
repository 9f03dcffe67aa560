#!/usr/bin/env bash
# Prints the path of a shared library shipped inside a PyPI wheel, fetching it first when needed:
# the wheel is downloaded with pip (no dependencies, nothing installed into Python) and only the
# libraries are unpacked, under ~/.cache/vsrqa/PACKAGE-VERSION.
# Use: bash scripts/wheel-lib.sh PACKAGE VERSION MEMBER_SUBSTRING LIBRARY_GLOB
#   MEMBER_SUBSTRING selects the wheel members to unpack; LIBRARY_GLOB names the one to print.
set -euo pipefail
PACKAGE="$1" VERSION="$2" MEMBER="$3" LIBRARY="$4"
DIR="${XDG_CACHE_HOME:-$HOME/.cache}/vsrqa/$PACKAGE-$VERSION"
find_lib() { { find "$DIR" -name "$LIBRARY" -type f 2>/dev/null || true; } | sort | head -n 1; }
lib="$(find_lib)"
if [ -z "$lib" ]; then
  mkdir -p "$DIR/wheel"
  python3 -m pip download --quiet --no-deps --only-binary=:all: "$PACKAGE==$VERSION" -d "$DIR/wheel" >&2
  python3 - "$DIR" "$MEMBER" <<'PY'
import pathlib, sys, zipfile
root, member = pathlib.Path(sys.argv[1]), sys.argv[2]
for wheel in (root / "wheel").glob("*.whl"):
    with zipfile.ZipFile(wheel) as z:
        for name in z.namelist():
            if member in name:
                z.extract(name, root)
PY
  rm -rf "$DIR/wheel"
  lib="$(find_lib)"
fi
if [ -z "$lib" ]; then
  echo "wheel-lib.sh: no $LIBRARY in the $PACKAGE $VERSION wheel" >&2
  exit 1
fi
echo "$lib"
