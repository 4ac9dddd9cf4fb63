#!/bin/bash
# SPDX-License-Identifier: MIT
# Crash safety: kill -9 a large commit at random instants, at least
# T1101_KILLS times (default 24), half of them with the scan cache in use
# (so the cache is being written too) and half without. After every kill:
#   - fsck is clean (stray temporaries are warnings, not errors);
#   - the ref still names a whole commit: the old one, or the new one if the
#     kill came after the ref moved, and every object of its image is there;
#   - the next commit of the same tree succeeds and its image digest equals
#     `mkcomposefs --hardlinks` of the tree, i.e. the store is still right.
# A kill after the commit already finished is not counted as a kill.
# kill -9 leaves the page cache intact; power loss is a different matter,
# covered by the ordering (one syncfs before the ref moves), not by this test.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/maint-lib.sh"

KILLS=${T1101_KILLS:-24}
REPO=$TEST_TMP/repo
SRC=$TEST_TMP/src
check "init" st init --verity=off

# A tree that takes a while to commit: many small files, a few large ones.
mkdir -p "$SRC"
for d in $(seq 1 16); do
	mkdir "$SRC/d$d"
	for f in $(seq 1 60); do head -c $((65 + (d * 997 + f * 131) % 40000)) /dev/urandom >"$SRC/d$d/f$f"; done
done
for b in 1 2 3 4; do head -c $((6 << 20)) /dev/urandom >"$SRC/big$b"; done
ln "$SRC/d1/f1" "$SRC/hardlink"
ln -s d1/f2 "$SRC/symlink"

# How long does a full commit take here? Kills are spread over that window.
t0=$(date +%s%N)
first=$(commit_tree main "$SRC" --no-cache) || { fail "first commit" "failed"; done_testing; exit; }
window_ms=$((($(date +%s%N) - t0) / 1000000))
[ "$window_ms" -ge 20 ] || window_ms=20
echo "# a first commit takes ${window_ms} ms; each kill lands within the time the last recommit took"

# New content each round, so that every commit writes new objects.
mutate() {
	local round=$1 d
	for d in $(seq 1 16); do
		head -c $((100 + RANDOM % 30000)) /dev/urandom >"$SRC/d$d/f$((round % 60 + 1))"
	done
	head -c $((4 << 20)) /dev/urandom >"$SRC/big$((round % 4 + 1))"
	echo "round $round" >"$SRC/round"
}

# ref_ok: the ref names a commit whose image and every object are present.
ref_ok() {
	local id img
	id=$(tr -d '\n' <"$REPO/refs/heads/main") || return 1
	img=$(commit_image "$REPO" "$id")
	[ -n "$img" ] && [ -e "$REPO/images/$img" ] || { echo "# ref $id: image '$img' missing" >&2; return 1; }
	"$COMPOSEFS_INFO" objects "$REPO/images/$img" | while read -r o; do
		[ -e "$REPO/objects/$o" ] || { echo "# ref $id: object $o missing" >&2; exit 1; }
	done
}

kills=0
finished_early=0
round=0
bad=0
prev=$first
while [ "$kills" -lt "$KILLS" ] && [ "$round" -lt $((KILLS * 3)) ]; do
	round=$((round + 1))
	mutate "$round"
	cache=--no-cache
	[ $((round % 2)) = 0 ] && cache=
	delay_ms=$((RANDOM % (window_ms + 1)))
	"$SEALTREE" -q --repo "$REPO" commit -b main -s "round $round" --tree "$SRC" $cache \
		>"$TEST_TMP/commit.out" 2>&1 &
	pid=$!
	sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
	if kill -9 "$pid" 2>/dev/null; then
		wait "$pid" 2>/dev/null && finished_early=$((finished_early + 1)) || kills=$((kills + 1))
	else
		wait "$pid" || true
		finished_early=$((finished_early + 1))
	fi

	now=$(tr -d '\n' <"$REPO/refs/heads/main")
	out=$(st fsck 2>&1) || { bad=1; fail "round $round (killed after ${delay_ms} ms): fsck" "$out"; }
	ref_ok || { bad=1; fail "round $round (killed after ${delay_ms} ms): the ref names a broken commit"; }
	# The ref either stayed or moved to a commit whose parent is the old one.
	if [ "$now" != "$prev" ]; then
		parent=$(st show --json "$now" | sed -n 's/^ *"parent": "\([0-9a-f]*\)".*/\1/p')
		[ "$parent" = "$prev" ] || { bad=1; fail "round $round" "ref moved to $now whose parent is '$parent', not $prev"; }
	fi
	# The next commit succeeds and stores exactly this tree.
	t0=$(date +%s%N)
	next=$(commit_tree main "$SRC" -s "after round $round" $cache) ||
		{ bad=1; fail "round $round: the commit after the kill" "failed"; break; }
	# The next kill lands within the time such a commit takes now.
	window_ms=$((($(date +%s%N) - t0) / 1000000))
	[ "$window_ms" -ge 5 ] || window_ms=5
	img=$(commit_image "$REPO" "$next")
	want=$("$MKCOMPOSEFS" --hardlinks --print-digest-only "$SRC")
	[ "$img" = "$want" ] || { bad=1; fail "round $round: image after recovery" "$img, expected $want"; }
	ref_ok || { bad=1; fail "round $round: the commit after the kill is incomplete"; }
	prev=$next
done
echo "# $round rounds: $kills commits killed mid-way, $finished_early finished before the kill"
[ "$kills" -ge "$KILLS" ] && ok "killed $kills commits at random instants" ||
	fail "kills" "only $kills commits were killed mid-way (need $KILLS)"
[ "$bad" = 0 ] && ok "after every kill: fsck clean, ref whole, next commit right" || true
out=$(st gc 2>&1) && ok "gc after the kills" || fail "gc" "$out"
out=$(st fsck 2>&1) && ok "fsck clean after gc" || fail "fsck after gc" "$out"
leftover=$(find "$REPO/tmp" "$REPO/objects" -name '.tmp-*' 2>/dev/null | wc -l)
[ "$leftover" = 0 ] && ok "gc left no temporary files" || fail "temporaries" "$leftover left after gc"
done_testing
