#!/bin/bash
# SPDX-License-Identifier: MIT
# Large objects lie on the disk in file order, in few extents. Objects are
# written with direct I/O in 1 MiB pieces by several threads at once; each
# piece used to be allocated when written, so objects interleaved: a 24 MiB
# object came out as 6 extents out of order, and a sequential read through
# a composefs mount became many small requests (note4's QEMU fio figures).
# The store now reserves a large object's blocks in one allocation before
# writing it. Checked for `commit --tree` and a streamed `commit --tar`
# member, with filefrag, on ext4 (where it was measured; SKIP elsewhere).
. "$(dirname "$0")/test-lib.sh"

command -v filefrag >/dev/null || skip_all "filefrag (e2fsprogs) missing"
[ "$(stat -f -c %T "$TEST_TMP")" = ext2/ext3 ] || skip_all "TMPDIR is not on ext4 ($(stat -f -c %T "$TEST_TMP"))"
T=$TEST_TMP
mkdir -p "$T/tree/a" "$T/tree/b" "$T/tar"
for i in 0 1 2; do
	head -c $((12 << 20)) /dev/urandom >"$T/tree/a/f$i"
	head -c $((12 << 20)) /dev/urandom >"$T/tree/b/f$i"
done
head -c $((12 << 20)) /dev/urandom >"$T/tar/big"
tar -C "$T/tar" -cf "$T/big.tar" big
sync

# layout_ok OBJECT: at most 2 extents (an allocation may straddle a block
# group), each starting after the previous one on the disk.
layout_ok() {
	filefrag -v "$1" | awk '
		$1 ~ /^[0-9]+:$/ { n++; split($4, p, "\\."); start = p[1] + 0
			if (n > 1 && start < last) bad = 1; last = start }
		END { if (n == 0) { print "no extents listed" > "/dev/stderr"; exit 1 }
		      if (n > 2 || bad) { printf "%d extents%s\n", n, bad ? ", out of order" : "" > "/dev/stderr"; exit 1 } }'
}
check_objects() {
	local name=$1 repo=$2 o n=0 bad=0
	for o in $(find "$repo/objects" -type f -size +1M); do
		n=$((n + 1))
		layout_ok "$o" 2>>"$T/why" || { bad=$((bad + 1)); echo "  $o" >>"$T/why"; }
	done
	if [ "$n" = 0 ]; then fail "$name" "no large objects"; elif [ "$bad" != 0 ]; then
		fail "$name" "$bad of $n large objects fragmented: $(tr '\n' ' ' <"$T/why")"
	else ok "$name: $n objects of 12 MiB, each in order in at most 2 extents"; fi
	: >"$T/why"
}

"$SEALTREE" --repo "$T/r1" init --verity=off >/dev/null
"$SEALTREE" -q --repo "$T/r1" commit -b main --threads 2 --tree "$T/tree" >/dev/null
check_objects "commit --tree, 2 threads" "$T/r1"
"$SEALTREE" --repo "$T/r2" init --verity=off >/dev/null
"$SEALTREE" -q --repo "$T/r2" commit -b main --tar "$T/big.tar" >/dev/null
check_objects "commit --tar (a streamed member)" "$T/r2"
check "the objects read back" cmp "$T/tree/a/f1" "$(find "$T/r1/objects" -type f -size +1M | while read -r o; do cmp -s "$o" "$T/tree/a/f1" && echo "$o"; done | head -1)"
done_testing
