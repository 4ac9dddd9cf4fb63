#!/bin/bash
# SPDX-License-Identifier: MIT
# pull over https with HTTP/2: a test CA, a server certificate and a client
# certificate made with openssl; the test's own nginx with "listen ... ssl
# http2" on loopback, asking for the client certificate. The remote's
# tls-ca, tls-client-cert and tls-client-key make the pull work; nginx's
# log shows HTTP/2.0 and the objects multiplexed over reused connections; a
# remote trusting another CA is refused with the certificate problem named,
# one without the client certificate is refused by the server; no ref moves.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/remote-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
command -v openssl >/dev/null || skip_all "needs openssl"
curl -V 2>/dev/null | grep -q '^Features:.*HTTP2' || skip_all "libcurl without HTTP/2 (nghttp2)"
"${NGINX:-/usr/sbin/nginx}" -V 2>&1 | grep -q -- --with-http_v2_module || skip_all "nginx without http_v2"

ref_of() { C refs --all | awk -v r="refs/remotes/$1/main" '$2 == r { print $1 }'; }

# ---- a test CA, the server's certificate (127.0.0.1), a client certificate; another CA ----
P=$T/pki
mkdir -p "$P"
mkcert() { # NAME CN EXT: a key and a certificate signed by the CA
	openssl req -new -newkey rsa:2048 -nodes -keyout "$P/$1.key" -subj "/CN=$2" -out "$P/$1.csr" 2>/dev/null &&
		printf '%s\n' "$3" >"$P/$1.ext" &&
		openssl x509 -req -in "$P/$1.csr" -CA "$P/ca.pem" -CAkey "$P/ca.key" -CAcreateserial -days 2 \
			-extfile "$P/$1.ext" -out "$P/$1.pem" 2>/dev/null
}
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$P/ca.key" -subj "/CN=sealtree test CA" -days 2 \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" -out "$P/ca.pem" 2>/dev/null &&
	mkcert server 127.0.0.1 "subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth" &&
	mkcert client sealtree-client "extendedKeyUsage=clientAuth" &&
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$P/other.key" -subj "/CN=another CA" -days 2 \
		-addext "basicConstraints=critical,CA:TRUE" -out "$P/other.pem" 2>/dev/null &&
	ok "test CA, server and client certificates" || skip_all "openssl could not make the test certificates"

# ---- the server's repository; nginx with TLS and HTTP/2, asking for a client certificate ----
mkdir -p "$T/tree"
for i in $(seq 1 60); do head -c $((300 + i * 101)) /dev/urandom >"$T/tree/f$i"; done
S init --verity=off >/dev/null
v1=$(S commit -b main --tree "$T/tree")
S summary >/dev/null
NGINX_SCHEME=https
NGINX_LISTEN_OPTS="ssl http2"
NGINX_SERVER_EXTRA="ssl_certificate $P/server.pem; ssl_certificate_key $P/server.key;
		ssl_client_certificate $P/ca.pem; ssl_verify_client on;"
nginx_start "$srv"
case $NGINX_URL in https://*) ok "nginx serves https on loopback" ;; *) fail "nginx" "$NGINX_URL" ;; esac

# ---- the pull ----
C init --verity=off >/dev/null
check "remote add with tls-ca and a client certificate" C remote add origin "$NGINX_URL" --no-sign-verify \
	--tls-ca "$P/ca.pem" --tls-client-cert "$P/client.pem" --tls-client-key "$P/client.key"
grep -qx "tls-ca=$P/ca.pem" "$cl/remotes/origin/config" && grep -qx "tls-client-key=$P/client.key" "$cl/remotes/origin/config" &&
	ok "... kept in the remote's config" || fail "config" "$(cat "$cl/remotes/origin/config")"
expect_refused "a client certificate without its key is refused" "tls-client-cert and tls-client-key go together" \
	C remote add half "$NGINX_URL" --tls-client-cert "$P/client.pem"
mark=$(access_lines)
C pull origin >"$T/out" 2>"$T/err" && [ "$(ref_of origin)" = "$v1" ] && ok "pull over https" || fail "pull" "$(cat "$T/err")"
[ "$(objects_of "$srv")" = "$(objects_of "$cl")" ] && C fsck >/dev/null 2>&1 && ok "... every object, fsck clean" ||
	fail "objects" ""
tail -n +$((mark + 1)) "$NGINX_DIR/access.log" >"$T/log"
n=$(grep -c '"GET /objects/' "$T/log" || true)
h2=$(grep '"GET /objects/' "$T/log" | awk '$(NF-2) == "HTTP/2.0"' | wc -l)
conns=$(grep '"GET /objects/' "$T/log" | awk '{ print $(NF-1) }' | sort -u | wc -l)
maxreq=$(awk '{ print $NF }' "$T/log" | sort -n | tail -1)
[ "$n" = 60 ] && [ "$h2" = 60 ] && ok "nginx logged 60 object requests, every one HTTP/2.0" ||
	fail "http/2" "objects $n, HTTP/2.0 $h2: $(cat "$T/log")"
[ "$conns" -le 2 ] && [ "$maxreq" -ge 30 ] && ok "... over $conns connection(s), up to $maxreq requests on one" ||
	fail "connection reuse" "$conns connections, at most $maxreq requests on one: $(cat "$T/log")"

# ---- refused: a CA that did not sign the server's certificate; no client certificate ----
check "remote add wrongca" C remote add wrongca "$NGINX_URL" --no-sign-verify --tls-ca "$P/other.pem" \
	--tls-client-cert "$P/client.pem" --tls-client-key "$P/client.key"
mark=$(access_lines)
expect_refused "a server certificate from another CA is refused, the problem named" \
	"$NGINX_URL/summary: .*certificate.*(after 1 attempt)" C pull wrongca
[ "$(requests_since "$mark" 'GET /')" = 0 ] && [ -z "$(ref_of wrongca)" ] && ok "... no request reached nginx, no ref" ||
	fail "wrongca" "$(tail -n +$((mark + 1)) "$NGINX_DIR/access.log")"
check "remote add nocert" C remote add nocert "$NGINX_URL" --no-sign-verify --tls-ca "$P/ca.pem"
expect_refused "without the client certificate the server refuses" "$NGINX_URL/summary: HTTP status 400" C pull nocert
[ -z "$(ref_of nocert)" ] && ok "... no ref" || fail "nocert ref" ""

done_testing
