#!/bin/bash
# SPDX-License-Identifier: MIT
# sealtree keygen/sign/verify/show: keys in both forms, signing, and every
# attack on the signature chain that verify must refuse (exit 1, naming the
# reason): untrusted and revoked keys, flipped bits in the commit and the
# signature, a signature file moved to another commit, corrupt signature and
# key files, policies, and an older signed commit replayed with
# --no-downgrade.
. "$(dirname "$0")/test-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
export LC_ALL=C
unset SOURCE_DATE_EPOCH
repo=$TEST_TMP/repo
st() { "$SEALTREE" --repo "$repo" "$@"; }
T=$TEST_TMP

# expect_refused NAME PATTERN CMD...: CMD exits 1 and its stderr matches PATTERN.
expect_refused() {
	local name=$1 pattern=$2 rc=0
	shift 2
	"$@" >"$T/out" 2>"$T/err" || rc=$?
	if [ $rc = 1 ] && grep -q -- "$pattern" "$T/err"; then
		ok "$name"
	else
		fail "$name" "rc=$rc, stderr: $(cat "$T/err")"
	fi
}
flip_byte() { # FILE OFFSET: invert the low bit of one byte, in place
	python3 -c 'import sys
p, o = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, "rb").read()); b[o] ^= 1; open(p, "wb").write(bytes(b))' "$1" "$2"
}

for cmd in keygen sign verify; do
	check "$cmd --help" "$SEALTREE" "$cmd" --help >/dev/null
done

# ---- keys ----
cd "$T"
id1=$("$SEALTREE" keygen -o k1) && ok "keygen" || fail "keygen" ""
[ "$(stat -c %a k1)" = 600 ] && [ "$(stat -c %a k1.pub)" = 644 ] && ok "modes 0600 and 0644" ||
	fail "modes" "$(stat -c '%n %a' k1 k1.pub)"
[ "${#id1}" = 64 ] && ok "keygen prints the key id" || fail "key id" "$id1"
head -1 k1 | grep -qx -- "-----BEGIN PRIVATE KEY-----" && head -1 k1.pub | grep -qx -- "-----BEGIN PUBLIC KEY-----" &&
	ok "PEM by default" || fail "pem" "$(head -1 k1)"
[ "$(openssl pkey -in k1 -pubout 2>/dev/null)" = "$(cat k1.pub)" ] && ok "openssl reads the private key" ||
	fail "openssl" "public keys differ"
expect_refused "keygen refuses to overwrite" "exists" "$SEALTREE" keygen -o k1
rc=0; "$SEALTREE" keygen --type rsa -o kx 2>/dev/null || rc=$?
[ $rc = 2 ] && ok "unknown key type is a usage error" || fail "type" "rc=$rc"
id1o=$("$SEALTREE" keygen --from k1 --format ostree -o k1o)
[ "$id1o" = "$id1" ] && ok "PEM -> ostree keeps the key" || fail "convert" "$id1o"
[ "$(wc -c <k1o)" = 89 ] && [ "$(wc -c <k1o.pub)" = 45 ] && ok "ostree forms: 88 and 44 base64 characters" ||
	fail "ostree sizes" "$(wc -c k1o k1o.pub)"
python3 -c 'import base64, sys
s = base64.b64decode(open(sys.argv[1]).read().strip(), validate=True)
p = base64.b64decode(open(sys.argv[2]).read().strip(), validate=True)
assert len(s) == 64 and len(p) == 32 and s[32:] == p' k1o k1o.pub && ok "ostree secret = seed + public" ||
	fail "ostree layout" ""
id1p=$("$SEALTREE" keygen --from k1o --format pem -o k1p)
[ "$id1p" = "$id1" ] && cmp -s k1p k1 && cmp -s k1p.pub k1.pub && ok "ostree -> PEM gives the same files" ||
	fail "round trip" "$id1p"
id2=$("$SEALTREE" keygen -o k2)
id3=$("$SEALTREE" keygen --format ostree -o k3)

# ---- a repository with two commits ----
mkdir -p tree/etc && echo one >tree/etc/release && head -c 10000 /dev/urandom >tree/blob
check "init" st init --verity=off >/dev/null
c1=$(st commit -b main --tree tree --timestamp 1000 --version 1.9 -s one)
echo two >tree/etc/release
c2=$(st commit -b main --tree tree --timestamp 2000 --version 1.10 -s two)
c3=$(st commit -b other --tree tree --orphan --timestamp 3000 -s other)
mkdir -p keys/trusted.d keys/revoked.d
cp k1.pub keys/trusted.d/vendor.pem
cp k3.pub keys/trusted.d/vendor2.key
V="st verify --keys-dir $T/keys"

expect_refused "unsigned: no signature" "not valid: no signature" $V main
out=$(st sign main --key k1) && echo "$out" | grep -q "signed by key ${id1:0:16}" && ok "sign" || fail "sign" "$out"
sig=$repo/commits/$c2.sig
[ -f "$sig" ] && ok "signature file commits/<id>.sig" || fail "sig file" "$(ls "$repo/commits")"
cp "$sig" "$T/sig.1"
out=$(st sign "$c2" --key k1p) && echo "$out" | grep -q "already" && cmp -s "$sig" "$T/sig.1" &&
	ok "signing again with the same key is a no-op" || fail "resign" "$out"
$V main >"$T/out" && grep -q "verdict: valid (key ${id1:0:16})" "$T/out" && ok "verify names the key" ||
	fail "verify" "$(cat "$T/out")"
check "sign with an ostree-form key" st sign main --key k3 >/dev/null
[ "$(grep -c '^ed25519 ' "$sig")" = 2 ] && ok "two signatures in one file" || fail "two sigs" "$(cat "$sig")"
check "valid with two trusted signatures" $V main >/dev/null
check "verify by commit id" $V "$c2" >/dev/null

# show and --json
st show --keys-dir "$T/keys" main | grep -q "^signature *valid (key " && ok "show reports the signature" ||
	fail "show" "$(st show --keys-dir "$T/keys" main | tail -2)"
st show --keys-dir "$T/keys" --json main | python3 -c 'import json, sys
d = json.load(sys.stdin)["signature"]
assert d["verdict"] == "valid" and d["accepted"] and len(d["signatures"]) == 2' && ok "show --json" ||
	fail "show --json" ""
$V --json main | python3 -c 'import json, sys
d = json.load(sys.stdin)
assert d["verdict"] == "valid" and d["accepted"] is True and d["ref"] == "main"
assert d["valid_key"] in (sys.argv[1], sys.argv[2])
assert sorted(s["status"] for s in d["signatures"]) == ["valid", "valid"]' "$id1" "$id3" && ok "verify --json" ||
	fail "verify --json" "$($V --json main)"

# ---- trust store attacks ----
rm keys/trusted.d/vendor2.key
cp k2.pub keys/trusted.d/
st sign other --key k2 >/dev/null
rm keys/trusted.d/k2.pub
expect_refused "a valid signature by an untrusted key" "untrusted key ${id2:0:16}" $V other
rc=0; $V --json other >"$T/json" 2>/dev/null || rc=$?
[ $rc = 1 ] && python3 -c 'import json, sys
d = json.load(open(sys.argv[1])); assert d["verdict"] == "invalid" and not d["accepted"]
assert d["signatures"][0]["status"] == "untrusted-key"' "$T/json" && ok "--json: untrusted-key, exit 1" ||
	fail "json untrusted" "rc=$rc $(cat "$T/json")"
cp k2.pub keys/trusted.d/k2.pub
cp k2.pub keys/revoked.d/k2.pub
expect_refused "a key both trusted and revoked" "revoked key ${id2:0:16}" $V other
rm keys/trusted.d/k2.pub
expect_refused "a revoked key" "revoked key ${id2:0:16}" $V other

# ---- tampering ----
cp "$sig" "$T/sig.good"
# One bit of every signature (as bytes, so the hex stays valid).
python3 -c 'import sys
p = sys.argv[1]; lines = open(p).read().split("\n")
for i, l in enumerate(lines):
    if l.startswith("ed25519 "):
        f = l.split(" "); b = bytearray.fromhex(f[2]); b[5] ^= 0x04; f[2] = b.hex(); lines[i] = " ".join(f)
open(p, "w").write("\n".join(lines))' "$sig"
expect_refused "a flipped bit in the signatures" "bad signature by key" $V main
cp "$T/sig.good" "$sig"
# A signature file copied to another commit.
cp "$sig" "$repo/commits/$c1.sig"
expect_refused "a signature file moved to another commit" "belongs to commit $c2" $V "$c1"
# ... with its commit line rewritten to match.
sed -i "s/^commit $c2/commit $c1/" "$repo/commits/$c1.sig"
expect_refused "a moved signature with its commit line rewritten" "bad signature by key" $V "$c1"
rm "$repo/commits/$c1.sig"
# The commit itself.
cp "$repo/commits/$c2" "$T/commit.good"
chmod u+w "$repo/commits/$c2"
flip_byte "$repo/commits/$c2" 20
expect_refused "a flipped bit in the commit" "commit $c2 cannot be read" $V main
rc=0; $V --json main >"$T/json" 2>/dev/null || rc=$?
[ $rc = 1 ] && python3 -c 'import json, sys
d = json.load(open(sys.argv[1])); assert d["verdict"] == "corrupt-commit" and d["accepted"] is False' "$T/json" &&
	ok "--json: corrupt-commit" || fail "json corrupt commit" "rc=$rc $(cat "$T/json")"
cp "$T/commit.good" "$repo/commits/$c2"
check "restored commit verifies again" $V main >/dev/null

# ---- corrupt signature files ----
head -c 100 "$T/sig.good" >"$sig"
expect_refused "a truncated signature file" "corrupt signature file" $V main
: >"$sig"
expect_refused "an empty signature file" "corrupt signature file" $V main
{ cat "$T/sig.good"; head -c 70000 /dev/zero | tr '\0' 'a'; } >"$sig"
expect_refused "an oversized signature file" "corrupt signature file" $V main
{ head -2 "$T/sig.good"; echo "ed25519 zz"; } >"$sig"
expect_refused "a malformed signature line" "corrupt signature file" $V main
{ cat "$T/sig.good"; echo; } >"$sig"
expect_refused "trailing bytes" "corrupt signature file" $V main
expect_refused "sign refuses to overwrite a corrupt file" "remove it" st sign main --key k2
cp "$T/sig.good" "$sig"

# ---- corrupt key files in the store ----
for bad in empty truncated oversized private garbage; do
	case $bad in
	empty) : >keys/trusted.d/bad ;;
	truncated) head -c 50 k1.pub >keys/trusted.d/bad ;;
	oversized) head -c 20000 /dev/zero | tr '\0' 'A' >keys/trusted.d/bad ;;
	private) cp k2 keys/trusted.d/bad ;;
	garbage) echo "not a key" >keys/trusted.d/bad ;;
	esac
	expect_refused "a $bad key file in trusted.d is an error naming it" "keys/trusted.d/bad" $V main
done
rm keys/trusted.d/bad
head -c 60 k2.pub >keys/revoked.d/bad
expect_refused "a broken revocation fails closed" "keys/revoked.d/bad" $V main
rm keys/revoked.d/bad
for bad in empty truncated public; do
	case $bad in
	empty) : >"$T/badkey" ;;
	truncated) head -c 60 k1 >"$T/badkey" ;;
	public) cp k1.pub "$T/badkey" ;;
	esac
	expect_refused "sign with a $bad private key" "private key" st sign main --key "$T/badkey"
done
# An ostree secret whose public half belongs to another key.
python3 -c 'import base64, sys
a = base64.b64decode(open(sys.argv[1]).read()); b = base64.b64decode(open(sys.argv[2]).read())
print(base64.b64encode(a[:32] + b).decode())' k3 k1o.pub >"$T/mixed"
expect_refused "an ostree secret with a foreign public half" "does not belong" st sign main --key "$T/mixed"

# ---- policy ----
cp k3.pub keys/trusted.d/vendor2.key
printf '# pinned to k3\nmain keys=%s\nother none\n' "${id3:0:16}" >keys/policy.conf
$V main >"$T/out" 2>&1 && grep -q "verdict: valid (key ${id3:0:16})" "$T/out" &&
	grep -q "key ${id1:0:16}: valid, but the key is not one the policy lists" "$T/out" &&
	ok "keys= accepts only the listed key" || fail "keys=" "$(cat "$T/out")"
printf 'main keys=%s\n' "${id1:0:20}" >keys/policy.conf
cp k3.pub keys/revoked.d/
check "keys= with another listed key" $V main >/dev/null
printf 'main keys=%s\n' "${id3:0:16}" >keys/policy.conf
expect_refused "keys= whose only key is revoked" "revoked key ${id3:0:16}" $V main
rm keys/revoked.d/k3.pub
printf 'other none\n' >keys/policy.conf
check "policy none accepts an unsigned ref" $V other >/dev/null
expect_refused "--require-signature overrides none" "not valid" $V --require-signature other
echo "main sometimes" >keys/policy.conf
expect_refused "a malformed policy is an error naming it" "policy.conf" $V main
rm keys/policy.conf

# ---- anti-rollback ----
check "accept c2" $V --accept main >/dev/null
[ -f "$repo/state/accepted/main" ] && grep -qx "commit $c2" "$repo/state/accepted/main" &&
	grep -qx "version 1.10" "$repo/state/accepted/main" && ok "accepted record" ||
	fail "record" "$(cat "$repo/state/accepted/main" 2>&1)"
st sign "$c1" --key k1 >/dev/null
st ref main "$c1"
check "the older commit is validly signed" $V main >/dev/null
expect_refused "--no-downgrade refuses the older signed commit" "older than the last accepted" $V --no-downgrade main
$V --accept main >/dev/null
grep -qx "commit $c2" "$repo/state/accepted/main" && ok "the record never moves back" || fail "record moved back" ""
st ref main "$c2"
check "--no-downgrade accepts the accepted commit" $V --no-downgrade main >/dev/null
# A version that sorts lower at a later time is a downgrade too.
c4=$(st commit -b main --tree tree --timestamp 4000 --version 1.2 -s four)
st sign main --key k1 >/dev/null
expect_refused "--no-downgrade: lower version" "version '1.2' is lower" $V --no-downgrade main
rc=0; $V --no-downgrade "$c4" 2>/dev/null || rc=$?
[ $rc = 2 ] && ok "--no-downgrade needs a ref" || fail "needs ref" "rc=$rc"

# ---- concurrent signers lose nothing ----
for i in 1 2 3 4 5 6; do "$SEALTREE" keygen -o "p$i" >/dev/null; done
for i in 1 2 3 4 5 6; do st sign other --key "p$i" >/dev/null & done
wait
[ "$(grep -c '^ed25519 ' "$repo/commits/$c3.sig")" = 7 ] && ok "six concurrent signers, seven signatures" ||
	fail "concurrent" "$(grep -c '^ed25519 ' "$repo/commits/$c3.sig")"
[ -z "$(ls "$repo/tmp")" ] && ok "nothing left in tmp/" || fail "tmp" "$(ls "$repo/tmp")"

done_testing
