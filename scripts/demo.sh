#!/usr/bin/env bash
# Quick start: installs the build dependencies, builds the `vsrqa` tool and scores the sample clip
# with the tiny test bundle (random weights: the score shows the pipeline works, not quality).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --bin vsrqa
./target/debug/vsrqa info --model tests/data/tiny_bundle
./target/debug/vsrqa score --model tests/data/tiny_bundle tests/data/sample.y4m
