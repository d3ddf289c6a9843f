#!/usr/bin/env python3
"""Every abuse probe of the hardening issue, on repeat, against a running gateway.

One round every few seconds, until --until (a Unix time): a client that pipelines
requests and never reads, pings before `connect` never read, subscribe/unsubscribe on a
large state never read, slowloris and silent sockets, numbers past 2^53 over HTTP, a
host trying to create streams past its quota, a token opening connections past its
quota, large events filling history. Each probe only sends; the gateway must close it
or answer with an error. Prints one line per round; exits non-zero if the gateway stops
answering /healthz.
"""
import argparse, base64, hashlib, hmac, json, os, socket, sys, threading, time

# The probes connect from their own loopback address: the gateway bounds half-open
# connections per address, and the legitimate load comes from 127.0.0.1.
SOURCE = ("127.0.0.66", 0)

def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

def token(secret, sub, role="viewer", ttl=3600):
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = b64(json.dumps({"sub": sub, "role": role, "streams": ["*"], "exp": int(time.time()) + ttl}).encode())
    signature = hmac.new(secret.encode(), f"{header}.{claims}".encode(), hashlib.sha256).digest()
    return f"{header}.{claims}.{b64(signature)}"

def frame(opcode, payload):
    key = os.urandom(4)
    head = bytes([0x80 | opcode])
    n = len(payload)
    if n < 126: head += bytes([0x80 | n])
    elif n < 65536: head += bytes([0x80 | 126]) + n.to_bytes(2, "big")
    else: head += bytes([0x80 | 127]) + n.to_bytes(8, "big")
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))

def text(message):
    return frame(0x1, json.dumps(message).encode())

class Probe:
    def __init__(self, port, receive_buffer=4096):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.sock.settimeout(5)
        self.sock.bind(SOURCE)
        self.sock.connect(("127.0.0.1", port))
        self.sock.settimeout(0.2)

    def send(self, data, seconds=20):
        """Sends until done or closed; True while the connection is open."""
        deadline = time.time() + seconds
        while data and time.time() < deadline:
            try:
                sent = self.sock.send(data)
                data = data[sent:]
            except socket.timeout:
                continue
            except OSError:
                return False
        return True

    def upgrade(self):
        self.send(b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                  b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: hawker.v1\r\n\r\n")
        return self.read_until(b"\r\n\r\n").startswith(b"HTTP/1.1 101")

    def read_until(self, marker, seconds=5):
        data = b""
        deadline = time.time() + seconds
        while marker not in data and time.time() < deadline:
            try:
                chunk = self.sock.recv(4096)
                if not chunk: break
                data += chunk
            except socket.timeout:
                continue
            except OSError:
                break
        return data

    def flood(self, data, seconds):
        """Sends `data` again and again; True once the server closed the connection."""
        deadline = time.time() + seconds
        while time.time() < deadline:
            if not self.send(data, seconds=1):
                return True
        return False

    def close(self):
        try: self.sock.close()
        except OSError: pass

def http(port, method, path, body=None, auth=None):
    request = f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    if auth: request += f"Authorization: Bearer {auth}\r\n"
    payload = json.dumps(body).encode() if body is not None else b""
    request = request.encode() + f"Content-Length: {len(payload)}\r\n\r\n".encode() + payload
    with socket.create_connection(("127.0.0.1", port), timeout=10, source_address=SOURCE) as s:
        s.sendall(request)
        response = b""
        while True:
            chunk = s.recv(65536)
            if not chunk: break
            response += chunk
    return int(response.split(b" ", 2)[1]) if response else 0

def pipelined(port, admin):
    p = Probe(port)
    request = f"GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {admin}\r\n\r\n".encode()
    closed = p.flood(request * 200, 30)
    p.close()
    return closed

def pings(port):
    p = Probe(port)
    closed = p.upgrade() and p.flood(frame(0x9, b"ping") * 1000, 30)
    p.close()
    return closed

def subscribe_loop(port, viewer):
    p = Probe(port)
    closed = False
    if p.upgrade() and p.send(text({"type": "connect", "id": "c", "token": viewer})):
        p.read_until(b"welcome")
        for i in range(300):
            # A pause after subscribe lets the state go out (an unsubscribe while it is
            # pending cancels it).
            if not p.send(text({"type": "subscribe", "id": f"s{i}", "stream": "soak-big"}), 1):
                closed = True
                break
            time.sleep(0.1)
            if not p.send(text({"type": "unsubscribe", "id": f"u{i}", "stream": "soak-big"}), 1):
                closed = True
                break
            time.sleep(0.1)
    p.close()
    return closed

def slow_sockets(port, count=40):
    silent = [Probe(port) for _ in range(count)]
    slow = [Probe(port) for _ in range(count)]
    for s in slow: s.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n", 1)
    for i in range(100):
        alive = [s for s in slow if s.send(f"X-Pad-{i}: x\r\n".encode(), 0.2)]
        if not alive: break
        time.sleep(0.2)
    for s in silent + slow: s.close()

def numbers(port, admin):
    big = 9223372036854775807
    http(port, "POST", "/v1/streams/soak-n/events", {"kind": "catalog.set", "data": {"products": [
        {"id": "tee", "title": "Tee", "merchant": "m1", "price": 100, "currency": "EUR", "stock": 5}]}}, admin)
    codes = [http(port, "POST", "/v1/streams/soak-n/events", body, admin) for body in [
        {"kind": "sale.started", "data": {"sale": "s", "items": [{"product": "tee", "price": 50}], "duration_ms": big}},
        {"kind": "stock.changed", "data": {"product": "tee", "level": big}},
        {"kind": "price.changed", "data": {"product": "tee", "price": big - 1}},
    ]]
    return all(code == 400 for code in codes)

def streams_quota(port, secret, round_number):
    host = token(secret, f"soak-greedy-{round_number % 3}", "host")
    codes = [http(port, "POST", f"/v1/streams/soak-g{round_number % 3}-{i}/events", {"kind": "stream.started"}, host) for i in range(120)]
    return 429 in codes

def connections_quota(port, secret):
    viewer = token(secret, "soak-hoarder")
    probes = []
    refused = 0
    for _ in range(40):
        p = Probe(port, 65536)
        if p.upgrade() and p.send(text({"type": "connect", "id": "c", "token": viewer})):
            if b"quota_exceeded" in p.read_until(b"}"): refused += 1
        probes.append(p)
    for p in probes: p.close()
    return refused > 0

def history(port, admin):
    products = [{"id": f"p{i}", "title": "Product", "merchant": "m1", "price": 100, "currency": "EUR",
                 "description": chr(97 + i % 26) * 1900} for i in range(25)]
    for _ in range(40):
        http(port, "POST", "/v1/streams/soak-history/events", {"kind": "catalog.set", "data": {"products": products}}, admin)

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--until", type=float, required=True)
    args = parser.parse_args()
    # One admin user per probe: each has its own HTTP request quota.
    admin = lambda probe: token(args.secret, f"soak-ops-{probe}", "admin")
    products = [{"id": f"p{i}", "title": "Product", "merchant": "m1", "price": 100, "currency": "EUR",
                 "description": "d" * 1900} for i in range(25)]
    http(args.port, "POST", "/v1/streams/soak-big/events", {"kind": "catalog.set", "data": {"products": products}}, admin("setup"))
    round_number = 0
    while time.time() < args.until:
        round_number += 1
        results = {}
        def run(name, function, *extra):
            try: results[name] = function(*extra)
            except Exception as error: results[name] = f"error: {error}"
        threads = [threading.Thread(target=run, args=spec) for spec in [
            ("pipelined", pipelined, args.port, admin("pipelined")), ("pings", pings, args.port),
            ("subscribe_loop", subscribe_loop, args.port, token(args.secret, f"soak-looper-{round_number}")),
            ("slow_sockets", slow_sockets, args.port), ("numbers", numbers, args.port, admin("numbers")),
            ("streams_quota", streams_quota, args.port, args.secret, round_number),
            ("connections_quota", connections_quota, args.port, args.secret), ("history", history, args.port, admin("history")),
        ]]
        for t in threads: t.start()
        for t in threads: t.join()
        if http(args.port, "GET", "/healthz") != 200:
            print(f"round {round_number}: the gateway does not answer /healthz", flush=True)
            sys.exit(1)
        print(f"round {round_number}: " + " ".join(f"{k}={v}" for k, v in sorted(results.items())), flush=True)
        # True: the gateway closed or refused the probe; False or an error: it did not.
        failed = [k for k, v in results.items() if v is False or (isinstance(v, str) and v.startswith("error"))]
        if failed:
            print(f"round {round_number}: the gateway did not stop {', '.join(sorted(failed))}", flush=True)
            sys.exit(1)
        time.sleep(2)

if __name__ == "__main__":
    main()
