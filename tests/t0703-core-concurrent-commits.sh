#!/bin/bash
# SPDX-License-Identifier: MIT
# Concurrent commits to one ref: each takes its parent from the ref and
# moves it with compare-and-swap, so each either lands on top of the others
# or fails saying the ref moved; none is lost from the history, and the ref
# always holds a readable commit.
. "$(dirname "$0")/test-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
repo=$TEST_TMP/repo
st() { "$SEALTREE" --repo "$repo" "$@"; }

st init >/dev/null
for i in $(seq 1 8); do
	mkdir -p "$TEST_TMP/src$i/d"
	for j in $(seq 1 40); do head -c $((100 + i * 50 + j)) /dev/urandom >"$TEST_TMP/src$i/d/f$j"; done
done
base=$(st commit -b main --tree "$TEST_TMP/src1" -s base)

landed=0 refused=0 other=0
for round in 1 2 3; do
	pids=()
	for i in $(seq 1 8); do
		st commit -b main --tree "$TEST_TMP/src$i" -s "r$round-$i" >"$TEST_TMP/out.$i" 2>"$TEST_TMP/err.$i" &
		pids+=($!)
	done
	for i in $(seq 1 8); do
		if wait "${pids[$((i - 1))]}"; then
			landed=$((landed + 1))
		elif grep -q "moved meanwhile\|was created meanwhile" "$TEST_TMP/err.$i"; then
			refused=$((refused + 1))
		else
			other=$((other + 1))
			echo "# unexpected failure: $(cat "$TEST_TMP/err.$i")" >&2
		fi
	done
done
echo "# $landed landed, $refused refused as stale"
[ $other = 0 ] && ok "every commit landed or was refused because the ref moved" || fail "concurrent commits" "$other other failures"
[ $landed -ge 3 ] && ok "at least one commit per round landed" || fail "landed" "$landed"
n=$(st log --oneline main | grep -vc "pruned" || true)
[ "$n" = $((landed + 1)) ] && ok "history holds every landed commit ($n)" || fail "history" "$n commits, $landed landed + base"
st log --oneline main | tail -n1 | grep -q "^$base " && ok "history ends at the base commit" || fail "base" ""
[ -z "$(ls -A "$repo/tmp")" ] && ok "tmp/ empty" || fail "tmp" "$(ls "$repo/tmp")"

done_testing
