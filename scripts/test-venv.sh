#!/usr/bin/env bash
# Makes (or reuses) target/test-venv with scripts/test-requirements.txt and
# prints its python's path. Rebuilt only when the requirements change.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/test-venv
stamp="$venv/.requirements"
if [[ ! -x "$venv/bin/python" ]] || ! cmp -s scripts/test-requirements.txt "$stamp"; then
    rm -rf "$venv"
    mkdir -p target
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/test-requirements.txt >&2
    cp scripts/test-requirements.txt "$stamp"
fi
echo "$PWD/$venv/bin/python"
