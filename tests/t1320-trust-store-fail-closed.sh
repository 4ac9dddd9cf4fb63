#!/bin/bash
# SPDX-License-Identifier: MIT
# The trust store fails closed: a revoked.d/ (or policy.conf, trusted.d/, or
# an entry in them) that cannot be read is an error naming it, never an
# empty revocation list. Variants: dangling symlinks, symlink loops, FIFOs,
# a regular file for a directory, a directory for a key, unparseable keys,
# EACCES (root without CAP_DAC_OVERRIDE). Each must refuse a commit whose
# signing key the intact store revokes.
. "$(dirname "$0")/test-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
export LC_ALL=C
T=$TEST_TMP
repo=$T/repo
st() { "$SEALTREE" --repo "$repo" "$@"; }

# verify_with NAME PATTERN: verify with the store $T/keys exits 1 and stderr matches PATTERN.
verify_refused() {
	local name=$1 pattern=$2 rc=0
	timeout 20 "$SEALTREE" --repo "$repo" verify --keys-dir "$T/keys" main >"$T/out" 2>"$T/err" || rc=$?
	if [ $rc = 1 ] && grep -q -- "$pattern" "$T/err"; then
		ok "$name"
	else
		fail "$name" "rc=$rc, stdout: $(cat "$T/out"), stderr: $(cat "$T/err")"
	fi
}
verify_ok() {
	local name=$1
	if timeout 20 "$SEALTREE" --repo "$repo" verify --keys-dir "$T/keys" main >"$T/out" 2>"$T/err"; then
		ok "$name"
	else
		fail "$name" "stderr: $(cat "$T/err")"
	fi
}

cd "$T"
"$SEALTREE" keygen -o k1 >/dev/null
"$SEALTREE" keygen -o k2 >/dev/null
mkdir tree && echo hello >tree/f
st init --verity=off >/dev/null
st commit -b main --tree tree --timestamp 1000 -s one >/dev/null
st sign main --key k1 >/dev/null

# The intact store: k1 trusted, and revoked through a symlinked directory.
mkdir -p keys/trusted.d revocations
cp k1.pub keys/trusted.d/k1.pem
cp k1.pub revocations/k1.pem
ln -s ../revocations keys/revoked.d
verify_refused "intact store: the revoked key is refused" "revoked key"

# ---- revoked.d itself ----
rm keys/revoked.d && ln -s ../gone keys/revoked.d
verify_refused "revoked.d a dangling symlink: refused, named" "revoked keys directory '.*revoked.d' is a symlink to nothing"
rm keys/revoked.d && ln -s revoked.d keys/revoked.d
verify_refused "revoked.d a symlink loop: refused" "revoked keys directory '.*revoked.d'.*symbolic links"
rm keys/revoked.d && mkfifo keys/revoked.d
verify_refused "revoked.d a FIFO: refused, no hang" "revoked keys directory '.*revoked.d'"
rm keys/revoked.d && : >keys/revoked.d
verify_refused "revoked.d a regular file: refused" "revoked keys directory '.*revoked.d'.*Not a directory"
rm keys/revoked.d && mkdir keys/revoked.d
cp k1.pub keys/revoked.d/k1.pem

# ---- entries of revoked.d ----
ln -s ../../nothing.pem keys/revoked.d/k9.pem
verify_refused "a dangling key symlink: refused, named" "revoked key '.*revoked.d/k9.pem' is a symlink to nothing"
rm keys/revoked.d/k9.pem && ln -s k9.pem keys/revoked.d/k9.pem
verify_refused "a key symlink loop: refused, named" "revoked.d/k9.pem.*symbolic links"
rm keys/revoked.d/k9.pem && mkfifo keys/revoked.d/k9.pem
verify_refused "a FIFO key: refused, named, no hang" "revoked.d/k9.pem' is not a regular file"
rm keys/revoked.d/k9.pem && mkdir keys/revoked.d/k9.pem
verify_refused "a directory as a key: refused, named" "revoked.d/k9.pem' is not a regular file"
rmdir keys/revoked.d/k9.pem && echo "not a key" >keys/revoked.d/k9.pem
verify_refused "an unparseable revoked key: refused, named" "revoked.d/k9.pem"
rm keys/revoked.d/k9.pem
# Dot files are skipped by design (editors' and atomic writers' temporaries).
echo "not a key" >keys/revoked.d/.k9.pem.swp
verify_refused "a dot file is skipped, the revocation still holds" "revoked key"
rm keys/revoked.d/.k9.pem.swp

# ---- EACCES: root without CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH ----
if [ "$(id -u)" = 0 ] && command -v capsh >/dev/null &&
	capsh --drop=cap_dac_override,cap_dac_read_search -- -c true 2>/dev/null; then
	nodac() { capsh --drop=cap_dac_override,cap_dac_read_search -- -c '"$0" "$@"' "$@"; }
	chmod 000 keys/revoked.d
	rc=0; nodac "$SEALTREE" --repo "$repo" verify --keys-dir "$T/keys" main >"$T/out" 2>"$T/err" || rc=$?
	[ $rc = 1 ] && grep -q "revoked keys directory '.*revoked.d'.*Permission denied" "$T/err" &&
		ok "revoked.d unreadable (EACCES): refused, named" || fail "EACCES dir" "rc=$rc $(cat "$T/err")"
	chmod 755 keys/revoked.d
	chmod 000 keys/revoked.d/k1.pem
	rc=0; nodac "$SEALTREE" --repo "$repo" verify --keys-dir "$T/keys" main >"$T/out" 2>"$T/err" || rc=$?
	[ $rc = 1 ] && grep -q "revoked.d/k1.pem.*Permission denied" "$T/err" &&
		ok "a revoked key unreadable (EACCES): refused, named" || fail "EACCES key" "rc=$rc $(cat "$T/err")"
	chmod 644 keys/revoked.d/k1.pem
else
	echo "SKIP (partial): EACCES variants need root and capsh"
fi

# ---- policy.conf and trusted.d fail closed too ----
rm keys/revoked.d/k1.pem
verify_ok "k1 no longer revoked: valid"
cp k2.pub keys/trusted.d/k2.pem
id2=$("$SEALTREE" keygen --from k2 -o k2b)
echo "main keys=${id2:0:16}" >pins.conf
ln -s ../pins.conf keys/policy.conf
verify_refused "policy pins main to k2: k1 is refused" "not allowed by the policy"
rm pins.conf
verify_refused "policy.conf a dangling symlink: refused, named (the pin is never dropped)" \
	"policy '.*policy.conf' is a symlink to nothing"
rm keys/policy.conf && mkfifo keys/policy.conf
verify_refused "policy.conf a FIFO: refused, no hang" "policy.conf' is not a regular file"
rm keys/policy.conf
mv keys/trusted.d trusted && ln -s ../gone keys/trusted.d
verify_refused "trusted.d a dangling symlink: refused, named" "trusted keys directory '.*trusted.d' is a symlink to nothing"
rm keys/trusted.d && mv trusted keys/trusted.d
echo junk >keys/trusted.d/bad.pem
verify_refused "an unparseable trusted key: refused, named" "trusted.d/bad.pem"
rm keys/trusted.d/bad.pem

# ---- what stays empty: absent directories ----
rmdir keys/revoked.d
verify_ok "no revoked.d: an empty revocation list"
mkdir keys/revoked.d
mv keys keys.real && ln -s keys.real keys
verify_ok "the keys directory as a symlink: read through"
rm keys && ln -s gone keys
verify_refused "the keys directory a dangling symlink: refused" "trust store '.*keys'"

done_testing
