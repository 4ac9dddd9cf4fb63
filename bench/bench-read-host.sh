#!/bin/bash
# SPDX-License-Identifier: MIT
# Read throughput through a composefs mount on this machine, natively, next
# to the same files on the filesystem underneath, with fio: the host-side
# companion of bench/bench-verity-read.sh (which runs in the QEMU guest,
# with fs-verity). Without fs-verity only: a kernel without it (this CI
# host's) cannot mount verity=require, and a repository with fs-verity
# cannot be made here.
#
# One tree like the guest's: BENCH_NFILES files of BENCH_FILE_MB MiB of
# random bytes under usr/bin and as many under usr/share, committed to a
# repository initialised with --verity=off, mounted with `sealtree mount`.
# Each run reads cold: the files' pages (the objects' pages, through the
# overlay) are dropped with POSIX_FADV_DONTNEED first and fio runs with
# --invalidate=1; the whole machine's cache is never dropped (other work
# shares it). Patterns: sequential (1 MiB reads) and random (4 KiB reads
# for BENCH_RAND_SECS seconds). Before each configuration, one cold dd
# pass shows the read requests that reached the disk (the readahead).
# Prints medians in MiB/s and the load average before and after.
#
#   sudo bench/bench-read-host.sh [WORKDIR]    (BUILD_DIR, BENCH_RUNS=5, BENCH_NFILES=4, BENCH_FILE_MB=24)
set -euo pipefail
SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=$(realpath "${BUILD_DIR:-$SRCDIR/build}")
SEALTREE=$BUILD_DIR/tools/sealtree/sealtree
NFILES=${BENCH_NFILES:-4}
FILE_MB=${BENCH_FILE_MB:-24}
RUNS=${BENCH_RUNS:-5}
RAND_SECS=${BENCH_RAND_SECS:-3}
[ -x "$SEALTREE" ] || { echo "build $SEALTREE first" >&2; exit 1; }
command -v fio >/dev/null || { echo "fio is not installed" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "needs root (mounts)" >&2; exit 1; }
if [ -z "${BENCH_IN_NS:-}" ]; then
	BENCH_IN_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
if [ $# -ge 1 ]; then
	W=$(mkdir -p "$1" && realpath "$1")
else
	W=$(mktemp -d /var/tmp/bench-read-host.XXXXXX)
	trap 'umount "$W/m" 2>/dev/null; rm -rf "$W"' EXIT
fi
dev=$(lsblk -no PKNAME "$(findmnt -no SOURCE --target "$W" | head -1)" 2>/dev/null | head -1 || true)
[ -n "$dev" ] || dev=$(basename "$(findmnt -no SOURCE --target "$W" | head -1)")

if [ ! -e "$W/ready" ]; then
	rm -rf "$W/tree" "$W/repo"
	mkdir -p "$W/tree/usr/bin" "$W/tree/usr/share"
	for ((i = 0; i < NFILES; i++)); do
		head -c $((FILE_MB << 20)) /dev/urandom >"$W/tree/usr/bin/f$i"
		head -c $((FILE_MB << 20)) /dev/urandom >"$W/tree/usr/share/f$i"
	done
	"$SEALTREE" --repo "$W/repo" init --verity=off >/dev/null
	"$SEALTREE" -q --repo "$W/repo" commit -b main --tree "$W/tree" >/dev/null
	sync
	touch "$W/ready"
fi
mkdir -p "$W/m"
"$SEALTREE" --repo "$W/repo" mount main "$W/m"
echo "composefs mount: $(grep " $W/m overlay " /proc/mounts | cut -d' ' -f4)"
echo "kernel $(uname -r), $(nproc) CPUs, disk ${dev:-?}, read_ahead_kb $(cat "/sys/block/$dev/queue/read_ahead_kb" 2>/dev/null || echo ?)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

drop() { local f; for f in $(find "$1" -type f); do dd if="$f" iflag=nocache count=0 status=none; done; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
blockstat() { awk '{ print $1, $3 }' "/sys/block/$dev/stat"; }
iodiag() {
	local a b t0 t1 f
	drop "$2"
	a=($(blockstat)); t0=$(date +%s%N)
	for f in $(find "$2" -type f | sort); do dd if="$f" of=/dev/null bs=1M status=none; done
	t1=$(date +%s%N); b=($(blockstat))
	echo "# $1: one cold dd pass $(( (t1 - t0) / 1000000 )) ms, $((b[0] - a[0])) read requests, $(( (b[1] - a[1]) / 2 )) KiB" \
		"(requests of other programs on $dev included)"
}
run_fio() {
	local d=$1
	drop "$d"
	if [ "$2" = seq ]; then
		set -- --rw=read --bs=1M
	else
		set -- --rw=randread --bs=4k --runtime="$RAND_SECS" --time_based --norandommap
	fi
	fio --name=r --opendir="$d" --readonly --thread --ioengine=psync --invalidate=1 --minimal "$@" 2>"$W/fio.err" |
		awk -F';' '$1 == 3 { print $7 }'
}
declare -A res
for cfg in ext4:tree/usr composefs:m/usr; do iodiag "${cfg%%:*}" "$W/${cfg#*:}"; done
for ((i = 0; i < RUNS; i++)); do
	for cfg in ext4:tree/usr composefs:m/usr; do
		for pat in seq rand; do res[${cfg%%:*} $pat]+="$(run_fio "$W/${cfg#*:}" $pat) "; done
	done
done
umount "$W/m"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "config     pattern  MiB/s median of $RUNS   runs (MiB/s)"
for k in "ext4 seq" "composefs seq" "ext4 rand" "composefs rand"; do
	printf '%-10s %-8s %10.1f          %s\n' ${k} "$(tr ' ' '\n' <<<"${res[$k]}" | grep . | median | awk '{ print $1 / 1024 }')" \
		"$(for v in ${res[$k]}; do printf '%.0f ' "$(echo "$v / 1024" | bc -l)"; done)"
done
