#!/bin/bash
# SPDX-License-Identifier: MIT
# sealtree mount/umount: a mounted commit equals its source tree
# (tests/compare-trees.sh), a pin ref refs/mounts/... exists while mounted
# and goes with umount; a commit whose image bytes were changed is refused
# before anything is mounted (and leaves no pin); umount refuses a mount
# without its pin (not made by sealtree mount); a stale pin is removed; a second mount on a
# mounted DIR is refused, and of 4 mounts racing on one DIR exactly one is
# made (one pin); gc keeps what only a pin reaches, until umount.
# Needs root with EROFS and overlayfs.
. "$(dirname "$0")/test-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
need_root
export LC_ALL=C
COMPARE=$SOURCE_DIR/tests/compare-trees.sh
R=$TEST_TMP/repo
st() { "$SEALTREE" --repo "$R" "$@"; }
commit_tree() { st commit -b "$1" -s "test" --tree "$2" | tail -n1; }
cleanup() {
	set +e
	findmnt -rn -o TARGET | grep -F "$TEST_TMP/" | sort -r | while read -r m; do umount -l "$m"; done
	cleanup_test_tmp
}
trap cleanup EXIT
is_mounted() { findmnt -rn --mountpoint "$1" >/dev/null; }
pins() { st refs --all | grep -o 'refs/mounts/[^ ]*' || true; }

# Can this machine mount composefs at all? (EROFS + overlay data-only layers)
mkdir -p "$TEST_TMP/probe/src" "$TEST_TMP/probe/m" "$TEST_TMP/probe/obj"
head -c 5000 /dev/urandom >"$TEST_TMP/probe/src/f"
"$MKCOMPOSEFS" --digest-store="$TEST_TMP/probe/obj" "$TEST_TMP/probe/src" "$TEST_TMP/probe/img" ||
	skip_all "mkcomposefs failed on the probe tree"
"$MOUNT_COMPOSEFS" -o basedir="$TEST_TMP/probe/obj" "$TEST_TMP/probe/img" "$TEST_TMP/probe/m" 2>"$TEST_TMP/err" ||
	skip_all "this kernel cannot mount composefs (EROFS + overlayfs): $(cat "$TEST_TMP/err")"
umount "$TEST_TMP/probe/m"

st init --verity=off >/dev/null || { fail "init" "sealtree init failed"; done_testing; exit; }
M=$TEST_TMP/mnt
mkdir -p "$M"

for seed in 1 2; do
	G=$TEST_TMP/g$seed
	gentree tree $seed "$G"
	c=$(commit_tree g$seed "$G")
	if st mount g$seed "$M" 2>"$TEST_TMP/err"; then
		ok "gentree $seed: mount"
		if COMPARE_HARDLINKS=keep "$COMPARE" "$G" "$M" >"$TEST_TMP/diff" 2>&1; then ok "gentree $seed: the mount equals the source"
		else fail "gentree $seed: compare" "$(head -20 "$TEST_TMP/diff")"; fi
		pin=$(pins)
		[ "$pin" = "refs/mounts$M" ] && ok "pin $pin while mounted" || fail "pin" "'$pin'"
		[ "$(cat "$R/$pin" 2>/dev/null)" = "$c" ] && ok "the pin holds the commit id" || fail "pin content" "$(cat "$R/$pin" 2>/dev/null) != $c"
		st umount "$M" 2>"$TEST_TMP/err" && ok "umount" || fail "umount" "$(cat "$TEST_TMP/err")"
		! is_mounted "$M" && [ -z "$(pins)" ] && ok "unmounted, pin gone" || fail "after umount" "mounted or pin left: $(pins)"
	else
		fail "gentree $seed: mount" "$(cat "$TEST_TMP/err")"
	fi
done

# A path that needs escaping.
O="$TEST_TMP/odd dir,x"
mkdir -p "$O"
if st mount g1 "$O" 2>"$TEST_TMP/err"; then
	[ "$(pins)" = "refs/mounts$TEST_TMP/odd+20dir+2cx" ] && ok "pin of an odd path is escaped: $(pins)" || fail "odd pin" "$(pins)"
	# Without --repo: the repository is found from the mount's datadir.
	(unset SEALTREE_REPO; "$SEALTREE" umount "$O") && ! is_mounted "$O" && [ -z "$(pins)" ] &&
		ok "umount of the odd path without --repo finds the repository" || fail "odd umount" "$(pins)"
else
	fail "mount on an odd path" "$(cat "$TEST_TMP/err")"
fi

# Four mounts of one commit on one empty DIR at once: exactly one wins, the
# others say why; one mount, one pin; umount removes both. A few rounds.
C=$TEST_TMP/race
mkdir -p "$C"
for round in 1 2 3; do
	for i in 1 2 3 4; do
		(rc=0; st mount g1 "$C" 2>"$TEST_TMP/race$i.err" || rc=$?; echo $rc >"$TEST_TMP/race$i.rc") &
	done
	wait
	won=0 lost=0 why=""
	for i in 1 2 3 4; do
		case $(cat "$TEST_TMP/race$i.rc") in
		0) won=$((won + 1)) ;;
		1) grep -qE "mounted already|mounted by another process meanwhile" "$TEST_TMP/race$i.err" && lost=$((lost + 1)) ||
			why="$why $(cat "$TEST_TMP/race$i.err")" ;;
		*) why="$why rc=$(cat "$TEST_TMP/race$i.rc") $(cat "$TEST_TMP/race$i.err")" ;;
		esac
	done
	[ $won = 1 ] && [ $lost = 3 ] && ok "race $round: 4 mounts at once on one DIR: one succeeds, 3 refused ($(cat "$TEST_TMP"/race[1-4].err | sort -u | tr '\n' ' '))" ||
		fail "race $round" "won=$won lost=$lost:$why"
	n=$(findmnt -rn --mountpoint "$C" | wc -l)
	[ "$n" = 1 ] && [ "$(pins)" = "refs/mounts$C" ] && ok "race $round: one mount, one pin" ||
		fail "race $round: mounts/pins" "$n mounts, pins: $(pins)"
	st umount "$C" 2>"$TEST_TMP/err" && ! is_mounted "$C" && [ -z "$(pins)" ] && ok "race $round: umount removes mount and pin" ||
		fail "race $round: umount" "$(cat "$TEST_TMP/err"); $(findmnt -rn --mountpoint "$C" | wc -l) mounts, pins: $(pins)"
	while is_mounted "$C"; do umount "$C"; done
done

# A mounted DIR takes no second mount.
st mount g1 "$M"
rc=0; st mount g2 "$M" 2>"$TEST_TMP/err" || rc=$?
[ $rc = 1 ] && grep -q "mounted already" "$TEST_TMP/err" && ok "a second mount on DIR is refused: $(cat "$TEST_TMP/err")" ||
	fail "second mount" "rc=$rc $(cat "$TEST_TMP/err")"
[ "$(findmnt -rn --mountpoint "$M" | wc -l)" = 1 ] && ok "still one mount on DIR" || fail "stacked" "$(findmnt -rn --mountpoint "$M")"

# Without its pin the mount is not one sealtree made (mount.composefs by
# hand makes the same overlay): refused, left mounted, and says what it is.
pin=$(pins)
mv "$R/$pin" "$TEST_TMP/pin.saved"
rc=0; st umount "$M" 2>"$TEST_TMP/err" || rc=$?
[ $rc = 1 ] && is_mounted "$M" && grep -q "did not make (no pin" "$TEST_TMP/err" &&
	ok "umount without a pin refuses: $(cat "$TEST_TMP/err")" || fail "umount without pin" "rc=$rc $(cat "$TEST_TMP/err")"
mv "$TEST_TMP/pin.saved" "$R/$pin"
st umount "$M" 2>"$TEST_TMP/err" && ! is_mounted "$M" && ok "with its pin back, umount unmounts" ||
	fail "umount with pin" "$(cat "$TEST_TMP/err")"
img=$(commit_image "$R" g1)
"$MOUNT_COMPOSEFS" -o basedir="$R/objects" "$R/images/$img" "$M"
rc=0; st umount "$M" 2>"$TEST_TMP/err" || rc=$?
[ $rc = 1 ] && is_mounted "$M" && grep -q "did not make" "$TEST_TMP/err" &&
	ok "a mount.composefs mount of the repository is refused" || fail "mount.composefs mount" "rc=$rc $(cat "$TEST_TMP/err")"
umount "$M"

# A mount removed with umount(8): sealtree umount removes the stale pin and says so.
st mount g1 "$M" && umount "$M"
rc=0; st umount "$M" 2>"$TEST_TMP/err" || rc=$?
[ $rc = 1 ] && grep -q "stale pin was removed" "$TEST_TMP/err" && [ -z "$(pins)" ] && ok "a stale pin is removed: $(cat "$TEST_TMP/err")" ||
	fail "stale pin" "rc=$rc $(cat "$TEST_TMP/err") pins: $(pins)"
rc=0; st umount "$M" 2>"$TEST_TMP/err" || rc=$?
[ $rc = 1 ] && grep -q "not a mount point" "$TEST_TMP/err" && ok "umount of a DIR not mounted: exit 1" || fail "not mounted" "rc=$rc"

# A changed image is refused before mounting, with no pin left.
cp -a "$R" "$TEST_TMP/repo-bad"
for img in "$TEST_TMP/repo-bad"/images/*; do
	printf '\x01' | dd of="$img" bs=1 seek=2000 conv=notrunc status=none
done
rc=0; "$SEALTREE" --repo "$TEST_TMP/repo-bad" mount g1 "$M" 2>"$TEST_TMP/err" || rc=$?
if [ $rc = 1 ] && grep -q "corrupt" "$TEST_TMP/err" && ! is_mounted "$M" && [ -z "$(ls "$TEST_TMP/repo-bad/refs/mounts" 2>/dev/null)" ]; then
	ok "a changed image is refused: $(cat "$TEST_TMP/err")"
else
	fail "changed image" "rc=$rc $(cat "$TEST_TMP/err")"
fi

rc=0; st mount --verity g1 "$M" 2>"$TEST_TMP/err" || rc=$?
[ $rc = 1 ] && grep -q "fs-verity" "$TEST_TMP/err" && ! is_mounted "$M" && ok "--verity on a repository without fs-verity: refused" ||
	fail "--verity" "rc=$rc $(cat "$TEST_TMP/err")"
rc=0; st mount g1 "$TEST_TMP/no/such/dir" 2>"$TEST_TMP/err" || rc=$?
[ $rc = 1 ] && [ -z "$(pins)" ] && ok "a missing DIR: exit 1, no pin" || fail "missing dir" "rc=$rc $(cat "$TEST_TMP/err") $(pins)"

if setpriv --reuid=nobody --regid=nogroup --clear-groups -- true 2>/dev/null; then
	rc=0; setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$SEALTREE" --repo "$R" mount g1 "$M" 2>"$TEST_TMP/err" || rc=$?
	[ $rc = 1 ] && grep -q "needs root" "$TEST_TMP/err" && [ -z "$(pins)" ] && ok "mount as nobody: refused up front" ||
		fail "mount as nobody" "rc=$rc $(cat "$TEST_TMP/err")"
fi

# The pin keeps the mounted commit through gc when no other ref does.
st mount g1 "$M"
st ref --delete g1 && st ref --delete g2
st gc >/dev/null 2>"$TEST_TMP/err" || fail "gc" "$(cat "$TEST_TMP/err")"
if COMPARE_HARDLINKS=keep "$COMPARE" "$TEST_TMP/g1" "$M" >"$TEST_TMP/diff" 2>&1; then
	ok "gc with only the pin left: the mount still reads every file"
else
	fail "gc kept the pinned commit" "$(head -20 "$TEST_TMP/diff")"
fi
[ "$(ls "$R/images" | wc -l)" = 1 ] && ok "gc removed the unpinned commit's image, kept the pinned one" ||
	fail "gc images" "$(ls "$R/images")"
st umount "$M"
st gc >/dev/null 2>"$TEST_TMP/err" || fail "gc" "$(cat "$TEST_TMP/err")"
[ -z "$(ls "$R/images")" ] && [ -z "$(find "$R/objects" -type f)" ] && ok "after umount, gc removes what the pin kept" ||
	fail "gc after umount" "$(ls "$R/images"; find "$R/objects" -type f | head -3)"

done_testing
