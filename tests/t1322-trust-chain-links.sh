#!/bin/bash
# SPDX-License-Identifier: MIT
# The trust chain's verdict per link, as verify prints it ("link NAME: STATE:
# REASON", and "links" in --json) and as mount --require-signature names the
# broken one: each link broken on its own fails that link, in plain words,
# and leaves every later link skipped.
. "$(dirname "$0")/test-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
export LC_ALL=C
T=$TEST_TMP
repo=$T/repo
st() { "$SEALTREE" --repo "$repo" "$@"; }
cd "$T"

# links SPEC ARGS...: verify's "link" lines reduced to "name=state", space-separated.
links() {
	local rc=0
	st verify --keys-dir "$T/keys" "$@" >out 2>err || rc=$?
	echo "rc=$rc $(sed -n 's/^link \([a-z]*\): \([a-z]*\): .*/\1=\2/p' out | tr '\n' ' ')"
}
expect() { # NAME WANT ARGS...
	local name=$1 want=$2 got
	shift 2
	got=$(links "$@")
	[ "$got" = "$want" ] && ok "$name" || fail "$name" "got '$got', want '$want'; $(cat out err)"
}

mkdir -p tree keys/trusted.d keys/revoked.d && echo hello >tree/f && head -c 5000 /dev/urandom >tree/blob
st init --verity=off >/dev/null
old=$(st commit -b main --tree tree --timestamp 1000 --version 1.0 -s old)
new=$(st commit -b main --tree tree --timestamp 2000 --version 2.0 -s new)
"$SEALTREE" keygen -o k1 >/dev/null
cp k1.pub keys/trusted.d/
st sign "$old" --key k1 >/dev/null
st sign "$new" --key k1 >/dev/null

expect "all links up to the image" "rc=0 commit=ok signature=ok rollback=skipped image=ok mount=skipped record=skipped " main
expect "--accept adds the record link" "rc=0 commit=ok signature=ok rollback=skipped image=ok mount=skipped record=ok " main --accept
grep -q "^link signature: ok: valid signature by trusted key $("$SEALTREE" keygen --from k1 -o k1c | cut -c1-16)" out &&
	ok "the signature link names the key" || fail "signer" "$(cat out)"
st ref main "$old"
expect "rollback broken: later links skipped" "rc=1 commit=ok signature=ok rollback=failed image=skipped mount=skipped record=skipped " main --no-downgrade
grep -q "^link rollback: failed: commit timestamp 1000 (1970-01-01T00:16:40Z) is older than the last accepted commit's timestamp 2000 (1970-01-01T00:33:20Z) (commit ${new:0:16}, version '2.0')$" out &&
	ok "the rollback reason in plain words" || fail "rollback words" "$(cat out)"
grep -q "Stale file handle" err out && fail "no errno words for a rollback" "$(cat err)" || ok "no 'Stale file handle'"
grep -q "^link image: skipped: not checked: the rollback link failed$" out && ok "skipped links say why" || fail "why" "$(cat out)"
st ref main "$new"

# The image, broken on its own.
img=$(commit_image "$repo" main)
cp "$repo/images/$img" image.good
chmod u+w "$repo/images/$img"
printf 'X' | dd of="$repo/images/$img" bs=1 seek=1100 conv=notrunc 2>/dev/null
expect "image broken" "rc=1 commit=ok signature=ok rollback=skipped image=failed mount=skipped record=skipped " main --accept
grep -q "^link image: failed: image $img is corrupt: its fs-verity digest is " out && ok "the image reason" || fail "image words" "$(cat out)"
cp image.good "$repo/images/$img"

# The signature, broken on its own.
cp k1.pub keys/revoked.d/
expect "signature broken" "rc=1 commit=ok signature=failed rollback=skipped image=skipped mount=skipped record=skipped " main --no-downgrade
grep -q "^link signature: failed: not valid: revoked key " out && ok "the signature reason" || fail "sig words" "$(cat out)"
rm keys/revoked.d/k1.pub

# A corrupt signature file: the reason says which line and what, not an errno.
cp "$repo/commits/$new.sig" sig.good
echo garbage >>"$repo/commits/$new.sig"
expect "signature file corrupt" "rc=1 commit=ok signature=failed rollback=skipped image=skipped mount=skipped record=skipped " main
grep -q "^link signature: failed: not valid: corrupt signature file: commits/$new.sig: line [0-9]*: expected " out &&
	! grep -q "Structure needs cleaning" out err && ok "a corrupt signature file in plain words" || fail "sig file words" "$(cat out err)"
cp sig.good "$repo/commits/$new.sig"

# The commit, broken on its own.
cp "$repo/commits/$new" commit.good
chmod u+w "$repo/commits/$new"
printf 'X' | dd of="$repo/commits/$new" bs=1 seek=30 conv=notrunc 2>/dev/null
expect "commit broken" "rc=1 commit=failed signature=skipped rollback=skipped image=skipped mount=skipped record=skipped " main
cp commit.good "$repo/commits/$new"

# --json carries the same links.
st verify --keys-dir "$T/keys" --json main | python3 -c '
import json, sys; d = json.load(sys.stdin)
assert [(l["link"], l["state"]) for l in d["links"]] == [("commit", "ok"), ("signature", "ok"), ("rollback", "skipped"),
    ("image", "ok"), ("mount", "skipped"), ("record", "skipped")], d["links"]
assert d["accepted"] is True' && ok "--json links" || fail "json" "$(st verify --keys-dir "$T/keys" --json main)"
st ref main "$old"
rc=0; st verify --keys-dir "$T/keys" --json --no-downgrade main >json 2>/dev/null || rc=$?
[ $rc = 1 ] && python3 -c '
import json, sys; d = json.load(open(sys.argv[1]))
assert d["accepted"] is False and d["reason"].startswith("broken link: rollback: commit timestamp 1000")
assert [l["state"] for l in d["links"]] == ["ok", "ok", "failed", "skipped", "skipped", "skipped"]' json &&
	ok "--json: the broken link and its reason" || fail "json rollback" "$(cat json)"
st ref main "$new"

# mount --require-signature names the broken link with the same words (root and mounts needed).
if [ "$(id -u)" = 0 ] && mkdir -p mnt && st mount main "$T/mnt" 2>/dev/null; then
	st umount "$T/mnt"
	st ref main "$old"
	rc=0; st mount --require-signature --allow-unverified-objects --no-downgrade --keys-dir "$T/keys" main "$T/mnt" 2>err || rc=$?
	[ $rc = 1 ] && grep -q "mount: refused: broken link: rollback: commit timestamp 1000 (1970-01-01T00:16:40Z) is older than the last accepted" err &&
		! mountpoint -q "$T/mnt" && ok "mount names the rollback link in plain words" || fail "mount rollback" "rc=$rc $(cat err)"
	st ref main "$new"
	if st mount --require-signature --allow-unverified-objects --no-downgrade --keys-dir "$T/keys" main "$T/mnt" >out 2>err; then
		grep -q "signature valid (key " out && ok "sealed mount through the chain" || fail "mount out" "$(cat out)"
		st umount "$T/mnt"
	else
		fail "sealed mount" "$(cat err)"
	fi
else
	echo "SKIP (partial): mount checks need root and kernel mounts"
fi
done_testing
