#!/bin/sh
# Runs as /ci-test.sh inside the QEMU guest of tests/qemu/kit.sh for
# tests/t1203-trust-verity-qemu.sh (busybox ash, root, a kernel with
# fs-verity, an ext4 -O verity filesystem at /run/store on /dev/vda).
# sealtree and its libraries are in /ci/bin, tests/qemu/guest-lib.sh is
# /ci/guest-lib.sh. Exit 0 = all passed.
#
# The whole sealed chain on a repository with fs-verity: mount
# --require-signature refuses an unsigned commit, mounts a signed one with
# the image measured by the kernel and verity=require, refuses an image
# swapped for another valid image and an older commit with --no-downgrade;
# then a byte of one object is changed on the raw device: the sealed mount
# still mounts (commit, signature and image are intact) but reading that
# file gives EIO.
. /ci/guest-lib.sh
W=$S/trust-test
R=$W/repo
K=$W/keys
st() { sealtree --repo $R "$@"; }
sealed() { st mount --require-signature --keys-dir $K "$@" $W/m; }
image_of() { st show --json "$1" | sed -n 's/.*"image": "\([0-9a-f]*\)".*/\1/p'; }

mkdir -p $W/src/sub $W/m $K/trusted.d $K/revoked.d
cd $W/src
echo "release 1" >release
dd if=/dev/urandom of=obj-1m bs=64k count=16 2>/dev/null
dd if=/dev/urandom of=sub/victim bs=64k count=4 2>/dev/null
cp /bin/busybox sub/busybox
cd /

if st init --verity=require >$W/err 2>&1; then ok "init --verity=require"
else nok "init: $(cat $W/err)"; exit 1; fi
C1=$(st commit -b main --tree $W/src --timestamp 1000 -s one 2>$W/err) || { nok "commit 1: $(cat $W/err)"; exit 1; }
echo "release 2" >$W/src/release
C2=$(st commit -b main --tree $W/src --timestamp 2000 -s two 2>$W/err) || { nok "commit 2: $(cat $W/err)"; exit 1; }
echo "other" >$W/src/release
C3=$(st commit -b other --orphan --tree $W/src --timestamp 3000 -s other 2>$W/err) || { nok "commit 3: $(cat $W/err)"; exit 1; }
sealtree keygen -o $W/vendor >/dev/null && cp $W/vendor.pub $K/trusted.d/ && ok "keygen" || nok "keygen"

if sealed main >$W/out 2>$W/err; then nok "an unsigned commit was mounted"; st umount $W/m
elif grep -q "broken link: signature" $W/err; then ok "unsigned: refused, link signature"
else nok "unsigned: wrong refusal: $(cat $W/err)"; fi

st sign main --key $W/vendor >/dev/null && st sign "$C1" --key $W/vendor >/dev/null &&
	st sign other --key $W/vendor >/dev/null && ok "signed" || nok "sign"
if sealed main >$W/out 2>$W/err; then
	grep -q "verified by the kernel (verity=require)" $W/out && ok "sealed mount with verity=require: $(cat $W/out)" ||
		nok "sealed mount message: $(cat $W/out)"
	bad=0
	for f in obj-1m sub/victim sub/busybox; do cmp -s $W/src/$f $W/m/$f || { bad=1; nok "$f differs"; }; done
	[ "$(cat $W/m/release)" = "release 2" ] || { bad=1; nok "release file"; }
	[ $bad = 0 ] && ok "files read back identical"
	st umount $W/m || umount $W/m
else
	nok "sealed mount of a signed commit: $(cat $W/err)"
fi

# Another valid image of the same repository under this commit's image name.
I2=$(image_of main)
I3=$(image_of other)
ln $R/images/$I2 $W/image.keep
ln -f $R/images/$I3 $R/images/$I2
if sealed main >$W/out 2>$W/err; then nok "a swapped image was mounted"; st umount $W/m
elif grep -q "broken link: image" $W/err; then ok "swapped image: refused, link image: $(cat $W/err)"
else nok "swapped image: wrong refusal: $(cat $W/err)"; fi
ln -f $W/image.keep $R/images/$I2
grep -q "$W/m" /proc/mounts && nok "left mounted after a refusal"

# Replay of the older, validly signed commit.
if sealed main >$W/out 2>$W/err; then st umount $W/m; else nok "remount: $(cat $W/err)"; fi
st ref main "$C1"
if sealed --no-downgrade main >$W/out 2>$W/err; then nok "an older commit was mounted with --no-downgrade"; st umount $W/m
elif grep -q "broken link: rollback" $W/err; then ok "older commit: refused, link rollback"
else nok "older commit: wrong refusal: $(cat $W/err)"; fi
st ref main "$C2"

# ---- tamper: one byte of the victim's object on the raw device
change_byte_on_disk $R/objects/$(digest_path $W/src/sub/victim) 1 77
if sealed --no-downgrade main >$W/out 2>$W/err; then
	ok "sealed mount after tampering an object (commit, signature, image intact)"
	expect_eio $W/m/sub/victim "tampered object through the sealed mount"
	cmp -s $W/src/obj-1m $W/m/obj-1m && ok "an untampered file still reads" || nok "untampered file"
	st umount $W/m || umount $W/m
else
	nok "sealed mount after tampering: $(cat $W/err)"
fi
guest_done
