#!/bin/bash
# SPDX-License-Identifier: MIT
# gc and a live mount: 'sealtree mount' pins the commit under refs/mounts/,
# so when the branch moves on and its old commit is otherwise garbage, gc
# keeps that commit's image and objects and every file still reads through
# the mount; after 'sealtree umount' the next gc collects them. Needs root
# with EROFS and overlayfs.
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

REPO=$TEST_TMP/repo
M=$TEST_TMP/mnt
mkdir -p "$M" "$TEST_TMP/v1/sub" "$TEST_TMP/v2"
check "init" st init --verity=off
for i in 1 2 3; do head -c $((20000 + i)) /dev/urandom >"$TEST_TMP/v1/sub/f$i"; done
head -c 30000 /dev/urandom >"$TEST_TMP/v2/other"
c1=$(commit_tree main "$TEST_TMP/v1") && ok "commit v1" || fail "commit v1"
check "mount v1" st mount main "$M"
check "a pin exists" bash -c '"$1" --repo "$2" refs --all | grep -q "refs/mounts/"' _ "$SEALTREE" "$REPO"
c2=$(commit_tree main "$TEST_TMP/v2" --orphan) && ok "main moves on to an orphan v2" || fail "commit v2"

out=$(st gc) && ok "gc while v1 is mounted" || fail "gc" "$out"
check "gc removed nothing of v1" [ "$(gc_count commits "$out")" = 0 ]
check "v1's commit, image and objects stay" has "commits/$c1" "$(image_of "$TEST_TMP/v1")" \
	"$(object_of "$TEST_TMP/v1/sub/f1")" "$(object_of "$TEST_TMP/v1/sub/f3")"
echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
check "every file still reads through the mount" bash -c \
	'for i in 1 2 3; do cmp "$1/sub/f$i" "$2/sub/f$i" || exit 1; done' _ "$TEST_TMP/v1" "$M"

check "umount" st umount "$M"
out=$(st gc) && ok "gc after umount" || fail "gc" "$out"
check "now v1 is collected" [ "$(gc_count commits "$out")" = 1 ]
check "v1's files are gone" hasnt "commits/$c1" "$(object_of "$TEST_TMP/v1/sub/f1")"
check "v2 stays" has "commits/$c2" "$(object_of "$TEST_TMP/v2/other")"
check "fsck clean" st fsck -q
done_testing
