#!/bin/bash
# SPDX-License-Identifier: MIT
# sealtree-prepare-root on the host, in a private mount namespace: a sysroot
# made by `sealtree admin`, bound on a mount point as the initramfs would
# have it, then assembled: composefs root, the deployment's /etc, the
# stateroot's /var, the physical root read-only on /sysroot, booted.json.
# Then every refusal: a broken link of the trust chain (unsigned, unknown
# key, revoked key, under the rollback floor, a changed image byte), a karg
# that tries to loosen the policy, a missing deployment, a symlink planted
# in the deployment. A refusal leaves nothing mounted.
# The signed mode's success needs fs-verity, which this kernel lacks: the
# QEMU test covers it; here it must refuse, naming fs-verity.
. "$(dirname "$0")/test-lib.sh"

in_private_mount_ns "$@"
. "$(dirname "$0")/admin-lib.sh"
PREPARE=$BUILD_DIR/tools/prepare-root/sealtree-prepare-root
[ -x "$PREPARE" ] || skip_all "sealtree-prepare-root not built"
modprobe erofs 2>/dev/null || true
modprobe overlay 2>/dev/null || true
T=$TEST_TMP
MNT=$T/mnt
RUN=$T/run-prepare
mkdir -p "$MNT"

# An OS tree with the directories a root needs.
make_tree "$T/t1"
mkdir -p "$T/t1/etc" "$T/t1/var" "$T/t1/sysroot" "$T/t1/usr/share/data"
echo "image etc" >"$T/t1/etc/hostname"
head -c 100000 /dev/urandom >"$T/t1/usr/share/data/blob"
new_sysroot debian
c1=$(commit_tree "$T/t1" os/main 1.0)
admin deploy --os debian --keys-dir "$KEYS" os/main >/dev/null
ID=$c1.0
DEP=$SYS/sealtree/deploy/debian/$ID

"$SEALTREE" keygen -o "$T/k1" >/dev/null
"$SEALTREE" keygen -o "$T/k2" >/dev/null
mkdir -p "$T/ikeys/trusted.d" "$T/ikeys/revoked.d"
cp "$T/k1.pub" "$T/ikeys/trusted.d/"

conf() { printf '%s\n' "$@" >"$T/prepare.conf"; }
# prepare CMDLINE: run prepare-root on MNT (a fresh bind of the sysroot).
unmount_all() { local i; for i in 1 2 3 4 5 6; do umount -R "$MNT" 2>/dev/null || break; done; }
prepare() {
	unmount_all
	rm -rf "$RUN"
	mount --bind "$SYS" "$MNT"
	[ -z "${SHARED_SYSROOT:-}" ] || mount --make-rshared "$MNT"
	"$PREPARE" --config "$T/prepare.conf" --cmdline "$1" --run-dir "$RUN" "$MNT" >"$T/out" 2>&1
}
fstype() { findmnt -n -o FSTYPE --mountpoint "$1" | tail -1; }
json() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print(json.dumps(v) if not isinstance(v,str) else v)' "$RUN/booted.json" "$1"; }
base_fstype=$(df --output=fstype "$SYS" | tail -1)
# refused NAME PATTERN: prepare-root failed, said PATTERN, and left MNT as it was.
refused() {
	local name=$1 pattern=$2
	if [ "$rc" = 0 ]; then fail "$name" "prepare-root succeeded"; cat "$T/out" >&2; return; fi
	if ! grep -q -- "$pattern" "$T/out"; then fail "$name" "no '$pattern' in: $(cat "$T/out")"; return; fi
	if [ "$(fstype "$MNT")" != "$base_fstype" ] || [ -e "$MNT/usr/bin/tool" ]; then
		fail "$name" "something is still mounted on $MNT"; return
	fi
	if findmnt -n "$RUN/root" >/dev/null 2>&1; then fail "$name" "$RUN/root still mounted"; return; fi
	ok "$name"
}
run() { rc=0; prepare "$1" || rc=$?; }

# ---- composefs = yes: the whole assembly
conf '[composefs]' 'enabled = yes'
run "root=/dev/vda2 ro sealtree=debian/$ID quiet"
check "yes: prepare-root succeeds" test "$rc" = 0
check "yes: the root is an overlay" test "$(fstype "$MNT")" = overlay
check "yes: files of the commit" cmp "$MNT/usr/share/data/blob" "$T/t1/usr/share/data/blob"
check "yes: /usr is read-only" bash -c "! touch '$MNT/usr/x' 2>/dev/null"
check "yes: /etc is the deployment's" cmp "$MNT/etc/hostname" "$DEP/etc/hostname"
echo changed >"$MNT/etc/motd" && check "yes: /etc writes reach the deployment" grep -qx changed "$DEP/etc/motd"
echo state >"$MNT/var/state" && check "yes: /var is the stateroot's" grep -qx state "$SYS/sealtree/deploy/debian/var/state"
check "yes: /sysroot is the physical root" test -d "$MNT/sysroot/sealtree/repo/objects"
check "yes: /sysroot is read-only" bash -c "! touch '$MNT/sysroot/x' 2>/dev/null"
check "booted.json: composefs" test "$(json root)" = composefs
check "booted.json: the deployment" test "$(json deployment)" = "$ID" -a "$(json os)" = debian -a "$(json commit)" = "$c1"
check "booted.json: the image" test "$(json image)" = "$(commit_image "$REPO" "$c1")"
check "booted.json: mode yes, no verity" test "$(json mode)" = yes -a "$(json verity)" = false
check "booted.json: says contents are not verified" grep -q "not verified" "$RUN/booted.json"
SEALTREE_RUN_DIR=$RUN admin status >"$T/status"
check "admin status marks the booted deployment" grep -q "^\* *0 debian/$ID\|^\*.*debian/$ID" "$T/status"
check "admin status: no FALLBACK line on a composefs root" bash -c "! grep -q '^FALLBACK' '$T/status'"
check "no pin written by prepare-root" bash -c "! '$SEALTREE' --repo '$REPO' refs --all | grep -q refs/mounts"

# ---- a shared /sysroot, as systemd's initrd has it (it makes every mount
# shared): the assembled root moved onto it must not propagate into its own
# bind of the physical root, or /sysroot shows the image again, not the disk
SHARED_SYSROOT=1 run "root=/dev/vda2 ro sealtree=debian/$ID"
check "shared /sysroot: prepare-root succeeds" test "$rc" = 0
check "shared /sysroot: the root is an overlay" test "$(fstype "$MNT")" = overlay
check "shared /sysroot: MNT/sysroot is the physical root" test -d "$MNT/sysroot/sealtree/repo/objects"
check "shared /sysroot: no overlay on MNT/sysroot" test "$(fstype "$MNT/sysroot")" = "$base_fstype"
check "shared /sysroot: the etc bind is the deployment's" cmp "$MNT/etc/hostname" "$DEP/etc/hostname"

# ---- sealtree.digest=: the deployment found by its commit (a UKI's cmdline)
run "sealtree.digest=$c1"
check "digest: prepare-root succeeds" test "$rc" = 0
check "digest: finds the deployment" test "$(json deployment)" = "$ID"

# ---- maybe without a sealtree word: the disk boots as it is
conf '[composefs]' 'enabled = maybe'
run "root=/dev/vda2 ro"
check "maybe, no word: exit 0" test "$rc" = 0
check "maybe, no word: nothing mounted" test "$(fstype "$MNT")" = "$base_fstype"
check "maybe, no word: fallback recorded" test "$(json root)" = fallback
SEALTREE_RUN_DIR=$RUN admin status >"$T/status"
check "maybe, no word: admin status says FALLBACK on its first line, with the reason" \
	grep -q "^FALLBACK: the root is not a sealtree deployment (booted.json root: fallback): no sealtree= or sealtree.digest= on the kernel command line" <(head -n1 "$T/status")
check "maybe, no word: no deployment is marked booted" bash -c "! grep -q '^\*' '$T/status'"
conf '[composefs]' 'enabled = yes'
run "root=/dev/vda2 ro"
refused "yes, no word: refused" "no sealtree=OS/ID"

# ---- transient /etc and root
conf '[composefs]' 'enabled = yes' '[etc]' 'transient = true'
run "sealtree=debian/$ID"
check "transient etc: succeeds" test "$rc" = 0
check "transient etc: the image's /etc" grep -qx "image etc" "$MNT/etc/hostname"
echo tmp >"$MNT/etc/transient-file" 2>/dev/null && check "transient etc: writes stay off the disk" test ! -e "$DEP/etc/transient-file" -a ! -e "$T/t1/etc/transient-file"
conf '[composefs]' 'enabled = yes' '[root]' 'transient = true'
run "sealtree=debian/$ID"
if [ "$rc" = 0 ]; then
	check "transient root: /usr writable in memory" bash -c "echo x >'$MNT/usr/new-file'"
	check "transient root: the root is a tmpfs-backed overlay over the image" \
		bash -c "findmnt -n -o FSTYPE,OPTIONS --mountpoint '$MNT' | tail -n1 | grep -q '^overlay .*upperdir=$RUN/transient-root'"
else
	fail "transient root" "$(cat "$T/out")"
fi
run "sealtree=debian/$ID"
check "transient root: the write is gone on the next assembly" test ! -e "$MNT/usr/new-file"
conf '[composefs]' 'enabled = yes' '[root]' 'transient-ro = true'
run "sealtree=debian/$ID"
if [ "$rc" = 0 ]; then
	check "transient-ro root: mounted read-only" bash -c "! touch '$MNT/usr/x' 2>/dev/null"
	check "transient-ro root: writable once remounted" bash -c "mount -o remount,rw '$MNT' && echo x >'$MNT/usr/x'"
else
	fail "transient-ro root" "$(cat "$T/out")"
fi
conf '[composefs]' 'enabled = yes' '[sysroot]' 'readonly = false'
run "sealtree=debian/$ID"
if [ "$rc" = 0 ]; then
	check "sysroot.readonly = false: /sysroot writable" bash -c "touch '$MNT/sysroot/x' && rm '$MNT/sysroot/x'"
else
	fail "sysroot.readonly = false" "$(cat "$T/out")"
fi

# ---- refusals
conf '[composefs]' 'enabled = yes'
run "sealtree=debian/$c1.7"
refused "missing deployment" "does not exist"
run "sealtree=debian/$ID sealtree.digest=$(printf '0%.0s' $(seq 64))"
refused "digest disagrees with the deployment" "another commit"
img=$(commit_image "$REPO" "$c1")
cp "$REPO/images/$img" "$T/image.saved"
python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[2000]^=1; open(p,"wb").write(b)' "$REPO/images/$img"
run "sealtree=debian/$ID"
refused "a changed image byte: the image link" "image"
cp "$T/image.saved" "$REPO/images/$img"
mv "$DEP/etc" "$T/etc.saved"
mkdir -p "$T/outside"
ln -s "$T/outside" "$DEP/etc"
run "sealtree=debian/$ID"
refused "a symlink planted for etc/ is not followed" "etc"
rm "$DEP/etc"
mv "$T/etc.saved" "$DEP/etc"

# signed: the chain's links, in order
conf '[composefs]' 'enabled = signed' "keys = $T/ikeys"
run "sealtree=debian/$ID"
refused "signed: an unsigned commit" "signature"
"$SEALTREE" --repo "$REPO" sign "$c1" --key "$T/k2" >/dev/null
run "sealtree=debian/$ID"
refused "signed: a key the initramfs does not trust" "signature"
"$SEALTREE" --repo "$REPO" sign "$c1" --key "$T/k1" >/dev/null
run "sealtree=debian/$ID"
refused "signed: valid signature, but no fs-verity here" "fs-verity"
check "signed: the signature link passed first" grep -q "signature: ok" "$T/out"
cp "$T/k1.pub" "$T/ikeys/revoked.d/"
run "sealtree=debian/$ID"
refused "signed: a revoked key" "signature"
rm "$T/ikeys/revoked.d/k1.pub"
conf '[composefs]' 'enabled = signed' "keys = $T/ikeys" '[rollback]' 'floor-timestamp = 99999999999'
run "sealtree=debian/$ID"
refused "signed: older than the initramfs's floor" "rollback"

# the command line cannot loosen the policy, only tighten it
conf '[composefs]' 'enabled = signed' "keys = $T/ikeys"
run "sealtree=debian/$ID sealtree.composefs=0"
refused "sealtree.composefs=0 does not unseal" "fs-verity"
check "the ignored word is recorded" grep -q "ignored sealtree.composefs=0" "$RUN/booted.json"
run "sealtree=debian/$ID sealtree.composefs=yes"
refused "sealtree.composefs=yes does not unseal" "fs-verity"
conf '[composefs]' 'enabled = yes'
run "sealtree=debian/$ID sealtree.composefs=verity"
refused "sealtree.composefs=verity tightens yes" "fs-verity"
conf '[composefs]' 'enabled = yes' '[composefs]' 'enabled = maybe'
run "sealtree=debian/$ID"
refused "a policy given twice is refused" "twice"
conf '[composefs]' 'enabled = sigend'
run "sealtree=debian/$ID"
refused "a policy typo is refused, not read as weaker" "not a valid value"

unmount_all
done_testing
