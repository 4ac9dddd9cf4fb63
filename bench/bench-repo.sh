#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmark the sealtree repository against Debian's ostree, side by side on
# the same tree (default /usr), warm page cache, both repositories on the
# same filesystem (STORE_PARENT, default /var/tmp):
#   1. first commit into an empty repository   (sealtree: median of RUNS; ostree: OSTREE_RUNS)
#   2. recommit of the unchanged tree           (same)
#   3. making the tree available: sealtree mount (median of 5) vs ostree
#      hardlink checkout (checkout -H, OSTREE_RUNS)
#   4. fsck of the repository                  (same), next to the SHA-256 limit
#      for the stored bytes (bytes / (openssl sha256 rate x CPUs))
#   5. incremental work (sealtree only): a copy of CHANGE_SOURCE (default
#      /usr/share) committed, then 1% of its files rewritten and the tree
#      committed again (median of RUNS): files hashed and time, against the
#      unchanged recommit and the first commit of that copy
# Every line prints sealtree's time, ostree's, and the ratio ostree/sealtree.
# Usage: bench/bench-repo.sh [SOURCE]   (env BUILD_DIR, RUNS, OSTREE_RUNS,
#        STORE_PARENT, NO_OSTREE=1 to skip the ostree side)
# Needs root (ostree bare repositories keep owners; mounts).
set -euo pipefail

SRC=${1:-/usr}
BUILD_DIR=${BUILD_DIR:-build}
RUNS=${RUNS:-3}
OSTREE_RUNS=${OSTREE_RUNS:-1}
SEALTREE=$(realpath "$BUILD_DIR/tools/sealtree/sealtree")
[ -x "$SEALTREE" ] || { echo "build sealtree first ($SEALTREE)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "run as root (ostree bare mode and mounts need it)" >&2; exit 1; }
NO_OSTREE=${NO_OSTREE:-0}
if [ "$NO_OSTREE" != 1 ] && ! command -v ostree >/dev/null; then
	echo "ostree is not installed (apt-get install ostree, or NO_OSTREE=1)" >&2
	exit 1
fi

STORE_PARENT=${STORE_PARENT:-/var/tmp}
TMP=$(mktemp -d "$STORE_PARENT/sealtree-bench-repo.XXXXXX")
cleanup() {
	mountpoint -q "$TMP/mnt" 2>/dev/null && umount "$TMP/mnt"
	rm -rf "$TMP"
}
trap cleanup EXIT
mkdir -p "$TMP/mnt"

cpus=$(nproc)
now() { date +%s.%N; }
# timed LABEL CMD...: run once, append the wall seconds to $TMP/LABEL.times
timed() {
	local label=$1 t0 t1
	shift
	t0=$(now)
	"$@" >/dev/null
	t1=$(now)
	echo "$t1 - $t0" | bc -l >>"$TMP/$label.times"
}
median() { sort -n "$1" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
# line DESCRIPTION SEALTREE_LABEL OSTREE_LABEL [TARGET TEXT]
line() {
	local s o
	s=$(median "$TMP/$2.times")
	if [ "$NO_OSTREE" = 1 ] || [ ! -s "$TMP/$3.times" ]; then
		printf '%-30s sealtree %8.3f s (%d runs)   %s\n' "$1" "$s" "$(wc -l <"$TMP/$2.times")" "${4:-}"
		return
	fi
	o=$(median "$TMP/$3.times")
	printf '%-30s sealtree %8.3f s (%d runs)   ostree %8.2f s (%d)   ostree/sealtree %6.1fx   %s\n' "$1" \
		"$s" "$(wc -l <"$TMP/$2.times")" "$o" "$(wc -l <"$TMP/$3.times")" "$(echo "$o / $s" | bc -l)" "${4:-}"
}

echo "# source $SRC, $cpus CPUs, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# repositories in $TMP ($(findmnt -no FSTYPE -T "$TMP"))"
[ "$NO_OSTREE" = 1 ] || echo "# $(ostree --version | awk '/Version/ { print "ostree", $2 }' | tr -d "'")"
bytes=$(find "$SRC" -xdev -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%.0f", s }')
files=$(find "$SRC" -xdev -type f | wc -l)
rate=$(openssl speed -evp sha256 -bytes 16384 -seconds 2 2>/dev/null | awk '/^sha256/ { v = $NF; sub(/k$/, "", v); print v * 1000 }')
printf '# %d regular files, %.2f GiB; sha256 %.0f MB/s per CPU\n' "$files" "$(echo "$bytes / 1073741824" | bc -l)" \
	"$(echo "$rate / 1000000" | bc -l)"
# Warm the page cache.
find "$SRC" -xdev -type f -print0 | xargs -0 cat >/dev/null 2>&1 || true

# 1 + 2: first commit and recommit, sealtree.
for i in $(seq "$RUNS"); do
	rm -rf "$TMP/st"
	"$SEALTREE" --repo "$TMP/st" init >/dev/null
	sync
	timed st-commit "$SEALTREE" -q --repo "$TMP/st" commit -b bench -s "run $i" --tree "$SRC"
	timed st-recommit "$SEALTREE" -q --repo "$TMP/st" commit -b bench -s "again $i" --tree "$SRC"
done
# 1 + 2, ostree (bare: owners and xattrs as sealtree keeps them).
if [ "$NO_OSTREE" != 1 ]; then
	for i in $(seq "$OSTREE_RUNS"); do
		rm -rf "$TMP/os"
		ostree --repo="$TMP/os" init --mode=bare
		sync
		timed os-commit ostree --repo="$TMP/os" commit -b bench -s "run $i" --tree=dir="$SRC"
		timed os-recommit ostree --repo="$TMP/os" commit -b bench -s "again $i" --tree=dir="$SRC"
	done
fi
line "first commit" st-commit os-commit "(target: ostree/sealtree >= 4)"
line "recommit, unchanged tree" st-recommit os-recommit "(target: sealtree < 3 s)"

# 3: mount vs hardlink checkout.
for _ in 1 2 3 4 5; do
	timed st-mount "$SEALTREE" --repo "$TMP/st" mount bench "$TMP/mnt"
	"$SEALTREE" --repo "$TMP/st" umount "$TMP/mnt"
done
if [ "$NO_OSTREE" != 1 ]; then
	for i in $(seq "$OSTREE_RUNS"); do
		rm -rf "$TMP/co"
		timed os-checkout ostree --repo="$TMP/os" checkout -H bench "$TMP/co"
	done
	rm -rf "$TMP/co"
fi
line "mount (vs checkout -H)" st-mount os-checkout "(target: sealtree mount < 0.05 s)"

# 4: fsck, next to the limit for the bytes stored.
stored=$(du -sb --apparent-size "$TMP/st/objects" | awk '{ print $1 }')
limit=$(echo "$stored / ($rate * $cpus)" | bc -l)
for _ in $(seq "$RUNS"); do timed st-fsck "$SEALTREE" -q --repo "$TMP/st" fsck; done
if [ "$NO_OSTREE" != 1 ]; then
	for _ in $(seq "$OSTREE_RUNS"); do timed os-fsck ostree --repo="$TMP/os" fsck; done
fi
line "fsck" st-fsck os-fsck "$(printf '(limit %.2f s for %.2f GiB stored: sealtree at %.2fx; target <= 1.5x)' \
	"$limit" "$(echo "$stored / 1073741824" | bc -l)" "$(echo "$(median "$TMP/st-fsck.times") / $limit" | bc -l)")"

# 5: a recommit after 1% of the files changed costs the change, not the tree.
CHANGE_SOURCE=${CHANGE_SOURCE:-/usr/share}
cp -a "$CHANGE_SOURCE" "$TMP/copy"
rm -rf "$TMP/inc"
"$SEALTREE" --repo "$TMP/inc" init >/dev/null
timed inc-first "$SEALTREE" -q --repo "$TMP/inc" commit -b copy --tree "$TMP/copy"
sleep 2 # files changed within the cache's "too recent" window are rehashed, as they must be
timed inc-same "$SEALTREE" -q --repo "$TMP/inc" commit -b copy --tree "$TMP/copy"
mapfile -t all < <(find "$TMP/copy" -type f -size +64c | sort)
step=100
for i in $(seq "$RUNS"); do
	n=0
	for ((k = i; k < ${#all[@]}; k += step)); do
		printf 'changed in run %d\n' "$i" >>"${all[$k]}"
		n=$((n + 1))
	done
	sleep 2
	t0=$(now)
	"$SEALTREE" -q --repo "$TMP/inc" commit -b copy --stats --tree "$TMP/copy" >"$TMP/inc.out" 2>&1
	echo "$(now) - $t0" | bc -l >>"$TMP/inc-1pct.times"
	hashed=$(sed -n 's/^files-hashed //p' "$TMP/inc.out")
done
printf '%-30s sealtree %8.3f s first, %.3f s unchanged, %.3f s with 1%% changed (%d of %d files; last run hashed %s)\n' \
	"recommit, 1% changed" "$(median "$TMP/inc-first.times")" "$(median "$TMP/inc-same.times")" \
	"$(median "$TMP/inc-1pct.times")" "$n" "${#all[@]}" "$hashed"
