#!/usr/bin/env bash
# WebSocket conformance: the Autobahn test suite (the kosoku runner, from
# PyPI) against the release server's `--conformance-echo` endpoint, every case
# but sections 12 and 13 (permessage-deflate, which snapwire does not
# negotiate). Fails if any case fails; lists the non-strict and
# informational ones. Loopback only; the server is started and stopped here.
#
#   scripts/conformance.sh [--no-build] [kosoku options, e.g. -i '5.*']
set -euo pipefail
cd "$(dirname "$0")/.."
build=1
if [[ "${1:-}" == "--no-build" ]]; then build=0; shift; fi
python=$(scripts/test-venv.sh)
kosoku="$(dirname "$python")/kosoku"
if (( build )); then cargo build --release -p snapwire-server; fi
server=target/release/snapwire-server
port=$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
out=target/conformance
rm -rf "$out"
mkdir -p "$out"
"$server" --listen "127.0.0.1:$port" --conformance-echo --log warn >"$out/server.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT
"$python" - "$port" <<'PY'
import socket, sys, time
deadline = time.time() + 30
while True:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
        break
    except OSError:
        if time.time() > deadline:
            sys.exit("the server did not start listening within 30 s")
        time.sleep(0.1)
PY
started=$(date +%s)
timeout 900 "$kosoku" -m fuzzingclient -x '12.*' -x '13.*' "$@" -o "$out/reports" \
    "ws://127.0.0.1:$port/echo" >"$out/kosoku.log" 2>&1 || {
    echo "kosoku failed or timed out:"; tail -20 "$out/kosoku.log"; exit 1; }
echo "kosoku ran in $(( $(date +%s) - started )) s"
"$python" - "$out/reports/index.json" <<'PY'
import collections, json, sys
index = json.load(open(sys.argv[1]))
cases = {case: r for agent in index.values() for case, r in agent.items()}
def key(case):
    return tuple(int(p) for p in case.split("."))
tally = collections.Counter()
bad, notes = [], []
for case in sorted(cases, key=key):
    r = cases[case]
    b, c = r["behavior"], r["behaviorClose"]
    tally[b] += 1
    if "FAILED" in (b, c) or "UNIMPLEMENTED" in (b, c):
        bad.append(f"  {case}: {b} / close {c}")
    elif b != "OK" or c != "OK":
        notes.append(f"  {case}: {b} / close {c} (remote close code {r.get('remoteCloseCode')})")
print(f"Autobahn (kosoku): {len(cases)} cases: " + ", ".join(f"{n} {k}" for k, n in sorted(tally.items())))
if notes:
    print("not strictly OK (explained in README.md, WebSocket conformance):")
    print("\n".join(notes))
if bad:
    print("FAILED:")
    print("\n".join(bad))
    sys.exit(1)
if not cases:
    sys.exit("no case ran")
PY
