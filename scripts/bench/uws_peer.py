#!/usr/bin/env python3
"""A uWebSockets peer for the benchmark suite: just enough hawker.v1 for hawker-load's
fanout and idle scenarios, so that Hawker's figures can be set beside uWS's, measured in
the same run on the same machine (scripts/bench.sh, groups uws-*).

Usage: uws_peer.py PORT        (inside a venv with socketify from PyPI)

What it speaks, on ws://127.0.0.1:PORT/ws with subprotocol hawker.v1 echoed:
  connect   -> welcome     (the token is decoded, NOT verified: sub and role only)
  subscribe -> subscribed  (recovered false, a minimal state; no `since` resume)
  publish   -> published, and one `event` to every subscriber of the stream
  ping      -> pong
and GET /healthz -> {"status":"ok"}. Nothing else: no presence pushes, no chat, no
rate limits, no state store; commands before `connect` are not refused (hawker-load never
sends any). The messages have the same keys, in the same order, compact, as Hawker's:
hawker-load finds its markers ("type":"welcome", "seq":, ts= in the text) by scanning bytes.

The fan-out is uWS's own pub/sub: each subscriber is subscribed to a topic named after
the stream, and each event is encoded once and handed to app.publish, which writes it to
every subscriber from C++. That is uWS's fastest path; per delivery no Python runs.

The loop: socketify's App.run() drives libuv from an asyncio loop that calls
uv_run(UV_RUN_NOWAIT) again and again (Loop._keep_alive, socketify/loop.py), relaxing to
a 10 ms poll only after ~10,000 idle turns: it busy-polls, and the CPU time the benchmark
reads per delivery would mostly be that spinning. Nothing here needs asyncio (every
handler is synchronous), so the peer runs libuv's loop directly instead:
app.loop.uv_loop.run() is uv_run(UV_RUN_DEFAULT), which sleeps in epoll until a socket or
uWS's 4-second timeout sweep wakes it. Idle, the process uses no CPU.
"""
import base64
import json
import os
import signal
import sys
import time

from socketify import App, CompressOptions, OpCode

port = int(sys.argv[1]) if len(sys.argv) > 1 else 19090
app = App()

# Per stream: [epoch, last seq, on-air status, last announcement or None]. A stream exists
# from its first publish, as in Hawker (a subscribe before it gets stream_not_found).
streams = {}
sessions = 0


def now_ms():
    return int(time.time() * 1000)


def encode(message):
    # Compact, like Hawker's encoder: hawker-load matches `"type":"welcome"` byte for byte.
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


def send(ws, message):
    ws.send(encode(message), OpCode.TEXT)


def error(ws, command_id, code, text):
    # No `re` when the command had no usable id, as in Hawker.
    send(ws, {"type": "error", **({"re": command_id} if isinstance(command_id, str) else {}), "code": code, "message": text})


def claims(token):
    """The token's payload, decoded without checking the signature: the peer trusts
    hawker-load's tokens. Hawker verifies HS256 on connect; the fan-out and idle scenarios
    compared here do not measure connecting."""
    try:
        payload = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except Exception:
        return None


def on_message(ws, message, opcode):
    global sessions
    try:
        command = json.loads(message)
        kind, command_id = command["type"], command.get("id")
    except Exception:
        return error(ws, None, "bad_request", "frame is not a hawker.v1 command")
    if not isinstance(command_id, str):
        return error(ws, None, "bad_request", "the uWS peer needs an id on every command")
    if kind == "publish":
        stream, event = command.get("stream"), command.get("event")
        if not isinstance(stream, str) or not isinstance(event, dict) or not isinstance(event.get("kind"), str) \
                or not isinstance(event.get("data"), dict):
            return error(ws, command_id, "bad_request", "publish needs stream and event {kind, data}")
        state = streams.get(stream)
        if state is None:
            state = streams[stream] = [os.urandom(8).hex(), 0, "idle", None]
        state[1] += 1
        ts = now_ms()
        if event["kind"] == "stream.started":
            state[2] = "live"
        elif event["kind"] == "stream.ended":
            state[2] = "ended"
        elif event["kind"] == "announcement":
            state[3] = {"text": event["data"].get("text"), "ts": ts}
        # Encoded once; uWS copies the bytes to every subscriber of the topic.
        app.publish(stream, encode({"type": "event", "stream": stream, "epoch": state[0], "seq": state[1], "ts": ts,
                                    "kind": event["kind"], "data": event["data"]}), OpCode.TEXT)
        send(ws, {"type": "published", "re": command_id, "stream": stream, "epoch": state[0], "seq": state[1], "ts": ts})
    elif kind == "subscribe":
        stream = command.get("stream")
        state = streams.get(stream)
        if state is None:
            return error(ws, command_id, "stream_not_found", f"no stream {stream}")
        ws.subscribe(stream)
        # Subscribed and answered in the same callback: every later publish reaches this
        # viewer, with seq after the one it is told here.
        send(ws, {"type": "subscribed", "re": command_id, "stream": stream, "epoch": state[0], "seq": state[1],
                  "recovered": False,
                  "state": {"server_time": now_ms(), "stream": {"status": state[2]}, "catalog": [], "pinned": [],
                            "sales": [], **({"announcement": state[3]} if state[3] else {}),
                            "viewers": app.num_subscribers(stream)}})
    elif kind == "connect":
        token = claims(command.get("token") or "")
        if token is None or not isinstance(token.get("sub"), str):
            send(ws, {"type": "error", "re": command_id, "code": "unauthorized", "message": "not a JWT"})
            return ws.close()
        sessions += 1
        send(ws, {"type": "welcome", "re": command_id, "protocol": "hawker.v1", "session": f"u{sessions:x}",
                  "server_time": now_ms(), "user": {"sub": token["sub"], "role": token.get("role", "viewer")},
                  "limits": {"max_message_bytes": 65536, "max_subscriptions": 16, "ping_interval_ms": 20000,
                             "commands_per_second": 20, "command_burst": 40}})
    elif kind == "ping":
        send(ws, {"type": "pong", "re": command_id, "server_time": now_ms()})
    else:
        error(ws, command_id, "bad_request", f"the uWS peer does not implement {kind}")


app.ws("/ws", {
    # No upgrade handler: uWS's own answers the handshake and echoes Sec-WebSocket-Protocol
    # (hawker.v1), with no per-connection user data (the peer keeps none).
    "compression": CompressOptions.DISABLED,  # hawker-load offers no permessage-deflate
    "max_payload_length": 65536,  # Hawker's max_message_bytes
    # Viewers only read (sends do not reset the timer): uWS pings a connection that has
    # sent nothing for idle_timeout minus a margin it derives (28 s: ping after 20 s, as
    # Hawker pings every 20 s; closed if no pong within 8 s), and the pong keeps it open.
    # A shorter timeout would put pings, not idleness, into the idle scenario's CPU figure.
    "idle_timeout": 28,
    "send_pings_automatically": True,
    # A viewer more than 1 MiB behind is closed, as Hawker closes one past its cap (4001):
    # then hawker-load counts it, where uWS's default would drop messages silently.
    "max_backpressure": 1 << 20,
    "close_on_backpressure_limit": True,
    "message": on_message,
})
app.get("/healthz", lambda res, req: res.end('{"status":"ok"}'))


def listening(config):
    print(f"uws peer listening on {port}, pid {os.getpid()}", flush=True)


app.listen(port, listening)
# SIGTERM (bench-common.sh's stop) keeps its default action; SIGINT too, since Python's
# handler would only run once the C loop returns.
signal.signal(signal.SIGINT, signal.SIG_DFL)
app.loop.uv_loop.run()
