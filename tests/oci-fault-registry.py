#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# A registry (distribution spec, read side) that misbehaves on purpose, for
# the oci pull fault tests (not for speed): serves the OCI layout LAYOUT on
# 127.0.0.1 under any repository name (/v2/NAME/manifests/TAG|DIGEST,
# /v2/NAME/blobs/DIGEST, with Range), logs one line per request to LOG
# ("PATH STATUS range=R auth=yes|no"), and misbehaves for paths named in
# the JSON file RULES, read on every request:
#   {"<path substring>": {"mode": M, "count": N}, ...}
# applied to the first N matching requests (-1: every one), then honest;
# counting starts again whenever the file changes.
# Modes: "500"; "truncate" (full Content-Length, half of the bytes asked
# for, close); "stall" (headers and a few bytes, then silence); "corrupt"
# (one byte flipped); "redirect" (307 to /storage/... on host "localhost",
# which serves the blob: another host name for the client); "redirect-loop"
# (307 to itself); "oversize" (an endless manifest, no Content-Length);
# "endless" (a blob that never ends, no Content-Length); "index" (a tag
# answered with an index: linux/amd64 -> the real manifest, and arm64);
# "no-platform" (an index offering only arm64 and s390x); "docker-list" (the
# same as "index" as a Docker manifest list); "ignore-range"
# (200 with the whole body to a Range request); "bad-range" (206 from byte
# 0 whatever was asked); "digest-lie" (a wrong Docker-Content-Digest);
# "slow" (a second's wait first; log lines of these carry "slow=N", the
# slow requests being served at that moment, this one included); "404";
# "trickle" (the body 32 KiB at a time, 50 ms apart).
# With a fourth argument USER:PASSWORD every /v2/ request needs that Basic
# authorization (401 otherwise, with two WWW-Authenticate headers: a Basic
# challenge, then one of a scheme the client does not know); /storage/ needs none.
# Prints the port on stdout once listening.
import base64
import hashlib
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

layout, rules_path, log_path = sys.argv[1], sys.argv[2], sys.argv[3]
basic = "Basic " + base64.b64encode(sys.argv[4].encode()).decode() if len(sys.argv) > 4 else None
lock = threading.Lock()
seen = {}
last_rules = [None]
slow = [0]
MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"


def rule_for(path):
    try:
        with open(rules_path) as f:
            text = f.read()
        rules = json.loads(text)
    except (OSError, ValueError):
        return None
    with lock:
        if text != last_rules[0]:
            last_rules[0] = text
            seen.clear()
    for key, rule in rules.items():
        if key in path:
            with lock:
                n = seen.get(key, 0)
                seen[key] = n + 1
            count = rule.get("count", -1)
            if count < 0 or n < count:
                return rule
    return None


def blob(digest):
    m = re.fullmatch(r"sha256:([0-9a-f]{64})", digest)
    if not m:
        return None
    p = os.path.join(layout, "blobs", "sha256", m.group(1))
    if not os.path.isfile(p):
        return None
    with open(p, "rb") as f:
        return f.read()


def tagged(tag):
    with open(os.path.join(layout, "index.json")) as f:
        index = json.load(f)
    for d in index["manifests"]:
        if d.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
            return d
    return None


def make_index(desc, platforms, mt=MT_INDEX):
    manifests = []
    for arch in platforms:
        d = {"mediaType": desc["mediaType"], "digest": desc["digest"], "size": desc["size"],
             "platform": {"os": "linux", "architecture": arch}}
        if arch != "amd64":     # another platform: some other blob, never fetched
            d["digest"] = "sha256:" + hashlib.sha256(arch.encode()).hexdigest()
        manifests.append(d)
    return json.dumps({"schemaVersion": 2, "mediaType": mt, "manifests": manifests}).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def log(self, status, extra=""):
        with lock, open(log_path, "a") as f:
            f.write(f"{self.path} {status} range={self.headers.get('Range', '-')} "
                    f"auth={'yes' if self.headers.get('Authorization') else 'no'} "
                    f"host={self.headers.get('Host', '-')}{extra}\n")

    def send_bytes(self, status, body, extra=None, length=None):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
            self.wfile.flush()

    def do_HEAD(self):
        self.do_GET()

    def stream_forever(self, ctype):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Connection", "close")
        self.end_headers()
        chunk = b" " * 65536
        try:
            for _ in range(16384):          # 1 GiB at most
                self.wfile.write(chunk)
        except OSError:
            pass
        self.close_connection = True

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        rule = rule_for(path)
        mode = rule["mode"] if rule else None
        if basic and path.startswith("/v2") and self.headers.get("Authorization") != basic:
            self.log("401")
            body = b'{"errors":[{"code":"UNAUTHORIZED"}]}\n'
            self.send_response(401)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("WWW-Authenticate", 'Basic realm="fault-registry"')
            self.send_header("WWW-Authenticate", "Negotiate")
            self.end_headers()
            self.wfile.write(body)
            return
        if mode == "slow":
            with lock:
                slow[0] += 1
                n = slow[0]
            self.log(mode, f" slow={n}")
            time.sleep(1)
            with lock:
                slow[0] -= 1
        else:
            self.log(mode or "ok")
        if path == "/v2/" or path == "/v2":
            return self.send_bytes(200, b"{}", {"Content-Type": "application/json"})
        if mode == "500":
            return self.send_bytes(500, b"server error\n")
        if mode == "404":
            return self.send_bytes(404, b'{"errors":[{"code":"BLOB_UNKNOWN"}]}\n')
        if mode == "redirect-loop":
            return self.send_bytes(307, b"", {"Location": path})
        m = re.fullmatch(r"/v2/(.+)/manifests/([^/]+)", path)
        if m:
            return self.manifest(m.group(2), mode)
        m = re.fullmatch(r"/v2/(.+)/blobs/(sha256:[0-9a-f]{64})", path) or \
            re.fullmatch(r"/storage/(x)/(sha256:[0-9a-f]{64})", path)
        if m:
            if mode == "redirect":
                port = self.server.server_address[1]
                return self.send_bytes(307, b"", {"Location": f"http://localhost:{port}/storage/x/{m.group(2)}"})
            return self.blob(m.group(2), mode)
        return self.send_bytes(404, b'{"errors":[{"code":"NAME_UNKNOWN"}]}\n')

    def manifest(self, ref, mode):
        if ref.startswith("sha256:"):
            body = blob(ref)
            if body is None:
                return self.send_bytes(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}\n')
            ctype = json.loads(body).get("mediaType", MT_MANIFEST)
        else:
            desc = tagged(ref)
            if desc is None:
                return self.send_bytes(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}\n')
            if mode in ("index", "no-platform", "docker-list"):
                mt = MT_DOCKER_LIST if mode == "docker-list" else MT_INDEX
                body = make_index(desc, ["arm64", "s390x"] if mode == "no-platform" else ["amd64", "arm64"], mt)
                return self.send_bytes(200, body, {"Content-Type": mt})
            body = blob(desc["digest"])
            ctype = desc["mediaType"]
        if mode == "oversize":
            return self.stream_forever(ctype)
        extra = {"Content-Type": ctype, "Docker-Content-Digest": "sha256:" + hashlib.sha256(body).hexdigest()}
        if mode == "digest-lie":
            extra["Docker-Content-Digest"] = "sha256:" + hashlib.sha256(b"lie").hexdigest()
        if mode == "corrupt":
            body = body[:-2] + bytes([body[-2] ^ 1]) + body[-1:]
        return self.send_bytes(200, body, extra)

    def blob(self, digest, mode):
        body = blob(digest)
        if body is None:
            return self.send_bytes(404, b'{"errors":[{"code":"BLOB_UNKNOWN"}]}\n')
        if mode == "endless":
            return self.stream_forever("application/octet-stream")
        if mode == "corrupt":
            body = body[:len(body) // 2] + bytes([body[len(body) // 2] ^ 1]) + body[len(body) // 2 + 1:]
        start, status, extra = 0, 200, {"Content-Type": "application/octet-stream"}
        rng = self.headers.get("Range")
        m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng or "")
        if m and mode != "ignore-range":
            start = int(m.group(1))
            end = int(m.group(2)) + 1 if m.group(2) else len(body)
            if start >= len(body):
                return self.send_bytes(416, b"", {"Content-Range": f"bytes */{len(body)}"})
            if mode == "bad-range":
                start = 0
            extra["Content-Range"] = f"bytes {start}-{end - 1}/{len(body)}"
            body, status = body[start:end], 206
        if mode == "truncate":
            self.send_bytes(status, body[: len(body) // 2], extra, length=len(body))
            self.close_connection = True
            return
        if mode == "trickle":
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            for k, v in extra.items():
                self.send_header(k, v)
            self.end_headers()
            try:
                for i in range(0, len(body), 32768):
                    self.wfile.write(body[i:i + 32768])
                    self.wfile.flush()
                    time.sleep(0.05)
            except OSError:
                self.close_connection = True
            return
        if mode == "stall":
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            for k, v in extra.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body[:10])
            self.wfile.flush()
            time.sleep(120)
            self.close_connection = True
            return
        return self.send_bytes(status, body, extra)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass        # a client that went away (a killed pull) is no error here


srv = Server(("127.0.0.1", 0), Handler)
print(srv.server_address[1], flush=True)
srv.serve_forever()
