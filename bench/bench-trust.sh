#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmark the trust layer on a commit of SOURCE (default /usr/share):
#   1. Ed25519 sign and verify of a commit id in the library (from test-trust)
#   2. sealtree sign (a new key each run, so every run really signs), wall time
#   3. sealtree verify against a trust store, wall time
#   4. sealtree mount --require-signature + umount, wall time; target < 100 ms
# Each CLI line is the median of RUNS, process start included. On a
# repository without fs-verity (STORE_PARENT's filesystem decides) the mount
# runs with --allow-unverified-objects: the image digest is then computed in
# userspace rather than measured by the kernel.
# Usage: bench/bench-trust.sh [SOURCE]   (env BUILD_DIR, RUNS, STORE_PARENT)
# Needs root (mounts).
set -euo pipefail

SRC=${1:-/usr/share}
BUILD_DIR=${BUILD_DIR:-build}
RUNS=${RUNS:-11}
SEALTREE=$(realpath "$BUILD_DIR/tools/sealtree/sealtree")
TEST_TRUST=$(realpath "$BUILD_DIR/lib/trust/test-trust")
[ -x "$SEALTREE" ] || { echo "build sealtree first ($SEALTREE)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "run as root (mounts)" >&2; exit 1; }

STORE_PARENT=${STORE_PARENT:-/var/tmp}
TMP=$(mktemp -d "$STORE_PARENT/sealtree-bench-trust.XXXXXX")
cleanup() {
	mountpoint -q "$TMP/mnt" 2>/dev/null && umount "$TMP/mnt"
	rm -rf "$TMP"
}
trap cleanup EXIT
mkdir -p "$TMP/mnt" "$TMP/keys/trusted.d" "$TMP/keys/revoked.d"
st() { "$SEALTREE" --repo "$TMP/repo" "$@"; }
now() { date +%s%N; }
ms_of() { echo "scale=2; ($2 - $1) / 1000000" | bc; }
median() { sort -n "$1" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

st init >/dev/null
verity=$(sed -n 's/^verity=//p' "$TMP/repo/config")
echo "# committing $SRC (repository verity=$verity) ..."
t0=$(now)
"$SEALTREE" -q --repo "$TMP/repo" commit -b bench --tree "$SRC" -s bench >/dev/null
t1=$(now)
echo "# commit took $(ms_of "$t0" "$t1") ms (not part of the trust cost)"
"$SEALTREE" keygen -o "$TMP/vendor" >/dev/null
cp "$TMP/vendor.pub" "$TMP/keys/trusted.d/"
st sign bench --key "$TMP/vendor" >/dev/null

if [ -x "$TEST_TRUST" ]; then
	"$TEST_TRUST" 2>&1 | sed -n 's/^# sign \(.*\) us, verify \(.*\) us.*/library: Ed25519 sign \1 us, verify \2 us per commit id/p'
fi

for i in $(seq "$RUNS"); do
	"$SEALTREE" keygen -o "$TMP/k$i" >/dev/null
	t0=$(now); st sign bench --key "$TMP/k$i" >/dev/null; t1=$(now)
	ms_of "$t0" "$t1" >>"$TMP/sign.ms"
	t0=$(now); st verify --keys-dir "$TMP/keys" bench >/dev/null; t1=$(now)
	ms_of "$t0" "$t1" >>"$TMP/verify.ms"
done
printf '%-36s %8s ms (median of %d, %d signatures on the commit)\n' "sealtree sign" "$(median "$TMP/sign.ms")" "$RUNS" "$((RUNS + 1))"
printf '%-36s %8s ms (median of %d)\n' "sealtree verify" "$(median "$TMP/verify.ms")" "$RUNS"

extra=()
[ "$verity" = yes ] || extra=(--allow-unverified-objects)
for i in $(seq "$RUNS"); do
	t0=$(now)
	"$SEALTREE" -q --repo "$TMP/repo" mount --require-signature "${extra[@]}" --keys-dir "$TMP/keys" bench "$TMP/mnt" >/dev/null
	t1=$(now)
	st umount "$TMP/mnt"
	ms_of "$t0" "$t1" >>"$TMP/mount.ms"
done
m=$(median "$TMP/mount.ms")
verdict=$(echo "$m < 100" | bc)
printf '%-36s %8s ms (median of %d; target < 100 ms: %s)\n' "mount --require-signature" "$m" "$RUNS" \
	"$([ "$verdict" = 1 ] && echo met || echo MISSED)"
size=$(stat -c %s "$TMP/repo/images/"*)
echo "# image $((size / 1024)) KiB, $(st show bench | sed -n 's/^inodes *//p') inodes"
