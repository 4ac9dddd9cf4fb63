#!/bin/bash
# SPDX-License-Identifier: MIT
# Inode shapes the kernel would read differently than our reader (inline or
# plain data with a metacopy, size 0 with a redirect, a chunk-based file with
# no metacopy, a bad metacopy header, an unescaped overlay whiteout xattr,
# and in a repository a metacopy without redirect or with another digest):
# an image holding one is refused by every reader path, and fsck reports it
# naming the image, the nid and the contradiction; --repair quarantines it.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/maint-lib.sh"

MUTATE=$BUILD_DIR/lib/image/st-image-mutate
[ -x "$MUTATE" ] || skip_all "st-image-mutate not built"

REPO=$TEST_TMP/repo
src=$TEST_TMP/src
mkdir -p "$src/d"
head -c 4500 /dev/urandom >"$src/d/file"        # one external file, <= 5000 bytes
echo tiny >"$src/tiny"
check "init" st init --verity=off
commit_tree main "$src" >/dev/null || fail "commit"
img=$(image_of "$src")
check "fsck of the sound repository is clean" st fsck

# shape NAME CAUSE-REGEX: a copy of the image with one file of shape NAME,
# stored under its own digest next to the good one.
shape() {
	local name=$1 cause=$2 nid d out rc=0 why="not a valid composefs image: corrupt image: "
	cp "$REPO/$img" "$TEST_TMP/m"
	nid=$("$MUTATE" "$TEST_TMP/m" "$name") || { fail "$name: mutate"; return; }
	d=$("$DIGEST" "$TEST_TMP/m" | cut -d' ' -f1)
	d=${d#sha256:}
	cp "$TEST_TMP/m" "$REPO/images/$d"

	# The hardened reader refuses it, naming the nid and the cause.
	"$SEALTREE" --repo "$REPO" fsck >"$TEST_TMP/out" 2>&1 || rc=$?
	case $name in no-redirect | digest) why="file '/d/file' " nid= ;; esac
	if [ $rc = 1 ] && grep -qE "^error: images/$d: $why${nid:+nid $nid: }.*$cause" "$TEST_TMP/out"; then
		ok "$name: fsck: $(grep -E "^error: images/$d" "$TEST_TMP/out" | head -n1 | cut -c1-60,90-230)"
	else
		fail "$name: fsck" "exit $rc, no nid $nid / '$cause' in: $(cat "$TEST_TMP/out")"
	fi
	if [ -n "$nid" ]; then
		out=$("$BUILD_DIR/tools/composefs-info/composefs-info" dump "$TEST_TMP/m" 2>&1) && rc=0 || rc=$?
		if [ $rc != 0 ] && grep -qE "nid $nid: .*$cause" <<<"$out"; then
			ok "$name: composefs-info dump refuses it"
		else
			fail "$name: composefs-info" "exit $rc: $out"
		fi
	fi
	"$SEALTREE" --repo "$REPO" fsck --repair >"$TEST_TMP/out" 2>&1
	if [ ! -e "$REPO/images/$d" ] && [ -e "$REPO/quarantine/images/$d" ]; then
		ok "$name: --repair quarantines it"
	else
		fail "$name: repair" "$(cat "$TEST_TMP/out")"
	fi
	rm -rf "$REPO/quarantine"
}

shape plain-data   'file with plain data blocks \(4500 bytes\) and a metacopy xattr'
shape empty        'empty file with a metacopy xattr'
shape no-metacopy  'redirect xattr at offset [0-9]+ without a metacopy xattr'
# Accepted by the composefs reader (the kernel fails the lookup, no bytes
# differ), but in a repository every external file redirects to its object.
shape no-redirect  'has no redirect to an object'
shape digest       'has a digest other than the object it redirects to'
shape metacopy-len 'metacopy xattr at offset [0-9]+ has header 0/32/0/1'
shape whiteout     "overlay xattr 'trusted.overlay.whiteout'"
check "fsck is clean again" st fsck

done_testing
