#!/bin/bash
# composefs-info on the reference's images: `dump`, `ls` and `objects` print
# exactly what the reference printed (sha256 in gentree-expected.txt),
# `measure-file` gives the image digest mkcomposefs printed, `--filter` and
# `missing-objects` select what they should, and bad input fails with a
# message and exit status 1.
source "$(dirname "$0")/test-lib.sh"

EXPECTED=$ASSETS_DIR/gentree/expected.txt
[ -x "$COMPOSEFS_INFO" ] || skip_all "composefs-info not built"
[ -x "$MKCOMPOSEFS" ] || skip_all "mkcomposefs not built (it rebuilds the reference images)"

expected() { awk -v s="$1" -v v="$2" '$1 == "dump" && $2 == s && $3 == v { print $4 }' "$EXPECTED"; }

for seed in 1 2 3 4 5 6 7 8 9; do
	img=$TEST_TMP/gentree-$seed.img
	reference_image "$seed" "$img" || { fail "seed $seed" "no reference image"; continue; }
	for cmd in dump ls objects; do
		want=$(expected "$seed" "info-$cmd")
		[ -n "$want" ] || { fail "seed $seed $cmd" "no expected value"; continue; }
		if ! "$COMPOSEFS_INFO" "$cmd" "$img" >"$TEST_TMP/out" 2>"$TEST_TMP/err"; then
			fail "seed $seed $cmd" "exit status $?: $(cat "$TEST_TMP/err")"
		elif [ "$(sha256_of "$TEST_TMP/out")" = "$want" ]; then
			ok "seed $seed $cmd"
		else
			fail "seed $seed $cmd" "sha256 $(sha256_of "$TEST_TMP/out") != $want"
		fi
	done
	want=$(expected "$seed" print-digest)
	got=$("$COMPOSEFS_INFO" measure-file "$img" 2>&1) || true
	check "seed $seed measure-file" [ "$got" = "$want" ]
done

# Several images: objects are the sorted union, dumps are concatenated.
img1=$TEST_TMP/gentree-1.img img2=$TEST_TMP/gentree-2.img
"$COMPOSEFS_INFO" objects "$img1" "$img2" >"$TEST_TMP/both"
{ "$COMPOSEFS_INFO" objects "$img1"; "$COMPOSEFS_INFO" objects "$img2"; } | LC_ALL=C sort -u >"$TEST_TMP/union"
check "objects of two images is the sorted union" cmp -s "$TEST_TMP/both" "$TEST_TMP/union"
{ "$COMPOSEFS_INFO" dump "$img1"; "$COMPOSEFS_INFO" dump "$img2"; } >"$TEST_TMP/cat"
"$COMPOSEFS_INFO" dump "$img1" "$img2" >"$TEST_TMP/both"
check "dump of two images is both dumps" cmp -s "$TEST_TMP/both" "$TEST_TMP/cat"

# missing-objects: without --basedir everything is missing; with one, the
# objects present there (here: every other one) are left out.
"$COMPOSEFS_INFO" objects "$img2" >"$TEST_TMP/objects"
"$COMPOSEFS_INFO" missing-objects "$img2" >"$TEST_TMP/missing"
check "missing-objects without basedir lists all" cmp -s "$TEST_TMP/objects" "$TEST_TMP/missing"
mkdir -p "$TEST_TMP/store"
n=0
: >"$TEST_TMP/want-missing"
while IFS= read -r obj; do
	n=$((n + 1))
	if [ $((n % 2)) = 0 ]; then
		mkdir -p "$TEST_TMP/store/$(dirname "$obj")"
		: >"$TEST_TMP/store/$obj"
	else
		printf '%s\n' "$obj" >>"$TEST_TMP/want-missing"
	fi
done <"$TEST_TMP/objects"
"$COMPOSEFS_INFO" --basedir="$TEST_TMP/store" missing-objects "$img2" >"$TEST_TMP/missing"
check "missing-objects with basedir (n=$n)" cmp -s "$TEST_TMP/missing" "$TEST_TMP/want-missing"

# --filter keeps only the named top-level entries (and their subtrees).
"$COMPOSEFS_INFO" ls "$img2" >"$TEST_TMP/ls"
top=$(grep -m1 -P '^/[a-z0-9]+/\t$' "$TEST_TMP/ls" | cut -f1) || true
top=${top#/}
top=${top%/}
if [ -n "$top" ]; then
	"$COMPOSEFS_INFO" --filter="$top" ls "$img2" >"$TEST_TMP/filtered"
	grep -P "^/\Q$top\E(/|\t|$)" "$TEST_TMP/ls" >"$TEST_TMP/want-filtered" || true
	check "--filter=$top keeps exactly its subtree" cmp -s "$TEST_TMP/filtered" "$TEST_TMP/want-filtered"
	check "--filter=$top is not empty" [ -s "$TEST_TMP/filtered" ]
else
	fail "--filter" "no plain top-level directory in seed 2"
fi
"$COMPOSEFS_INFO" --filter=does-not-exist dump "$img2" >"$TEST_TMP/out"
check "--filter with no match dumps only the root" [ "$(wc -l <"$TEST_TMP/out")" = 1 ]

# Failures: exit status 1 and one message on stderr, nothing half-printed.
expect_failure() {
	local name=$1
	shift
	local rc=0
	"$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
	if [ $rc = 1 ] && [ -s "$TEST_TMP/err" ]; then
		ok "$name: $(head -c 150 "$TEST_TMP/err")"
	else
		fail "$name" "exit status $rc, stderr '$(cat "$TEST_TMP/err")'"
	fi
}
head -c 8192 "$img2" >"$TEST_TMP/truncated.img"
expect_failure "truncated image" "$COMPOSEFS_INFO" dump "$TEST_TMP/truncated.img"
check "truncated image prints nothing" [ ! -s "$TEST_TMP/out" ]
expect_failure "not an image" "$COMPOSEFS_INFO" ls "$EXPECTED"
expect_failure "missing image" "$COMPOSEFS_INFO" ls "$TEST_TMP/nope"
expect_failure "no command" "$COMPOSEFS_INFO"
expect_failure "no image" "$COMPOSEFS_INFO" ls
expect_failure "unknown command" "$COMPOSEFS_INFO" frobnicate "$img1"
expect_failure "filter with a slash" "$COMPOSEFS_INFO" --filter=a/b ls "$img1"
expect_failure "measure-file without files" "$COMPOSEFS_INFO" measure-file
expect_failure "measure-file of a missing file" "$COMPOSEFS_INFO" measure-file "$TEST_TMP/nope"
check "--help succeeds" "$COMPOSEFS_INFO" --help
check "--version succeeds" "$COMPOSEFS_INFO" --version

done_testing
