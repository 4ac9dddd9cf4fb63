#!/bin/bash
# SPDX-License-Identifier: MIT
# sealtree admin deploy refuses bad input clearly and changes nothing: a
# tree without a kernel, with two kernels, without an initramfs, a ref that
# does not exist, a commit that fails the trust policy, an OS name with '/'
# or '..' or control characters, kargs with newlines or unbalanced quotes, a
# stateroot that does not exist. A foreign entry in entries/ is left alone.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/admin-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
T=$TEST_TMP
ENTRIES=$SYS/boot/loader/entries
new_sysroot debian
printf 'title Other OS\nlinux /other/vmlinuz\noptions root=/dev/sdb1 sealtree=fake\n' >"$ENTRIES/other.conf"
make_tree "$T/good"
good=$(commit_tree "$T/good" os/main 1.0)
admin deploy --os debian --keys-dir "$KEYS" os/main >/dev/null

snapshot() { (cd "$SYS" && find . -path ./sealtree/lock -prune -o -print | sort; cat boot/loader/entries/*; ls sealtree/repo/refs -R) >"$1"; }
# refused NAME PATTERN ARGS...: admin ARGS exits non-zero naming PATTERN and changes nothing.
refused() {
	local name=$1 pattern=$2 rc=0
	shift 2
	snapshot "$T/before"
	admin "$@" >"$T/out" 2>"$T/err" || rc=$?
	snapshot "$T/after"
	if [ $rc != 0 ] && grep -q -- "$pattern" "$T/err" && cmp -s "$T/before" "$T/after"; then
		ok "$name"
	else
		fail "$name" "rc=$rc, stderr: $(cat "$T/err"), changes: $(diff "$T/before" "$T/after" | head -5)"
	fi
	return 0
}

mkdir -p "$T/nokernel/usr/etc" && echo x >"$T/nokernel/usr/etc/x"
commit_tree "$T/nokernel" bad/nokernel 1 >/dev/null
refused "tree without a kernel" "no kernel: the tree has no usr/lib/modules/KVER/vmlinuz" deploy --keys-dir "$KEYS" bad/nokernel

make_tree "$T/two"
make_tree "$T/two" 6.2.0-other
commit_tree "$T/two" bad/two 1 >/dev/null
refused "two kernels" "two kernels: usr/lib/modules/6.1.0-test/vmlinuz and usr/lib/modules/6.2.0-other/vmlinuz" deploy --keys-dir "$KEYS" bad/two

make_tree "$T/noinitrd"
rm "$T/noinitrd/usr/lib/modules/6.1.0-test/initramfs.img"
commit_tree "$T/noinitrd" bad/noinitrd 1 >/dev/null
refused "missing initramfs" "kernel 6.1.0-test has no initramfs" deploy --keys-dir "$KEYS" bad/noinitrd

make_tree "$T/kdir"
rm "$T/kdir/usr/lib/modules/6.1.0-test/vmlinuz" && mkdir "$T/kdir/usr/lib/modules/6.1.0-test/vmlinuz"
commit_tree "$T/kdir" bad/kdir 1 >/dev/null
refused "vmlinuz that is a directory" "no kernel" deploy --keys-dir "$KEYS" bad/kdir

refused "nonexistent ref" "no/such/ref" deploy --keys-dir "$KEYS" no/such/ref
refused "malformed spec" "cannot deploy" deploy --keys-dir "$KEYS" '../x'

# The trust policy: any-trusted for os/*, and the commit is unsigned.
mkdir -p "$T/strict" && echo '* any-trusted' >"$T/strict/policy.conf"
refused "commit failing the policy" "refused: broken link: signature" deploy --keys-dir "$T/strict" os/main
refused "--require-signature on an unsigned commit" "refused: broken link: signature" deploy --keys-dir "$KEYS" --require-signature os/main
refused "commit id without a signature (default policy)" "broken link: signature" deploy --keys-dir "$KEYS" "$good"
# --no-downgrade: an older commit of the ref after a newer was accepted.
echo v2 >"$T/good/usr/etc/v" && c2=$(commit_tree "$T/good" os/main 2.0)
admin deploy --keys-dir "$KEYS" os/main >/dev/null
st ref os/main "$good" >/dev/null 2>&1 || st ref --force os/main "$good" >/dev/null 2>&1 || echo "$good" >"$REPO/refs/heads/os/main"
refused "--no-downgrade on an older commit" "refused: broken link: rollback" deploy --keys-dir "$KEYS" --no-downgrade os/main

# A signed commit under an any-trusted policy deploys, naming the key; its
# image with one flipped byte is refused at the image link.
"$SEALTREE" keygen -o "$T/k1" >/dev/null
mkdir -p "$T/strict/trusted.d" && cp "$T/k1.pub" "$T/strict/trusted.d/vendor.pem"
make_tree "$T/signed"
cs=$(commit_tree "$T/signed" os/signed 1)
st sign os/signed --key "$T/k1" >/dev/null
admin deploy --keys-dir "$T/strict" --not-as-default os/signed >"$T/out" 2>"$T/err" && ok "signed commit deploys" || fail "signed commit deploys" "$(cat "$T/err")"
check "deploy names the signing key" grep -q "^trust: signed by key " "$T/out"
check "status shows it valid" grep -q "signature: valid" <(admin status --keys-dir "$T/strict")
# Under a trust store that does not know k1, status says why it is not valid.
mkdir -p "$T/other/trusted.d" && "$SEALTREE" keygen -o "$T/k2" >/dev/null && cp "$T/k2.pub" "$T/other/trusted.d/"
admin status --keys-dir "$T/other" >"$T/st-other"
check "status names the untrusted key" grep -q "signature: invalid (.*untrusted key [0-9a-f]\{16\}" "$T/st-other"
admin status --json --keys-dir "$T/other" >"$T/st-other.json"
check "status --json: signature-problem" python3 -c '
import json, sys
d = [x for x in json.load(open(sys.argv[1]))["deployments"] if x["signature"] == "invalid"]
assert d and "untrusted key" in d[0]["signature-problem"], d' "$T/st-other.json"
check "status --json: no problem when valid" python3 -c '
import json, sys
d = [x for x in json.load(open(sys.argv[1]))["deployments"] if x["signature"] == "valid"]
assert d and d[0]["signature-problem"] is None, d' <(admin status --json --keys-dir "$T/strict")
echo more >"$T/signed/usr/etc/more"
cs2=$(commit_tree "$T/signed" os/signed 2)
st sign os/signed --key "$T/k1" >/dev/null
img=$REPO/images/$(commit_image "$REPO" os/signed)
chmod u+w "$img"
python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[len(b)//2]^=1; open(p,"wb").write(bytes(b))' "$img"
refused "image with a flipped byte" "refused: broken link: image" deploy --keys-dir "$T/strict" os/signed

for os in 'a/b' '..' '.hidden' 'x y' "$(printf 'a\tb')" '' "$(head -c 65 /dev/zero | tr '\0' a)"; do
	refused "OS name '$os' refused by os-init" "not a valid OS name" os-init "$os"
	refused "OS name '$os' refused by deploy" "not a valid OS name" deploy --keys-dir "$KEYS" --os "$os" os/main
done
refused "stateroot that does not exist" "stateroot 'fedora' does not exist" deploy --keys-dir "$KEYS" --os fedora os/main

refused "karg with a newline" "control character" deploy --keys-dir "$KEYS" --karg "$(printf 'a\nb=c')" os/main
refused "karg with an unbalanced quote" "unbalanced" deploy --keys-dir "$KEYS" --karg 'a="b' os/main
refused "karg sealtree= reserved" "reserved" deploy --keys-dir "$KEYS" --karg 'sealtree=debian/x' os/main
refused "set-default past the end" "no deployment at index 7" set-default 7
refused "undeploy not a number" "not a deployment index" undeploy x1

check "foreign entry with sealtree= word untouched" grep -qx 'options root=/dev/sdb1 sealtree=fake' "$ENTRIES/other.conf"
admin status >"$T/status"
check "foreign entry shown" grep -q "foreign entry other.conf: Other OS" "$T/status"

# A broken entry of ours (names a deployment that does not exist) is shown as broken.
printf 'title x\nversion 99\nlinux /boot/sealtree/debian-00/vmlinuz\noptions sealtree=debian/%s.7\n' "$good" >"$ENTRIES/sealtree-debian-$good.7.conf"
admin status >"$T/status"
check "broken entry reported" grep -q "BROKEN: its deployment directory is missing" "$T/status"
rm "$ENTRIES/sealtree-debian-$good.7.conf"

# A copy of one of our entries under another name: kept as foreign, the switch still works.
first=$(ls "$ENTRIES" | grep '^sealtree-' | head -n1)
cp "$ENTRIES/$first" "$ENTRIES/sealtree-zz-copy.conf" && cp "$ENTRIES/$first" "$T/dup.orig"
check "a duplicate entry is shown as foreign" grep -q "foreign entry sealtree-zz-copy.conf: (a second entry" <(admin status)
admin kargs --append dup=1 >/dev/null 2>"$T/err" && ok "a switch works beside a duplicate" || fail "a switch works beside a duplicate" "$(cat "$T/err")"
check "the duplicate is kept byte for byte" cmp -s "$ENTRIES/sealtree-zz-copy.conf" "$T/dup.orig"
done_testing
