#!/usr/bin/env bash
# Builds the release binaries and runs the load sweep (see scripts/load_sweep.py
# for the options, e.g. `scripts/load-sweep.sh --counts 1000 2000 --variants aoi`).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p snapwire-server -p snapwire-bot
cargo build --release -p snapwire-benches --bin bare-broadcast
exec python3 scripts/load_sweep.py "$@"
