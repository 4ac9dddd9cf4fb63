#!/bin/bash
# SPDX-License-Identifier: MIT
# Initial pull with 50 ms round-trip latency next to the same pull on
# loopback and through the relay at 0 ms (below): `sealtree pull` from a
# pack of the commit (Range requests, neighbours merged), and as ROWS asks
# the same with another build, `sealtree pull --no-packs` (loose objects),
# `ostree pull` (archive repo, its defaults), curl of the loose object
# files or of the pack in JOBS ranges into /dev/null (the network alone);
# --jobs / --parallel-max JOBS; medians of RUNS, one private nginx.
#
# Latency, in order of preference (MODE= forces one):
#   netem: where the kernel has sch_netem: a network namespace and a veth
#          pair, `tc qdisc add ... netem delay DELAY_MS` on both ends; nginx
#          on the host side of the pair, the clients in the namespace.
#   tun:   where it has not (CONFIG_NET_SCH_NETEM unset, as on the machine
#          this was written on): two namespaces made here, nginx in one, the
#          clients in the other, joined by no veth but by bench/tun-delay
#          (built by meson, or here with cc), which opens a TUN device in
#          each and forwards every IP packet DELAY_MS later, each way, with a
#          bounded queue: the TCP handshake, ACKs and requests are all
#          delayed, as with netem. It runs under `chrt -f` where it can, so
#          a loaded machine does not add its scheduling delays to the line.
#          The same relay with 0 ms is measured too (its own cost), with ping
#          (RTT) and a curl of a large file (throughput) at 0 and DELAY_MS.
#   proxy: bench/delay-proxy.py, an HTTP-level TCP proxy that delays every
#          byte DELAY_MS each way but not the handshake nor ACKs, with its
#          own throughput limit; kept for comparison (MODE=proxy).
# Every timed run writes into a filesystem made for it alone (FSTYPES;
# fresh_fs of bench-lib.sh says why) and ends with `sync -f` on it inside
# the time; each run takes loopback, relay 0 ms and relay 50 ms in turn;
# nginx and the timed commands run at nice NICE. Rows: run_condition.
#
# Target (issue 11): the initial pull of a /usr/share commit from its pack
# with 50 ms RTT within 1.5x of the loopback time, Linux's defaults on the
# server (initial window 10 segments).
#
# Measured 2026-12-04 19:58-20:03 UTC, MODE=tun, RUNS=5 (medians), load
# average 1.9 at the start, 3.7 at the end (other helpers' work; the heavy
# lock held), "pack" is sealtree 0092bbf (the objects asked for with the
# image), "base" main 45a2e3c (the image first) in the same runs:
#   ROWS="pack base ranges" BUILD_DIR=... BASE_BUILD_DIR=... RUNS=5 \
#     bench/bench-pull-netem.sh /usr/share      (then /usr/share/doc)
# line: TCP connect 0.19-0.34 ms loopback, 0.15-0.45 ms relay 0 ms,
# 50.5-50.7 ms at 25 ms each way; one curl of 256 MiB 2938, 2195 and
# 52 MiB/s; the relay dropped no packet (576k forwarded, 914k with ACKs),
# nor did the TUN rings.
# /usr/share (54,826 objects, 777 MB; pack 279 MB), seconds:
#                 ext4: pack   base  | tmpfs: pack   base  | ranges (curl)
#   loopback          2.64   2.65    |       1.04   1.04   |   0.092
#   relay 0 ms        2.74   2.76    |       1.11   1.09   |   0.150
#   relay 50 ms       3.76   3.96    |       2.22   2.33   |   0.632
#   / loopback        1.42x  1.49x   |       2.12x  2.24x  |
#   / relay 0 ms      1.37x  1.43x   |       2.00x  2.14x  |
# /usr/share/doc (4,467 objects, 94 MB; pack 53 MB), seconds:
#   loopback          0.34   0.33    |       0.155  0.148  |   0.030
#   relay 0 ms        0.35   0.35    |       0.161  0.159  |   0.041
#   relay 50 ms       0.87   1.01    |       0.70   0.83   |   0.474
#   / loopback        2.56x  3.06x   |       4.50x  5.61x  |
# Two runs before, busier (load 2.4-6.3), of earlier states of the same
# change against main 500e78e: /usr/share into ext4 1.20x and 1.26x,
# into tmpfs 1.90x and 1.75x (main 2.12x, 2.58x); /usr/share/doc at 50 ms
# 0.90 and 1.13 s into ext4 (main 1.03, 1.13), 0.70 and 0.76 s into tmpfs
# (main 0.88, 0.90): the figures move by 20-50% with the machine's other
# work from one run to the next; the A/B in one run is what compares.
# So: for /usr/share the 1.5x target is met into ext4 (1.42x; main 1.49x)
# and NOT into tmpfs (2.12x; main 2.24x), where nothing but CPU is left on
# loopback. The 50 ms pull costs 1.1 s more than loopback either way,
# where curl alone of the same 279 MB as 32 ranges takes 0.63 s (0.54 s
# more than on loopback): 4 round trips before the first pack byte
# (handshake, summary, commit, index), then TCP's slow start, during which
# the decoder waits, and bursts at the end that it cannot take at once
# (not analysed further: whether the receive windows stall while the
# receiving thread decodes a batch itself is the next question). For
# /usr/share/doc it is not met (2.6x, 4.5x) and cannot be with these
# defaults: curl alone, fetching the same 53 MB as 32 ranges into
# /dev/null, takes 0.47 s at 50 ms, already 3.1x the loopback pull into
# tmpfs and 1.4x the one into ext4; the pull adds the 3 round trips the
# order rule needs before the index (0.15 s) and the decoding of the last
# burst.
# The relay is not the bottleneck: at 0 ms the 32 ranges of the pack take
# 0.150 s through it against 0.092 s on loopback (1.9 GB/s), 7x what the
# fastest pull consumes (279 MB in 1.04 s), with no drop; at 50 ms the
# 64 MiB queue of an earlier run dropped 146 packets of 380k (now 256 MiB:
# none). Its own CPU (now printed with its counts; 20:08 UTC, load 0.6-1.0,
# /usr/share into tmpfs, ROWS=pack RUNS=3): 0.13-0.15 s per pull at 0 ms,
# 0.33-0.35 s per pull at 50 ms, on the same 2 cores as the client, whose
# pulls took 1.04-1.08 s on loopback, 1.08-1.15 s at 0 ms and 2.02-2.29 s
# at 50 ms (2.0x): the relay's CPU is a small part of the 1 s difference.
# Nor are the client's receive buffers (20:10 UTC, the same runs with the
# client namespace's net.ipv4.tcp_rmem max at 64 MiB instead of 6 MiB, by
# hand, not an option here): 2.00-2.17 s at 50 ms. Where the rest of that
# second goes (the decoder idle through slow start, then ~200 MB arriving
# in the last round trips: by arithmetic that explains ~0.5 s) is left to
# a profile of the pull over time.
# Also measured (19:30 UTC, RUNS=3, load 3-5, /usr/share/doc into ext4,
# an earlier state of this change and main 500e78e, both with the option): --jobs 64: 1.51 s at 50 ms against 1.04 s with 32
# (more connections do not help here); a server initial window of 100
# segments (SERVER_INITCWND=100, a server setting, NOT the headline):
# 0.96 s against 1.04 s, ranges by curl 0.375 s against 0.479 s.
# Earlier figures (older set-ups: the repository in /var/tmp on the root
# filesystem, every condition's runs in a row, 16 MiB relay queue): 18:11
# UTC, idle, /usr/share/doc from a pack 0.37 / 0.70 / 1.64 s (4.4x),
# loose objects 0.98 / 1.80 / 9.68 s, ostree 1.68 / 2.33 / 37.28 s (22x),
# curl of the loose files 0.23 / 0.24 / 7.63 s (ROWS adds those rows).
# Usage: bench/bench-pull-netem.sh [SOURCE]  (SOURCE default /usr/share)
#   env: BUILD_DIR, RUNS (3), JOBS (32), DELAY_MS (25), BENCH_DIR (/var/tmp),
#        ROWS ("pack ranges"; also base, loose, ostree, curl: see run_condition),
#        BASE_BUILD_DIR (row base: another build's sealtree, e.g. main's),
#        SERVER_INITCWND (MODE=tun: the server's initial congestion window
#        in segments, instead of Linux's 10: a server setting, to compare),
#        FSTYPES ("ext4 tmpfs": a fresh filesystem per timed run, fresh_fs of
#        bench-lib.sh), NICE (-10: nginx and every timed command),
#        MODE=netem|tun|proxy, TUN_MTU (1500), TUN_QUEUE (256 MiB each way: 64 MiB dropped 146
#        packets of 380k in the whole tree's 50 ms runs),
#        TUN_GSO (gso: the relay takes segmentation offload, TCP still sends
#        TUN_MTU segments; nogso: one packet per segment, the relay's old,
#        costlier way)
#   The rows of the figures below:
#     ROWS="pack ranges" bench/bench-pull-netem.sh /usr/share
#     ROWS="pack ranges loose ostree curl" FSTYPES=ext4 bench/bench-pull-netem.sh /usr/share/doc
# Needs root (namespaces, mkfs, mount), nginx, curl, bc; ostree for that row.
set -euo pipefail

SRC=${1:-/usr/share}
BUILD_DIR=${BUILD_DIR:-build}
RUNS=${RUNS:-3}
JOBS=${JOBS:-32}
DELAY_MS=${DELAY_MS:-25}
TUN_MTU=${TUN_MTU:-1500}
TUN_GSO=${TUN_GSO:-gso}
TUN_QUEUE=${TUN_QUEUE:-$((256 << 20))}
ROWS=${ROWS:-pack ranges}
FSTYPES=${FSTYPES:-ext4 tmpfs}
NICE=${NICE:--10}
SEALTREE=$(realpath "$BUILD_DIR/tools/sealtree/sealtree")
BASE_SEALTREE=${BASE_BUILD_DIR:+$(realpath "$BASE_BUILD_DIR/tools/sealtree/sealtree")}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench-lib.sh
. "$HERE/bench-lib.sh"
has_row() { [[ " $ROWS " == *" $1 "* ]]; }
[ -x "$SEALTREE" ] || { echo "build sealtree first ($SEALTREE)" >&2; exit 1; }
! has_row base || [ -x "$BASE_SEALTREE" ] || { echo "row base: set BASE_BUILD_DIR to another build" >&2; exit 1; }
! has_row ostree || command -v ostree >/dev/null || { echo "needs ostree (Debian package 'ostree')" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "needs root (namespaces; a fresh filesystem mounted for each run)" >&2; exit 1; }
TEST_TMP=$(mktemp -d "${BENCH_DIR:-/var/tmp}/sealtree-bench-netem.XXXXXX")
NS=stbench$$
NS_S=stsrv$$
NS_C=stcli$$
PROXY_PIDS=()
TUN_PID=
NSNGINX_PID=
tun_stop() {
	if [ -n "$TUN_PID" ]; then
		kill "$TUN_PID" 2>/dev/null || true
		wait "$TUN_PID" 2>/dev/null || true
		TUN_PID=
	fi
}
cleanup_test_tmp() {
	for p in "${PROXY_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	tun_stop
	[ -n "$NSNGINX_PID" ] && { kill "$NSNGINX_PID" 2>/dev/null || true; wait "$NSNGINX_PID" 2>/dev/null || true; }
	nginx_stop 2>/dev/null || true
	ip netns del "$NS" 2>/dev/null || true
	ip netns del "$NS_S" 2>/dev/null || true
	ip netns del "$NS_C" 2>/dev/null || true
	ip link del "${NS}h" 2>/dev/null || true
	fresh_fs_release "$TEST_TMP/mnt"
	rm -rf "$TEST_TMP"
}
skip_all() { echo "cannot run: $*" >&2; exit 1; }
trap cleanup_test_tmp EXIT
# shellcheck source=../tests/remote-lib.sh
. "$HERE/../tests/remote-lib.sh"
T=$TEST_TMP
MNT=$T/mnt

# ---- latency: netem if this kernel has it, else the TUN relay ----
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
		ip netns del "$NS" 2>/dev/null || true
		ip link del "${NS}h" 2>/dev/null || true
		echo "# no netem on this kernel ($(uname -r): $({ zcat /proc/config.gz 2>/dev/null || true; } | grep -m1 NET_SCH_NETEM || head -1 "$T/tc.err" 2>/dev/null || true)): the TUN relay instead" >&2
		mode=tun
	fi
fi

# tun_start: bench/tun-delay between $NS_S (10.231.0.1) and $NS_C (10.231.0.2), made once, at 0 ms;
# tun_delay 0|DELAY_MS sets its delay each way (SIGUSR1, SIGUSR2), the devices kept.
TUN_DELAY=
tun_delay() {
	if [ "$1" = 0 ]; then kill -USR1 "$TUN_PID"; else kill -USR2 "$TUN_PID"; fi
	sleep 0.2
}
tun_start() {
	local rt=()
	command -v chrt >/dev/null && chrt -f 50 true 2>/dev/null && rt=(chrt -f 50)
	"${rt[@]}" "$TUN_DELAY" "$DELAY_MS" "/run/netns/$NS_S" "/run/netns/$NS_C" "$TUN_MTU" "$TUN_QUEUE" "$TUN_GSO" >"$T/tun.out" 2>>"$T/tun.err" &
	TUN_PID=$!
	for _ in $(seq 50); do grep -q ready "$T/tun.out" 2>/dev/null && break; sleep 0.1; done
	grep -q ready "$T/tun.out" || { cat "$T/tun.err" >&2; exit 1; }
	ip -n "$NS_S" addr add 10.231.0.1 peer 10.231.0.2 dev tund0
	ip -n "$NS_C" addr add 10.231.0.2 peer 10.231.0.1 dev tund0
	ip -n "$NS_S" link set tund0 mtu "$TUN_MTU" up
	ip -n "$NS_C" link set tund0 mtu "$TUN_MTU" up
	if [ -n "${SERVER_INITCWND:-}" ]; then
		# Not Linux's default (10 segments): a server setting, for comparison only.
		ip -n "$NS_S" route replace 10.231.0.2 dev tund0 src 10.231.0.1 initcwnd "$SERVER_INITCWND"
		echo "server's initial congestion window: $SERVER_INITCWND segments (NOT the default)"
	fi
	tun_delay 0
}
if [ "$mode" = tun ]; then
	TUN_DELAY=$BUILD_DIR/bench/tun-delay
	if [ ! -x "$TUN_DELAY" ]; then
		TUN_DELAY=$T/tun-delay
		cc -O2 -Wall -Wextra -Werror -std=gnu17 -o "$TUN_DELAY" "$HERE/tun-delay.c"
	fi
	[ -c /dev/net/tun ] || skip_all "no /dev/net/tun"
	ip netns add "$NS_S" && ip netns add "$NS_C"
	ip -n "$NS_S" link set lo up && ip -n "$NS_C" link set lo up
fi
if [ "$mode" = proxy ]; then
	cat >&2 <<WARN
################################################################################
# PROXY: bench/delay-proxy.py delays every byte ${DELAY_MS} ms each way, not the
# TCP handshake nor ACKs, no bandwidth limit, and its own throughput caps every
# client; compare against the same proxy at 0 ms. MODE=tun delays packets.
################################################################################
WARN
fi

if [ "$mode" = proxy ]; then
	cat >&2 <<WARN
################################################################################
# PROXY: bench/delay-proxy.py delays every byte ${DELAY_MS} ms each way, not the
# TCP handshake nor ACKs, no bandwidth limit, and its own throughput caps every
# client; compare against the same proxy at 0 ms. MODE=tun delays packets.
################################################################################
WARN
fi

# ---- the tree, the repositories, nginx ----
echo "start: $(uptime)"
echo "tree: $SRC ($(find "$SRC" -xdev -type f 2>/dev/null | wc -l) files, $(du -sm "$SRC" 2>/dev/null | cut -f1) MB); latency: $mode, ${DELAY_MS} ms each way; rows: $ROWS; filesystems: $FSTYPES"
mkdir -p "$T/www"
"$SEALTREE" --repo "$T/www/st" init --verity=off >/dev/null
"$SEALTREE" --repo "$T/www/st" commit -b main --tree "$SRC" --canonical-permissions >/dev/null
"$SEALTREE" --repo "$T/www/st" pack main >/dev/null
"$SEALTREE" --repo "$T/www/st" summary >/dev/null
if has_row ostree; then
	ostree --repo="$T/www/os" init --mode=archive
	ostree --repo="$T/www/os" commit -b main --tree=dir="$SRC" --owner-uid=0 --owner-gid=0 >/dev/null 2>&1 ||
		ostree --repo="$T/www/os" commit -b main --tree=dir="$SRC" >/dev/null
	ostree --repo="$T/www/os" summary -u
fi
[ "$mode" = netem ] && NGINX_LISTEN_ADDR=10.231.0.1
nginx_start "$T/www"
renice -n "$NICE" -p "$NGINX_PID" $(pgrep -P "$NGINX_PID") >/dev/null
if [ "$mode" = tun ]; then
	# The same server in the server's namespace: a copy of the config, its own files, on every address there.
	mkdir -p "$T/nginx-ns/tmp"
	sed -e "s|$NGINX_DIR|$T/nginx-ns|g" -e "s|listen 127.0.0.1:$NGINX_PORT|listen $NGINX_PORT|" \
		"$NGINX_DIR/nginx.conf" >"$T/nginx-ns/nginx.conf"
	ip netns exec "$NS_S" nice -n "$NICE" "$NGINX" -p "$T/nginx-ns" -c "$T/nginx-ns/nginx.conf" -e "$T/nginx-ns/error.log" &
	NSNGINX_PID=$!
	TUN_URL=http://10.231.0.1:$NGINX_PORT
	tun_start
	for _ in $(seq 100); do
		ip netns exec "$NS_C" curl -s -o /dev/null "$TUN_URL/" && break
		sleep 0.1
	done
	ip netns exec "$NS_C" curl -s -o /dev/null "$TUN_URL/" || { cat "$T/nginx-ns/error.log" "$T/tun.err" >&2; exit 1; }
fi
(cd "$T/www/st" && find objects -type f -name '[0-9a-f]*') >"$T/objects.list"
objs=$(wc -l <"$T/objects.list")
bytes=$(cd "$T/www/st/objects" && find . -type f -name '[0-9a-f]*' -printf '%s\n' | awk '{ s += $1 } END { print s }')
pack=$(ls "$T"/www/st/packs/*.pack)
pack_bytes=$(stat -c %s "$pack")
echo "sealtree objects: $objs, $bytes bytes; pack $pack_bytes bytes$(has_row ostree && echo "; ostree archive $(du -sm "$T/www/os/objects" | cut -f1) MiB")"
find "$T/www" -type f -exec cat {} + >/dev/null      # the server's files in the page cache
FS_SIZE=$((bytes * 3 + (2 << 30)))

start_proxy() { # DELAY_MS: the proxy's URL in $PROXY_URL
	python3 "$HERE/delay-proxy.py" "${NGINX_LISTEN_ADDR:-127.0.0.1}" "$NGINX_PORT" "$1" >"$T/proxy.$1" 2>/dev/null &
	PROXY_PIDS+=($!)
	for _ in $(seq 50); do [ -s "$T/proxy.$1" ] && break; sleep 0.1; done
	PROXY_URL=http://127.0.0.1:$(cat "$T/proxy.$1")
}

# timed FILE FS CMD...: CMD (then `sync -f $MNT` unless FS is "-", inside the time) run at nice NICE; seconds appended to FILE.
timed() {
	local file=$1 fs=$2 s e
	shift 2
	s=$(date +%s.%N)
	nice -n "$NICE" "$@" >/dev/null 2>"$T/cmd.err" || { echo "failed: $* : $(tail -3 "$T/cmd.err")" >&2; echo 0 >>"$file"; return 0; }
	[ "$fs" = - ] || sync -f "$MNT"
	e=$(date +%s.%N)
	echo "$e - $s" | bc >>"$file"
}

# run_condition NAME URL [PREFIX...]: RUNS of each row of ROWS against URL, run under PREFIX, each
# writing row into a filesystem of each of FSTYPES made for that run (fresh_fs, bench-lib.sh).
# Rows: pack (sealtree from the pack), base (the same with BASE_BUILD_DIR's sealtree: an A/B in one run),
# loose (sealtree --no-packs), ostree (bare-user repository),
# curl (every loose object file into /dev/null, one request each, --parallel-max JOBS),
# ranges (the pack body in JOBS even byte ranges into /dev/null, --parallel-max JOBS: the network alone).
run_condition() {
	local name=$1 url=$2 fs row f st
	shift 2
	awk -v u="$url/st/" '{ print "url = " u $0; print "output = /dev/null" }' "$T/objects.list" >"$T/curl.cfg"
	awk -v u="$url/st/packs/${pack##*/}" -v n="$JOBS" -v size="$pack_bytes" 'BEGIN {
		for (i = 0; i < n; i++) {
			a = int(size / n) * i; b = i + 1 == n ? size - 1 : int(size / n) * (i + 1) - 1
			print "url = " u; print "range = " a "-" b; print "output = /dev/null"; if (i + 1 < n) print "next"
		} }' >"$T/ranges.cfg"
	{
		for fs in $FSTYPES; do
			for row in $ROWS; do
				f=$T/t-$row-$fs-$name
				case $row in
				pack | loose | base)
					st=$SEALTREE
					[ "$row" = base ] && st=$BASE_SEALTREE
					fresh_fs "$MNT" "$fs" "$FS_SIZE"
					"$st" --repo "$MNT/cl" init --verity=off >/dev/null
					"$st" --repo "$MNT/cl" remote add origin "$url/st" --no-sign-verify
					timed "$f" "$fs" "$@" "$st" --repo "$MNT/cl" -q pull origin --jobs "$JOBS" \
						$([ "$row" = loose ] && echo --no-packs)
					;;
				ostree)
					fresh_fs "$MNT" "$fs" "$FS_SIZE"
					ostree --repo="$MNT/os" init --mode=bare-user
					ostree --repo="$MNT/os" remote add --no-gpg-verify origin "$url/os"
					timed "$f" "$fs" "$@" ostree --repo="$MNT/os" pull origin main
					;;
				curl)
					[ "$fs" = "${FSTYPES%% *}" ] || continue  # writes nothing: once per run
					timed "$f" - "$@" curl -s --parallel --parallel-immediate --parallel-max "$JOBS" -K "$T/curl.cfg"
					;;
				ranges)
					[ "$fs" = "${FSTYPES%% *}" ] || continue
					timed "$f" - "$@" curl -s --fail --parallel --parallel-immediate --parallel-max "$JOBS" -K "$T/ranges.cfg"
					;;
				*) echo "unknown row '$row' in ROWS" >&2; exit 1 ;;
				esac
				echo "$name run $run, $fs: $row $(tail -1 "$f") s"
			done
		done
	}
	fresh_fs_release "$MNT"
}

# line_check NAME URL [PREFIX...]: RTT (ping, else the TCP connect time) and the throughput of one curl of a 256 MiB file.
head -c $((256 << 20)) /dev/urandom >"$T/www/big.bin"
line_check() {
	local name=$1 url=$2 host rtt
	shift 2
	host=${url#http://}
	host=${host%%:*}
	if command -v ping >/dev/null; then
		rtt=$("$@" ping -q -c 10 -i 0.2 "$host" | sed -n 's|^rtt [^=]*= [0-9.]*/\([0-9.]*\)/[0-9.]*/\([0-9.]*\) ms|\1 ms (mdev \2)|p' || true)
	else
		rtt="$("$@" curl -s -o /dev/null -w '%{time_connect}' "$url/") s (TCP connect)"
	fi
	echo "line $name: ping RTT $rtt; one curl of 256 MiB: $("$@" curl -s -o /dev/null -w '%{speed_download}' "$url/big.bin" |
		awk '{ printf "%.1f MiB/s", $1 / 1048576 }' || true)"
}
# relay_counts NAME: the relay's packets forwarded and dropped so far, and the TUN rings' drops (TX dropped: txqueuelen overflowed).
relay_counts() {
	kill -HUP "$TUN_PID"
	sleep 0.2
	echo "relay, after $1: $(tail -1 "$T/tun.err"); its CPU so far $(awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$TUN_PID/stat") s; TUN TX dropped: server side $(ip -n "$NS_S" -s link show tund0 |
		awk 'f { print $4; exit } /TX:/ { f = 1 }'), client side $(ip -n "$NS_C" -s link show tund0 | awk 'f { print $4; exit } /TX:/ { f = 1 }')"
}

# Each run takes every condition in turn (loopback, relay 0 ms, relay DELAY_MS), so that a change of
# the machine's load weighs on all of them alike.
conditions=(loopback)
line_check loopback "$NGINX_URL"
if [ "$mode" = tun ]; then
	conditions+=(tun0 delayed)
	line_check tun0 "$TUN_URL" ip netns exec "$NS_C"
	tun_delay "$DELAY_MS"
	line_check "tun$DELAY_MS" "$TUN_URL" ip netns exec "$NS_C"
	relay_counts "the line checks"
elif [ "$mode" = netem ]; then
	conditions+=(delayed)
else
	conditions+=(proxy0 delayed)
	start_proxy 0
	proxy0_url=$PROXY_URL
	start_proxy "$DELAY_MS"
fi
for run in $(seq "$RUNS"); do
	run_condition loopback "$NGINX_URL"
	if [ "$mode" = tun ]; then
		tun_delay 0
		run_condition tun0 "$TUN_URL" ip netns exec "$NS_C"
		relay_counts "run $run at 0 ms (counts since the start)"
		tun_delay "$DELAY_MS"
		run_condition delayed "$TUN_URL" ip netns exec "$NS_C"
		relay_counts "run $run at ${DELAY_MS} ms each way (counts since the start)"
	elif [ "$mode" = netem ]; then
		run_condition delayed "$NGINX_URL" ip netns exec "$NS"
	else
		run_condition proxy0 "$proxy0_url"
		run_condition delayed "$PROXY_URL"
	fi
done
[ "$mode" = tun ] && tun_stop

echo "end: $(uptime)"
echo
bases=(loopback)
[ "$mode" = proxy ] && bases=(proxy0)
[ "$mode" = tun ] && bases=(loopback tun0)
for fs in $FSTYPES; do
	echo "filesystem $fs (median of $RUNS, seconds; curl and ranges write nothing):"
	printf '%-10s' condition
	for row in $ROWS; do printf ' %9s' "$row"; done
	echo
	for c in "${conditions[@]}"; do
		printf '%-10s' "$c"
		for row in $ROWS; do
			f=$T/t-$row-$fs-$c
			[ -s "$f" ] || f=$T/t-$row-${FSTYPES%% *}-$c
			printf ' %9.3f' "$(median <"$f")"
		done
		echo
	done
	for base in "${bases[@]}"; do
		printf 'latency cost (delayed / %s):' "$base"
		for row in $ROWS; do
			f=$T/t-$row-$fs; [ -s "$f-delayed" ] || f=$T/t-$row-${FSTYPES%% *}
			printf ' %s %sx' "$row" "$(echo "scale=2; $(median <"$f-delayed") / $(median <"$f-$base")" | bc)"
		done
		echo
	done
done
