#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# A token realm for docker-registry's token auth (distribution's "token"
# auth, RS256 JWTs), for the oci pull tests: GET /token?service=S&scope=...
# answers {"token": JWT, ...} signed with KEY (by `openssl dgst`, so no
# Python crypto package is needed), CERT in the header's x5c so the
# registry finds it in its rootcertbundle. Anonymous requests get "pull"
# only; a Basic USER:PASSWORD equal to CREDS gets every action asked for;
# other credentials get 401. Logs "PATH auth=yes|no" per request to LOG.
# Usage: oci-token-server.py KEY CERT ISSUER CREDS LOG; prints the port.
import base64
import json
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

key, cert, issuer, creds, log_path = sys.argv[1:6]
lock = threading.Lock()
with open(cert) as f:
    pem = f.read()
der_b64 = "".join(line for line in pem.splitlines() if "CERTIFICATE" not in line)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(payload):
    header = {"typ": "JWT", "alg": "RS256", "x5c": [der_b64]}
    signing_input = (b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(payload).encode())).encode()
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=signing_input,
                         capture_output=True, check=True).stdout
    return signing_input.decode() + "." + b64url(sig)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body, extra=None):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(url.query)
        auth = self.headers.get("Authorization")
        with lock, open(log_path, "a") as f:
            f.write(f"{self.path} auth={'yes' if auth else 'no'}\n")
        if url.path != "/token":
            return self.reply(404, b"{}")
        user = None
        if auth:
            if auth != "Basic " + base64.b64encode(creds.encode()).decode():
                return self.reply(401, b'{"details":"bad credentials"}',
                                  {"WWW-Authenticate": 'Basic realm="token"'})
            user = creds.split(":", 1)[0]
        access = []
        for scope in q.get("scope", []):
            parts = scope.split(":")
            if len(parts) != 3 or parts[0] != "repository":
                continue
            actions = parts[2].split(",")
            if user is None:
                actions = [a for a in actions if a == "pull"]
            access.append({"type": "repository", "name": parts[1], "actions": actions})
        now = int(time.time())
        token = sign({"iss": issuer, "sub": user or "", "aud": q.get("service", [""])[0], "exp": now + 300,
                      "nbf": now - 10, "iat": now, "jti": str(now) + str(id(self)), "access": access})
        body = json.dumps({"token": token, "access_token": token, "expires_in": 300}).encode()
        self.reply(200, body)


class Server(ThreadingHTTPServer):
    daemon_threads = True


srv = Server(("127.0.0.1", 0), Handler)
print(srv.server_address[1], flush=True)
srv.serve_forever()
