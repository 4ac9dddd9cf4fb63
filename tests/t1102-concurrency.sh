#!/bin/bash
# SPDX-License-Identifier: MIT
# Concurrency: two commits and a gc at once, with readers running.
# Each round:
#   - garbage first: a commit whose ref is deleted, sharing objects with
#     the trees about to be committed (the dangerous case: a commit finds an
#     object already present while gc would delete it as unreferenced);
#   - then, all at once: a commit of tree A to ref a, of tree B to ref b,
#     `sealtree gc`, and readers (`cat` of a file whose content changes every
#     round, `ls -R`) looping on both refs.
# Afterwards both refs name exactly their trees (image digest equal to
# `mkcomposefs --hardlinks`), every object is there, fsck is clean, and no
# reader ever saw anything but an old or a new version of the file.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/maint-lib.sh"

ROUNDS=${T1102_ROUNDS:-6}
REPO=$TEST_TMP/repo
A=$TEST_TMP/a
B=$TEST_TMP/b
check "init" st init --verity=off

mkdir -p "$A" "$B"
for d in $(seq 1 10); do
	mkdir "$A/d$d" "$B/d$d"
	for f in $(seq 1 80); do
		head -c $((200 + (d * 313 + f * 71) % 20000)) /dev/urandom >"$A/d$d/f$f"
		# Half of B is the same content as A: shared objects.
		if [ $((f % 2)) = 0 ]; then cp "$A/d$d/f$f" "$B/d$d/f$f"; else head -c 3000 /dev/urandom >"$B/d$d/f$f"; fi
	done
done
echo "version 0" >"$A/version"
echo "version 0" >"$B/version"
check "initial commit of a" bash -c '"$0" -q --repo "$1" commit -b a --tree "$2" >/dev/null' "$SEALTREE" "$REPO" "$A"
check "initial commit of b" bash -c '"$0" -q --repo "$1" commit -b b --tree "$2" >/dev/null' "$SEALTREE" "$REPO" "$B"

# reader REF: cat /version and ls -R until told to stop; log anything odd.
reader() {
	local ref=$1 out
	while [ ! -e "$TEST_TMP/stop" ]; do
		out=$("$SEALTREE" --repo "$REPO" cat "$ref" /version 2>&1) ||
			{ echo "cat $ref failed: $out" >>"$TEST_TMP/reader-errors"; continue; }
		[[ "$out" =~ ^version\ [0-9]+$ ]] || echo "cat $ref read '$out'" >>"$TEST_TMP/reader-errors"
		"$SEALTREE" --repo "$REPO" ls -R "$ref" >/dev/null 2>"$TEST_TMP/ls.err" ||
			echo "ls $ref failed: $(cat "$TEST_TMP/ls.err")" >>"$TEST_TMP/reader-errors"
		echo >>"$TEST_TMP/reads-$ref"
	done
}
reader a &
r1=$!
reader b &
r2=$!

bad=0
for round in $(seq 1 "$ROUNDS"); do
	# New content in both trees, half of it first stored as garbage.
	for d in $(seq 1 10); do
		head -c 5000 /dev/urandom >"$A/d$d/f$round"
		cp "$A/d$d/f$round" "$B/d$d/f$((round + 1))"
	done
	echo "version $round" >"$A/version"
	echo "version $round" >"$B/version"
	mkdir -p "$TEST_TMP/g$round"
	cp -r "$A/d1" "$A/d2" "$TEST_TMP/g$round/"
	st -q commit -b garbage --tree "$TEST_TMP/g$round" >/dev/null && st ref --delete garbage ||
		{ bad=1; fail "round $round: garbage commit"; }

	st -q commit -b a --tree "$A" >"$TEST_TMP/a.out" 2>&1 &
	ca=$!
	st -q commit -b b --tree "$B" >"$TEST_TMP/b.out" 2>&1 &
	cb=$!
	sleep "0.0$((RANDOM % 10))"
	st -q gc >"$TEST_TMP/gc.out" 2>&1 &
	g=$!
	wait $ca || { bad=1; fail "round $round: commit a" "$(cat "$TEST_TMP/a.out")"; }
	wait $cb || { bad=1; fail "round $round: commit b" "$(cat "$TEST_TMP/b.out")"; }
	wait $g || { bad=1; fail "round $round: gc" "$(cat "$TEST_TMP/gc.out")"; }
	# Another gc now that nothing runs: the trees must survive it too.
	st -q gc >/dev/null 2>&1 || { bad=1; fail "round $round: quiet gc"; }

	for t in a b; do
		dir=$A
		[ $t = b ] && dir=$B
		img=$(commit_image "$REPO" "$t")
		want=$("$MKCOMPOSEFS" --hardlinks --print-digest-only "$dir")
		[ "$img" = "$want" ] || { bad=1; fail "round $round: ref $t" "image $img, expected $want"; }
		missing=$("$COMPOSEFS_INFO" objects "$REPO/images/$img" | while read -r o; do
			[ -e "$REPO/objects/$o" ] || echo "$o"; done)
		[ -z "$missing" ] || { bad=1; fail "round $round: ref $t" "objects missing after gc: $missing"; }
		got=$(st cat "$t" /version)
		[ "$got" = "version $round" ] || { bad=1; fail "round $round: cat $t /version" "'$got'"; }
	done
done
touch "$TEST_TMP/stop"
wait $r1 $r2
[ "$bad" = 0 ] && ok "$ROUNDS rounds of two commits and a gc at once: both trees whole every time" || true
reads=$(($(wc -l <"$TEST_TMP/reads-a") + $(wc -l <"$TEST_TMP/reads-b")))
if [ -s "$TEST_TMP/reader-errors" ]; then
	fail "readers" "$(sort "$TEST_TMP/reader-errors" | uniq -c | head -5)"
else
	ok "$reads reads during the commits and gcs saw only whole versions"
fi
[ "$reads" -ge "$ROUNDS" ] || fail "readers" "only $reads reads ran"
out=$(st fsck 2>&1) && ok "fsck clean at the end" || fail "fsck" "$out"
[ ! -e "$REPO/refs/heads/garbage" ] && [ "$(ls "$REPO/commits" | grep -c -v '\.')" -le $((2 * (ROUNDS + 1))) ] &&
	ok "garbage collected" || fail "garbage" "$(ls "$REPO/commits" | wc -l) commits left"
done_testing
