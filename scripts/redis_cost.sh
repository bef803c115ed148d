#!/usr/bin/env bash
# What the registry costs Redis: three release servers sharing a fresh
# redis-server (loopback, free port, persistence off), first with no rooms,
# then with ROOMS rooms (one bot each, --room-capacity 1); over WINDOW
# seconds, Redis's own counters (INFO commandstats, INFO stats) give the
# commands and bytes per second, and per room per second by difference.
# Stops everything it starts.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOMS=${ROOMS:-60}
WINDOW=${WINDOW:-10}
server=target/release/snapwire-server
bot=target/release/snapwire-bot
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --loglevel warning --daemonize no >/dev/null &
rpid=$!
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; kill "$rpid" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT
until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.05; done
first=
for i in 1 2 3; do
    p=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    first=${first:-$p}
    "$server" --listen 127.0.0.1:"$p" --admin-listen off --redis-url redis://127.0.0.1:"$port" \
        --room-capacity 1 --max-connections-per-ip 0 --log warn &
    pids+=($!)
done
sleep 2
measure() {
    redis-cli -p "$port" config resetstat >/dev/null
    sleep "$WINDOW"
    local calls bytes_in bytes_out
    calls=$(redis-cli -p "$port" info commandstats | awk -F'[=,:]' '/^cmdstat_/ {n += $3} END {print n}')
    bytes_in=$(redis-cli -p "$port" info stats | awk -F: '/^total_net_input_bytes/ {print $2+0}')
    bytes_out=$(redis-cli -p "$port" info stats | awk -F: '/^total_net_output_bytes/ {print $2+0}')
    echo "$calls $bytes_in $bytes_out"
}
read -r c0 i0 o0 < <(measure)
"$bot" --matchmake http://127.0.0.1:"$first"/matchmake --bots "$ROOMS" --duration $((WINDOW + 6))s --log error >/dev/null &
pids+=($!)
sleep 4
read -r c1 i1 o1 < <(measure)
# redis-cli's own INFO calls are counted too; both windows have the same number.
python3 - "$ROOMS" "$WINDOW" "$c0" "$i0" "$o0" "$c1" "$i1" "$o1" <<'PY'
import sys
rooms, window = int(sys.argv[1]), float(sys.argv[2])
c0, i0, o0, c1, i1, o1 = map(int, sys.argv[3:])
print(f"3 processes, no rooms: {c0/window:.1f} commands/s, {i0/window:.0f} B/s in, {o0/window:.0f} B/s out")
print(f"3 processes, {rooms} rooms: {c1/window:.1f} commands/s, {i1/window:.0f} B/s in, {o1/window:.0f} B/s out")
print(f"per room per second: {(c1-c0)/window/rooms:.1f} commands (inside the scripts), "
      f"{(i1-i0)/window/rooms:.0f} B in, {(o1-o0)/window/rooms:.0f} B out")
PY
