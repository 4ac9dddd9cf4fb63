#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# A static file server for the pull fault tests (not for speed): serves ROOT
# over HTTP/1.1 on 127.0.0.1, logs "METHOD PATH STATUS" per request to LOG,
# and misbehaves for request paths named in the JSON file RULES, read on
# every request:
#   {"<path substring>": {"mode": M, "count": N, "arg": "..."}, ...}
# applied to the first N matching requests (-1: every one), then honest
# ("after": M lets the first M matching requests through honestly first;
# "covering": B matches only Range requests whose range holds byte B,
# "not_covering": B only those whose range does not: a pull asks for its
# ranges on parallel connections, so which request comes first is not
# fixed, but which bytes each asks for is);
# counting starts again whenever the file changes.
# Modes: "500" status 500; "404"; "truncate" (full Content-Length, half the
# body, close); "stall" (headers and a few bytes, then silence for 120 s);
# "oversize" (the body and 100 more bytes, Content-Length to match);
# "redirect-loop" (302 to itself); "other" (the bytes of ROOT/arg instead);
# "norange" (a Range request answered 200 with the whole file); "badrange"
# (answered 206 with the whole file labelled as bytes 0-); "delay" (waits arg
# seconds, then answers honestly: requests that overlap show in the log);
# "endless" (200, chunked, the file's bytes over and over: a body that never
# ends, up to 1 GiB or until the client hangs up).
# HEAD is answered with the headers a GET would have (logged "HEAD PATH ok").
# A "Range: bytes=N-" request is otherwise answered 206 with the rest of
# the file ("truncate" then sends half of that rest), and "Range: bytes=A-B"
# with bytes A..B; "corrupt" flips the byte at the middle of the body sent. After each response a
# line "SENT PATH BYTES" gives the body bytes written, for byte counting.
# LOG.times gets "SECONDS PATH" per GET (a monotonic clock), for the backoff.
# Prints the port on stdout once listening.
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

root, rules_path, log_path = sys.argv[1], sys.argv[2], sys.argv[3]
lock = threading.Lock()
seen = {}
last_rules = [None]


def range_bounds(rng):
    """(first, last) of a "bytes=A-B" or "bytes=A-" header, last None when open."""
    try:
        first, last = rng.split("=", 1)[1].split("-", 1)
        return int(first), (int(last) if last else None)
    except (AttributeError, IndexError, ValueError):
        return None


def range_holds(rng, byte):
    b = range_bounds(rng)
    return b is not None and b[0] <= byte and (b[1] is None or byte <= b[1])


def range_matches(rule, rng):
    if "covering" in rule and not range_holds(rng, rule["covering"]):
        return False
    if "not_covering" in rule and (rng is None or range_holds(rng, rule["not_covering"])):
        return False
    return True


def rule_for(path, rng=None):
    try:
        with open(rules_path) as f:
            text = f.read()
        rules = json.loads(text)
    except (OSError, ValueError):
        return None
    with lock:
        if text != last_rules[0]:     # new rules: count from zero again
            last_rules[0] = text
            seen.clear()
    for key, rule in rules.items():
        if key in path and range_matches(rule, rng):
            with lock:
                n = seen.get(key, 0)
                seen[key] = n + 1
            count, after = rule.get("count", -1), rule.get("after", 0)
            if n >= after and (count < 0 or n < after + count):
                return rule
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def handle(self):
        try:
            super().handle()
        except (ConnectionResetError, BrokenPipeError):
            pass    # the client hung up (a refused answer): not an error of the server

    def log(self, status):
        rng = self.headers.get("Range")
        with lock, open(log_path, "a") as f:
            f.write(f"GET {self.path} {status}" + (f" range={rng}" if rng else "") + "\n")
        with lock, open(log_path + ".times", "a") as f:
            f.write(f"{time.monotonic():.3f} {self.path}\n")

    def send_bytes(self, status, body, length=None, extra=None):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def do_HEAD(self):
        rel = self.path.split("?", 1)[0].lstrip("/")
        full = os.path.realpath(os.path.join(root, rel))
        with lock, open(log_path, "a") as f:
            f.write(f"HEAD {self.path} ok\n")
        ok = full.startswith(os.path.realpath(root) + "/") and os.path.isfile(full)
        self.send_response(200 if ok else 404)
        self.send_header("Content-Length", str(os.path.getsize(full) if ok else 0))
        self.end_headers()

    def do_GET(self):
        rel = self.path.split("?", 1)[0].lstrip("/")
        full = os.path.realpath(os.path.join(root, rel))
        rule = rule_for(self.path, self.headers.get("Range"))
        mode = rule["mode"] if rule else None
        self.log(mode or "ok")
        if mode == "delay":
            time.sleep(float(rule["arg"]))
            mode = None
        if mode == "500":
            return self.send_bytes(500, b"server error\n")
        if mode == "404":
            return self.send_bytes(404, b"not found\n")
        if mode == "redirect-loop":
            return self.send_bytes(302, b"", extra={"Location": self.path})
        if mode == "other":
            full = os.path.realpath(os.path.join(root, rule["arg"]))
        if not full.startswith(os.path.realpath(root) + "/") or not os.path.isfile(full):
            return self.send_bytes(404, b"not found\n")
        with open(full, "rb") as f:
            body = f.read()
        status, extra = 200, {}
        rng = self.headers.get("Range")
        if rng and mode != "norange":
            first, dash, last = rng[6:].partition("-")
            if not (rng.startswith("bytes=") and dash and first.isdigit() and (last == "" or last.isdigit())):
                return self.send_bytes(416, b"", extra={"Content-Range": f"bytes */{len(body)}"})
            start = int(first)
            end = min(int(last), len(body) - 1) if last else len(body) - 1
            if start >= len(body) or end < start:
                return self.send_bytes(416, b"", extra={"Content-Range": f"bytes */{len(body)}"})
            status = 206
            if mode == "badrange":
                extra = {"Content-Range": f"bytes 0-{len(body) - 1}/{len(body)}"}
            else:
                extra = {"Content-Range": f"bytes {start}-{end}/{len(body)}"}
                body = body[start:end + 1]
        if mode == "corrupt" and body:
            mid = len(body) // 2
            body = body[:mid] + bytes([body[mid] ^ 0xff]) + body[mid + 1:]
        if mode == "truncate":
            self.send_bytes(status, body[: len(body) // 2], length=len(body), extra=extra)
            self.sent(len(body) // 2)
            self.close_connection = True
            return
        if mode == "stall":
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[:10])
            self.wfile.flush()
            time.sleep(120)
            self.close_connection = True
            return
        if mode == "oversize":
            return self.send_bytes(200, body + b"x" * 100)
        if mode == "endless":
            return self.endless(body or b"x")
        try:
            self.send_bytes(status, body, extra=extra)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            return
        self.sent(len(body))

    def endless(self, body):
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = (body * (65536 // len(body) + 1))[:65536]
        frame = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
        n = 0
        try:
            for _ in range(16384):          # 1 GiB at most
                self.wfile.write(frame)
                n += len(chunk)
        except OSError:
            pass
        self.close_connection = True
        self.sent(n)

    def sent(self, n):
        with lock, open(log_path, "a") as f:
            f.write(f"SENT {self.path} {n}\n")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128        # a pull opens its connections at once


srv = Server(("127.0.0.1", 0), Handler)
print(srv.server_address[1], flush=True)
srv.serve_forever()
