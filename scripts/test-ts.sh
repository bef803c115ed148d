#!/usr/bin/env bash
# The TypeScript SDK's checks (clients/ts), with its pinned tools from the
# npm registry (`npm ci`): the type check, the unit tests, and a fresh build
# that must equal the checked-in dist/ (what the server serves and embeds).
# With --against-server instead: the tests against the real release server
# (Node) and in headless Chromium (Debian's /usr/bin/chromium, no download).
#
#   scripts/test-ts.sh [--against-server]
set -euo pipefail
cd "$(dirname "$0")/../clients/ts"
if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules ]]; then
    npm ci --no-audit --no-fund
fi
if [[ "${1:-}" == "--against-server" ]]; then
    (cd ../.. && cargo build --release -p snapwire-server --bin snapwire-server --example shooter)
    npm run test:server
    npm run test:e2e
    exit 0
fi
npm run typecheck
npm test
npm run build
# The fresh build against what git holds (the index: committed, or staged
# for commit), and no file git does not know.
if ! git diff --quiet -- dist || [[ -n "$(git ls-files --others --exclude-standard -- dist)" ]]; then
    echo "clients/ts/dist differs from a fresh build of the sources:"
    git --no-pager diff --stat -- dist
    git ls-files --others --exclude-standard -- dist
    echo "run 'npm run build' in clients/ts and commit dist/"
    exit 1
fi
