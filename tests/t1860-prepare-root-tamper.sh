#!/bin/bash
# SPDX-License-Identifier: MIT
# sealtree-prepare-root in mode `signed` against a deployment whose commit
# record, signature or image was changed on the disk after deploying, each
# in the ways an attacker would try: a byte flipped, the file swapped for
# another commit's valid one, truncated, a symlink, removed. Every one is
# refused at the link it breaks; the refusal line names the deployment's
# commit in full (it is what the console shows before boot counting falls
# back); booted.json records the commit and the failed link; nothing stays
# mounted. `admin status` names a changed commit record as corrupt, not as
# missing. The booted test (tests/qemu/boot-check.sh, phases 3-4) does the
# same under QEMU. This kernel has no fs-verity: an intact chain stops at
# the mount (fs-verity) link, after commit, signature and image passed.
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

for v in 1 2; do
	make_tree "$T/t$v"
	mkdir -p "$T/t$v/etc" "$T/t$v/var" "$T/t$v/sysroot"
	echo "version $v" >"$T/t$v/usr/etc/version"
done
new_sysroot debian
c1=$(commit_tree "$T/t1" os/main 1)
c2=$(commit_tree "$T/t2" os/other 2)
"$SEALTREE" keygen -o "$T/k" >/dev/null
st sign "$c1" --key "$T/k" >/dev/null
st sign "$c2" --key "$T/k" >/dev/null
admin deploy --os debian --keys-dir "$KEYS" os/main >/dev/null
ID=$c1.0
mkdir -p "$T/ikeys/trusted.d" "$T/ikeys/revoked.d"
cp "$T/k.pub" "$T/ikeys/trusted.d/"
printf '[composefs]\nenabled = signed\nkeys = %s\n' "$T/ikeys" >"$T/prepare.conf"
C=$REPO/commits
img1=$(commit_image "$REPO" "$c1")
img2=$(commit_image "$REPO" "$c2")
I=$REPO/images
cp "$C/$c1" "$T/commit.saved"
cp "$C/$c1.sig" "$T/sig.saved"
cp "$I/$img1" "$T/image.saved"
restore() {
	rm -f "$C/$c1" "$C/$c1.sig" "$I/$img1"
	cp "$T/commit.saved" "$C/$c1"
	cp "$T/sig.saved" "$C/$c1.sig"
	cp "$T/image.saved" "$I/$img1"
}

unmount_all() { local i; for i in 1 2 3 4 5 6; do umount -R "$MNT" 2>/dev/null || break; done; }
run() {
	unmount_all
	rm -rf "$RUN"
	mount --bind "$SYS" "$MNT"
	rc=0
	"$PREPARE" --config "$T/prepare.conf" --cmdline "root=/dev/vda2 sealtree=debian/$ID" --run-dir "$RUN" "$MNT" \
		>"$T/out" 2>&1 || rc=$?
}
json() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print(v if isinstance(v,str) else json.dumps(v))' "$RUN/booted.json" "$1"; }
base_fstype=$(df --output=fstype "$SYS" | tail -1)
flip() {   # flip FILE OFFSET: one bit of the byte at OFFSET (negative: from the end)
	python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); i=int(sys.argv[2]); b[i]^=1; open(p,"wb").write(b)' "$1" "$2"
}
hexbump() {   # hexbump FILE OFFSET: the hex digit at OFFSET becomes another hex digit (the file still parses)
	python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); i=int(sys.argv[2]); assert chr(b[i]) in "0123456789abcdef"; b[i]=ord("1" if b[i]==ord("0") else "0"); open(p,"wb").write(b)' "$1" "$2"
}
# refused NAME LINK PATTERN: prepare-root refused at LINK, its refusal line
# names the commit in full and says PATTERN, booted.json records both, and
# nothing is left mounted.
refused() {
	local name=$1 link=$2 pattern=$3 line
	line=$(grep -m1 'refusing to boot' "$T/out")
	if [ "$rc" = 0 ]; then fail "$name" "prepare-root succeeded: $(cat "$T/out")"
	elif [[ $line != *"refusing to boot debian/$ID: $link link broken: "* ]]; then
		fail "$name" "not refused at the $link link: $(cat "$T/out")"
	elif [[ $line != *"$c1"* ]] || ! grep -q -- "$pattern" <<<"$line"; then
		fail "$name" "the refusal does not name commit $c1 and '$pattern': $line"
	elif [ "$(json commit)" != "$c1" ] || [ "$(json failed-step)" != "$link" ] || [ "$(json root)" != failed ]; then
		fail "$name" "booted.json: commit '$(json commit)', failed-step '$(json failed-step)', root '$(json root)'"
	elif [ "$(findmnt -n -o FSTYPE --mountpoint "$MNT" | tail -1)" != "$base_fstype" ] || findmnt -n "$RUN/root" >/dev/null 2>&1; then
		fail "$name" "something is still mounted"
	else
		ok "$name"
	fi
	restore
}

# The untouched chain: commit, signature and image pass; the mount needs fs-verity.
run
check "intact: refused only for want of fs-verity" grep -q "fs-verity" "$T/out"
check "intact: the commit link passed" grep -q "commit: ok" "$T/out"
check "intact: the signature link passed" grep -q "signature: ok" "$T/out"
check "intact: the image link passed" grep -q "image: ok" "$T/out"

# ---- the commit record
flip "$C/$c1" 10; run
refused "commit: a byte of the record flipped" commit "do not match its id"
flip "$C/$c1" -2; run
refused "commit: the last field's byte flipped" commit "do not match its id"
cp "$C/$c2" "$C/$c1"; run
refused "commit: swapped for another commit's record" commit "do not match its id"
cp "$C/$c2" "$C/$c1"; cp "$C/$c2.sig" "$C/$c1.sig"; run
refused "commit: swapped with another commit's valid signature too" commit "do not match its id"
: >"$C/$c1"; run
refused "commit: truncated to nothing" commit "$c1"
rm "$C/$c1"; ln -s "$c2" "$C/$c1"; run
refused "commit: a symlink to another commit's record" commit "$c1"
rm "$C/$c1"; run
refused "commit: removed" commit "not in the repository"

# ---- the signature
hexbump "$C/$c1.sig" -10; run
refused "signature: a byte of the signature flipped" signature "bad signature"
sig_key_off=$(grep -bo 'ed25519 ' "$C/$c1.sig" | head -n1 | cut -d: -f1)
hexbump "$C/$c1.sig" $((sig_key_off + 8 + 3)); run
refused "signature: a byte of the key id flipped" signature "untrusted key"
hexbump "$C/$c1.sig" 40; run
refused "signature: the commit it names changed" signature "belongs to commit"
cp "$C/$c2.sig" "$C/$c1.sig"; run
refused "signature: another commit's valid signature" signature "belongs to commit $c2"
rm "$C/$c1.sig"; run
refused "signature: removed" signature "$c1"

# ---- the image
flip "$I/$img1" 2000; run
refused "image: a byte flipped" image "image $img1 is corrupt"
cp "$I/$img2" "$I/$img1"; run
refused "image: swapped for another commit's valid image" image "image $img1 is corrupt"
truncate -s 4096 "$I/$img1"; run
refused "image: truncated" image "$img1"

# ---- admin status names a changed commit record as corrupt, not missing
cp "$C/$c2" "$C/$c1"
admin status >"$T/status" 2>&1 || true
check "status: the swapped record is corrupt, not missing" \
	grep -q "BROKEN: its commit record is corrupt or unreadable: commit $c1: its bytes do not match its id" "$T/status"
restore
rm "$C/$c1"
admin status >"$T/status" 2>&1 || true
check "status: a removed record is missing" grep -q "BROKEN: its commit is missing from the repository" "$T/status"
restore

unmount_all
done_testing
