#!/usr/bin/env python3
"""Load sweep: snapwire-server against the snapwire-bot swarm, on loopback.

For each player count N and each visibility variant (aoi: view radius 300;
full: view radius 0), with the world side of docs/WORKLOAD.md, this starts
the release server pinned to one CPU and the swarm pinned to another, waits
for the swarm's steady window, and reads the server's and the swarm's CPU
time and the server's memory from /proc (never from the processes
themselves). It starts and stops every process it starts, by PID, with time
bounds, and only ever uses 127.0.0.1.

After each run the same swarm is pointed at bare-broadcast (the transport
done the obvious way, one task per socket) with snapwire's payload size, and
then at bare-broadcast --mode batched: one plain thread that walks every raw
non-blocking socket once per tick (read, one write of a pre-framed message;
no epoll, no task per connection), the floor of one TCP connection per
client on this machine. The table divides snapwire's µs/snapshot by each
one's µs/message ("ratio to bare", "ratio to floor"). --no-floor skips the
floor; --floor-mode loop runs the reactor-driven loop in its place.

The batched floor is signalled (SIGUSR1) at the swarm's window marks and
prints what it did over the window: messages fully written, skipped and
dropped, and its own send gap and tick-to-send p50/p99; sweep.json keeps
that as the floor's server_window (and the CPU per message it counted).

For snapwire runs the server's own delivery cadence is read from its admin
listener's /metrics at the start and the end of the swarm's window: the gap
between two snapshots written to one connection and the time from a tick to
each send (p50/p99 interpolated within the histogram's buckets, as
Prometheus' histogram_quantile does). They show what the server did even
where the swarm, on the other core, cannot keep up.

Writes OUT/sweep.md (the table), OUT/sweep.json (everything) and one swarm
report per run. Standard library only.
"""

import argparse
import json
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    """user + sys CPU seconds of a process, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def wait_listening(port, proc, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited early")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not listen in time")


def stop(proc, sig=signal.SIGINT, grace=5.0):
    if proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def cpu_between(samples, t0, t1):
    """CPU seconds used between t0 and t1, interpolated from (t, cpu) samples."""
    def at(t):
        prev = samples[0]
        for s in samples:
            if s[0] >= t:
                if s[0] == prev[0]:
                    return s[1]
                f = (t - prev[0]) / (s[0] - prev[0])
                return prev[1] + f * (s[1] - prev[1])
            prev = s
        return samples[-1][1]
    return at(t1) - at(t0)


def scrape(admin_port):
    """Histogram buckets and plain samples of one /metrics scrape."""
    with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/metrics", timeout=5) as r:
        text = r.read().decode()
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, value = line.rsplit(" ", 1)
        samples[key] = float(value)
    return samples


def quantile_ms(before, after, name, q):
    """The q-quantile (ms) of histogram `name` over the window between two
    scrapes, interpolated linearly within its bucket."""
    prefix = name + '_bucket{le="'
    bounds = []
    for key, value in after.items():
        if key.startswith(prefix):
            le = key[len(prefix):-2]
            bound = math.inf if le == "+Inf" else float(le)
            bounds.append((bound, value - before.get(key, 0.0)))
    bounds.sort()
    if not bounds or bounds[-1][1] <= 0:
        return None
    target = q * bounds[-1][1]
    lower, below = 0.0, 0.0
    for bound, cumulative in bounds:
        if cumulative >= target:
            if math.isinf(bound):
                return lower * 1e3
            inside = cumulative - below
            frac = (target - below) / inside if inside > 0 else 1.0
            return (lower + frac * (bound - lower)) * 1e3
        lower, below = bound, cumulative
    return None


def run_one(args, n, variant):
    radius = 300 if variant == "aoi" else 0
    side = max(1000.0, 100.0 * math.sqrt(n))
    port, admin_port = free_port(), free_port()
    cmd = [args.server_bin, "--listen", f"127.0.0.1:{port}", "--view-radius", str(radius),
           "--world-size", f"{side:.1f}", "--room-capacity", str(max(n, 1)),
           "--max-connections-per-ip", "0", "--admin-listen", f"127.0.0.1:{admin_port}",
           "--log", "warn"]
    row = measure(args, n, variant, f"{variant}-{n}", cmd, port, admin_port)
    row["world_size"] = side
    if (args.baseline or args.floor) and row["report"]["snapshot_hz"] > 0:
        rep = row["report"]
        size = max(16, round(rep["bytes_in_per_bot_s"] / rep["snapshot_hz"]))
        row["payload_bytes"] = size
        if args.baseline:
            row["baseline"] = bare(args, n, variant, size, "tasks")
            row["baseline"]["payload_bytes"] = size
        if args.floor:
            # The same payload from one pass over raw sockets per tick: the
            # transport's floor on this machine, below any design with a
            # socket per client.
            row["floor"] = bare(args, n, variant, size, args.floor_mode)
            row["floor"]["payload_bytes"] = size
        for key, ratio in (("baseline", "baseline_ratio"), ("floor", "floor_ratio")):
            other = row.get(key)
            if other and other["us_per_message"] and row["us_per_snapshot"]:
                row[ratio] = row["us_per_snapshot"] / other["us_per_message"]
    return row


def bare(args, n, variant, size, mode):
    """The same swarm against bare-broadcast in `mode`, sending `size` bytes."""
    port = free_port()
    cmd = [args.baseline_bin, "--listen", f"127.0.0.1:{port}", "--payload-bytes", str(size),
           "--mode", mode] + (["--short-read"] if mode == "batched" and args.floor_short_read else [])
    tag = f"{variant}-{n}-" + ("bare" if mode == "tasks" else f"floor-{mode}")
    batched = mode == "batched"
    run = measure(args, n, variant, tag, cmd, port, signal_window=batched)
    out = {"mode": mode, "short_read": mode == "batched" and args.floor_short_read,
           "server_cores": run["server_cores"],
           "swarm_cores": run["swarm_cores"],
           "us_per_message": run["us_per_snapshot"],
           "snapshot_hz": run["report"]["snapshot_hz"],
           "interarrival_p99": run["report"]["interarrival_ms"]["p99"],
           "decode_errors": run["report"]["decode_errors"],
           "held": run["held_transport"]}
    if batched:
        # Its lines: at the window's start (covering the joins), at its end
        # (the window), at exit.
        prefix = "bare-broadcast window: "
        with open(os.path.join(args.out, f"server-{tag}.log")) as f:
            lines = [json.loads(line[len(prefix):]) for line in f if line.startswith(prefix)]
        if len(lines) >= 2:
            window = lines[1]
            out["server_window"] = window
            if window["delivered"] and window["seconds"]:
                # CPU per message the server counted as fully written.
                rate = window["delivered"] / window["seconds"]
                out["server_us_per_delivered"] = run["server_cores"] * 1e6 / rate
    return out


def measure(args, n, variant, tag, server_cmd, port, admin_port=None, signal_window=False):
    server = subprocess.Popen(
        ["taskset", "-c", str(args.server_cpu)] + server_cmd,
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=open(os.path.join(args.out, f"server-{tag}.log"), "w"))
    swarm = None
    try:
        wait_listening(port, server)
        time.sleep(0.3)
        idle_rss = status_kib(server.pid, "VmRSS")
        report_path = os.path.join(args.out, f"report-{tag}.json")
        cmd = ["taskset", "-c", str(args.swarm_cpu), args.bot_bin,
               "--url", f"ws://127.0.0.1:{port}/play", "--bots", str(n),
               "--duration", f"{args.window}s", "--ramp-up", f"{args.ramp}s",
               "--threads", "1", "--seed", "1", "--report", report_path, "--log", "info",
               "--driver", args.bot_driver]
        if variant == "full" and args.mirror_every_full > 1:
            cmd += ["--mirror-every", str(args.mirror_every_full)]
        if args.chaos_drop > 0:
            cmd += ["--chaos-drop", str(args.chaos_drop)]
        swarm = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True)
        marks, scrapes = {}, {}

        def read_marks():
            for line in swarm.stderr:
                if "window started" in line:
                    marks["start"] = time.monotonic()
                    if signal_window:
                        server.send_signal(signal.SIGUSR1)
                    if admin_port:
                        scrapes["start"] = scrape(admin_port)
                elif "window ended" in line:
                    marks["end"] = time.monotonic()
                    # The peak while the players joined and played, before
                    # they all leave at once (the leave's own peak is the
                    # process's VmHWM at the end).
                    marks["play_peak_rss"] = status_kib(server.pid, "VmHWM")
                    if signal_window:
                        server.send_signal(signal.SIGUSR1)
                    if admin_port:
                        scrapes["end"] = scrape(admin_port)
        reader = threading.Thread(target=read_marks, daemon=True)
        reader.start()
        srv_samples, bot_samples, bot_peak_rss = [], [], []
        deadline = time.monotonic() + args.ramp + args.window + 60
        while swarm.poll() is None:
            now = time.monotonic()
            if now > deadline:
                stop(swarm, signal.SIGKILL)
                raise RuntimeError("swarm did not finish in time")
            try:
                srv_samples.append((now, cpu_seconds(server.pid)))
                bot_samples.append((now, cpu_seconds(swarm.pid)))
                bot_peak_rss.append(status_kib(swarm.pid, "VmHWM"))
            except (FileNotFoundError, ProcessLookupError):
                pass
            time.sleep(0.2)
        reader.join(timeout=5)
        peak_rss = status_kib(server.pid, "VmHWM")
        swarm_rss = max(bot_peak_rss, default=0)
        with open(report_path) as f:
            report = json.load(f)
        t0 = marks.get("start")
        t1 = marks.get("end", t0 + report["window_s"] if t0 else None)
        if t0 is None or t1 is None or len(srv_samples) < 2:
            raise RuntimeError("window marks missing from the swarm's log")
        wall = t1 - t0
        server_cores = cpu_between(srv_samples, t0, t1) / wall
        swarm_cores = cpu_between(bot_samples, t0, t1) / wall
    finally:
        if swarm is not None:
            stop(swarm, signal.SIGKILL)
        stop(server)
    hz = report["snapshot_hz"]
    vis = report["visible_mean"]
    held_transport = (hz >= 29.0 and report["interarrival_ms"]["p99"] <= 50.0 and report["failed"] == 0
                      and report["disconnected"] == 0 and report["connected"] == n)
    held = held_transport and report["decode_errors"] == 0 and report["delta_errors"] == 0
    cadence = {}
    if "start" in scrapes and "end" in scrapes:
        a, b = scrapes["start"], scrapes["end"]
        for key, name in (("gap", "snapwire_snapshot_gap_seconds"),
                          ("tick_to_send", "snapwire_tick_to_send_seconds")):
            cadence[key] = {"p50": quantile_ms(a, b, name, 0.50), "p99": quantile_ms(a, b, name, 0.99)}
    return {
        "server_cadence_ms": cadence,
        "n": n, "variant": variant, "held": held, "held_transport": held_transport, "report": report,
        "bytes_per_visible_entity": report["bytes_in_per_bot_s"] / hz / vis if hz and vis else None,
        "server_cores": server_cores, "swarm_cores": swarm_cores,
        "server_peak_rss_kib": peak_rss, "server_idle_rss_kib": idle_rss,
        "server_play_peak_rss_kib": marks.get("play_peak_rss"),
        "rss_per_player_kib": (marks.get("play_peak_rss", peak_rss) - idle_rss) / n,
        "rss_per_player_with_leave_kib": (peak_rss - idle_rss) / n,
        "swarm_peak_rss_kib": swarm_rss, "swarm_rss_per_bot_kib": swarm_rss / n,
        "us_per_snapshot": server_cores * 1e6 / (hz * n) if hz else None,
    }


def table(rows):
    chaos = any(r["report"].get("resumes") for r in rows)
    floor = any(r.get("floor") for r in rows)
    loop = any(r.get("floor", {}).get("mode") == "loop" for r in rows)
    floor_cols = (" loop floor µs/message | ratio to loop floor |" if loop
                  else " floor µs/message | ratio to floor |")
    out = ["| N | variant | held | snapshot_hz | interarrival p99 ms | rtt p99 ms | bytes_in/bot/s "
           "| B/visible entity/snapshot | visible | server CPU cores | server µs/snapshot "
           "| server peak RSS MiB | RSS/player KiB (play / with the leave) | swarm CPU cores | swarm RSS/bot KiB "
           "| server gap p99 ms | server tick→send p99 ms "
           "| bare µs/message | ratio to bare |" + (floor_cols if floor else "")
           + (" resumes | resume failures |" if chaos else ""),
           "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
           + ("---:|---:|" if floor else "") + ("---:|---:|" if chaos else "")]
    for r in rows:
        rep = r["report"]
        b = r.get("baseline")
        bare = (f"| {b['us_per_message']:.1f} | {r['baseline_ratio']:.2f} |"
                if b and b.get("us_per_message") and r.get("baseline_ratio") else "| - | - |")
        cad = r.get("server_cadence_ms", {})

        def ms(key):
            v = cad.get(key, {}).get("p99")
            return f"{v:.1f}" if v is not None else "-"
        server_side = f"| {ms('gap')} | {ms('tick_to_send')} "
        bare = server_side + bare
        bpe = r["bytes_per_visible_entity"]
        ups = r["us_per_snapshot"]
        out.append(
            f"| {r['n']} | {r['variant']} | {'yes' if r['held'] else 'no'} | {rep['snapshot_hz']:.2f} "
            f"| {rep['interarrival_ms']['p99']:.1f} | {rep['rtt_ms']['p99']:.1f} "
            f"| {rep['bytes_in_per_bot_s']:.0f} | {bpe:.2f} | {rep['visible_mean']:.1f} "
            f"| {r['server_cores']:.2f} | {ups:.1f} | {r['server_peak_rss_kib'] / 1024:.0f} "
            f"| {r['rss_per_player_kib']:.1f} / {r.get('rss_per_player_with_leave_kib', r['rss_per_player_kib']):.1f} "
            f"| {r['swarm_cores']:.2f} | {r['swarm_rss_per_bot_kib']:.1f} " + bare
            if bpe is not None and ups is not None else
            f"| {r['n']} | {r['variant']} | no | {rep['snapshot_hz']:.2f} | - | - | - | - | - "
            f"| {r['server_cores']:.2f} | - | {r['server_peak_rss_kib'] / 1024:.0f} | - | {r['swarm_cores']:.2f} "
            f"| {r['swarm_rss_per_bot_kib']:.1f} " + bare)
        if floor:
            f = r.get("floor")
            out[-1] += (f" {f['us_per_message']:.1f} | {r['floor_ratio']:.2f} |"
                        if f and f.get("us_per_message") and r.get("floor_ratio") else " - | - |")
        if chaos:
            out[-1] += f" {rep.get('resumes', 0)} | {rep.get('resume_failures', 0)} |"
    return "\n".join(out)


def chart(rows, path):
    """Server CPU cores and peak RSS against players, both variants, as SVG."""
    w, h, pad = 760, 300, 50
    panels = [("server CPU cores", lambda r: r["server_cores"], 1.0),
              ("server peak RSS (MiB)", lambda r: r["server_peak_rss_kib"] / 1024, None)]
    ns = sorted({r["n"] for r in rows}) or [1]
    colors = {"aoi": "#1f77b4", "full": "#d62728"}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">',
           f'<rect width="{w}" height="{h}" fill="white"/>']
    pw = (w - 3 * pad) / 2
    for k, (title, get, fixed_max) in enumerate(panels):
        x0 = pad + k * (pw + pad)
        y0, ph = 30, h - 80
        ymax = fixed_max or max([get(r) for r in rows] + [1]) * 1.1
        xmax = max(ns) * 1.05
        sx = lambda n: x0 + pw * n / xmax
        sy = lambda v: y0 + ph - ph * v / ymax
        out.append(f'<text x="{x0 + pw / 2}" y="18" text-anchor="middle" font-size="13">{title}</text>')
        out.append(f'<line x1="{x0}" y1="{y0 + ph}" x2="{x0 + pw}" y2="{y0 + ph}" stroke="black"/>')
        out.append(f'<line x1="{x0}" y1="{y0}" x2="{x0}" y2="{y0 + ph}" stroke="black"/>')
        for i in range(5):
            v = ymax * i / 4
            out.append(f'<text x="{x0 - 4}" y="{sy(v) + 4}" text-anchor="end">{v:.2f}</text>')
            out.append(f'<line x1="{x0}" y1="{sy(v)}" x2="{x0 + pw}" y2="{sy(v)}" stroke="#eee"/>')
        for n in ns:
            out.append(f'<text x="{sx(n)}" y="{y0 + ph + 14}" text-anchor="middle">{n}</text>')
        out.append(f'<text x="{x0 + pw / 2}" y="{y0 + ph + 30}" text-anchor="middle">players</text>')
        for variant, color in colors.items():
            pts = sorted((r["n"], get(r), r["held"]) for r in rows if r["variant"] == variant)
            if not pts:
                continue
            out.append('<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>'.format(
                color, " ".join(f"{sx(n):.1f},{sy(v):.1f}" for n, v, _ in pts)))
            for n, v, held in pts:
                fill = color if held else "white"
                out.append(f'<circle cx="{sx(n):.1f}" cy="{sy(v):.1f}" r="4" fill="{fill}" stroke="{color}"/>')
    out.append(f'<text x="{pad}" y="{h - 8}">aoi (blue), full view (red); filled = held, hollow = not held. '
               'Server on CPU 0, swarm on CPU 1 of the same 2-core machine.</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--counts", type=int, nargs="+", default=[500, 1000, 2000, 2500, 3000])
    p.add_argument("--variants", nargs="+", default=["aoi", "full"], choices=["aoi", "full"])
    p.add_argument("--window", type=float, default=20.0, help="measured window, seconds")
    p.add_argument("--ramp", type=float, default=5.0, help="ramp-up, seconds")
    p.add_argument("--mirror-every-full", type=int, default=10,
                   help="in full-view runs, every K-th bot keeps a full mirror")
    p.add_argument("--server-cpu", type=int, default=0)
    p.add_argument("--swarm-cpu", type=int, default=1)
    p.add_argument("--out", default=os.path.join(root, "target", "load-sweep"))
    p.add_argument("--server-bin", default=os.path.join(root, "target", "release", "snapwire-server"))
    p.add_argument("--bot-bin", default=os.path.join(root, "target", "release", "snapwire-bot"))
    p.add_argument("--baseline-bin", default=os.path.join(root, "target", "release", "bare-broadcast"))
    p.add_argument("--no-baseline", dest="baseline", action="store_false",
                   help="skip the bare-broadcast baseline run after each snapwire run")
    p.add_argument("--floor", dest="floor", action="store_true", default=True,
                   help="after each snapwire run, also run bare-broadcast --mode batched (one thread "
                        "walking every raw socket once per tick): the transport's floor on this "
                        "machine (the default)")
    p.add_argument("--no-floor", dest="floor", action="store_false",
                   help="skip the floor run")
    p.add_argument("--floor-mode", default="batched", choices=["batched", "loop"],
                   help="the floor's bare-broadcast --mode: batched (one plain thread, no epoll), "
                        "or loop (one tokio task, through the reactor)")
    p.add_argument("--floor-short-read", action="store_true",
                   help="the batched floor stops reading a socket at a short read, as snapwire's "
                        "shards do, instead of reading again until WouldBlock")
    p.add_argument("--chart", default=None, help="SVG chart path (default OUT/sweep.svg)")
    p.add_argument("--bot-driver", default=None, choices=["tasks", "loop"],
                   help="the swarm's --driver: one loop per thread over non-blocking sockets (the "
                        "default), or a tokio task per bot (the default with --chaos-drop, which "
                        "the loop driver does not do)")
    p.add_argument("--chaos-drop", type=float, default=0.0,
                   help="each bot drops its connection with this probability per second and resumes")
    args = p.parse_args()
    if args.bot_driver is None:
        args.bot_driver = "tasks" if args.chaos_drop else "loop"
    os.makedirs(args.out, exist_ok=True)
    rows = []
    for variant in args.variants:
        for n in args.counts:
            print(f"running {variant} N={n} ...", file=sys.stderr, flush=True)
            try:
                row = run_one(args, n, variant)
            except RuntimeError as e:
                print(f"  {variant} N={n} failed: {e}", file=sys.stderr)
                continue
            rows.append(row)
            print(table([row]).splitlines()[-1], file=sys.stderr, flush=True)
    md = table(rows)
    chart(rows, args.chart or os.path.join(args.out, "sweep.svg"))
    with open(os.path.join(args.out, "sweep.md"), "w") as f:
        f.write(md + "\n")
    with open(os.path.join(args.out, "sweep.json"), "w") as f:
        json.dump({"machine": {"cpus": os.cpu_count(),
                               "mem_gib": round(os.sysconf("SC_PHYS_PAGES") * PAGE / 2**30, 1)},
                   "args": vars(args), "rows": rows}, f, indent=2)
    print(md)


if __name__ == "__main__":
    main()
