#!/bin/bash
# SPDX-License-Identifier: MIT
# Untrusted text never forges a line of human output: a commit's metadata,
# subject, version and body, ref and key names, paths, and the messages that
# quote them are printed escaped (a newline as \x0a, ESC as \x1b, C1 and
# bidi controls and invalid UTF-8 byte by byte), the body indented. The
# first check is the reported attack: a metadata value that adds a
# "signature    valid" line to `sealtree show` of an unsigned commit.
. "$(dirname "$0")/test-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
export LC_ALL=C
T=$TEST_TMP
repo=$T/repo
st() { "$SEALTREE" --repo "$repo" "$@"; }
cd "$T"

mkdir tree && echo hello >tree/f
st init --verity=off >/dev/null
forged=$'x\nsignature    valid (key 0123456789abcdef)'
rlo=$'\xe2\x80\xae'      # U+202E RIGHT-TO-LEFT OVERRIDE, in UTF-8
csi=$'\xc2\x9b'          # U+009B, the C1 CSI, in UTF-8
st commit -b main --tree tree --timestamp 1000 --version "1.0${rlo}2" -s "sub${csi}31mject" \
	--add-metadata "note=$forged" -m $'first line\nsignature    valid (key 0123456789abcdef)\n\ttabbed' >/dev/null

# ---- show ----
mkdir -p keys
st show --keys-dir "$T/keys" main >show.out
n=$(grep -c '^signature' show.out || true)
[ "$n" = 1 ] && grep -q '^signature    none' show.out && ok "a metadata value cannot forge a signature line" ||
	fail "forged signature line" "$n lines: $(grep '^signature' show.out)"
grep -qF 'meta         note=x\x0asignature    valid (key 0123456789abcdef)' show.out &&
	ok "the newline of a metadata value is shown as \\x0a" || fail "meta escaped" "$(grep meta show.out)"
grep -qF 'version      1.0\xe2\x80\xae2' show.out && ok "a bidi override in the version is escaped" ||
	fail "bidi" "$(grep version show.out)"
grep -qF 'subject      sub\xc2\x9b31mject' show.out && ok "a C1 CSI in the subject is escaped" ||
	fail "c1" "$(grep subject show.out)"
grep -qx '    signature    valid (key 0123456789abcdef)' show.out && ! grep -q '^signature    valid' show.out &&
	ok "body lines are indented, never a field" || fail "body" "$(cat show.out)"
grep -q $'^    \ttabbed$' show.out && ok "the body keeps its tabs" || fail "tab" "$(tail -2 show.out)"
LC_ALL=C grep -q $'[\x80-\xff]' show.out && fail "raw non-ASCII in show" "$(grep -n $'[\x80-\xff]' show.out)" ||
	ok "no raw control or bidi bytes in show"
# --json keeps the exact text.
st show --json --keys-dir "$T/keys" main | python3 -c '
import json, sys; d = json.load(sys.stdin)
assert d["metadata"]["note"] == sys.argv[1] and d["version"] == "1.0\u202e2", d' "$forged" &&
	ok "--json keeps the text exactly" || fail "json" ""

# ---- log ----
st log main >log.out
grep -qF 'Version: 1.0\xe2\x80\xae2' log.out && grep -qF '    sub\xc2\x9b31mject' log.out && ok "log escapes" ||
	fail "log" "$(cat log.out)"
st log --oneline main >log1.out
[ "$(wc -l <log1.out)" = 1 ] && grep -qF ' 1.0\xe2\x80\xae2 sub\xc2\x9b31mject' log1.out && ok "log --oneline escapes" ||
	fail "oneline" "$(cat log1.out)"

# ---- a very long value: printed whole, on one line ----
long=$(python3 -c 'print(("a\n" * 30000)[:60000])')
st commit -b long --tree tree --timestamp 1001 --add-metadata "big=$long" >/dev/null
st show --keys-dir "$T/keys" long >long.out
line=$(grep '^meta' long.out)
[ "${#line}" = $((13 + 4 + 30000 + 29999 * 4)) ] && [ "$(grep -c . long.out)" -lt 20 ] &&
	ok "a 60000-byte metadata value is one escaped line" || fail "long" "${#line} $(wc -l <long.out)"

# ---- error messages quote untrusted names escaped ----
for bad in $'x\nsealtree: signature valid' $'\e[2J\e[Hclear' $'a\rb' $'\xff\xfe' "bidi${rlo}evil"; do
	rc=0; st show "$bad" >/dev/null 2>err.out || rc=$?
	if [ $rc = 1 ] && [ "$(wc -l <err.out)" = 1 ] && ! LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f-\xff]' err.out; then
		ok "error quoting $(printf %q "$bad") is one escaped line"
	else
		fail "error $(printf %q "$bad")" "rc=$rc $(cat -A err.out)"
	fi
done
grep -qF 'bidi\xe2\x80\xaeevil' err.out &&
	ok "the bidi override in a message is shown as bytes" || fail "bidi msg" "$(cat err.out)"

# A trust store entry with a newline in its name that does not parse: the error names it on one line.
mkdir -p keys/revoked.d
echo junk >"keys/revoked.d/k"$'\n'"sealtree: signature valid"
rc=0; st verify --keys-dir "$T/keys" main >/dev/null 2>err.out || rc=$?
[ $rc = 1 ] && [ "$(wc -l <err.out)" = 1 ] && grep -qF 'revoked.d/k\x0asealtree: signature valid' err.out &&
	ok "a key file name is escaped in the error" || fail "key name" "rc=$rc $(cat -A err.out)"
rm keys/revoked.d/k*

# ---- names in a tree (ls, diff) follow the same rule ----
mkdir tree2 && echo x >"tree2/n${rlo}ame" && echo y >tree2/$'esc\e[31m' && echo z >tree2/$'bad\xff'
st commit -b names --tree tree2 --timestamp 1002 >/dev/null
st ls names >ls.out
grep -qF 'n\xe2\x80\xaeame' ls.out && grep -qF 'esc\x1b[31m' ls.out && grep -qF 'bad\xff' ls.out &&
	! LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f-\xff]' ls.out && ok "ls escapes bidi, ESC and invalid UTF-8 in names" ||
	fail "ls" "$(cat -A ls.out)"

# ---- a rollback refusal quotes the versions escaped ----
"$SEALTREE" keygen -o k1 >/dev/null
mkdir -p keys/trusted.d && cp k1.pub keys/trusted.d/k1.pem
old=$(st commit -b rb --tree tree --orphan --timestamp 3000 --version "1.0${rlo}2" -s old)
new=$(st commit -b rb --tree tree --orphan --timestamp 2000 --version "2.0" -s new)
st sign "$old" --key k1 >/dev/null && st sign "$new" --key k1 >/dev/null
st verify --keys-dir "$T/keys" --accept rb >/dev/null
st ref rb "$old"
rc=0; st verify --keys-dir "$T/keys" --no-downgrade rb >out 2>err.out || rc=$?
[ $rc = 1 ] && grep -qF "rollback: refused: " out && grep -qF '1.0\xe2\x80\xae2' out && grep -qF '1.0\xe2\x80\xae2' err.out &&
	! LC_ALL=C grep -q $'[\x80-\xff]' out err.out && ok "a rollback refusal quotes the version escaped" ||
	fail "rollback" "rc=$rc $(cat out err.out)"
done_testing
