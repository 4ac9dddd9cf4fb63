#!/bin/bash
# SPDX-License-Identifier: MIT
# sealtree oci du: a host tree committed as a branch and a container image
# built with umoci from the same tree share their objects (each file is
# stored once, by fs-verity digest); du reports the bytes stored, the bytes
# shared, and per image what only it holds. With a debootstrap'd tree in
# ~/.cache/sealtree/boot/rootfs-base (made by the boot tests), the same for
# a real Debian tree, and the figure is printed.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/oci-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
export LC_ALL=C
repo=$TEST_TMP/repo
st() { "$SEALTREE" --repo "$repo" "$@"; }
st init --verity=off >/dev/null || { fail "init" ""; done_testing; exit; }
jget() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"; }

tree=$TEST_TMP/tree
mkdir -p "$tree/usr/lib" "$tree/etc"
for i in 1 2 3 4 5; do head -c $((100000 * i)) /dev/urandom >"$tree/usr/lib/lib$i.so"; done
echo small >"$tree/etc/small"   # inline, not an object
shared=$(find "$tree" -type f -size +64c -printf '%s\n' | awk '{s+=$1} END {print s}')
check "commit the host tree" st commit -b host/os --tree "$tree" -s host

L=$TEST_TMP/layout
oci_new "$L" 1 &&
oci_layer "$L" 1 "cp -a '$tree'/. .; head -c 123457 /dev/urandom >app.bin" ||
	{ fail "umoci builds the image" ""; done_testing; exit; }
check "import the image" st -q oci import "oci:$L:1" --name app:1
st oci du --json >"$TEST_TMP/du.json"
st oci du | sed 's/^/# /'
check "shared bytes are the host tree's files" test "$(jget "$TEST_TMP/du.json" 'd["shared"]["bytes"]')" = "$shared"
check "six objects stored, not eleven" test "$(jget "$TEST_TMP/du.json" 'd["stored"]["objects"]')" = 6
check "the image's unique bytes are its own file" \
	test "$(jget "$TEST_TMP/du.json" '[i["uniqueBytes"] for i in d["perImage"] if i["name"]=="app:1"][0]')" = 123457
check "the host's objects" test "$(jget "$TEST_TMP/du.json" 'd["host"]["objects"]')" = 5

# A second image with the same file: nothing unique to either any more.
oci_layer "$L" 1 "echo more >more.txt" && st -q oci import "oci:$L:1" --name app:2
st oci du --json >"$TEST_TMP/du2.json"
check "two images share app.bin: no unique bytes" \
	test "$(jget "$TEST_TMP/du2.json" 'sum(i["uniqueBytes"] for i in d["perImage"])')" = 0
check "still six objects" test "$(jget "$TEST_TMP/du2.json" 'd["stored"]["objects"]')" = 6

# A Debian tree, if the boot kit made one: host commit and image of the same packages.
deb=${SEALTREE_DEBIAN_ROOTFS:-$HOME/.cache/sealtree/boot/rootfs-base}
if [ "$(id -u)" = 0 ] && [ -d "$deb/usr/bin" ]; then
	check "commit the Debian tree" st commit -b debian/host --tree "$deb" -s debian
	D=$TEST_TMP/debian
	oci_new "$D" 12 &&
	oci_layer "$D" 12 "cp -a '$deb'/. .; rm -rf dev/*" &&   # images carry no device nodes
	check "import the Debian image" st -q oci import "oci:$D:12" --name debian:12
	st oci du --json >"$TEST_TMP/du3.json"
	img=$(jget "$TEST_TMP/du3.json" '[i["bytes"] for i in d["perImage"] if i["name"]=="debian:12"][0]')
	sh=$(jget "$TEST_TMP/du3.json" '[i["bytes"]-i["uniqueBytes"] for i in d["perImage"] if i["name"]=="debian:12"][0]')
	echo "# Debian: image $img bytes in objects, $sh shared with the host tree ($((sh * 100 / img))%)"
	check "the Debian image shares its files with the host tree" test "$sh" = "$img"
else
	echo "# SKIP the Debian part: no debootstrap'd tree at $deb (or not root)"
fi
done_testing
