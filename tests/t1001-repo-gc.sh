#!/bin/bash
# SPDX-License-Identifier: MIT
# sealtree gc: removes exactly what no ref reaches (commits, images,
# objects), keeps objects shared with a kept commit, keeps what a pin under
# refs/mounts/ holds (its commit, not its history), removes tmp/ leftovers
# and stray temporary files; --dry-run reports the same and deletes nothing.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/maint-lib.sh"

REPO=$TEST_TMP/repo
check "init" st init --verity=off

mk() { # DIR: a tree with a unique file, a shared file, inline and hardlinked files
	mkdir -p "$1/sub"
	head -c 5000 /dev/urandom >"$1/unique"
	cp "$TEST_TMP/shared" "$1/sub/shared"
	echo "inline $1" >"$1/small"
	head -c 3000 /dev/urandom >"$1/sub/linked"
	ln "$1/sub/linked" "$1/hardlink"
}
head -c 70000 /dev/urandom >"$TEST_TMP/shared"
for t in a1 a2 b c0 c1; do mk "$TEST_TMP/$t"; done

a1=$(commit_tree a "$TEST_TMP/a1") && a2=$(commit_tree a "$TEST_TMP/a2") &&
	b=$(commit_tree b "$TEST_TMP/b") && c0=$(commit_tree c "$TEST_TMP/c0") && c1=$(commit_tree c "$TEST_TMP/c1") &&
	ok "five commits on refs a (2), b (1), c (2)" || fail "commits" "sealtree commit failed"
for t in a1 a2 b c0 c1; do
	eval "obj_$t=\"\$(object_of "$TEST_TMP/$t/unique") \$(object_of "$TEST_TMP/$t/sub/linked")\""
	eval "img_$t=\$(image_of "$TEST_TMP/$t")"
done
shared=$(object_of "$TEST_TMP/shared")
# shellcheck disable=SC2086
check "objects and images as expected before gc" has $obj_a1 $obj_a2 $obj_b $obj_c0 $obj_c1 "$shared" \
	"$img_a1" "$img_a2" "$img_b" "$img_c0" "$img_c1" "commits/$a1" "commits/$b"

out=$(st gc) && [ "$(gc_count objects "$out")" = 0 ] && [ "$(gc_count commits "$out")" = 0 ] &&
	ok "gc with every commit reachable removes nothing" || fail "first gc" "$out"

# Garbage: ref b deleted, ref c pinned at c1 then deleted; leftovers of a killed writer.
check "pin c1 under refs/mounts/" write_ref refs/mounts/test-pin "$c1"
check "delete ref b" st ref --delete b
check "delete ref c" st ref --delete c
mkdir -p "$REPO/tmp/staging-123/deep"
echo junk >"$REPO/tmp/staging-123/deep/file"
echo junk >"$REPO/tmp/left"
fan=$(dirname "$shared")
echo junk >"$REPO/$fan/.tmp-999-1"
echo junk >"$REPO/images/.tmp-999-2"
# Side files of commits (signatures): they go with their commit.
echo sig >"$REPO/commits/$b.sig"
echo sig >"$REPO/commits/$a2.sig"

before=$(repo_files)
out_dry=$(st gc --dry-run) && ok "gc --dry-run runs" || fail "gc --dry-run" "$out_dry"
printf '%s\n' "$out_dry" | sed 's/^/# /'
check "gc --dry-run deletes nothing" [ "$before" = "$(repo_files)" ]
check "gc --dry-run says so" grep -q '^dry run: nothing was deleted' <<<"$out_dry"

out=$(st gc) && ok "gc runs" || fail "gc" "$out"
printf '%s\n' "$out" | sed 's/^/# /'
for kind in commits images objects "temporary files"; do
	[ "$(gc_count "$kind" "$out_dry")" = "$(gc_count "$kind" "$out")" ] && ok "dry run counted the same $kind" ||
		fail "dry-run $kind" "$(gc_count "$kind" "$out_dry") vs $(gc_count "$kind" "$out")"
done
check "gc removed 2 commits (b, c0)" [ "$(gc_count commits "$out")" = 2 ]
check "gc removed 2 images" [ "$(gc_count images "$out")" = 2 ]
check "gc removed 4 objects" [ "$(gc_count objects "$out")" = 4 ]
check "gc removed 4 temporary files" [ "$(gc_count "temporary files" "$out")" = 4 ]
check "the freed byte count adds up" [ "$(sed -n 's/^freed: \([0-9]*\) bytes.*/\1/p' <<<"$out")" -gt 16000 ]

# shellcheck disable=SC2086
check "commits of ref b and c0 removed" hasnt "commits/$b" "commits/$c0" $obj_b $obj_c0 "$img_b" "$img_c0"
# shellcheck disable=SC2086
check "ref a's history kept" has "commits/$a1" "commits/$a2" $obj_a1 $obj_a2 "$img_a1" "$img_a2"
# shellcheck disable=SC2086
check "the pinned commit keeps its commit, image and objects" has "commits/$c1" "$img_c1" $obj_c1
check "the object shared with kept commits stays" has "$shared"
check "a removed commit's side file went with it" hasnt "commits/$b.sig"
check "a kept commit's side file stays" has "commits/$a2.sig"
check "tmp/ is empty" [ -z "$(ls -A "$REPO/tmp")" ]
check "stray temporary files removed" hasnt "$fan/.tmp-999-1" "images/.tmp-999-2"

# Exactly: every object left is referenced by a kept image.
want=$(for i in "$img_a1" "$img_a2" "$img_c1"; do "$COMPOSEFS_INFO" objects "$REPO/$i"; done | sort -u)
got=$(cd "$REPO/objects" && find . -type f | sed 's|^\./||' | sort)
check "objects left are exactly those of the kept images" [ "$want" = "$got" ]
got=$(ls "$REPO/images" | sort)
want=$(printf '%s\n' "${img_a1#images/}" "${img_a2#images/}" "${img_c1#images/}" | sort -u)
check "images left are exactly the kept ones" [ "$want" = "$got" ]

out=$(st gc) && [ "$(gc_count objects "$out")" = 0 ] && [ "$(gc_count commits "$out")" = 0 ] &&
	ok "a second gc finds nothing" || fail "second gc" "$out"
check "fsck is clean after gc" st fsck -q
check "ref a still reads" st log a

# Unpinned, c1 goes too.
rm -f "$REPO/refs/mounts/test-pin"
out=$(st gc) && [ "$(gc_count commits "$out")" = 1 ] && [ "$(gc_count images "$out")" = 1 ] &&
	ok "without its pin, c1 is collected" || fail "gc after unpin" "$out"
# shellcheck disable=SC2086
check "c1's files gone" hasnt "commits/$c1" "$img_c1" $obj_c1

# A ref to a missing commit stops gc before it deletes anything.
mkdir -p "$TEST_TMP/orphan" && head -c 9000 /dev/urandom >"$TEST_TMP/orphan/f"
o=$(commit_tree orphan "$TEST_TMP/orphan") && st ref --delete orphan
echo 0000000000000000000000000000000000000000000000000000000000000001 >"$REPO/refs/heads/broken"
before=$(repo_files)
rc=0
st gc >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
[ $rc = 1 ] && grep -q broken "$TEST_TMP/err" && [ "$before" = "$(repo_files)" ] &&
	ok "a ref to a missing commit stops gc, nothing deleted: $(cat "$TEST_TMP/err")" ||
	fail "gc with a broken ref" "exit $rc: $(cat "$TEST_TMP/err")"
rm "$REPO/refs/heads/broken"
# So does a damaged image of a reachable commit: gc cannot know what it needs.
cp "$REPO/$img_a2" "$TEST_TMP/img.bak"
before=$(repo_files)
printf X | dd of="$REPO/$img_a2" bs=1 seek=200 conv=notrunc 2>/dev/null
rc=0
st gc >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
[ $rc = 1 ] && grep -q "${img_a2#images/}" "$TEST_TMP/err" && [ "$before" = "$(repo_files)" ] &&
	ok "a damaged reachable image stops gc, nothing deleted: $(cut -c1-160 "$TEST_TMP/err")" ||
	fail "gc with a damaged image" "exit $rc: $(cat "$TEST_TMP/err")"
cp "$TEST_TMP/img.bak" "$REPO/$img_a2"
check "then gc collects the orphan" st gc
check "orphan commit gone" hasnt "commits/$o" "$(object_of "$TEST_TMP/orphan/f")"

rc=0; st gc extra 2>/dev/null || rc=$?
check "gc with an argument is a usage error" [ $rc = 2 ]
check "gc --help" st gc --help
done_testing
