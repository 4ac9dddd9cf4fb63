#!/bin/bash
# SPDX-License-Identifier: MIT
# Initial pull with 50 ms round-trip latency next to the same pull on
# loopback: `sealtree pull --no-packs` (loose objects, --jobs JOBS),
# `sealtree pull` from a pack of the commit (Range requests, neighbours
# merged), `ostree pull` (archive repo, its defaults) and the curl floor (`curl --parallel --parallel-max JOBS` of the
# same object files into /dev/null), medians of RUNS, one private nginx.
#
# Latency, in order of preference:
#   netem: a network namespace and a veth pair, `tc qdisc add ... netem
#          delay DELAY_MS` on both ends; nginx on the host side of the pair,
#          the clients in the namespace (needs root and the sch_netem module)
#   proxy: where the kernel has no netem (CONFIG_NET_SCH_NETEM unset), said
#          loudly: bench/delay-proxy.py delays every byte DELAY_MS each way
#          (a request and its answer: 2 * DELAY_MS). Its own throughput is
#          limited (one Python thread), so the same proxy with 0 ms is
#          measured too, and the latency cost is read against that.
# Target (issue 11): sealtree with latency within 1.5x of its loopback time.
# Usage: bench/bench-pull-netem.sh [SOURCE]  (SOURCE default /usr/share/doc;
#        BUILD_DIR, RUNS (3), JOBS (32), DELAY_MS (25), BENCH_DIR, MODE=netem|proxy)
set -euo pipefail

SRC=${1:-/usr/share/doc}
BUILD_DIR=${BUILD_DIR:-build}
RUNS=${RUNS:-3}
JOBS=${JOBS:-32}
DELAY_MS=${DELAY_MS:-25}
SEALTREE=$(realpath "$BUILD_DIR/tools/sealtree/sealtree")
HERE=$(cd "$(dirname "$0")" && pwd)
[ -x "$SEALTREE" ] || { echo "build sealtree first ($SEALTREE)" >&2; exit 1; }
command -v ostree >/dev/null || { echo "needs ostree (Debian package 'ostree')" >&2; exit 1; }
TEST_TMP=$(mktemp -d "${BENCH_DIR:-/var/tmp}/sealtree-bench-netem.XXXXXX")
NS=stbench$$
PROXY_PIDS=()
cleanup_test_tmp() {
	for p in "${PROXY_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	nginx_stop 2>/dev/null || true
	ip netns del "$NS" 2>/dev/null || true
	ip link del "${NS}h" 2>/dev/null || true
	rm -rf "$TEST_TMP"
}
skip_all() { echo "cannot run: $*" >&2; exit 1; }
trap cleanup_test_tmp EXIT
# shellcheck source=../tests/remote-lib.sh
. "$HERE/../tests/remote-lib.sh"
T=$TEST_TMP

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
timed() { local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); echo "$e - $s" | bc; }

# ---- latency: netem if this kernel has it ----
mode=${MODE:-}
if [ -z "$mode" ] || [ "$mode" = netem ]; then
	modprobe sch_netem 2>/dev/null || true
	if ip netns add "$NS" 2>/dev/null &&
		ip link add "${NS}h" type veth peer name "${NS}n" 2>/dev/null &&
		ip link set "${NS}n" netns "$NS" &&
		ip addr add 10.231.0.1/24 dev "${NS}h" && ip link set "${NS}h" up &&
		ip -n "$NS" addr add 10.231.0.2/24 dev "${NS}n" && ip -n "$NS" link set "${NS}n" up &&
		ip -n "$NS" link set lo up &&
		tc qdisc add dev "${NS}h" root netem delay "${DELAY_MS}ms" 2>"$T/tc.err" &&
		tc -n "$NS" qdisc add dev "${NS}n" root netem delay "${DELAY_MS}ms" 2>>"$T/tc.err"; then
		mode=netem
	else
		[ "${MODE:-}" = netem ] && { cat "$T/tc.err" >&2; exit 1; }
		mode=proxy
	fi
fi
if [ "$mode" = proxy ]; then
	ip netns del "$NS" 2>/dev/null || true
	ip link del "${NS}h" 2>/dev/null || true
	cat >&2 <<WARN
################################################################################
# NO NETEM: this kernel ($(uname -r)) cannot run 'tc qdisc ... netem'
# ($(cat "$T/tc.err" 2>/dev/null | head -1)$(zcat /proc/config.gz 2>/dev/null | grep -m1 NET_SCH_NETEM || true)).
# Latency is emulated by bench/delay-proxy.py instead: ${DELAY_MS} ms each way on
# every byte, not on the TCP handshake, no bandwidth limit, and its own
# throughput caps every client; compare against the same proxy at 0 ms.
################################################################################
WARN
fi

# ---- the tree, both repositories, nginx ----
echo "tree: $SRC ($(find "$SRC" -xdev -type f 2>/dev/null | wc -l) files, $(du -sm "$SRC" 2>/dev/null | cut -f1) MB); latency: $mode, ${DELAY_MS} ms each way"
mkdir -p "$T/www"
"$SEALTREE" --repo "$T/www/st" init --verity=off >/dev/null
"$SEALTREE" --repo "$T/www/st" commit -b main --tree "$SRC" --canonical-permissions >/dev/null
"$SEALTREE" --repo "$T/www/st" pack main >/dev/null
"$SEALTREE" --repo "$T/www/st" summary >/dev/null
ostree --repo="$T/www/os" init --mode=archive
ostree --repo="$T/www/os" commit -b main --tree=dir="$SRC" --owner-uid=0 --owner-gid=0 >/dev/null 2>&1 ||
	ostree --repo="$T/www/os" commit -b main --tree=dir="$SRC" >/dev/null
ostree --repo="$T/www/os" summary -u
[ "$mode" = netem ] && NGINX_LISTEN_ADDR=10.231.0.1
nginx_start "$T/www"
(cd "$T/www/st" && find objects -type f -name '[0-9a-f]*') >"$T/objects.list"
objs=$(wc -l <"$T/objects.list")
bytes=$(cd "$T/www/st/objects" && find . -type f -name '[0-9a-f]*' -printf '%s\n' | awk '{ s += $1 } END { print s }')
echo "sealtree objects: $objs, $((bytes / 1048576)) MiB; ostree archive: $(du -sm "$T/www/os/objects" | cut -f1) MiB"
cat "$T"/www/st/objects/*/* "$T"/www/st/images/* >/dev/null 2>&1 || true
find "$T/www/os/objects" -type f -exec cat {} + >/dev/null

start_proxy() { # DELAY_MS: the proxy's URL in $PROXY_URL
	python3 "$HERE/delay-proxy.py" "${NGINX_LISTEN_ADDR:-127.0.0.1}" "$NGINX_PORT" "$1" >"$T/proxy.$1" 2>/dev/null &
	PROXY_PIDS+=($!)
	for _ in $(seq 50); do [ -s "$T/proxy.$1" ] && break; sleep 0.1; done
	PROXY_URL=http://127.0.0.1:$(cat "$T/proxy.$1")
}

# run_condition NAME URL [PREFIX...]: RUNS of the three clients against URL, run under PREFIX.
run_condition() {
	local name=$1 url=$2 run
	shift 2
	awk -v u="$url/st/" '{ print "url = " u $0; print "output = /dev/null" }' "$T/objects.list" >"$T/curl.cfg"
	: >"$T/t-st-$name"; : >"$T/t-sp-$name"; : >"$T/t-os-$name"; : >"$T/t-cu-$name"
	for run in $(seq "$RUNS"); do
		rm -rf "$T/cl-st" "$T/cl-sp" "$T/cl-os"
		"$SEALTREE" --repo "$T/cl-st" init --verity=off >/dev/null
		"$SEALTREE" --repo "$T/cl-st" remote add origin "$url/st" --no-sign-verify
		timed "$@" "$SEALTREE" --repo "$T/cl-st" -q pull origin --no-packs --jobs "$JOBS" >>"$T/t-st-$name"
		"$SEALTREE" --repo "$T/cl-sp" init --verity=off >/dev/null
		"$SEALTREE" --repo "$T/cl-sp" remote add origin "$url/st" --no-sign-verify
		timed "$@" "$SEALTREE" --repo "$T/cl-sp" -q pull origin --jobs "$JOBS" >>"$T/t-sp-$name"
		ostree --repo="$T/cl-os" init --mode=bare-user
		ostree --repo="$T/cl-os" remote add --no-gpg-verify origin "$url/os"
		timed "$@" ostree --repo="$T/cl-os" pull origin main >>"$T/t-os-$name"
		timed "$@" curl -s --parallel --parallel-max "$JOBS" -K "$T/curl.cfg" >>"$T/t-cu-$name" 2>/dev/null ||
			echo 0 >>"$T/t-cu-$name"
		echo "$name run $run: sealtree $(tail -1 "$T/t-st-$name") s, from a pack $(tail -1 "$T/t-sp-$name") s, ostree $(tail -1 "$T/t-os-$name") s, curl $(tail -1 "$T/t-cu-$name") s"
	done
}

conditions=(loopback)
run_condition loopback "$NGINX_URL"
if [ "$mode" = netem ]; then
	conditions+=(delayed)
	run_condition delayed "$NGINX_URL" ip netns exec "$NS"
else
	conditions+=(proxy0 delayed)
	start_proxy 0
	run_condition proxy0 "$PROXY_URL"
	start_proxy "$DELAY_MS"
	run_condition delayed "$PROXY_URL"
fi

echo
printf '%-10s %12s %12s %12s %12s   (median of %s, seconds)\n' condition sealtree st-pack ostree curl "$RUNS"
for c in "${conditions[@]}"; do
	eval "st_$c=\$(median <\"\$T/t-st-$c\")"; eval "sp_$c=\$(median <\"\$T/t-sp-$c\")"
	eval "os_$c=\$(median <\"\$T/t-os-$c\")"; eval "cu_$c=\$(median <\"\$T/t-cu-$c\")"
	eval "printf '%-10s %12s %12s %12s %12s\n' $c \$st_$c \$sp_$c \$os_$c \$cu_$c"
done
base=loopback
[ "$mode" = proxy ] && base=proxy0
eval "sb=\$st_$base; pb=\$sp_$base; ob=\$os_$base; cb=\$cu_$base"
echo
echo "latency cost (delayed / $base): sealtree $(echo "scale=2; $st_delayed / $sb" | bc)x," \
	"from a pack $(echo "scale=2; $sp_delayed / $pb" | bc)x (target <= 1.5x)," \
	"ostree $(echo "scale=2; $os_delayed / $ob" | bc)x, curl $(echo "scale=2; $cu_delayed / $cb" | bc)x"
echo "with latency: sealtree $(echo "scale=2; $os_delayed / $st_delayed" | bc)x faster than ostree," \
	"$(echo "scale=2; $st_delayed / $cu_delayed" | bc)x the curl floor"
