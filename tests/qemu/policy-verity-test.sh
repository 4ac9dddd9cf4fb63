#!/bin/sh
# Runs as /ci-test.sh inside the QEMU guest of tests/qemu/kit.sh for
# tests/t1851-policy-verity-qemu.sh (busybox ash, root, a kernel with
# fs-verity, an ext4 -O verity store at /run/store). sealtree,
# sealtree-prepare-root and mkcomposefs are in /ci/bin.
#
# fs-verity on only some folders: a commit made with --verity-policy
# (/usr/bin, /usr/lib) mounts with overlay verity=on; the object of a file
# under /usr/bin and of a file under /etc are each replaced by a copy with
# one byte changed and no fs-verity (what someone with write access to
# objects/ can do): the file under the policy reads EIO, the one outside
# reads (unchecked, by design), the rest reads back identical. The same
# tree committed without a policy mounts with verity=require and both read
# EIO. An image that claims the policy but lacks a digest under it is
# refused by sealtree mount, fsck and prepare-root (signed mode), naming
# the file; the good signed commit boots through prepare-root with
# verity=on and booted.json records the policy.
. /ci/guest-lib.sh
W=$S/policy-test
SYS=$W/sys
R=$SYS/sealtree/repo
st() { sealtree --repo $R "$@"; }
opts_of() { grep " $1 overlay " /proc/mounts | head -1; }

mkdir -p $W/os/usr/bin $W/os/usr/lib/modules/6.1.0-test $W/os/usr/etc $W/os/etc $W/os/var $W/os/sysroot \
	$W/os/usr/share $W/m $W/mnt $W/ikeys/trusted.d $W/ikeys/revoked.d
cd $W/os
dd if=/dev/urandom of=usr/bin/tool bs=64k count=4 2>/dev/null
dd if=/dev/urandom of=usr/lib/libx bs=64k count=4 2>/dev/null
dd if=/dev/urandom of=usr/share/data bs=64k count=4 2>/dev/null
dd if=/dev/urandom of=usr/lib/modules/6.1.0-test/vmlinuz bs=1k count=70 2>/dev/null
dd if=/dev/urandom of=usr/lib/modules/6.1.0-test/initramfs.img bs=1k count=30 2>/dev/null
dd if=/dev/urandom of=etc/conf bs=64k count=2 2>/dev/null
echo hostname-default >usr/etc/hostname
cd /
printf '# code\n/usr/bin\n/usr/lib\n' >$W/policy

if sealtree admin init-fs --verity=require $SYS >$W/err 2>&1 && sealtree admin --sysroot $SYS os-init debian >>$W/err 2>&1
then ok "sysroot with a verity repository"; else nok "sysroot: $(cat $W/err)"; guest_done; exit 1; fi
if C=$(st commit -b os/main --tree $W/os --verity-policy $W/policy -s v1 --version 1 2>$W/err); then
	ok "commit --verity-policy: $C"
else
	nok "commit --verity-policy: $(cat $W/err)"; guest_done; exit 1
fi
P=$(st commit -b os/plain --tree $W/os -s plain --version 1 2>$W/err) && ok "commit without policy: $P" ||
	nok "plain commit: $(cat $W/err)"
st fsck >$W/out 2>&1 && ok "fsck clean" || nok "fsck: $(cat $W/out)"

# ---- sealtree mount: verity=on for the policy image, verity=require without
if st mount os/main $W/m >$W/err 2>&1; then
	opts_of $W/m | grep -q 'verity=on' && ok "policy image mounted with verity=on" ||
		nok "policy mount options: $(opts_of $W/m)"
	bad=0
	for f in usr/bin/tool usr/lib/libx usr/share/data etc/conf; do cmp -s $W/os/$f $W/m/$f || { bad=1; nok "$f differs"; }; done
	[ $bad = 0 ] && ok "every file reads back identical"
	st umount $W/m >/dev/null 2>&1 || umount $W/m
else
	nok "mount of the policy commit: $(cat $W/err)"
fi
if st mount os/plain $W/m >$W/err 2>&1; then
	opts_of $W/m | grep -q 'verity=require' && ok "plain image mounted with verity=require" ||
		nok "plain mount options: $(opts_of $W/m)"
	st umount $W/m >/dev/null 2>&1 || umount $W/m
else
	nok "mount of the plain commit: $(cat $W/err)"
fi

# ---- prepare-root, signed: the good commit boots with verity=on
sealtree keygen -o $W/k1 >/dev/null && cp $W/k1.pub $W/ikeys/trusted.d/
echo '* none' >$W/ikeys/policy.conf
st sign $C --key $W/k1 >/dev/null 2>&1 || nok "sign $C"
sealtree admin --sysroot $SYS deploy --os debian --keys-dir $W/ikeys os/main >$W/err 2>&1 && ok "deployed $C.0" || nok "deploy: $(cat $W/err)"
printf '[composefs]\nenabled = signed\nkeys = %s\n' $W/ikeys >$W/prepare.conf
# unmount_mnt: everything on and below $W/mnt, deepest first.
unmount_mnt() {
	for i in 1 2 3 4 5 6 7 8; do
		m=$(grep " $W/mnt[ /]" /proc/mounts | cut -d' ' -f2 | sort -r | head -1)
		[ -n "$m" ] || break
		umount $m 2>/dev/null || umount -l $m
	done
}
prepare() {
	unmount_mnt
	rm -rf $W/run
	mount --bind $SYS $W/mnt
	sealtree-prepare-root --config $W/prepare.conf --cmdline "sealtree=debian/$1" --run-dir $W/run $W/mnt >$W/out 2>&1
}
if prepare $C.0; then
	ok "prepare-root signed: the policy commit boots"
	opts_of $W/mnt | grep -q 'verity=on' && ok "prepare-root mounted the root with verity=on" ||
		nok "prepare-root root options: $(grep " $W/mnt " /proc/mounts)"
	grep -q '"verity-policy": "/usr/bin\\n/usr/lib\\n"' $W/run/booted.json &&
		ok "booted.json records the policy" || nok "booted.json: $(cat $W/run/booted.json)"
	cmp -s $W/os/usr/bin/tool $W/mnt/usr/bin/tool && ok "the booted root reads /usr/bin/tool" || nok "read tool"
else
	nok "prepare-root signed with a policy: $(cat $W/out)"
fi
unmount_mnt

# ---- tamper: swap two objects for plain copies with one byte changed
n=0
for f in usr/bin/tool etc/conf; do
	n=$((n + 1))
	o=$R/objects/$(digest_path $W/os/$f)
	echo "$o" >$W/orig.$n.path
	cp $o $W/x && printf 'X' | dd of=$W/x bs=1 seek=100 conv=notrunc 2>/dev/null && chmod 644 $W/x &&
		mv $o $W/orig.$n && mv $W/x $o &&
		! fsverity measure $o >/dev/null 2>&1 && ok "replaced the object of /$f (one byte, no fs-verity)" ||
		nok "replace the object of /$f"
done
echo 3 >/proc/sys/vm/drop_caches
if st mount os/main $W/m >$W/err 2>&1; then
	expect_eio $W/m/usr/bin/tool "policy image: tampered /usr/bin/tool (under /usr/bin)"
	if cat $W/m/etc/conf >$W/conf.read 2>$W/err && ! cmp -s $W/conf.read $W/os/etc/conf; then
		ok "policy image: tampered /etc/conf (outside the policy) reads, unchecked"
	else
		nok "policy image: /etc/conf: $(cat $W/err)"
	fi
	cmp -s $W/os/usr/lib/libx $W/m/usr/lib/libx && ok "policy image: /usr/lib/libx still reads" || nok "libx"
	cmp -s $W/os/usr/share/data $W/m/usr/share/data && ok "policy image: /usr/share/data still reads" || nok "data"
	st umount $W/m >/dev/null 2>&1 || umount $W/m
else
	nok "mount after tampering: $(cat $W/err)"
fi
if st mount os/plain $W/m >$W/err 2>&1; then
	expect_eio $W/m/usr/bin/tool "plain image: tampered /usr/bin/tool"
	expect_eio $W/m/etc/conf "plain image: tampered /etc/conf"
	st umount $W/m >/dev/null 2>&1 || umount $W/m
else
	nok "mount of the plain commit after tampering: $(cat $W/err)"
fi
# Put the original objects (with their fs-verity) back.
for n in 1 2; do mv -f $W/orig.$n "$(cat $W/orig.$n.path)"; done
st fsck >$W/out 2>&1 && ok "objects restored, fsck clean" || nok "fsck after restore: $(cat $W/out)"

# ---- an image that claims the policy but lacks a digest under /usr/bin
st dump os/main | sed 's|^\(/usr/bin/tool [^ ]* [^ ]* [^ ]* [^ ]* [^ ]* [^ ]* [^ ]* [^ ]* [^ ]*\) [0-9a-f]*|\1 -|' >$W/lie.dump
head -1 $W/lie.dump | grep -q 'verity-policy' && grep '^/usr/bin/tool ' $W/lie.dump | grep -q ' -$' ||
	nok "lying dump: $(grep -E '^/ |^/usr/bin/tool ' $W/lie.dump)"
mkcomposefs --from-file $W/lie.dump $R/tmp/lie.img && fsverity enable $R/tmp/lie.img &&
	LI=$(fsverity measure $R/tmp/lie.img | cut -d' ' -f1 | sed 's/^sha256://') && mv $R/tmp/lie.img $R/images/$LI &&
	ok "lying image $LI in images/" || nok "make the lying image"
# A commit naming it: the good commit's record with the image and its size changed.
sed "s/^image [0-9a-f]*$/image $LI/; s/^image-size .*/image-size $(wc -c <$R/images/$LI)/" $R/commits/$C >$W/lie.commit
L=$(sha256sum $W/lie.commit | cut -d' ' -f1)
cp $W/lie.commit $R/commits/$L && st ref os/lie $L >/dev/null 2>&1 && st show os/lie >/dev/null 2>&1 &&
	ok "lying commit $L" || nok "lying commit: $(st show os/lie 2>&1)"
if st mount os/lie $W/m >$W/err 2>&1; then
	nok "sealtree mount accepted the lying image"; st umount $W/m >/dev/null 2>&1 || umount $W/m
elif grep -q "file '/usr/bin/tool' lies under '/usr/bin'" $W/err && ! grep -q " $W/m " /proc/mounts; then
	ok "sealtree mount refuses the lying image: $(cat $W/err)"
else
	nok "mount of the lying image: $(cat $W/err)"
fi
st fsck >$W/out 2>&1
grep -q "^error: images/$LI: file '/usr/bin/tool' lies under '/usr/bin'" $W/out && ok "fsck names the lying image" ||
	nok "fsck: $(cat $W/out)"
st sign $L --key $W/k1 >/dev/null 2>&1 || nok "sign $L"
if sealtree admin --sysroot $SYS deploy --os debian --keys-dir $W/ikeys os/lie >$W/err 2>&1; then
	ok "deployed the lying commit $L.0"
	if prepare $L.0; then
		nok "prepare-root booted the lying image: $(cat $W/out)"
	elif grep -q "lies under '/usr/bin'" $W/out && grep -q '"failed-step": "mount"' $W/run/booted.json &&
		! grep -q " $W/mnt overlay " /proc/mounts; then
		ok "prepare-root refuses the lying image, nothing mounted"
	else
		nok "prepare-root on the lying image: $(cat $W/out) $(cat $W/run/booted.json 2>/dev/null)"
	fi
else
	nok "deploy of the lying commit: $(cat $W/err)"
fi
unmount_mnt
guest_done
