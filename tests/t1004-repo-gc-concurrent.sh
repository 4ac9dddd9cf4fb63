#!/bin/bash
# SPDX-License-Identifier: MIT
# gc while commits run: gc takes the exclusive lock and commits the shared
# one, so gc never deletes what a running commit is about to reference.
# Several commits of a tree of a few thousand files run while gc loops, with
# garbage to collect each time; every commit succeeds, its ref reads back
# with every object present, and fsck is clean at the end.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/maint-lib.sh"

REPO=$TEST_TMP/repo
check "init" st init --verity=off
src=$TEST_TMP/src
mkdir -p "$src"
for d in $(seq 1 20); do
	mkdir "$src/d$d"
	for f in $(seq 1 100); do
		echo "file $d/$f $RANDOM$RANDOM" >"$src/d$d/f$f"
		head -c $((100 + RANDOM % 3000)) /dev/urandom >>"$src/d$d/f$f"
	done
done

gc_loop() {
	local i=0
	while [ ! -e "$TEST_TMP/stop" ]; do
		# Garbage for gc: a commit whose ref is deleted at once.
		mkdir -p "$TEST_TMP/g$i" && head -c 7000 /dev/urandom >"$TEST_TMP/g$i/f"
		commit_tree "garbage$i" "$TEST_TMP/g$i" >/dev/null && st ref --delete "garbage$i" || {
			echo "garbage commit $i failed" >"$TEST_TMP/gc-failed"
			return
		}
		st gc >>"$TEST_TMP/gc.log" 2>&1 || { echo "gc $i failed" >"$TEST_TMP/gc-failed"; return; }
		i=$((i + 1))
	done
	echo $i >"$TEST_TMP/gc-runs"
}
gc_loop &
gc_pid=$!
failed=0
for round in 1 2 3 4; do
	# Each round changes some files, so every commit writes new objects.
	for d in $(seq 1 20); do head -c 2000 /dev/urandom >"$src/d$d/f$round"; done
	st commit -b "work$round" --tree "$src" >"$TEST_TMP/commit$round.out" 2>&1 || {
		failed=1
		fail "commit $round during gc" "$(cat "$TEST_TMP/commit$round.out")"
	}
	# The tree the ref names must be whole: every object of its image present.
	img=$(image_of "$src")
	missing=$("$COMPOSEFS_INFO" objects "$REPO/$img" | while read -r o; do [ -e "$REPO/objects/$o" ] || echo "$o"; done)
	[ -z "$missing" ] || { failed=1; fail "round $round" "objects missing: $missing"; }
done
touch "$TEST_TMP/stop"
wait $gc_pid
[ $failed = 0 ] && ok "4 commits ran while gc looped; each left its whole tree" || true
[ ! -e "$TEST_TMP/gc-failed" ] && ok "every gc succeeded ($(cat "$TEST_TMP/gc-runs" 2>/dev/null) runs)" ||
	fail "gc loop" "$(cat "$TEST_TMP/gc-failed") $(tail -5 "$TEST_TMP/gc.log")"
check "the garbage commits were collected" bash -c '[ "$(ls "$1/commits" | wc -l)" -le 5 ]' _ "$REPO"
out=$(st fsck 2>&1) && ok "fsck clean after concurrent commits and gc" || fail "fsck" "$out"
for round in 1 2 3 4; do
	st show "work$round" >/dev/null || fail "show work$round"
done
ok "every ref reads back"

# fsck (shared lock) while a commit runs: no false errors.
for d in $(seq 1 20); do head -c 2000 /dev/urandom >"$src/d$d/f9"; done
st commit -b work9 --tree "$src" >/dev/null 2>&1 &
cpid=$!
rc=0
st fsck -q >"$TEST_TMP/fsck.out" 2>&1 || rc=$?
wait $cpid && ok "commit next to fsck succeeded" || fail "commit next to fsck"
! grep -q '^error' "$TEST_TMP/fsck.out" && [ $rc = 0 ] && ok "fsck during a commit found no error" ||
	fail "fsck during commit" "$(cat "$TEST_TMP/fsck.out")"
done_testing
