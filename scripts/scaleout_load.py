#!/usr/bin/env python3
"""Players held by one snapwire process against three behind one Redis.

For each player count N, runs the same swarm (--matchmake, aoi, rooms of
--room-capacity so that both set-ups hold the same rooms) against:
- one process on its own (it answers /matchmake for itself);
- three processes sharing a redis-server started here (loopback, free port,
  persistence off), matchmade through the first.
Every server is pinned to --server-cpu, the swarm (one thread) to
--swarm-cpu: on a 2-core machine the server side gets one core whichever
way it is split, so this measures what scaling out costs, not what it adds.
Server CPU is the sum over the processes, from /proc. Stops everything it
starts. Writes OUT/scaleout.md and OUT/scaleout.json. Standard library only.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from load_sweep import cpu_between, cpu_seconds, free_port, stop, wait_listening  # noqa: E402


def start_redis(port):
    redis = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--loglevel", "warning"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_listening(port, redis)
    return redis


def run(args, procs, n):
    redis = None
    servers, ports = [], []
    try:
        extra = []
        if procs > 1:
            rport = free_port()
            redis = start_redis(rport)
            extra = ["--redis-url", f"redis://127.0.0.1:{rport}"]
        for i in range(procs):
            port = free_port()
            ports.append(port)
            servers.append(subprocess.Popen(
                ["taskset", "-c", str(args.server_cpu), args.server_bin,
                 "--listen", f"127.0.0.1:{port}", "--admin-listen", "off",
                 "--room-capacity", str(args.room_capacity), "--max-connections-per-ip", "0",
                 "--threads", "1"] + extra,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=open(os.path.join(args.out, f"server-{procs}p-{n}-{i}.log"), "w")))
        for s, p in zip(servers, ports):
            wait_listening(p, s)
        time.sleep(1.5)  # registered (renewal every second)
        report_path = os.path.join(args.out, f"report-{procs}p-{n}.json")
        swarm = subprocess.Popen(
            ["taskset", "-c", str(args.swarm_cpu), args.bot_bin,
             "--matchmake", f"http://127.0.0.1:{ports[0]}/matchmake", "--bots", str(n),
             "--duration", f"{args.window}s", "--ramp-up", f"{args.ramp}s", "--threads", "1",
             "--seed", "1", "--report", report_path, "--log", "info"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        marks = {}

        def read_marks():
            for line in swarm.stderr:
                if "window started" in line:
                    marks["start"] = time.monotonic()
                elif "window ended" in line:
                    marks["end"] = time.monotonic()
        reader = threading.Thread(target=read_marks, daemon=True)
        reader.start()
        samples = []
        deadline = time.monotonic() + args.ramp + args.window + 60
        while swarm.poll() is None:
            if time.monotonic() > deadline:
                stop(swarm, signal.SIGKILL)
                raise RuntimeError("swarm did not finish in time")
            try:
                samples.append((time.monotonic(), sum(cpu_seconds(s.pid) for s in servers)))
            except (FileNotFoundError, ProcessLookupError):
                pass
            time.sleep(0.2)
        reader.join(timeout=5)
        with open(report_path) as f:
            report = json.load(f)
        t0, t1 = marks["start"], marks.get("end", marks["start"] + report["window_s"])
        cores = cpu_between(samples, t0, t1) / (t1 - t0)
    finally:
        for s in servers:
            stop(s)
        if redis is not None:
            stop(redis, signal.SIGTERM)
    hz, p99 = report["snapshot_hz"], report["interarrival_ms"]["p99"]
    held = (hz >= 29.0 and p99 <= 50.0 and report["failed"] == 0
            and report["disconnected"] == 0 and report["connected"] == n)
    return {"procs": procs, "n": n, "held": held, "snapshot_hz": hz, "p99_ms": p99,
            "server_cores": cores, "failed": report["failed"],
            "us_per_snapshot": cores * 1e6 / (hz * n) if hz else None}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--players", default="500,1000,1500")
    ap.add_argument("--room-capacity", type=int, default=250)
    ap.add_argument("--window", type=float, default=10)
    ap.add_argument("--ramp", type=float, default=5)
    ap.add_argument("--server-cpu", type=int, default=0)
    ap.add_argument("--swarm-cpu", type=int, default=1)
    ap.add_argument("--server-bin", default="target/release/snapwire-server")
    ap.add_argument("--bot-bin", default="target/release/snapwire-bot")
    ap.add_argument("--out", default="target/scaleout")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rows = []
    for n in [int(x) for x in args.players.split(",")]:
        for procs in (1, 3):
            row = run(args, procs, n)
            rows.append(row)
            print(json.dumps(row), flush=True)
    lines = ["| players | processes | held | snapshot Hz | p99 gap ms | server cores (sum) | µs/snapshot |",
             "| ---: | ---: | :---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['n']} | {r['procs']} | {'yes' if r['held'] else 'no'} | {r['snapshot_hz']:.1f} "
                     f"| {r['p99_ms']:.1f} | {r['server_cores']:.2f} | {r['us_per_snapshot']:.1f} |")
    with open(os.path.join(args.out, "scaleout.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(args.out, "scaleout.json"), "w") as f:
        json.dump(rows, f, indent=2)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
