# SPDX-License-Identifier: MIT
# count-proxy.py PORTFILE UPSTREAM COUNTFILE [--no-range]: an HTTP/1.1
# proxy on a free loopback port (written to PORTFILE) in front of UPSTREAM
# (host:port) for GET and HEAD; after each response it writes to COUNTFILE
# "REQUESTS BODY_BYTES WIRE_BYTES" (wire = status line, headers and body
# sent to the client). --no-range drops Range headers, as a registry
# that ignores them would. Used by the partial-pull tests.
import http.client, http.server, sys, threading

portfile, upstream, countfile = sys.argv[1:4]
no_range = "--no-range" in sys.argv
lock = threading.Lock()
count = [0, 0, 0]

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def relay(self):
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        if no_range:
            headers.pop("Range", None)
            headers.pop("range", None)
        c = http.client.HTTPConnection(upstream)
        c.request(self.command, self.path, headers=headers)
        r = c.getresponse()
        body = r.read()
        wire = len("HTTP/1.1 %d %s\r\n" % (r.status, r.reason))
        self.send_response_only(r.status, r.reason)
        for k, v in r.getheaders():
            if k.lower() in ("connection", "transfer-encoding", "content-length"):
                continue
            self.send_header(k, v)
            wire += len(k) + len(v) + 4
        self.send_header("Content-Length", str(len(body)) if self.command != "HEAD" else r.getheader("Content-Length", "0"))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
            wire += len(body)
        c.close()
        with lock:
            count[0] += 1
            count[1] += len(body) if self.command != "HEAD" else 0
            count[2] += wire
            open(countfile, "w").write("%d %d %d\n" % tuple(count))
    do_GET = relay
    do_HEAD = relay

s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(portfile, "w").write(str(s.server_address[1]))
s.serve_forever()
