#!/bin/bash
# SPDX-License-Identifier: MIT
# A full commit id always means that commit. No ref may be named like one
# (any case, any spelling: NAME or refs/heads/NAME, by ref, commit -b), and
# a repository that already holds such a ref (made by hand or by an older
# sealtree) never lets it shadow the commit in show, ls, checkout, verify;
# fsck reports it. A ref named like an abbreviated id is refused as
# ambiguous where it would shadow another commit.
. "$(dirname "$0")/test-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
export LC_ALL=C
unset SOURCE_DATE_EPOCH
T=$TEST_TMP
repo=$T/repo
st() { "$SEALTREE" --repo "$repo" "$@"; }

# refused NAME RC PATTERN CMD...: CMD exits RC and its stderr matches PATTERN.
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
upper() { tr a-f A-F <<<"$1"; }
shown() { st show --json "$1" | sed -n 's/^ *"id": "\([0-9a-f]*\)".*/\1/p'; }

cd "$T"
mkdir -p tree && echo one >tree/file
st init --verity=off >/dev/null
c1=$(st commit -b main --tree tree --timestamp 1000 -s one)
echo two >tree/file
c2=$(st commit -b main --tree tree --timestamp 2000 -s two)

# ---- such names are refused where refs are made ----
refused "ref <full id>" 2 "64 hex digits spell a commit id" st ref "$c1" main
refused "ref <FULL ID>" 2 "64 hex digits spell a commit id" st ref "$(upper "$c1")" main
refused "ref refs/heads/<full id>" 2 "64 hex digits spell a commit id" st ref "refs/heads/$c1" main
refused "ref <id of no commit>" 2 "64 hex digits spell a commit id" st ref "$(printf '%064d' 7)" main
refused "commit -b <full id>" 2 "64 hex digits spell a commit id" st commit -b "$c2" --tree tree
refused "commit -b refs/heads/<full id>" 2 "64 hex digits spell a commit id" st commit -b "refs/heads/$c2" --tree tree
[ ! -e "$repo/refs/heads/$c1" ] && [ ! -e "$repo/refs/heads/$c2" ] && ok "no such ref file was written" ||
	fail "no ref file" "$(ls "$repo/refs/heads")"
st ref "os/$c1" main && [ "$(shown "os/$c1")" = "$c2" ] && ok "a deeper component of 64 hex is a plain ref" ||
	fail "os/<hex>" "$(cat "$T/err")"
st ref --delete "os/$c1"
st ref "x$c1" main && ok "65 characters are a ref name, not an id" || fail "65 chars" ""
st ref --delete "x$c1"

# ---- a repository that already holds one: it never shadows the commit ----
echo "$c2" >"$repo/refs/heads/$c1"          # "c1" would be c2
echo "$c2" >"$repo/refs/heads/$(upper "$c1")"
[ "$(shown "$c1")" = "$c1" ] && ok "show <id> is that commit" || fail "show" "$(shown "$c1")"
[ "$(shown "$(upper "$c1")")" = "$c1" ] && ok "show <ID> is that commit" || fail "show upper" ""
[ "$(shown "$c1~0")" = "$c1" ] && ok "show <id>~0 is that commit" || fail "show ~0" ""
[ "$(st cat "$c1" /file)" = one ] && ok "cat <id> reads that commit" || fail "cat" "$(st cat "$c1" /file)"
st checkout "$c1" co >/dev/null && [ "$(cat co/file)" = one ] && ok "checkout <id> is that commit" ||
	fail "checkout" "$(cat co/file 2>&1)"
st verify "$c1" >"$T/out" 2>&1 || true
grep -q "^commit $c1" "$T/out" && ! grep -q "^ref " "$T/out" && ok "verify <id>: that commit, no ref" ||
	fail "verify" "$(cat "$T/out")"
refused "verify --no-downgrade <id> needs a ref" 2 "need a ref" st verify --no-downgrade "$c1"
refused "ref --delete <id> is refused" 2 "64 hex digits" st ref --delete "$c1"
refused "refs/heads/<id> is no ref either" 1 "" st show "refs/heads/$c1"
st refs --all >"$T/refs"
! grep -qi "$c1\$" "$T/refs" && grep -q " main\$" "$T/refs" && ok "refs lists no id-named ref" ||
	fail "refs" "$(cat "$T/refs")"
rc=0; st fsck >"$T/fsck" 2>&1 || rc=$?
[ $rc != 0 ] && grep -q "refs/heads/$c1.*64 hex digits spell a commit id" "$T/fsck" &&
	ok "fsck reports the id-named ref" || fail "fsck" "rc=$rc $(cat "$T/fsck")"
rm -f "$repo/refs/heads/$c1" "$repo/refs/heads/$(upper "$c1")"

# ---- abbreviated ids: a ref never silently shadows another commit ----
p1=${c1:0:12}
st ref "$p1" main                            # "p1" as a ref is c2, as a prefix c1
refused "a ref named like another commit's prefix is ambiguous" 1 "both a ref and the start of a commit id" \
	st show "$p1"
[ "$(shown "refs/heads/$p1")" = "$c2" ] && ok "refs/heads/<prefix> is the ref" || fail "full spelling" ""
[ "$(shown "${c1:0:13}")" = "$c1" ] && ok "a longer prefix is the commit" || fail "longer prefix" ""
st ref "$p1" "$c1"
[ "$(shown "$p1")" = "$c1" ] && ok "no ambiguity when both name one commit" || fail "same commit" ""
st ref --delete "$p1"
h=cafe; [ "${c1:0:4}" != $h ] && [ "${c2:0:4}" != $h ] || h=beef
st ref $h "$c1" && [ "$(shown $h)" = "$c1" ] && ok "a hex-looking ref that is no commit's prefix resolves" ||
	fail "hex ref" "$(shown $h)"

done_testing
