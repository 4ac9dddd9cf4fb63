#!/bin/bash
# SPDX-License-Identifier: MIT
# One depth limit for ref names (32 components of refs/<namespace>/...),
# enforced where names are made (ref, commit -b) and shared by every walker
# of refs/ (refs, gc, fsck): a ref deeper than the limit is refused with a
# clear error, and a hostile deep directory tree under refs/ breaks neither
# `refs` nor `gc` (fsck reports it). Names too long for the filesystem
# (a component or the whole name over 255 bytes) are refused at creation.
. "$(dirname "$0")/test-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
export LC_ALL=C
unset SOURCE_DATE_EPOCH
T=$TEST_TMP
repo=$T/repo
st() { "$SEALTREE" --repo "$repo" "$@"; }

refused() {
	local name=$1 want=$2 pattern=$3 rc=0
	shift 3
	"$@" >"$T/out" 2>"$T/err" || rc=$?
	if [ "$rc" = "$want" ] && grep -q -- "$pattern" "$T/err"; then
		ok "$name"
	else
		fail "$name" "rc=$rc, stderr: $(cat "$T/err")"
	fi
}
# path N [C]: "C/C/.../C" with N components (C: a)
path() { local c=${2:-a} p i; p=$c; for ((i = 1; i < $1; i++)); do p=$p/$c; done; echo "$p"; }

cd "$T"
mkdir -p tree && echo one >tree/file
st init --verity=off >/dev/null
c1=$(st commit -b main --tree tree --timestamp 1000 -s one)

# ---- the limit, where names are made ----
check "a branch of 30 components (refs/heads/ + 30 = 32)" st ref "$(path 30)" main
refused "a branch of 31 components is refused" 2 "deeper than 32 components" st ref "$(path 31 b)" main
refused "the same in its long spelling" 2 "deeper than 32 components" st ref "refs/heads/$(path 31 b)" main
refused "commit -b deeper than the limit" 2 "deeper than 32 components" st commit -b "$(path 40)" --tree tree
check "refs/x/ + 30 components" st ref "refs/x/$(path 30)" main
refused "refs/x/ + 31 components is refused" 2 "deeper than 32 components" st ref "refs/x/$(path 31 b)" main
long=$(printf 'b%.0s' {1..255})
check "a 255-byte branch name" st ref "$long" main
st show "refs/heads/$long" >/dev/null && ok "... also in its long spelling" || fail "long spelling" ""
refused "a 256-byte component is refused" 2 "longer than 255 bytes" st ref "${long}b" main
refused "a 256-byte name is refused" 2 "longer than 255 bytes" st ref "x/${long:1}" main
refused "a 4096-byte name is refused" 2 "longer than 255 bytes" st ref "$(printf 'c/%.0s' {1..2048})c" main
st ref --delete "$long"
st refs --all >"$T/refs"
grep -q " $(path 30)\$" "$T/refs" && grep -q " refs/x/$(path 30)\$" "$T/refs" &&
	ok "refs lists the deepest valid refs" || fail "refs" "$(cat "$T/refs")"
st fsck >"$T/out" && ok "fsck accepts the deepest valid refs" || fail "fsck" "$(cat "$T/out")"

# ---- a deeper tree made behind sealtree's back breaks nothing ----
deep=$repo/refs/heads/$(path 60 d)
mkdir -p "$(dirname "$deep")" "$repo/refs/heads/$(path 30 e)"
echo "$c1" >"$deep"
echo "$c1" >"$repo/refs/heads/$(path 31 e)"
st refs >"$T/refs" 2>"$T/err" && grep -q " main\$" "$T/refs" && ok "refs still lists the repository" ||
	fail "refs with a deep tree" "$(cat "$T/err")"
! grep -q "$(path 31 e)" "$T/refs" && ! grep -q " d/" "$T/refs" && ok "nothing below the limit is listed" || fail "deep listed" "$(cat "$T/refs")"
st gc >"$T/out" 2>"$T/err" && ok "gc still runs" || fail "gc with a deep tree" "$(cat "$T/err")"
st show main >/dev/null && ok "main survives gc" || fail "main" ""
rc=0; st fsck >"$T/fsck" 2>&1 || rc=$?
[ $rc != 0 ] && grep -q "nested deeper than 32 components" "$T/fsck" && grep -q "refs/heads/$(path 30 e): refs nested deeper than 32" "$T/fsck" &&
	ok "fsck reports the deep entries" || fail "fsck" "rc=$rc $(cat "$T/fsck")"
refused "a deep ref cannot be resolved" 1 "deeper than 32" st show "$(path 31 e)"

done_testing
