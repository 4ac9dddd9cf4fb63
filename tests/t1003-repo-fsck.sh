#!/bin/bash
# SPDX-License-Identifier: MIT
# sealtree fsck finds, and names, each kind of damage: a flipped byte or a
# truncated object, an object under a wrong name, a missing object, a
# corrupt or unparsable image, a changed commit, a ref to a missing commit,
# garbage in a ref, a misnamed file; stray temporary files are warnings.
# --repair quarantines what is bad (with a reason) and says what it cannot
# fix; after it (and, where an object was lost, committing the content
# again) fsck is clean.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/maint-lib.sh"

BASE=$TEST_TMP/base
REPO=$BASE
src=$TEST_TMP/src
mkdir -p "$src/d"
head -c 100000 /dev/urandom >"$src/big"
head -c 5000 /dev/urandom >"$src/d/mid"
head -c 9000 /dev/urandom >"$src/d/other"
echo tiny >"$src/tiny"
check "init" st init --verity=off
c1=$(commit_tree main "$src") || fail "commit 1"
echo more >>"$src/d/other"
c2=$(commit_tree main "$src") || fail "commit 2"
img=$(image_of "$src")
big=$(object_of "$src/big")
mid=$(object_of "$src/d/mid")

out=$(st fsck) && ok "fsck of a sound repository exits 0" || fail "clean fsck" "$out"
printf '%s\n' "$out" | sed 's/^/# /'
check "summary counts objects, images, commits, refs" \
	grep -qE '^checked 4 objects \([0-9]+ bytes\), 2 images, 2 commits, 1 refs$' <<<"$out"
check "0 errors" grep -q '^0 errors, 0 warnings' <<<"$out"

# case NAME SETUP: a fresh copy of the base repository, damaged by SETUP.
case_repo() {
	REPO=$TEST_TMP/case-$1
	rm -rf "$REPO"
	cp -a "$BASE" "$REPO"
	(cd "$REPO" && eval "$2")
}
# expect_fsck NAME REGEX: fsck exits 1 and prints an error line matching REGEX.
expect_fsck() {
	local rc=0
	st fsck >"$TEST_TMP/out" 2>&1 || rc=$?
	if [ $rc = 1 ] && grep -qE "^error: $2" "$TEST_TMP/out"; then
		ok "$1: $(grep -E "^error: $2" "$TEST_TMP/out" | head -n1 | cut -c1-150)"
	else
		fail "$1" "exit $rc, no /^error: $2/ in: $(cat "$TEST_TMP/out")"
	fi
}
# repair NAME PATH: --repair moves PATH into quarantine/ with a reason.
repair() {
	local rc=0
	st fsck --repair >"$TEST_TMP/out" 2>&1 || rc=$?
	sed 's/^/#   /' "$TEST_TMP/out"
	if [ ! -e "$REPO/$2" ] && [ -e "$REPO/quarantine/$2" ] && grep -q "^path: $2" "$REPO/quarantine/$2.reason" &&
		grep -q "quarantined as quarantine/$2" "$TEST_TMP/out"; then
		ok "$1: --repair quarantined $2 (exit $rc)"
	else
		fail "$1: --repair" "exit $rc, $2 not quarantined"
	fi
}
expect_clean() {
	local out
	out=$(st fsck 2>&1) && ok "$1: fsck clean afterwards" || fail "$1: fsck after repair" "$out"
}

# --- objects
case_repo flip "printf X | dd of=$big bs=1 seek=5000 conv=notrunc 2>/dev/null"
expect_fsck "flipped byte in an object" "$big: content has fs-verity digest [0-9a-f]{64}, not its name"
repair "flipped byte" "$big"
check "after repair the image's need of it is reported as not fixable" \
	grep -qE "^error: $img: file '/big' needs missing object $big \(--repair cannot fix this\)" "$TEST_TMP/out"
rc=0; st fsck >/dev/null 2>&1 || rc=$?
check "fsck still fails while the object is missing" [ $rc = 1 ]
check "committing the content again restores the object" commit_tree main "$src"
expect_clean "flipped byte"

case_repo truncate "truncate -s 4096 $mid"
expect_fsck "truncated object" "$mid: content has fs-verity digest"
repair "truncated object" "$mid"

wrong=objects/${mid:8:2}/$(printf '%062d' 7)
case_repo wrong-name "mv $mid $wrong"
expect_fsck "object under a wrong name" "$wrong: content has fs-verity digest"
check "... and the image misses the right one" grep -qE "^error: $img: file '/d/mid' needs missing object $mid" "$TEST_TMP/out"

case_repo missing "rm $mid"
expect_fsck "missing object" "$img: file '/d/mid' needs missing object $mid"

case_repo badname "echo x >objects/${mid:8:2}/NOT-HEX; mkdir objects/zz"
expect_fsck "misnamed object" "objects/${mid:8:2}/NOT-HEX: not an object name"
check "misnamed fan-out directory" grep -q "^error: objects/zz: not an object fan-out directory" "$TEST_TMP/out"
repair "misnamed object" "objects/${mid:8:2}/NOT-HEX"
expect_clean "misnamed files"

f1=objects/${mid:8:2}/$(printf '%062d' 1)
f2=objects/${mid:8:2}/$(printf '%062d' 2)
case_repo notreg "mkfifo $f1; ln -s ../../$big $f2"
expect_fsck "a FIFO under an object name (fsck does not hang on it)" "$f1: not a regular file"
check "a symlink under an object name" grep -q "^error: $f2: not a regular file" "$TEST_TMP/out"

case_repo mode "chmod 0600 $big"
out=$(st fsck 2>&1) && grep -q "^warning: $big: mode is 0600, not 0644" <<<"$out" &&
	ok "an object of mode 0600 is a warning" || fail "mode" "$out"
out=$(st fsck --repair 2>&1) && grep -q "^warning: $big: mode was 0600, not 0644 (fixed)" <<<"$out" &&
	[ "$(stat -c %a "$REPO/$big")" = 644 ] && ok "--repair resets it to 0644" || fail "mode repair" "$out"

case_repo temp "echo x >objects/${mid:8:2}/.tmp-1-2"
out=$(st fsck 2>&1) && grep -q "^warning: objects/${mid:8:2}/.tmp-1-2: stray temporary file" <<<"$out" &&
	ok "a stray temporary file is a warning, exit 0" || fail "stray temp" "$out"

# --- images
case_repo image-flip "printf X | dd of=$img bs=1 seek=100 conv=notrunc 2>/dev/null"
expect_fsck "corrupt image" "$img: content has fs-verity digest"
repair "corrupt image" "$img"
check "the commit's missing image is reported as not fixable" \
	grep -qE "^error: commits/[0-9a-f]{64}: its image $img is missing \(--repair cannot fix this\)" "$TEST_TMP/out"

head -c 8192 /dev/urandom >"$TEST_TMP/garbage"
gd=$("$DIGEST" "$TEST_TMP/garbage" | cut -d' ' -f1)
gd=${gd#sha256:}
case_repo image-garbage "cp $TEST_TMP/garbage images/$gd"
expect_fsck "unparsable image under its own digest" "images/$gd: not a valid composefs image"
repair "unparsable image" "images/$gd"
expect_clean "unparsable image"

# --- commits
case_repo commit-changed "sed -i 's/^/x/' commits/$c2 2>/dev/null || printf X >>commits/$c2"
expect_fsck "a commit whose bytes changed" "commits/$c2: "
repair "changed commit" "commits/$c2"
check "the ref to it is quarantined in the same run" grep -q "^error: refs/heads/main: points at missing commit $c2 (quarantined" "$TEST_TMP/out"
check "the ref file kept in quarantine" [ "$(tr -d '\n' <"$REPO/quarantine/refs/heads/main")" = "$c2" ]
expect_clean "changed commit"

case_repo commit-sig "echo sig >commits/$(printf '%064d' 5).sig"
out=$(st fsck 2>&1) && grep -q "^warning: commits/$(printf '%064d' 5).sig: belongs to no commit" <<<"$out" &&
	ok "a commit side file without its commit is a warning" || fail "orphan .sig" "$out"

# --- refs
case_repo ref-missing "echo $(printf '%064d' 3) >refs/heads/lost"
expect_fsck "a ref to a missing commit" "refs/heads/lost: points at missing commit $(printf '%064d' 3)"
repair "ref to a missing commit" "refs/heads/lost"
expect_clean "ref to a missing commit"

case_repo ref-garbage "echo 'not a commit id' >refs/heads/junk"
expect_fsck "garbage in a ref file" "refs/heads/junk: "
repair "garbage ref" "refs/heads/junk"
expect_clean "garbage ref"

# Quarantine never overwrites: the same path twice gets ".1".
case_repo twice "echo 'junk' >refs/heads/junk"
st fsck --repair >/dev/null 2>&1
echo junk2 >"$REPO/refs/heads/junk"
st fsck --repair >/dev/null 2>&1
check "a second quarantine of one path gets .1" [ "$(cat "$REPO/quarantine/refs/heads/junk.1")" = junk2 ]

# Several problems at once: each reported by name in one run.
case_repo many "rm $mid; echo x >refs/heads/junk; printf X | dd of=$big bs=1 seek=1 conv=notrunc 2>/dev/null"
rc=0; st fsck >"$TEST_TMP/out" 2>&1 || rc=$?
n=$(grep -c '^error: ' "$TEST_TMP/out")
[ $rc = 1 ] && [ "$n" -ge 3 ] && grep -q "^$n errors" "$TEST_TMP/out" && ok "three problems, $n error lines, counted in the summary" ||
	fail "many problems" "$(cat "$TEST_TMP/out")"

rc=0; st fsck extra 2>/dev/null || rc=$?
check "fsck with an argument is a usage error" [ $rc = 2 ]
done_testing
