# SPDX-License-Identifier: MIT
# Sourced by the 22xx oci pull tests after test-lib.sh (and by make demo
# part 4, which defines TEST_TMP and skip_all itself): private instances
# of Debian's docker-registry (distribution 2.8) on free loopback ports,
# each with its own config file and storage under $TEST_TMP, stopped by
# PID (never the system service); test images made with umoci from small
# trees (no root, no network) and pushed with skopeo.

REGISTRY_BIN=${REGISTRY_BIN:-$(command -v docker-registry || echo /usr/bin/docker-registry)}
REG_PIDS=()

# free_port: a TCP port on 127.0.0.1 nobody listens on (just now).
free_port() {
	python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# need_registry: docker-registry, and curl and python3 to start it.
need_registry() {
	[ -x "$REGISTRY_BIN" ] || skip_all "needs docker-registry (Debian's docker-registry)"
	command -v curl >/dev/null || skip_all "needs curl"
	command -v python3 >/dev/null || skip_all "needs python3"
}

# need_registry_tools: that, and skopeo and umoci to make and copy images.
need_registry_tools() {
	need_registry
	command -v skopeo >/dev/null || skip_all "needs skopeo"
	command -v umoci >/dev/null || skip_all "needs umoci"
}

# count_proxy NAME [--no-range]: a counting proxy (count-proxy.py) in front of
# $REG; sets PROXY (127.0.0.1:PORT), its counts in $TEST_TMP/NAME.count;
# stopped by registry_stop_all (its pid is the last of REG_PIDS).
count_proxy() {
	rm -f "$TEST_TMP/$1.port" "$TEST_TMP/$1.count"
	python3 "$(dirname "$0")/count-proxy.py" "$TEST_TMP/$1.port" "$REG" "$TEST_TMP/$1.count" "${@:2}" &
	REG_PIDS+=($!)
	for _ in $(seq 100); do [ -s "$TEST_TMP/$1.port" ] && break; sleep 0.1; done
	PROXY=127.0.0.1:$(cat "$TEST_TMP/$1.port")
}

# chunked_test_setup: the start of a test that pushes and pulls zstd:chunked
# layers: skips without sealtree, the registry tools or zstd; C locale; the
# registries it starts are stopped at exit. T is the test's directory, and
# A, B and C run sealtree on the stores $T/a, $T/b and $T/c.
chunked_test_setup() {
	[ -x "$SEALTREE" ] || skip_all "sealtree not built"
	need_registry_tools
	command -v zstd >/dev/null || skip_all "needs zstd"
	export LC_ALL=C
	trap 'registry_stop_all; cleanup_test_tmp' EXIT
	T=$TEST_TMP
	A() { "$SEALTREE" --repo "$T/a" "$@"; }
	B() { "$SEALTREE" --repo "$T/b" "$@"; }
	C() { "$SEALTREE" --repo "$T/c" "$@"; }
}

registry_stop_all() {
	local p
	for p in "${REG_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	REG_PIDS=()
}

# wait_http URL PID: until URL answers (any status) or PID dies.
wait_http() {
	local url=$1 pid=$2
	for _ in $(seq 100); do
		if curl -s -o /dev/null "$url"; then
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# registry_start NAME [AUTH_YAML]: a registry whose storage is
# $TEST_TMP/NAME/storage, serving at $REG (127.0.0.1:PORT). AUTH_YAML is
# the "auth:" section of its config, if any.
registry_start() {
	local name=$1 auth=${2:-} dir=$TEST_TMP/$1 port
	mkdir -p "$dir/storage"
	for _ in 1 2 3 4 5; do
		port=$(free_port)
		cat >"$dir/config.yml" <<CONF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$port
  secret: sealtree-test-secret
$auth
CONF
		"$REGISTRY_BIN" serve "$dir/config.yml" >"$dir/log" 2>&1 &
		REG_PIDS+=($!)
		if wait_http "http://127.0.0.1:$port/v2/" $!; then
			REG=127.0.0.1:$port
			return 0
		fi
		kill $! 2>/dev/null || true
	done
	cat "$dir/log" >&2 || true
	skip_all "docker-registry did not start"
}

# bcrypt_line USER PASSWORD: an htpasswd line (bcrypt, as the registry requires).
bcrypt_line() {
	if command -v htpasswd >/dev/null; then
		htpasswd -nbB "$1" "$2" | head -1
	else
		python3 -W ignore -c 'import crypt, sys
print(sys.argv[1] + ":" + crypt.crypt(sys.argv[2], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 5)))' "$1" "$2"
	fi
}

# oci_image LAYOUT TAG TREE...: an image in the OCI layout LAYOUT whose
# layers are the trees given in order (each copied over the last; a file
# listed in TREE/.delete is removed, which umoci records as a whiteout).
oci_image() {
	local layout=$1 tag=$2 bundle tree f
	shift 2
	bundle=$TEST_TMP/bundle.$$
	[ -d "$layout" ] || umoci init --layout "$layout"
	umoci new --image "$layout:$tag"
	for tree in "$@"; do
		rm -rf "$bundle"
		umoci unpack --rootless --image "$layout:$tag" "$bundle" >/dev/null
		if [ -f "$tree/.delete" ]; then
			while read -r f; do rm -rf "${bundle:?}/rootfs/$f"; done <"$tree/.delete"
		fi
		tar -C "$tree" --exclude=./.delete -cf - . | tar -C "$bundle/rootfs" -xf -
		umoci repack --image "$layout:$tag" "$bundle" >/dev/null
	done
	rm -rf "$bundle"
}

# push LAYOUT:TAG NAME:TAG [skopeo options...]: copy into the registry at $REG.
push() {
	local src=$1 dst=$2
	shift 2
	skopeo copy --quiet --dest-tls-verify=false "$@" "oci:$src" "docker://$REG/$dst" >/dev/null
}
