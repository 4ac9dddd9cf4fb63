# SPDX-License-Identifier: MIT
# Sourced by the 21xx pull tests after test-lib.sh: a private nginx serving
# a directory on a free loopback port. Never the system service: its own
# prefix, config, pid file and logs in $TEST_TMP, killed by its PID.

NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}

# Every 21xx test: a server repository $srv (S) and a client one $cl (C).
export LC_ALL=C
unset SOURCE_DATE_EPOCH
T=$TEST_TMP
srv=$T/srv
cl=$T/cl
S() { "$SEALTREE" --repo "$srv" "$@"; }
C() { "$SEALTREE" --repo "$cl" "$@"; }

# expect_refused NAME PATTERN CMD...: CMD exits 1 and its stderr matches PATTERN.
expect_refused() {
	local name=$1 pattern=$2 rc=0
	shift 2
	"$@" >"$T/out" 2>"$T/err" || rc=$?
	if [ $rc = 1 ] && grep -q -- "$pattern" "$T/err"; then
		ok "$name"
	else
		fail "$name" "rc=$rc, stderr: $(cat "$T/err")"
	fi
}
# pack_entries INDEX: a line per entry of a pack index, "KEY OFFSET CSIZE SIZE"
# (docs/formats/remote.md: 56-byte entries from byte 128, their count at 24).
pack_entries() {
	python3 - "$1" <<'PY'
import struct, sys
idx = open(sys.argv[1], "rb").read()
for i in range(struct.unpack_from("<Q", idx, 24)[0]):
    e = 128 + 56 * i
    print(idx[e:e + 32].hex(), *struct.unpack_from("<QQQ", idx, e + 32))
PY
}
# pack_entry INDEX KEY: "OFFSET CSIZE SIZE" of the entry with that key (nothing if none).
pack_entry() { pack_entries "$1" | awk -v k="$2" '$1 == k { print $2, $3, $4 }'; }
ref_is() { [ "$(C refs --all | awk -v r="refs/remotes/origin/$1" '$2 == r { print $1 }')" = "$2" ]; }
objects_of() { (cd "$1/objects" && find . -type f -name '[0-9a-f]*' | sort); }

# free_port: a TCP port on 127.0.0.1 nobody listens on (just now).
free_port() {
	python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# nginx_start ROOT: serve ROOT at $NGINX_URL; the access log is $NGINX_DIR/access.log:
#   ADDR - - [TIME] "REQUEST" STATUS BODY_BYTES "RANGE" PROTOCOL CONNECTION REQUEST_NO
# $NGINX_SERVER_EXTRA (optional) is added to the server block (e.g. a limit_rate);
# $NGINX_LISTEN_OPTS (optional) to its listen line (e.g. "ssl http2", then
# $NGINX_SCHEME=https and the certificates in $NGINX_SERVER_EXTRA);
# $NGINX_LISTEN_ADDR (optional) replaces 127.0.0.1.
nginx_start() {
	local root=$1 tries user=""
	[ -x "$NGINX" ] || skip_all "needs nginx (Debian's nginx-light)"
	NGINX_DIR=$TEST_TMP/nginx
	mkdir -p "$NGINX_DIR/tmp"
	# As root the workers would drop to nobody, who cannot enter $TEST_TMP (0700).
	[ "$(id -u)" = 0 ] && user="user root root;"
	for tries in 1 2 3 4 5; do
		NGINX_PORT=$(free_port)
		cat >"$NGINX_DIR/nginx.conf" <<CONF
$user
daemon off;
master_process on;
worker_processes 1;
pid $NGINX_DIR/nginx.pid;
error_log $NGINX_DIR/error.log;
events { worker_connections 512; }
http {
	log_format st '\$remote_addr - - [\$time_local] "\$request" \$status \$body_bytes_sent "\$http_range" \$server_protocol \$connection \$connection_requests';
	access_log $NGINX_DIR/access.log st;
	client_body_temp_path $NGINX_DIR/tmp/body;
	proxy_temp_path $NGINX_DIR/tmp/proxy;
	fastcgi_temp_path $NGINX_DIR/tmp/fastcgi;
	uwsgi_temp_path $NGINX_DIR/tmp/uwsgi;
	scgi_temp_path $NGINX_DIR/tmp/scgi;
	keepalive_requests 100000;
	server {
		listen ${NGINX_LISTEN_ADDR:-127.0.0.1}:$NGINX_PORT ${NGINX_LISTEN_OPTS:-};
		root $root;
		location / { }
		${NGINX_SERVER_EXTRA:-}
	}
}
CONF
		: >"$NGINX_DIR/access.log"
		"$NGINX" -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" -e "$NGINX_DIR/error.log" &
		NGINX_PID=$!
		trap 'nginx_stop; cleanup_test_tmp' EXIT
		for _ in $(seq 50); do
			if curl -s -k -o /dev/null "${NGINX_SCHEME:-http}://${NGINX_LISTEN_ADDR:-127.0.0.1}:$NGINX_PORT/"; then
				NGINX_URL=${NGINX_SCHEME:-http}://${NGINX_LISTEN_ADDR:-127.0.0.1}:$NGINX_PORT
				: >"$NGINX_DIR/access.log"
				return 0
			fi
			kill -0 "$NGINX_PID" 2>/dev/null || break
			sleep 0.1
		done
		nginx_stop
	done
	cat "$NGINX_DIR/error.log" >&2 || true
	skip_all "nginx did not start"
}

nginx_stop() {
	if [ -n "${NGINX_PID:-}" ]; then
		kill "$NGINX_PID" 2>/dev/null || true
		wait "$NGINX_PID" 2>/dev/null || true
		NGINX_PID=
	fi
}

# access_lines: the access log's line count (a mark); requests_since MARK PATTERN: matching requests after it.
access_lines() { wc -l <"$NGINX_DIR/access.log"; }
requests_since() { tail -n +$(($1 + 1)) "$NGINX_DIR/access.log" | grep -c -- "$2" || true; }

# fault_server_start: tests/fault-server.py serving $srv by the rules in $T/rules.json, logging to
# $T/requests.log (emptied first; request times in requests.log.times), stopped on exit (fault_server_stop): $URL and $server_pid.
fault_server_start() {
	: >"$T/requests.log"
	: >"$T/requests.log.times"
	python3 "$SOURCE_DIR/tests/fault-server.py" "$srv" "$T/rules.json" "$T/requests.log" >"$T/port" &
	server_pid=$!
	trap 'fault_server_stop; cleanup_test_tmp' EXIT
	for _ in $(seq 50); do [ -s "$T/port" ] && break; sleep 0.1; done
	[ -s "$T/port" ] || skip_all "the fault server did not start"
	URL=http://127.0.0.1:$(cat "$T/port")
}

fault_server_stop() {
	if [ -n "${server_pid:-}" ]; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
		server_pid=
	fi
}

# commit_serve_pull: $T/tree committed as main ($v1) with `summary --packs`, $srv served by nginx, and
# a client ($cl) with the remote origin (signatures not checked) that pulled it; 1 if that pull failed.
commit_serve_pull() {
	S init --verity=off >/dev/null
	v1=$(S commit -b main --tree "$T/tree")
	S summary --packs >/dev/null
	nginx_start "$srv"
	C init --verity=off >/dev/null
	C remote add origin "$NGINX_URL" --no-sign-verify
	C pull origin >/dev/null 2>"$T/err"
}
