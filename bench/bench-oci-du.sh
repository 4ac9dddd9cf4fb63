#!/bin/bash
# SPDX-License-Identifier: MIT
# How much a Debian host tree and Debian container images share in one
# repository (`sealtree oci du`), for trees made apart from each other:
#   HOST    committed as the host branch host/debian
#   IMAGE   each further argument: a tree packed by umoci as one gzip layer
#           (/dev left out: images carry no devices), imported as img/N:1
# and for each image: its objects and bytes, the bytes it shares with the
# host branch, and the share in %. Not timed (a figure of space).
# Made for two debootstraps of the same package list at different times
# (what issue 12 asks: "a Debian host tree and a Debian container image
# built from the same packages share most of their objects"), and a
# minbase debootstrap (what a debian:12 container image holds):
#   P=systemd-sysv,udev,kmod,e2fsprogs,initramfs-tools,busybox,libssl3,libarchive13,dracut-core
#   debootstrap --variant=minbase --include=$P bookworm HOST
#   debootstrap --variant=minbase --include=$P bookworm IMAGE1   (again, apart)
#   debootstrap --variant=minbase bookworm IMAGE2
#   sudo bench/bench-oci-du.sh HOST IMAGE1 IMAGE2
# Measured 2026-12-04 (Debian 12 bookworm from its mirror, the three made
# one after the other, 268/268/175 MB; umoci 0.4.7; docs/formats/oci.md "Space"):
#   same packages: the image's 6418 objects (257 130 903 bytes) share 6414
#     (99.94%; 99.96% of the bytes) with the host branch; its own 4 objects,
#     111 495 bytes, are the logs and ldconfig's cache debootstrap writes
#   minbase image: 5018 objects (165 642 018 bytes), 5006 shared (99.76%;
#     99.38% of the bytes); its own: dpkg's status, debconf's cache, ld.so.cache,
#     passwd/group/shadow, the logs
#   the layer's tar-split record (kept uncompressed): 2 322 287 bytes
#     (0.9% of the image's bytes), 1 774 556 for the minbase image
# Usage: sudo bench/bench-oci-du.sh HOST IMAGE...   (BUILD_DIR, BENCH_DIR)
set -euo pipefail

[ $# -ge 2 ] || { echo "usage: $0 HOST IMAGE..." >&2; exit 2; }
BUILD_DIR=${BUILD_DIR:-build}
SEALTREE=$(realpath "$BUILD_DIR/tools/sealtree/sealtree")
[ -x "$SEALTREE" ] || { echo "build sealtree first ($SEALTREE)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "needs root (the trees' owners and modes)" >&2; exit 1; }
command -v umoci >/dev/null || { echo "needs umoci (apt-get install umoci)" >&2; exit 1; }
TMP=$(mktemp -d "${BENCH_DIR:-/var/tmp}/sealtree-bench-oci-du.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
R=$TMP/repo
st() { "$SEALTREE" --repo "$R" "$@"; }

HOST=$1
shift
st init --verity=off >/dev/null
st -q commit -b host/debian --tree "$HOST" >/dev/null
echo "host: $HOST ($(find "$HOST" -xdev -type f | wc -l) files, $(du -sm "$HOST" | cut -f1) MB)"
# One image at a time in the repository (then oci rm), so that "shared" is
# exactly what that image and the host branch both reference.
n=0
for img in "$@"; do
	n=$((n + 1))
	L=$TMP/layout.$n
	umoci init --layout "$L" && umoci new --image "$L:1"
	umoci unpack --image "$L:1" "$TMP/bundle" >/dev/null
	cp -a "$img"/. "$TMP/bundle/rootfs/" && rm -rf "$TMP/bundle/rootfs/dev/"*
	umoci repack --image "$L:1" "$TMP/bundle" >/dev/null
	rm -rf "$TMP/bundle"
	splits_before=$(du -sb "$R/oci/tar-split" 2>/dev/null | cut -f1 || echo 0)
	st -q oci import "oci:$L:1" --name "img/$n:1" >/dev/null
	splits=$(($(du -sb "$R/oci/tar-split" | cut -f1) - ${splits_before:-0}))
	rm -rf "$L"
	echo "image img/$n:1: $img ($(find "$img" -xdev -type f | wc -l) files, $(du -sm "$img" | cut -f1) MB)"
	st oci du | sed 's/^/  /'
	echo "  tar-split records of its layer (oci/tar-split/, uncompressed): $splits bytes"
	st oci du --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
i = d["perImage"][0]
sh = d["shared"]
print("  %s: %d objects, %d bytes; shared with the host branch: %d objects (%.2f%%), %d bytes (%.2f%%); its own %d bytes"
      % (i["name"], i["objects"], i["bytes"], sh["objects"], 100.0 * sh["objects"] / max(i["objects"], 1),
         sh["bytes"], 100.0 * sh["bytes"] / max(i["bytes"], 1), i["uniqueBytes"]))
'
	st oci rm "img/$n:1" >/dev/null
done
