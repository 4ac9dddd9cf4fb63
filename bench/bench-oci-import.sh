#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmark `sealtree oci import` of a ~300 MB image from an OCI layout
# directory, next to `skopeo copy` of the same image into containers-storage
# (what podman pulls into), measured in the same run, same filesystem, warm
# page cache:
#   - the image: SOURCE (default the boot kit's debootstrap'd Debian tree,
#     ~/.cache/sealtree/boot/rootfs-base, else /usr as usr/) packed by umoci
#     as one gzip layer (not timed; /dev left out: images carry no devices)
#   - timed, RUNS times each (median), each into an empty store, each
#     followed by sync so that both pay for their writes: sealtree oci
#     import into a fresh repository; skopeo copy oci:... containers-storage:
#     into a fresh storage root (overlay driver, vfs if overlay cannot mount)
# The load average is printed before and after.
# Measured 2026-12-04, RUNS=3 (docs/formats/oci.md "Speed"): Debian 12
# minbase + the boot kit's packages, 268 MB, one gzip layer of 97267641
# bytes (8613 members): sealtree 3450 ms (3909 3349 3450), skopeo 7234 ms
# (7733 6796 7234), 2.09x, load 5.2-6.3; RUNS=5 at load 4.5-6.9: 4297 ms
# (5342 4297 6399 4186 3670) against 9154 ms, 2.13x. Idle, an earlier run, the boot
# kit's 265 MB tree: 2367 ms against 9374 ms, 3.96x. Nearly idle, the
# same 268 MB image, main at 6e95ef3, 18:15 UTC: RUNS=3 at load 0.6-1.6,
# 2699 ms (2699 2598 2737) against 6425 ms (5667 6425 6648), 2.38x; RUNS=5
# at load 1.5, 2299 ms (2299 2580 2392 2222 2243) against 5755 ms
# (6267 5608 5679 5943 5755), 2.50x.
# Usage: sudo bench/bench-oci-import.sh [SOURCE]   (BUILD_DIR, RUNS, BENCH_DIR)
set -euo pipefail

SRC=${1:-$HOME/.cache/sealtree/boot/rootfs-base}
[ -d "$SRC" ] || SRC=/usr
BUILD_DIR=${BUILD_DIR:-build}
RUNS=${RUNS:-3}
SEALTREE=$(realpath "$BUILD_DIR/tools/sealtree/sealtree")
[ -x "$SEALTREE" ] || { echo "build sealtree first ($SEALTREE)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "needs root (containers-storage, umoci unpack with owners)" >&2; exit 1; }
for t in umoci skopeo; do command -v $t >/dev/null || { echo "needs $t (apt-get install $t)" >&2; exit 1; }; done
TMP=$(mktemp -d "${BENCH_DIR:-/var/tmp}/sealtree-bench-oci.XXXXXX")
cleanup() {
	for m in $(grep -o " $TMP/[^ ]*" /proc/self/mounts | sort -r); do umount -l "$m" 2>/dev/null || true; done
	rm -rf "$TMP"
}
trap cleanup EXIT

ms() { echo $(( ($2 - $1) / 1000000 )); }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

L=$TMP/layout
umoci init --layout "$L" && umoci new --image "$L:1"
umoci unpack --image "$L:1" "$TMP/bundle" >/dev/null
if [ "$SRC" = /usr ]; then mkdir -p "$TMP/bundle/rootfs/usr" && cp -a /usr/. "$TMP/bundle/rootfs/usr/"
else cp -a "$SRC"/. "$TMP/bundle/rootfs/" && rm -rf "$TMP/bundle/rootfs/dev/"*; fi
umoci repack --image "$L:1" "$TMP/bundle"
rm -rf "$TMP/bundle"
blob=$(du -sb "$L/blobs" | cut -f1)
tree=$(python3 - "$L" <<'PY'
import json, sys, os
d = sys.argv[1]
m = json.load(open(d + "/index.json"))["manifests"][0]["digest"][7:]
man = json.load(open(d + "/blobs/sha256/" + m))
print(sum(os.path.getsize(d + "/blobs/sha256/" + l["digest"][7:]) for l in man["layers"]))
PY
)
files=$(tar tzf "$L/blobs/sha256/$(python3 -c 'import json,sys; d=sys.argv[1]; m=json.load(open(d+"/index.json"))["manifests"][0]["digest"][7:]; print(json.load(open(d+"/blobs/sha256/"+m))["layers"][0]["digest"][7:])' "$L")" | wc -l)
echo "image: $SRC, one gzip layer of $tree bytes ($files members), layout $blob bytes"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
cat "$L/blobs/sha256/"* >/dev/null   # warm

st_times=() sk_times=()
driver=overlay
for i in $(seq "$RUNS"); do
	repo=$TMP/repo.$i
	"$SEALTREE" --repo "$repo" init --verity=off >/dev/null
	sync
	t0=$(date +%s%N)
	"$SEALTREE" --repo "$repo" -q oci import "oci:$L:1" --name bench:1
	sync
	t1=$(date +%s%N)
	st_times+=("$(ms "$t0" "$t1")")
	rm -rf "$repo"

	root=$TMP/storage.$i
	mkdir -p "$root/graph" "$root/run"
	sync
	t0=$(date +%s%N)
	if ! skopeo copy --quiet "oci:$L:1" "containers-storage:[$driver@$root/graph+$root/run]localhost/bench:1" 2>"$TMP/skopeo.err"; then
		if [ "$driver" = overlay ]; then
			echo "skopeo: overlay driver failed ($(head -c 200 "$TMP/skopeo.err")), using vfs"
			driver=vfs
			for m in $(grep -o " $root/[^ ]*" /proc/self/mounts | sort -r); do umount -l "$m" || true; done
			rm -rf "$root" && mkdir -p "$root/graph" "$root/run"
			t0=$(date +%s%N)
			skopeo copy --quiet "oci:$L:1" "containers-storage:[$driver@$root/graph+$root/run]localhost/bench:1"
		else
			cat "$TMP/skopeo.err" >&2; exit 1
		fi
	fi
	sync
	t1=$(date +%s%N)
	sk_times+=("$(ms "$t0" "$t1")")
	for m in $(grep -o " $root/[^ ]*" /proc/self/mounts | sort -r); do umount -l "$m" 2>/dev/null || true; done
	rm -rf "$root"
done
st=$(printf '%s\n' "${st_times[@]}" | median)
sk=$(printf '%s\n' "${sk_times[@]}" | median)
echo "sealtree oci import (oci layout -> repository):            median ${st} ms  (runs: ${st_times[*]})"
echo "skopeo copy (oci layout -> containers-storage, $driver):   median ${sk} ms  (runs: ${sk_times[*]})"
echo "ratio skopeo/sealtree: $(echo "scale=2; $sk / $st" | bc)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
