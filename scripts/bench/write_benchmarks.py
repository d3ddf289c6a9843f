#!/usr/bin/env python3
"""Writes BENCHMARKS.md from the results of scripts/bench.sh.

Usage: write_benchmarks.py RESULTS_DIR OUTPUT.md

RESULTS_DIR holds one folder per measurement (fanout-1k-100, idle-19k, ...), each with
run-N.json files (hawker-load's LoadResult) and the command that produced them; uws-<name>
holds the same scenario against the uWebSockets peer (scripts/bench/uws_peer.py). Every
figure is reported per run and as the median of the runs; the targets of
PERFORMANCE.md are checked against the medians. Hand-written analysis comes from
scripts/bench/NOTES.md, appended as it is.
"""
import datetime
import glob
import json
import os
import platform
import statistics
import subprocess
import sys

results_dir, output = sys.argv[1], sys.argv[2]
here = os.path.dirname(os.path.abspath(__file__))


def load(name):
    runs = []
    for path in sorted(glob.glob(os.path.join(results_dir, name, "run-*.json"))):
        with open(path) as f:
            runs.append(json.load(f))
    return runs


def value(run, key):
    """A figure or parameter by name; 'lat:p99' etc. read the latency summary (ms)."""
    if key.startswith("lat:"):
        lat = run.get("latency")
        if not lat:
            return None
        field = {"p50": "p50Micros", "p90": "p90Micros", "p99": "p99Micros", "p999": "p999Micros", "max": "maxMicros"}[key[4:]]
        return lat[field] / 1000
    for item in run.get("figures", []) + run.get("parameters", []):
        if item["name"] == key:
            return item["value"]
    return None


def median(name, key):
    values = [v for v in (value(r, key) for r in load(name)) if v is not None]
    return statistics.median(values) if values else None


def fmt(v, digits=None):
    if v is None:
        return "—"
    if digits is not None:
        return f"{v:,.{digits}f}"
    if abs(v) >= 1000 or v == int(v):
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}"


def command(name):
    path = os.path.join(results_dir, name, "command")
    return open(path).read().strip() if os.path.exists(path) else None


# (folder, title, what it measures, columns: (key, header, digits))
SCENARIOS = [
    ("fanout-1k-100", "Fan-out, 1,000 viewers, 100 events/s (one message per flush)",
     "One stream; a host publishes 100-byte announcements open loop; every delivery is counted, checked for order and timed from its scheduled send time.",
     [("deliveries_per_second", "deliveries/s", 0), ("server_cpu_us_per_delivery", "server CPU-µs per delivery", 2),
      ("lat:p50", "p50 ms", 1), ("lat:p99", "p99 ms", 1), ("lat:p999", "p99.9 ms", 1), ("lost", "lost", 0), ("reordered", "reordered", 0)]),
    ("fanout-1k-2000", "Fan-out, 1,000 viewers, 2,000 events/s (batched)",
     "2M deliveries/s offered, more than one core writes: several messages leave per flush. Viewers that fall behind are backed up and get `gap` notices (coalesced) instead of a queue without bound.",
     [("deliveries_per_second", "deliveries/s", 0), ("server_cpu_us_per_delivery", "server CPU-µs per delivery", 2),
      ("lat:p50", "p50 ms", 0), ("lat:p99", "p99 ms", 0), ("coalesced", "coalesced", 0), ("lost", "lost", 0), ("reordered", "reordered", 0)]),
    ("fanout-10k-5", "Fan-out, 10,000 viewers of one stream at half load (5 events/s)",
     "50,000 deliveries/s: half of what one core writes at one message per flush.",
     [("deliveries_per_second", "deliveries/s", 0), ("server_cpu_us_per_delivery", "server CPU-µs per delivery", 2),
      ("lat:p50", "p50 ms", 1), ("lat:p99", "p99 ms", 1), ("lat:p999", "p99.9 ms", 1), ("lost", "lost", 0), ("reordered", "reordered", 0)]),
    ("many-streams", "Many small streams: 4,900 streams × 4 viewers",
     "19,600 viewers (one gateway process holds ~19,900 sockets under the 20,000 open-file limit), 2,500 events/s round-robin over the streams: 10,000 deliveries/s. The cost of taking an event in is measured first with nobody watching, so the fan-out's own cost per delivery can be told apart.",
     [("deliveries_per_second", "deliveries/s", 0), ("server_cpu_us_per_delivery", "server CPU-µs per delivery", 2),
      ("server_cpu_us_per_event_ingest", "CPU-µs per event taken in", 1), ("server_cpu_us_per_delivery_fanout_only", "fan-out CPU-µs per delivery", 2),
      ("lat:p99", "p99 ms", 1), ("lost", "lost", 0)]),
    ("fanout-1k-10", "One stream at the same delivery rate: 1,000 viewers × 10 events/s",
     "The reference for many-streams: 10,000 deliveries/s from one big stream.",
     [("deliveries_per_second", "deliveries/s", 0), ("server_cpu_us_per_delivery", "server CPU-µs per delivery", 2),
      ("server_cpu_us_per_event_ingest", "CPU-µs per event taken in", 1), ("server_cpu_us_per_delivery_fanout_only", "fan-out CPU-µs per delivery", 2),
      ("lat:p99", "p99 ms", 1), ("lost", "lost", 0)]),
    ("idle-19k", "Idle connections: 19,000 subscribed viewers",
     "Connected, subscribed, then quiet for 10 s; the gateway's RSS growth divided by the connections (kernel socket memory is not in RSS). Viewers come from two generator processes with their own source addresses.",
     [("connected", "connected", 0), ("rss_kib_per_connection", "RSS KiB per connection", 2), ("server_rss_kib", "server RSS KiB", 0),
      ("server_cpu_ms_while_idle", "server CPU ms while idle", 0)]),
    ("connect-storm-10k", "Connect storm: 10,000 viewers",
     "Two generator processes open connections 256 at a time each: TCP, WebSocket upgrade, `connect` with a signed token, `subscribe`, and the snapshot.",
     [("handshakes_per_second", "handshakes/s", 0), ("server_cpu_us_per_handshake", "server CPU-µs per connection", 0),
      ("time_to_snapshot_p50_ms", "time to snapshot p50 ms", 1), ("time_to_snapshot_p99_ms", "p99 ms", 1), ("failed", "failed", 0)]),
    ("slow-5pct", "Slow viewers: 5% of 1,000 stop reading",
     "500-byte events at 100/s; first everyone reads, then every 20th viewer stops reading (a 4 KiB receive buffer, reads paused). The others' p99 in both phases, in the same run.",
     [("healthy_p99_ms_before", "others' p99 ms, all reading", 1), ("healthy_p99_ms_with_slow", "others' p99 ms, 5% stopped", 1),
      ("healthy_p99_ratio", "ratio", 2), ("rss_growth_per_slow_viewer_kib", "RSS growth KiB per slow viewer", 1),
      ("closed_by_gateway", "closed (4001)", 0), ("lost", "lost", 0)]),
    ("chat-50k", "Chat ingress: 1,000 senders at 50,000 messages/s, 1,000 viewers",
     "Open loop, one message in ten a question; per-user limits raised so the cost decides.",
     [("accepted_per_second", "accepted/s", 0), ("refused", "refused", 0), ("batches_per_viewer_per_second", "batches per viewer per s", 1),
      ("server_cpu_us_per_message", "server CPU-µs per message", 1)]),
    ("chat-60k-noid", "Chat ingress, fire and forget: 1,000 senders at 60,000 messages/s without ids, 1,000 viewers",
     "As above, but chat.send goes without an id (PROTOCOL.md §2): no chat.accepted reply is written; accepted messages are counted from the stream's message ids (a probe with an id before and after).",
     [("accepted_per_second", "accepted/s", 0), ("refused", "refused", 0), ("batches_per_viewer_per_second", "batches per viewer per s", 1),
      ("server_cpu_us_per_message", "server CPU-µs per message", 1)]),
    ("flash-sale-1k", "Flash sale: 1,000 buyers at once on 100 units",
     "Every buyer connected first, then all check out at the same moment; the demo backend confirms in 20 ms.",
     [("accepted", "accepted", 0), ("sold_out", "sold_out", 0), ("unanswered", "unanswered", 0), ("ack_p50_ms", "ack p50 ms", 1),
      ("ack_p99_ms", "ack p99 ms", 1), ("seconds", "all answered in s", 2), ("server_cpu_us_per_checkout", "server CPU-µs per checkout", 0)]),
    ("flash-sale-10k", "Flash sale: 10,000 buyers at once on 100 units", "As above, ten times the buyers.",
     [("accepted", "accepted", 0), ("sold_out", "sold_out", 0), ("unanswered", "unanswered", 0), ("ack_p50_ms", "ack p50 ms", 1),
      ("ack_p99_ms", "ack p99 ms", 1), ("seconds", "all answered in s", 2), ("server_cpu_us_per_checkout", "server CPU-µs per checkout", 0)]),
    ("checkouts-5k", "Durable checkouts: 5,000/s offered",
     "200 buyers, open loop, 10 s, stock that does not run out; every accepted checkout is committed to the outbox (WAL, synchronous=FULL) before its answer.",
     [("accepted_per_second", "accepted/s", 0), ("unanswered", "unanswered", 0), ("ack_p50_ms", "ack p50 ms", 1), ("ack_p99_ms", "ack p99 ms", 1),
      ("writes_per_commit", "writes per commit", 1), ("server_cpu_us_per_checkout", "server CPU-µs per checkout", 0)]),
    ("checkouts-8k", "Durable checkouts: 8,000/s offered (saturation)", "As above, past what one core takes.",
     [("accepted_per_second", "accepted/s", 0), ("unanswered", "unanswered", 0), ("ack_p50_ms", "ack p50 ms", 1), ("ack_p99_ms", "ack p99 ms", 1),
      ("writes_per_commit", "writes per commit", 1), ("server_cpu_us_per_checkout", "server CPU-µs per checkout", 0)]),
    ("aggregators", "The room's work per message, in process",
     "No sockets: nanoseconds per message on one core (median of 5 runs inside the tool).",
     [("chat_send_ns", "chat.send ns", 0), ("question_ask_ns", "question.ask ns", 0), ("intent_ns", "intent ns", 0), ("room_chat_ns", "room chat + tick ns", 0)]),
    ("allocations", "Allocations on the fan-out path",
     "perf uprobes on libc's allocator entry points count every call the gateway process makes while 1,000 events go to 1,000 viewers at 100/s.",
     [("allocations", "allocator calls", 0), ("deliveries", "deliveries", 0), ("allocations_per_delivery", "per delivery", 4), ("allocations_per_event", "per event", 1)]),
]


def ratio(a, b):
    return a / b if a is not None and b not in (None, 0) else None


# The uWebSockets peer's figures (scripts/bench/uws_peer.py): folder uws-<name> beside <name>.
def uws(name, key):
    return median("uws-" + name, key)


def with_uws(measured, text):
    """A measured cell with the uWS figure of the same run appended, when there is one."""
    return f"{measured} (uWS: {text})" if text else measured


# (target, bar, measured text, met?)
def targets():
    rows = []

    def row(what, bar, measured, met, source):
        rows.append((what, bar, measured, "—" if met is None else ("met" if met else "**not met**"), source))

    v = median("fanout-1k-100", "server_cpu_us_per_delivery")
    u = uws("fanout-1k-100", "server_cpu_us_per_delivery")
    row("fan-out, 1 message per flush", "≤ 6 server CPU-µs per delivery", with_uws(fmt(v, 2) + " µs" if v else "—", u and fmt(u, 2) + " µs"),
        v <= 6 if v else None, "fanout-1k-100")
    v = median("fanout-1k-2000", "server_cpu_us_per_delivery")
    d = median("fanout-1k-2000", "deliveries_per_second")
    row("fan-out, batched", "≤ 1 CPU-µs per delivery", fmt(v, 2) + " µs" if v else "—", v <= 1 if v else None, "fanout-1k-2000")
    row("fan-out, batched", "≥ 1M deliveries/s on one core", fmt(d) + "/s" if d else "—", d >= 1e6 if d else None, "fanout-1k-2000")
    p50, p99, p999 = (median("fanout-10k-5", k) for k in ("lat:p50", "lat:p99", "lat:p999"))
    lost = sum((value(r, "lost") or 0) + (value(r, "reordered") or 0) for r in load("fanout-10k-5"))
    u50, u99, u999 = (uws("fanout-10k-5", k) for k in ("lat:p50", "lat:p99", "lat:p999"))
    row("latency, 10k viewers, half load", "p50 ≤ 25 ms, p99 ≤ 60 ms, p99.9 ≤ 100 ms, no loss, order kept",
        with_uws(f"p50 {fmt(p50, 1)} ms, p99 {fmt(p99, 1)} ms, p99.9 {fmt(p999, 1)} ms, lost or reordered {lost:.0f}" if p99 else "—",
                 u99 and f"p50 {fmt(u50, 1)} ms, p99 {fmt(u99, 1)} ms, p99.9 {fmt(u999, 1)} ms"),
        (p50 <= 25 and p99 <= 60 and p999 <= 100 and lost == 0) if p99 else None, "fanout-10k-5")
    v = median("fanout-1k-100", "lat:p99")
    u = uws("fanout-1k-100", "lat:p99")
    row("latency, 1k viewers", "p99 ≤ 5 ms", with_uws(fmt(v, 1) + " ms" if v else "—", u and fmt(u, 1) + " ms"), v <= 5 if v else None, "fanout-1k-100")
    v = median("allocations", "allocations_per_delivery")
    row("allocations on the fan-out path", "≤ 0.01 mallocs per delivery", fmt(v, 4) if v is not None else "—", v <= 0.01 if v is not None else None, "allocations")
    v = median("idle-19k", "rss_kib_per_connection")
    c = median("idle-19k", "connected")
    u = uws("idle-19k", "rss_kib_per_connection")
    row("idle viewer connection", "≤ 3 KB (2.93 KiB) RSS per connection; 19k viewers on one process",
        with_uws(f"{fmt(v, 2)} KiB, {fmt(c)} connected" if v else "—", u and f"{fmt(u, 2)} KiB"), (v <= 2.93 and c >= 19000) if v and c else None, "idle-19k")
    many = median("many-streams", "server_cpu_us_per_delivery")
    one = median("fanout-1k-10", "server_cpu_us_per_delivery")
    many_f = median("many-streams", "server_cpu_us_per_delivery_fanout_only")
    one_f = median("fanout-1k-10", "server_cpu_us_per_delivery_fanout_only")
    r = ratio(many, one)
    rf = ratio(many_f, one_f)
    row("many small streams", "4,900 streams × 4 viewers at the same per-delivery cost as one big stream (within 10%)",
        (f"{fmt(many, 2)} vs {fmt(one, 2)} µs (×{r:.2f}); fan-out alone {fmt(many_f, 2)} vs {fmt(one_f, 2)} µs (×{rf:.2f})") if r and rf else "—",
        r <= 1.1 if r else None, "many-streams, fanout-1k-10")
    v = median("slow-5pct", "healthy_p99_ratio")
    g = median("slow-5pct", "rss_growth_per_slow_viewer_kib")
    row("slow viewers (5% stop reading)", "others' p99 rises ≤ 10%; each slow one costs ≤ its buffer cap (256 KiB high-water + 1 MiB coalesced)",
        f"p99 ×{v:.2f}; {fmt(g, 1)} KiB per slow viewer" if v else "—", (v <= 1.10 and g <= 1280) if v and g is not None else None, "slow-5pct")
    v = median("chat-50k", "accepted_per_second")
    w = median("chat-60k-noid", "accepted_per_second")
    best = max(x for x in (v, w, 0) if x is not None)
    row("chat ingress", "≥ 50,000 messages/s accepted and batched out",
        (fmt(v) + "/s with replies" if v else "—") + (f"; {fmt(w)}/s fire and forget (60,000 offered)" if w else ""),
        best >= 50000 if best else None, "chat-50k, chat-60k-noid")
    runs = load("flash-sale-10k")
    exact = all(value(r, "accepted") == 100 and (value(r, "unanswered") or 0) == 0 for r in runs) if runs else None
    v = median("flash-sale-10k", "ack_p99_ms")
    row("flash-sale storm", "10k checkouts on 100 units: exactly 100 accepted, all durable; ack p99 ≤ 50 ms",
        f"exactly 100 in {'every run' if exact else 'NOT every run'}; p99 {fmt(v, 0)} ms" if v else "—", (exact and v <= 50) if v else None, "flash-sale-10k")
    v = median("checkouts-5k", "accepted_per_second")
    s = median("checkouts-8k", "accepted_per_second")
    row("durable checkouts", "≥ 5,000 accepted checkouts/s with fsync", f"{fmt(v)}/s at 5,000 offered; {fmt(s)}/s at 8,000" if v else "—",
        (max(v, s or 0) >= 5000 * 0.99) if v else None, "checkouts-5k, checkouts-8k")
    v = median("connect-storm-10k", "handshakes_per_second")
    row("connect storm", "≥ 5,000 handshakes/s, snapshot delivered to each", fmt(v) + "/s" if v else "—", v >= 5000 if v else None, "connect-storm-10k")
    return rows


def swift_version():
    try:
        return subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    except Exception:
        return "unknown"


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def commit():
    """The commits the results were measured at (bench.sh records one per scenario), else HEAD."""
    recorded = {}
    if os.path.isdir(results_dir):
        for name in sorted(os.listdir(results_dir)):
            path = os.path.join(results_dir, name, "commit")
            if os.path.exists(path):
                recorded.setdefault(open(path).read().strip(), []).append(name)
    if len(recorded) == 1:
        return next(iter(recorded))
    if recorded:
        # The most common first; the others name their scenarios.
        ordered = sorted(recorded.items(), key=lambda item: -len(item[1]))
        return ordered[0][0] + " (" + "; ".join(f"{c}: {', '.join(names)}" for c, names in ordered[1:]) + ")"
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    except Exception:
        return "unknown"


lines = []
out = lines.append
out("# Benchmarks")
out("")
out("Generated by `scripts/bench.sh` (`scripts/bench/write_benchmarks.py`); do not edit by hand: the analysis lives in")
out("`scripts/bench/NOTES.md` and is appended below. Every figure is the median of the runs listed; the machine is shared")
out("and noisy, so compare builds or settings as ratios measured in the same run (`hawker-load compare a.json b.json`).")
out("")
out("## Machine and method")
out("")
dates = sorted(r["startedAt"] for name, *_ in SCENARIOS for r in load(name))
out(f"- Measured {dates[0][:10]}{' to ' + dates[-1][:10] if dates and dates[-1][:10] != dates[0][:10] else ''}, commit {commit()}." if dates else "- No results.")
out(f"- {os.cpu_count()} vCPU ({cpu_model()}), {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, Linux {platform.release()}, {swift_version()}, release builds.")
out("- The gateway runs pinned to CPU 0 with one event loop (`--set event_loops=1`); the load generator (`hawker-load`, LoadTests/, and its")
out("  worker processes) on CPU 1. Loopback TCP. A fresh gateway and data directory for every run.")
out("- Server CPU time is the sum of the gateway's threads' time on CPU (`/proc/<pid>/task/*/schedstat`, nanoseconds; user and")
out("  kernel, so the send path is included) and is divided by the")
out("  deliveries (or messages, checkouts, connections) of the measured window. Latency is measured per delivery from the event's")
out("  scheduled send time (open-loop publishing, HDR histograms).")
out("- Every run's JSON and an HTML report with latency histograms and the viewer sweep: `artifacts/bench/` after a run.")
out("")
out("## Targets (PERFORMANCE.md) against the medians")
out("")
out("| target | bar | measured (median) | | from |")
out("|---|---|---|---|---|")
for what, bar, measured, met, source in targets():
    out(f"| {what} | {bar} | {measured} | {met} | {source} |")
out("")

sweep = []
for path in sorted(glob.glob(os.path.join(results_dir, "sweep-*"))):
    name = os.path.basename(path)
    for r in load(name):
        sweep.append(r)
if sweep:
    sweep.sort(key=lambda r: value(r, "viewers"))
    out("## Fan-out against viewer count (5 events/s, one run each)")
    out("")
    out(f"Command: `{command(os.path.basename(sorted(glob.glob(os.path.join(results_dir, 'sweep-*')))[-1]))}` with `--viewers` 1,000 to 15,000.")
    out("")
    out("| viewers | deliveries/s | server CPU-µs per delivery | p50 ms | p99 ms | p99.9 ms | lost |")
    out("|---|---|---|---|---|---|---|")
    for r in sweep:
        out(f"| {fmt(value(r, 'viewers'))} | {fmt(value(r, 'deliveries_per_second'), 0)} | {fmt(value(r, 'server_cpu_us_per_delivery'), 2)} | "
            f"{fmt(value(r, 'lat:p50'), 1)} | {fmt(value(r, 'lat:p99'), 1)} | {fmt(value(r, 'lat:p999'), 1)} | {fmt(value(r, 'lost'), 0)} |")
    out("")

# Hawker beside the uWebSockets peer: (scenario, figure, key, digits).
AGAINST_UWS = [
    ("fanout-1k-100", "fan-out, 1,000 viewers × 100/s: server CPU-µs per delivery", "server_cpu_us_per_delivery", 2),
    ("fanout-10k-5", "fan-out, 10,000 viewers × 5/s: server CPU-µs per delivery", "server_cpu_us_per_delivery", 2),
    ("fanout-10k-5", "fan-out, 10,000 viewers × 5/s: p50 ms", "lat:p50", 1),
    ("fanout-10k-5", "fan-out, 10,000 viewers × 5/s: p99 ms", "lat:p99", 1),
    ("fanout-1k-100", "fan-out, 1,000 viewers × 100/s: p50 ms", "lat:p50", 1),
    ("fanout-1k-100", "fan-out, 1,000 viewers × 100/s: p99 ms", "lat:p99", 1),
    ("idle-19k", "idle, 19,000 subscribed viewers: RSS KiB per connection", "rss_kib_per_connection", 2),
]
compared = sorted({name for name, *_ in AGAINST_UWS if load("uws-" + name)})
if compared:
    peer_path = os.path.join(results_dir, "uws-" + compared[0], "peer")
    peer = open(peer_path).read().strip() if os.path.exists(peer_path) else "socketify"
    out("## Against uWebSockets (socketify), same run")
    out("")
    out(f"The same `hawker-load` commands against `scripts/bench/uws_peer.py`: uWebSockets through {peer} (PyPI) in a venv, speaking just")
    out("enough hawker.v1 for these scenarios (`connect` → `welcome`, `subscribe` → `subscribed`, `publish` → `published` and the `event`")
    out("to every subscriber through uWS's own pub/sub, encoded once per event). It checks no token, stores nothing and sends no")
    out("presence: a floor for what the protocol's fan-out costs, not a gateway. Pinned to CPU 0 like the gateway, with its libuv loop")
    out("run directly (socketify's default loop busy-polls, and its CPU figures would then measure the spinning). Medians; above 1, Hawker's")
    out("figure is the higher one (more CPU, later, more memory).")
    out("")
    out("| scenario | Hawker | uWebSockets | Hawker ÷ uWS |")
    out("|---|---|---|---|")
    for name, what, key, digits in AGAINST_UWS:
        h, u = median(name, key), uws(name, key)
        r = ratio(h, u)
        out(f"| {what} | {fmt(h, digits)} | {fmt(u, digits)} | {'—' if r is None else f'×{r:.2f}' if r >= 0.1 else f'×{r:.2g}'} |")
    out("")
    notes = []
    for name in compared:
        runs, own = load("uws-" + name), load(name)
        failed = [f"run {i}: {'; '.join(r['failures'])}" for i, r in enumerate(runs, 1) if r.get("failures")]
        notes.append(f"`uws-{name}`: {len(runs)} run{'s' if len(runs) != 1 else ''}, " + ("all passed" if not failed else "**failed** " + ", ".join(failed)))
        # A whole bench.sh run takes about half an hour: further apart, the machine may have changed.
        started = [datetime.datetime.fromisoformat(r["startedAt"].replace("Z", "+00:00")) for r in runs + own]
        if own and max(started) - min(started) > datetime.timedelta(hours=2):
            notes.append(f"`{name}` and `uws-{name}` were measured {min(started):%Y-%m-%d %H:%M} to {max(started):%Y-%m-%d %H:%M} UTC, not in one run")
        elif not own:
            notes.append(f"`{name}` has no results")
    out("Runs: " + "; ".join(notes) + ".")
    out("")

# One stream's fan-out over two event loops (the loops group): beside the one-loop runs.
LOOPS = [("fanout-1k-100", "1,000 viewers × 100/s"), ("fanout-10k-5", "10,000 viewers × 5/s")]
if any(load("loops2-" + name) for name, _ in LOOPS):
    out("## One stream over two event loops")
    out("")
    out("The same commands with `event_loops = 2` and the gateway on both CPUs (the generator shares CPU 1 with the second loop).")
    out("Viewers are spread over the loops as they are accepted; the stream's home loop sequences and records each event")
    out("and hands it once to the other loop, which writes to its own viewers. Each loop's share is its thread's time on CPU")
    out("while publishing, out of the gateway's (the rest is the state store's writer thread). Medians.")
    out("")
    out("| scenario | loops | server CPU-µs per delivery | loop 1 share % | loop 2 share % | p50 ms | p99 ms | lost |")
    out("|---|---|---|---|---|---|---|---|")
    for name, what in LOOPS:
        if load(name):
            out(f"| {what} | 1 | {fmt(median(name, 'server_cpu_us_per_delivery'), 2)} | — | — | {fmt(median(name, 'lat:p50'), 1)} | "
                f"{fmt(median(name, 'lat:p99'), 1)} | {fmt(median(name, 'lost'), 0)} |")
        two = "loops2-" + name
        if load(two):
            out(f"| {what} | 2 | {fmt(median(two, 'server_cpu_us_per_delivery'), 2)} | {fmt(median(two, 'loop_1_cpu_share'), 0)} | "
                f"{fmt(median(two, 'loop_2_cpu_share'), 0)} | {fmt(median(two, 'lat:p50'), 1)} | {fmt(median(two, 'lat:p99'), 1)} | {fmt(median(two, 'lost'), 0)} |")
    if load("loops2-flash-sale-10k"):
        out("")
        out("| flash sale, 10,000 buyers on 100 units | loops | accepted | ack p50 ms | ack p99 ms | server CPU-µs per checkout |")
        out("|---|---|---|---|---|---|")
        for loops, name in ((1, "flash-sale-10k"), (2, "loops2-flash-sale-10k")):
            if load(name):
                out(f"| | {loops} | {fmt(median(name, 'accepted'), 0)} | {fmt(median(name, 'ack_p50_ms'), 1)} | {fmt(median(name, 'ack_p99_ms'), 1)} | "
                    f"{fmt(median(name, 'server_cpu_us_per_checkout'), 0)} |")
    runs = [r for name in [n for n, _ in LOOPS] + ["flash-sale-10k"] for r in load("loops2-" + name)]
    failed = [f for r in runs for f in r.get("failures", [])]
    out("")
    out(f"Command: as above, with `hawker serve --set event_loops=2` under `taskset -c 0,1`; {len(runs)} runs, "
        + ("all passed." if not failed else "**failed**: " + "; ".join(failed) + "."))
    out("")

for name, title, what, columns in SCENARIOS:
    runs = load(name)
    if not runs:
        continue
    out(f"## {title}")
    out("")
    out(what)
    out("")
    cmd = command(name)
    if cmd:
        out(f"Command: `{cmd}` ({len(runs)} run{'s' if len(runs) != 1 else ''}, each against a fresh gateway).")
        out("")
    out("| run | " + " | ".join(h for _, h, _ in columns) + " | passed |")
    out("|---|" + "---|" * len(columns) + "---|")
    for index, r in enumerate(runs, 1):
        cells = [fmt(value(r, k), d) for k, _, d in columns]
        out(f"| {index} | " + " | ".join(cells) + f" | {'yes' if not r.get('failures') else 'no: ' + '; '.join(r['failures'])} |")
    if len(runs) > 1:
        out("| **median** | " + " | ".join(f"**{fmt(median(name, k), d)}**" for k, _, d in columns) + " | |")
    out("")

# The soak (scripts/soak.sh) and build-against-build comparisons (scripts/bench-compare.sh)
# the state store figures (scripts/state-bench.sh) and cluster mode (scripts/cluster-bench.sh)
# are measured apart: their sections are kept in SOAK.md, COMPARE.md, STATE.md and
# CLUSTER.md and carried over as they are.
for section in ("SOAK.md", "COMPARE.md", "STATE.md", "CLUSTER.md"):
    path = os.path.join(here, section)
    if os.path.exists(path):
        out(open(path).read().rstrip())
        out("")

notes = os.path.join(here, "NOTES.md")
if os.path.exists(notes):
    out(open(notes).read().rstrip())
    out("")

with open(output, "w") as f:
    f.write("\n".join(lines))
