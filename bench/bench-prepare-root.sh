#!/bin/bash
# SPDX-License-Identifier: MIT
# sealtree-prepare-root's own cost on this machine, natively (no emulation),
# in a private mount namespace, next to the physical floor of the same
# composefs root.
#
# Setup (once per WORKDIR, kept for the next run when WORKDIR is given):
# SOURCE (default /usr) as usr/ through an overlay that adds a small fake
# kernel, initramfs and usr/etc, plus the top-level directories a root has;
# committed into a sysroot made by `sealtree admin init-fs --verity=off`,
# signed, deployed. Not timed.
#
# Timed, RUNS times each, interleaved, median printed (wall clock of the
# whole process, from fork to exit, as the initramfs would pay it):
#   exec       `sealtree-prepare-root --help`: starting the program, loading
#              libcrypto and libc, nothing else
#   floor      bench/composefs-floor.c: open the image, file-backed EROFS,
#              overlay with the objects as data-only layer; libc only, no
#              check at all: what any composefs root costs
#   yes        prepare-root, composefs = yes: the commit read, the image's
#              fs-verity digest on the fd to be mounted (computed in
#              userspace: this kernel has no fs-verity), the mounts, /etc,
#              /var, /sysroot, booted.json
#   digest     lib/verity/st-verity-digest IMAGE: the image's fs-verity
#              digest computed in userspace, what yes and signed do here in
#              place of the kernel's measurement (a program start included)
#   signed     prepare-root, composefs = signed with a floor: commit,
#              signature by an initramfs key, anti-rollback, image digest;
#              then refused at the mount link, since signed needs fs-verity
#              (verity=require) and this kernel has none. So: every check of
#              the chain, none of the mounts.
# Each of yes/signed/floor runs warm (the image in the page cache) and cold
# (the image's pages dropped with POSIX_FADV_DONTNEED before the run; only
# the image's, never the whole machine's cache).
# With perf installed, the CPU time (task-clock: user + system, all threads)
# of RUNS more runs of each is printed too: on a shared machine it moves far
# less with the load than the wall clock does.
# The load average is printed before and after.
#
#   sudo bench/bench-prepare-root.sh [WORKDIR]    (BUILD_DIR, RUNS=9, SOURCE=/usr)
#   BREAKDOWN=1 ...  also one strace -T -r run of each mode (written to WORKDIR)
set -euo pipefail
SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=$(realpath "${BUILD_DIR:-$SRCDIR/build}")
SOURCE=${SOURCE:-/usr}
RUNS=${RUNS:-9}
SEALTREE=$BUILD_DIR/tools/sealtree/sealtree
PREPARE=$BUILD_DIR/tools/prepare-root/sealtree-prepare-root
DIGEST=$BUILD_DIR/lib/verity/st-verity-digest
[ -x "$SEALTREE" ] && [ -x "$PREPARE" ] || { echo "build sealtree and sealtree-prepare-root first" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "needs root (mounts)" >&2; exit 1; }
if [ -z "${BENCH_IN_NS:-}" ]; then
	BENCH_IN_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
modprobe erofs 2>/dev/null || true
modprobe overlay 2>/dev/null || true

if [ $# -ge 1 ]; then
	W=$(mkdir -p "$1" && realpath "$1")
else
	W=$(mktemp -d /var/tmp/bench-prepare-root.XXXXXX)
	trap 'umount -R "$W/mnt" 2>/dev/null; rm -rf "$W"' EXIT
fi
SYS=$W/sys
REPO=$SYS/sealtree/repo
MNT=$W/mnt
RUN=$W/runfs/sealtree
mkdir -p "$MNT" "$W/runfs"
# /run of an initramfs is a tmpfs: booted.json's fsync costs nothing there.
mount -t tmpfs bench-run "$W/runfs"

ms() { echo $(( ($2 - $1) / 1000 )); } # microseconds → milliseconds with one decimal below
median() { sort -n | awk '{ a[NR] = $1 } END { printf "%.1f", a[int((NR + 1) / 2)] / 1000 }'; }

cc -O2 -Wall -o "$W/composefs-floor" "$SRCDIR/bench/composefs-floor.c"

if [ ! -e "$W/ready" ] || [ "$(cat "$W/ready")" != "$SOURCE" ]; then
	rm -rf "$SYS" "$W/tree" "$W/upper" "$W/work" "$W/keys" "$W/ikeys" "$W/ready" "$W/k" "$W/k.pub"
	KVER=6.1.0-bench
	mkdir -p "$W/tree/usr" "$W/upper/lib/modules/$KVER" "$W/upper/etc" "$W/work"
	for d in etc var sysroot proc sys dev run tmp root home; do mkdir -p "$W/tree/$d"; done
	head -c 4000000 /dev/urandom >"$W/upper/lib/modules/$KVER/vmlinuz"
	head -c 8000000 /dev/urandom >"$W/upper/lib/modules/$KVER/initramfs.img"
	echo bench >"$W/upper/etc/hostname"
	mount -t overlay overlay -o "lowerdir=$SOURCE,upperdir=$W/upper,workdir=$W/work" "$W/tree/usr"
	"$SEALTREE" admin init-fs --verity=off "$SYS" >/dev/null
	echo "# committing $SOURCE (setup, not timed)" >&2
	t0=$(date +%s%N)
	c=$("$SEALTREE" -q --repo "$REPO" commit -b os/bench --version 1 --timestamp 1764000000 --tree "$W/tree")
	t1=$(date +%s%N)
	echo "# commit took $(( (t1 - t0) / 1000000 )) ms" >&2
	umount "$W/tree/usr"
	"$SEALTREE" keygen -o "$W/k" >/dev/null
	"$SEALTREE" --repo "$REPO" sign "$c" --key "$W/k" >/dev/null
	mkdir -p "$W/keys" "$W/ikeys/trusted.d"
	echo '* none' >"$W/keys/policy.conf"
	cp "$W/k.pub" "$W/ikeys/trusted.d/"
	"$SEALTREE" admin --sysroot "$SYS" os-init bench >/dev/null
	"$SEALTREE" admin --sysroot "$SYS" deploy --os bench --keys-dir "$W/keys" os/bench >/dev/null
	echo "$c" >"$W/commit"
	echo "$SOURCE" >"$W/ready"
fi
c=$(cat "$W/commit")
ID=$(ls "$SYS/sealtree/deploy/bench" | grep "^$c\.")
"$SEALTREE" --repo "$REPO" show "$c" >"$W/show"
IMG=$REPO/images/$(awk '$1 == "image" { print $2 }' "$W/show")
[ -f "$IMG" ] || { echo "no image file '$IMG'" >&2; exit 1; }
printf '[composefs]\nenabled = yes\n' >"$W/yes.conf"
printf '[composefs]\nenabled = signed\nkeys = %s\n[rollback]\nfloor-timestamp = 1700000000\n' "$W/ikeys" >"$W/signed.conf"

echo "image: $(stat -c %s "$IMG") bytes, $(awk '$1 == "inodes" { print $2 }' "$W/show") inodes ($SOURCE as usr/), $(nproc) CPUs, kernel $(uname -r)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

unmount_all() { local i; for i in 1 2 3 4 5 6; do umount -R "$MNT" 2>/dev/null || break; done; }
drop_image() { dd if="$IMG" iflag=nocache count=0 status=none; }
# one MODE COLD [perf]: prints the run's wall clock microseconds, or with
# perf its CPU time (task-clock) in microseconds.
one() {
	local t0 t1 rc=0 pre=()
	unmount_all
	rm -rf "$RUN"
	[ "$1" = exec ] || [ "$1" = floor ] || [ "$1" = digest ] || mount --bind "$SYS" "$MNT"
	[ "$2" = cold ] && drop_image
	[ -n "${3:-}" ] && pre=(perf stat -x, -e task-clock -o "$W/perf.csv" --)
	t0=$(date +%s%N)
	case $1 in
	exec) "${pre[@]}" "$PREPARE" --help >/dev/null ;;
	floor) "${pre[@]}" "$W/composefs-floor" "$IMG" "$REPO/objects" "$MNT" ;;
	digest) "${pre[@]}" "$DIGEST" "$IMG" >/dev/null ;;
	yes | signed)
		"${pre[@]}" "$PREPARE" --config "$W/$1.conf" --cmdline "sealtree=bench/$ID" --run-dir "$RUN" "$MNT" \
			>"$W/out" 2>&1 || rc=$?
		if [ "$1" = yes ] && [ $rc != 0 ]; then echo "prepare-root (yes) failed: $(cat "$W/out")" >&2; exit 1; fi
		if [ "$1" = signed ] && ! grep -q "signature: ok" "$W/out"; then
			echo "prepare-root (signed) did not pass the signature: $(cat "$W/out")" >&2; exit 1
		fi ;;
	esac
	t1=$(date +%s%N)
	if [ -n "${3:-}" ]; then
		awk -F, '/task-clock/ { printf "%d\n", $1 * 1000 }' "$W/perf.csv"
	else
		echo $(( (t1 - t0) / 1000 ))
	fi
}
declare -A all cpu
configs="exec:warm floor:warm floor:cold digest:warm digest:cold yes:warm yes:cold signed:warm signed:cold"
for cfg in $configs; do one "${cfg%:*}" "${cfg#*:}" >/dev/null; done # warm-up, not counted
for ((i = 0; i < RUNS; i++)); do
	for cfg in $configs; do all[$cfg]+="$(one "${cfg%:*}" "${cfg#*:}") "; done
done
have_perf=$(command -v perf >/dev/null && perf stat -x, -e task-clock -o /dev/null true 2>/dev/null && echo 1 || true)
if [ -n "$have_perf" ]; then
	for ((i = 0; i < RUNS; i++)); do
		for cfg in $configs; do cpu[$cfg]+="$(one "${cfg%:*}" "${cfg#*:}" perf) "; done
	done
fi
unmount_all
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
ms_list() { for v in $1; do printf '%.1f ' "$(echo "$v / 1000" | bc -l)"; done; }
echo "what      cache  wall ms median (of $RUNS)  CPU ms median  wall runs (ms)"
for cfg in $configs; do
	printf '%-9s %-6s %8s                 %8s       %s\n' "${cfg%:*}" "${cfg#*:}" \
		"$(tr ' ' '\n' <<<"${all[$cfg]}" | grep . | median)" \
		"$( [ -n "$have_perf" ] && tr ' ' '\n' <<<"${cpu[$cfg]}" | grep . | median || echo -)" "$(ms_list "${all[$cfg]}")"
done
echo "signed: $(grep -o 'signature: [a-z]*\|rollback: [a-z]*\|image: [a-z]*\|mount: [a-z]*' "$W/out" | tr '\n' ' ')"

if [ -n "${BREAKDOWN:-}" ]; then
	for m in yes signed; do
		unmount_all; rm -rf "$RUN"; mount --bind "$SYS" "$MNT"
		strace -f -r -T -o "$W/strace-$m.txt" "$PREPARE" --config "$W/$m.conf" --cmdline "sealtree=bench/$ID" \
			--run-dir "$RUN" "$MNT" >/dev/null 2>&1 || true
		echo "strace -r -T of one warm '$m' run: $W/strace-$m.txt"
	done
	unmount_all
fi
