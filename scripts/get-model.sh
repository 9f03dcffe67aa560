#!/usr/bin/env bash
# The published weights to a ready bundle, in one command (docs/models.md):
#   bash scripts/get-model.sh full --out bundles/full --accept-licence
#   bash scripts/get-model.sh --list
# Sets up a Python venv with PyTorch and the export's packages (tools/requirements.txt; once, in
# $VSRQA_MODEL_VENV, default target/model-venv), builds the `vsrqa` tool for the final check when
# it is not built yet, then runs `python -m vsrqa_models` with the arguments given.
# PyPI's PyTorch wheels carry CUDA (about 5.6 GB); the export runs on the CPU. To take the smaller
# CPU-only wheels instead, set PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${VSRQA_MODEL_VENV:-target/model-venv}"
stamp="$venv/.requirements-$(sha256sum tools/requirements.txt | cut -c1-16)"
if [ ! -e "$stamp" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip
  "$venv/bin/pip" install --quiet -r tools/requirements.txt
  touch "$stamp"
fi
export PATH="$HOME/.cargo/bin:$PATH"
if [ ! -x target/release/vsrqa ] && [ ! -x target/debug/vsrqa ] && ! command -v vsrqa >/dev/null 2>&1; then
  cargo build --bin vsrqa   # the same build as scripts/demo.sh (a release build links with fat LTO: minutes more)
fi
PYTHONPATH="$PWD/tools${PYTHONPATH:+:$PYTHONPATH}" exec "$venv/bin/python" -m vsrqa_models "$@"
