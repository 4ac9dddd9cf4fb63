#!/bin/bash
# SPDX-License-Identifier: MIT
# 'sealtree umount DIR' unmounts only what 'sealtree mount' mounted on DIR
# from this repository (a composefs overlay whose data layer is its
# objects/). A tmpfs, a bind mount, a composefs mount of another
# repository, or anything stacked on top of our mount is refused, named by
# its type and source, and stays mounted. Our own mount (with or without its
# pin) still unmounts. Needs root with EROFS and overlayfs.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/maint-lib.sh"
need_root
cleanup() {
	set +e
	findmnt -rn -o TARGET | grep -F "$TEST_TMP/" | sort -r | while read -r m; do umount -l "$m"; done
	cleanup_test_tmp
}
trap cleanup EXIT

mkdir -p "$TEST_TMP/probe/src" "$TEST_TMP/probe/m" "$TEST_TMP/probe/obj"
head -c 5000 /dev/urandom >"$TEST_TMP/probe/src/f"
"$MKCOMPOSEFS" --digest-store="$TEST_TMP/probe/obj" "$TEST_TMP/probe/src" "$TEST_TMP/probe/img" ||
	skip_all "mkcomposefs failed on the probe tree"
"$MOUNT_COMPOSEFS" -o basedir="$TEST_TMP/probe/obj" "$TEST_TMP/probe/img" "$TEST_TMP/probe/m" 2>"$TEST_TMP/err" ||
	skip_all "this kernel cannot mount composefs (EROFS + overlayfs): $(cat "$TEST_TMP/err")"
umount "$TEST_TMP/probe/m"

M=$TEST_TMP/mnt
src=$TEST_TMP/src
mkdir -p "$M" "$src" "$TEST_TMP/other-dir"
echo hello >"$src/f"
REPO=$TEST_TMP/a
check "init a" st init --verity=off >/dev/null
commit_tree main "$src" >/dev/null || fail "commit a"
REPO=$TEST_TMP/b
check "init b" st init --verity=off >/dev/null
commit_tree main "$src" >/dev/null || fail "commit b"
REPO=$TEST_TMP/a

# refused NAME REGEX: 'sealtree umount M' fails naming what is there, and M is still mounted as it was.
refused() {
	local rc=0 before
	before=$(findmnt -rn -o FSTYPE,SOURCE --mountpoint "$M" | tail -n1)
	st umount "$M" >"$TEST_TMP/out" 2>&1 || rc=$?
	if [ $rc != 0 ] && grep -qE "$2" "$TEST_TMP/out" && [ "$(findmnt -rn -o FSTYPE,SOURCE --mountpoint "$M" | tail -n1)" = "$before" ]; then
		ok "$1: refused: $(head -n1 "$TEST_TMP/out" | cut -c1-160)"
	else
		fail "$1" "exit $rc, before '$before', now '$(findmnt -rn -o FSTYPE,SOURCE --mountpoint "$M" | tail -n1)': $(cat "$TEST_TMP/out")"
	fi
}

mount -t tmpfs sealtree-test-tmpfs "$M"
refused "a tmpfs" "holds a tmpfs mount of 'sealtree-test-tmpfs'"
umount "$M"

mount --bind "$TEST_TMP/other-dir" "$M"
refused "a bind mount" "not a composefs mount"
umount "$M"

"$SEALTREE" --repo "$TEST_TMP/b" mount main "$M" || fail "mount b"
refused "another repository's composefs mount" "another repository"
check "its own repository unmounts it" "$SEALTREE" --repo "$TEST_TMP/b" umount "$M"

# Our mount with a tmpfs on top: the topmost mount is not ours.
check "mount a" st mount main "$M"
mount -t tmpfs sealtree-test-top "$M"
refused "a tmpfs stacked on our mount" "tmpfs"
umount "$M"
check "then our mount unmounts" st umount "$M"
mountpoint -q "$M" && fail "still mounted" "$(findmnt "$M")" || ok "nothing is left on DIR"

# A relative repository path still names the mount so that umount finds it again.
(cd "$TEST_TMP" && "$SEALTREE" --repo a mount main "$M") || fail "mount with a relative --repo"
check "umount from elsewhere" "$SEALTREE" --repo "$TEST_TMP/a" umount "$M"
check "umount without --repo finds the repository" bash -c '! mountpoint -q "$1"' _ "$M"
(cd "$TEST_TMP" && "$SEALTREE" --repo a mount main "$M") || fail "mount again"
check "umount without --repo" "$SEALTREE" umount "$M"
mountpoint -q "$M" && fail "still mounted after umount without --repo" "" || ok "unmounted"

done_testing
