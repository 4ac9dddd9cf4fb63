#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmark mkcomposefs on a large tree (default /usr), warm page cache:
#   1. directory scan -> image (median of RUNS)
#   2. --from-file of a dump of that image (median of RUNS)
#   3. --digest-store into an empty store on the source's filesystem (one run)
# For each: wall time and peak RSS (/usr/bin/time). Also the physical limit
# of the scan: regular-file bytes / (openssl sha256 rate x CPUs).
# Usage: bench/bench-mkcomposefs.sh [SOURCE]   (BUILD_DIR, RUNS, STORE_PARENT)
set -euo pipefail

SRC=${1:-/usr}
BUILD_DIR=${BUILD_DIR:-build}
RUNS=${RUNS:-3}
MKCOMPOSEFS=$BUILD_DIR/tools/mkcomposefs/mkcomposefs
COMPOSEFS_INFO=$BUILD_DIR/tools/composefs-info/composefs-info
[ -x "$MKCOMPOSEFS" ] || { echo "build mkcomposefs first ($MKCOMPOSEFS)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (Debian package 'time')" >&2; exit 1; }

# Keep the store on the source's filesystem (reflinks/copy_file_range), never in tmpfs.
STORE_PARENT=${STORE_PARENT:-/var/tmp}
TMP=$(mktemp -d "${TMPDIR:-/var/tmp}/sealtree-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

cpus=$(nproc)
# timed LABEL CMD...: run, record "wall_s rss_kib cpu_s" into $TMP/LABEL.times
timed() {
	local label=$1; shift
	/usr/bin/time -f '%e %M %U %S' -o "$TMP/time.out" "$@" >/dev/null
	awk '{ print $1, $2, $3 + $4 }' "$TMP/time.out" >>"$TMP/$label.times"
}
median() { sort -n -k"$2" "$1" | awk -v k="$2" '{ a[NR] = $k } END { print a[int((NR + 1) / 2)] }'; }
peak() { sort -n -k2 "$1" | tail -n1 | awk '{ print $2 }'; }
report() { # report LABEL DESCRIPTION
	printf '%-34s %7.2f s wall  %7.2f s CPU   peak RSS %6.1f MiB   (%d run%s)\n' "$2" \
		"$(median "$TMP/$1.times" 1)" "$(median "$TMP/$1.times" 3)" \
		"$(echo "$(peak "$TMP/$1.times") / 1024" | bc -l)" "$(wc -l <"$TMP/$1.times")" \
		"$( [ "$(wc -l <"$TMP/$1.times")" = 1 ] || echo s)"
}

echo "# source $SRC, $cpus CPUs, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# (the machine may be shared: CPU seconds / $cpus bound the wall time when it is idle)"
bytes=$(find "$SRC" -xdev -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%.0f", s }')
files=$(find "$SRC" -xdev -type f | wc -l)
rate=$(openssl speed -evp sha256 -bytes 16384 -seconds 2 2>/dev/null | awk '/^sha256/ { v = $NF; sub(/k$/, "", v); print v * 1000 }')
limit=$(echo "$bytes / ($rate * $cpus)" | bc -l)
printf '# %d regular files, %.2f GiB; sha256 %.0f MB/s per CPU; physical limit %.2f s\n' \
	"$files" "$(echo "$bytes / 1073741824" | bc -l)" "$(echo "$rate / 1000000" | bc -l)" "$limit"

# Warm the page cache (and check that it works at all).
"$MKCOMPOSEFS" "$SRC" "$TMP/usr.img"
for _ in $(seq "$RUNS"); do timed scan "$MKCOMPOSEFS" "$SRC" "$TMP/usr.img"; done
report scan "mkcomposefs $SRC"

if [ -x "$COMPOSEFS_INFO" ]; then
	"$COMPOSEFS_INFO" dump "$TMP/usr.img" >"$TMP/usr.dump"
	"$MKCOMPOSEFS" --from-file "$TMP/usr.dump" "$TMP/usr2.img"
	cmp -s "$TMP/usr.img" "$TMP/usr2.img" || echo "# WARNING: --from-file of the dump gives a different image"
	for _ in $(seq "$RUNS"); do timed fromfile "$MKCOMPOSEFS" --from-file "$TMP/usr.dump" "$TMP/usr2.img"; done
	report fromfile "mkcomposefs --from-file (dump)"
else
	echo "# composefs-info not built: skipping --from-file"
fi

# ext4 without a journal skips inodes freed in the last 5 minutes when it
# allocates new ones: filling a store right after deleting a big one is slow.
dev=$(findmnt -no SOURCE --target "$STORE_PARENT" 2>/dev/null || true)
if [ "$(cat "/sys/fs/ext4/${dev##*/}/journal_task" 2>/dev/null || true)" = "<none>" ]; then
	echo "# note: $STORE_PARENT is on ext4 without a journal; mass deletions in the last 5 minutes slow the store run"
fi
store=$(mktemp -d "$STORE_PARENT/sealtree-bench-store.XXXXXX")
rmdir "$store"
timed store "$MKCOMPOSEFS" --digest-store="$store" "$SRC" "$TMP/usr3.img"
report store "mkcomposefs --digest-store (empty)"
timed store2 "$MKCOMPOSEFS" --digest-store="$store" "$SRC" "$TMP/usr3.img"
report store2 "mkcomposefs --digest-store (full)"
cmp -s "$TMP/usr.img" "$TMP/usr3.img" || echo "# WARNING: --digest-store gives a different image"
echo "# store: $(find "$store" -type f | wc -l) objects, $(du -sh "$store" | cut -f1)"
rm -rf "$store"
