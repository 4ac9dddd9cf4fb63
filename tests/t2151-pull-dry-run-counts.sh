#!/bin/bash
# SPDX-License-Identifier: MIT
# pull --dry-run (and --commit-only) count each missing object once: one
# shared by a commit and its parents (--depth), or by two refs, or named
# twice in one tree, counts at the first commit that names it. The figures
# are exact and equal what the real pull then fetches.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/remote-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"

# file SIZE NAME: NAME holds SIZE random bytes (each its own object).
file() { head -c "$1" /dev/urandom >"$T/$2"; }
file 1000 A; file 2000 B; file 2100 B2; file 3000 C; file 4000 D; file 5000 E; file 6000 F

S init --verity=off >/dev/null
mkdir -p "$T/t1" "$T/t2" "$T/t3" "$T/to"
cp "$T/A" "$T/t1/a"; cp "$T/B" "$T/t1/b"; cp "$T/C" "$T/t1/c"
S commit -b main --tree "$T/t1" >/dev/null
cp "$T/A" "$T/t2/a"; cp "$T/B2" "$T/t2/b"; cp "$T/D" "$T/t2/d"; cp "$T/D" "$T/t2/d-again"
S commit -b main --tree "$T/t2" >/dev/null
cp "$T/A" "$T/t3/a"; cp "$T/B2" "$T/t3/b"; cp "$T/D" "$T/t3/d"; cp "$T/E" "$T/t3/e"
S commit -b main --tree "$T/t3" >/dev/null
cp "$T/A" "$T/to/x"; cp "$T/F" "$T/to/y"; cp "$T/C" "$T/to/z"
S commit -b other --tree "$T/to" >/dev/null
S summary >/dev/null
tip=$(S refs | awk '$2 == "main" || $2 == "refs/heads/main" { print $1 }')

fresh() {
	rm -rf "$cl"
	C init --verity=off >/dev/null
	C remote add origin "file://$srv" --no-sign-verify
}
# counts REF_LINE_PREFIX: "OBJECTS BYTES" from a result line "REF: ID would fetch N objects, M bytes".
counts() { awk -v r="$1:" '$1 == r { for (i = 1; i <= NF; i++) if ($i ~ /^objects,?$/) o = $(i - 1); else if ($i ~ /^bytes/) b = $(i - 1); print o, b }' "$T/out"; }
expect_counts() {
	local name=$1 ref=$2 want=$3
	if [ "$(counts "$ref")" = "$want" ]; then ok "$name: $want"; else fail "$name" "want '$want': $(cat "$T/out" "$T/err")"; fi
}

fresh
C pull origin main --dry-run >"$T/out" 2>"$T/err" || fail "dry" "$(cat "$T/err")"
expect_counts "--dry-run, the tip only (a b d e)" main "4 12100"
C pull origin main --dry-run --depth 1 >"$T/out" 2>"$T/err" || fail "dry 1" "$(cat "$T/err")"
expect_counts "--dry-run --depth 1: the parent's a b d d-again add nothing" main "4 12100"
C pull origin main --dry-run --depth -1 >"$T/out" 2>"$T/err" || fail "dry -1" "$(cat "$T/err")"
expect_counts "--dry-run --depth -1: the first commit adds its own b and c" main "6 17100"
grep -q "(with 2 parent commits)" "$T/out" && ok "... over 2 parent commits" || fail "parents" "$(cat "$T/out")"
C pull origin --dry-run >"$T/out" 2>"$T/err" || fail "dry all" "$(cat "$T/err")"
expect_counts "--dry-run of every ref: main" main "4 12100"
expect_counts "... other counts only what main does not name (y z)" other "2 9000"
[ -z "$(ls "$cl/commits")" ] && [ -z "$(find "$cl/objects" -type f)" ] && ok "... nothing stored" ||
	fail "stored" "$(find "$cl/commits" "$cl/objects" -type f)"

C pull origin main --commit-only --depth -1 >"$T/out" 2>"$T/err" || fail "commit-only" "$(cat "$T/err")"
expect_counts "--commit-only --depth -1 counts the same" main "6 17100"

# The real pull fetches exactly what the dry run said.
fresh
C pull origin main --depth -1 >"$T/out" 2>"$T/err" || fail "pull" "$(cat "$T/err")"
expect_counts "the real pull --depth -1 fetches the same" main "6 17100"
grep -q "^pull: 6 objects .* 17100 bytes" "$T/out" && ok "... and its total says so" || fail "total" "$(cat "$T/out")"

# After the tip alone, the dry run of the history counts only the first commit's b and c.
fresh
C pull origin main >"$T/out" 2>"$T/err" || fail "pull tip" "$(cat "$T/err")"
C pull origin main --dry-run --depth -1 >"$T/out" 2>"$T/err" || fail "dry after" "$(cat "$T/err")"
expect_counts "after pulling the tip, --dry-run --depth -1 counts b and c of the first commit" main "2 5000"
C pull origin main --depth -1 >"$T/out" 2>"$T/err" || fail "pull history" "$(cat "$T/err")"
grep -q "^pull: 2 objects .* 5000 bytes" "$T/out" && ok "... as the real pull fetches" || fail "history total" "$(cat "$T/out")"
[ "$(C refs --all | awk '$2 == "refs/remotes/origin/main" { print $1 }')" = "$tip" ] && C fsck >/dev/null 2>&1 &&
	ok "the ref is the tip, fsck clean" || fail "ref" "$(C refs --all)"

done_testing
