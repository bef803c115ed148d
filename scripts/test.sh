#!/usr/bin/env bash
# The test command: every unit, property, integration and bench-smoke test
# (`cargo test --workspace --all-targets`), the TypeScript SDK's unit tests
# and build check, the Autobahn WebSocket conformance run against the
# release server, then the SDK against that server, in Node and in headless
# Chromium (scripts/test-ts.sh; needs node and npm). The Python tools some tests
# use are pinned in scripts/test-requirements.txt and installed into
# target/test-venv on first use (needs python3 with venv and pip).
set -euo pipefail
cd "$(dirname "$0")/.."
SNAPWIRE_TEST_PYTHON=$(scripts/test-venv.sh)
export SNAPWIRE_TEST_PYTHON
cargo test --workspace --all-targets
scripts/test-ts.sh
scripts/conformance.sh
scripts/test-ts.sh --against-server
