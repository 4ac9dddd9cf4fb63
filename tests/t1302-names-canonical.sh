#!/bin/bash
# SPDX-License-Identifier: MIT
# One ref, one name: NAME and refs/heads/NAME get the same policy.conf rule
# and the same anti-rollback record (state/accepted/NAME), so the long
# spelling escapes neither a key pin nor --no-downgrade. Every other
# spelling off the grammar (trailing '/', "./", "//", "..", heads/NAME,
# refs/heads/refs/...) is refused, not rewritten. Lists and reports show
# the canonical name; records written under refs/heads/NAME by an older
# sealtree still count. As root, mount --require-signature is checked too.
. "$(dirname "$0")/test-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
export LC_ALL=C
unset SOURCE_DATE_EPOCH
T=$TEST_TMP
repo=$T/repo
st() { "$SEALTREE" --repo "$repo" "$@"; }
V() { st verify --keys-dir "$T/keys" "$@"; }
cleanup_mounts() { mountpoint -q "$T/mnt" 2>/dev/null && umount -l "$T/mnt"; rm -rf "$TEST_TMP"; }
trap cleanup_mounts EXIT

# refused NAME RC PATTERN CMD...: CMD exits RC and its stderr (or stdout) matches PATTERN.
refused() {
	local name=$1 want=$2 pattern=$3 rc=0
	shift 3
	"$@" >"$T/out" 2>"$T/err" || rc=$?
	if [ "$rc" = "$want" ] && grep -q -- "$pattern" "$T/err" "$T/out"; then
		ok "$name"
	else
		fail "$name" "rc=$rc, stderr: $(cat "$T/err")"
	fi
}

cd "$T"
id1=$("$SEALTREE" keygen -o k1)
id2=$("$SEALTREE" keygen -o k2)
mkdir -p keys/trusted.d tree
cp k1.pub keys/trusted.d/one.pem
cp k2.pub keys/trusted.d/two.pem
echo one >tree/file
st init --verity=off >/dev/null
c1=$(st commit -b main --tree tree --timestamp 1000 --version 1.0 -s one)
echo two >tree/file
c2=$(st commit -b main --tree tree --timestamp 2000 --version 2.0 -s two)
st sign "$c1" --key k2 >/dev/null
st sign "$c2" --key k2 >/dev/null
st ref os/stable main

# ---- a key pin holds for every spelling ----
printf 'main keys=%s\nos/* keys=%s\n' "${id1:0:16}" "${id1:0:16}" >keys/policy.conf
for spec in main refs/heads/main os/stable refs/heads/os/stable; do
	refused "key pin holds for '$spec'" 1 "not valid" V "$spec"
done
V --json refs/heads/main >"$T/json" 2>/dev/null || true
grep -q '"ref":"main"' "$T/json" && grep -q '"rule":"main"' "$T/json" &&
	ok "verify reports the canonical name and the rule" || fail "json" "$(cat "$T/json")"
st show --json --keys-dir "$T/keys" refs/heads/main >"$T/json"
grep -q '"ref":"main"' "$T/json" && grep -q '"rule":"main"' "$T/json" &&
	ok "show applies the ref's rule to the long spelling" || fail "show json" "$(cat "$T/json")"
printf 'refs/heads/os/* keys=%s\n' "${id1:0:16}" >keys/policy.conf
for spec in os/stable refs/heads/os/stable; do
	refused "a refs/heads/ glob matches '$spec'" 1 "not valid" V "$spec"
done
printf 'main keys=%s\n' "${id2:0:16}" >keys/policy.conf
V main >/dev/null && V refs/heads/main >/dev/null && ok "the pinned key is accepted in both spellings" ||
	fail "pinned key" "$(V refs/heads/main 2>&1)"

# ---- one anti-rollback record ----
rm keys/policy.conf
V --accept refs/heads/main >/dev/null
[ -f "$repo/state/accepted/main" ] && [ ! -e "$repo/state/accepted/refs" ] &&
	grep -qx "commit $c2" "$repo/state/accepted/main" && ok "--accept records under the canonical name" ||
	fail "record" "$(find "$repo/state" -type f)"
st ref main "$c1"
for spec in main refs/heads/main; do
	refused "--no-downgrade holds for '$spec'" 1 "older than the last accepted" V --no-downgrade "$spec"
done
st ref main "$c2"

# A record an older sealtree wrote for the long spelling still counts.
st ref other "$c2"
mkdir -p "$repo/state/accepted/refs/heads"
printf 'sealtree-accepted 1\ncommit %s\ntimestamp 2000\nversion 2.0\n' "$c2" >"$repo/state/accepted/refs/heads/other"
st ref other "$c1"
for spec in other refs/heads/other; do
	refused "a legacy refs/heads record holds for '$spec'" 1 "older than the last accepted" V --no-downgrade "$spec"
done
st ref other "$c2"
V --no-downgrade refs/heads/other >/dev/null && ok "the recorded commit itself passes" || fail "legacy same" ""

# ---- other spellings are refused, never rewritten ----
for bad in main/ ./main main//x a/../main /main heads/main refs/heads/heads/main refs/heads/refs/mounts/x \
	refs/heads/ refs/heads refs/x refs "ma in"; do
	refused "ref '$bad' is refused" 2 "invalid ref name" st ref "$bad" main
done
refused "show 'main/' is refused" 1 "" st show main/
refused "verify './main' is refused" 1 "" V ./main
[ "$(find "$repo/refs" -type f | wc -l)" = 3 ] && ok "no ref file was made" || fail "files" "$(find "$repo/refs")"

# ---- lists and names ----
st ref refs/heads/long main
st refs | grep -qx "$c2 long" && ok "refs lists refs/heads/NAME as NAME" || fail "refs" "$(st refs)"
st ref --delete refs/heads/long && [ ! -e "$repo/refs/heads/long" ] && ok "delete by the long spelling" ||
	fail "delete" ""
st commit -b refs/heads/topic --tree tree --timestamp 3000 >/dev/null && [ -f "$repo/refs/heads/topic" ] &&
	st refs | grep -q " topic\$" && ok "commit -b refs/heads/NAME makes NAME" || fail "commit -b" "$(st refs)"

# ---- mount --require-signature: the same rule and record (root, overlay and erofs) ----
M() { st mount --require-signature --allow-unverified-objects --keys-dir "$T/keys" "$@" "$T/mnt"; }
mkdir -p "$T/mnt"
rm -f keys/policy.conf "$repo/state/accepted/main"
if [ "$(id -u)" = 0 ] && M refs/heads/main >/dev/null 2>&1 && mountpoint -q "$T/mnt"; then
	st umount "$T/mnt" >/dev/null
	grep -qx "commit $c2" "$repo/state/accepted/main" && [ ! -e "$repo/state/accepted/refs/heads/main" ] &&
		ok "mount records under the canonical name" || fail "mount record" "$(find "$repo/state" -type f)"
	st ref main "$c1"
	for spec in main refs/heads/main; do
		refused "mount --no-downgrade holds for '$spec'" 1 "older than the last accepted" M --no-downgrade "$spec"
	done
	st ref main "$c2"
	printf 'main keys=%s\n' "${id1:0:16}" >keys/policy.conf
	refused "mount: the key pin holds for refs/heads/main" 1 "not valid" M refs/heads/main
	rm keys/policy.conf
	! mountpoint -q "$T/mnt" || umount "$T/mnt"
else
	echo "# SKIP mount checks: need root and a working overlay/erofs mount"
fi

done_testing
