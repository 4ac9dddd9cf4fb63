#!/bin/sh
# Runs as /ci-test.sh inside the QEMU guest of tests/qemu/kit.sh for
# tests/t1005-repo-verity-qemu.sh (busybox ash, root, a kernel with
# fs-verity, an ext4 -O verity filesystem at /run/store on /dev/vda).
# sealtree and its libraries are in /ci/bin, tests/qemu/guest-lib.sh is
# /ci/guest-lib.sh. Exit 0 = all passed.
#
# A repository created with --verity=require: every object carries
# fs-verity; fsck is clean; a --verity mount reads every file back; an
# object copied without fs-verity is reported and repaired. Then a
# byte of one object is changed on the raw device: fsck names that object
# and reading the file through the mount gives EIO. Then an OCI image in the
# same repository: oci mount --verity reads it, and gives EIO once its
# object is changed on disk.
. /ci/guest-lib.sh
W=$S/repo-test
R=$W/repo
st() { sealtree --repo $R "$@"; }

mkdir -p $W/src/sub $W/m
cd $W/src
echo "small inline file" >inline
dd if=/dev/urandom of=obj-64k bs=4k count=16 2>/dev/null
dd if=/dev/urandom of=obj-1m bs=64k count=16 2>/dev/null
dd if=/dev/urandom of=sub/victim bs=64k count=4 2>/dev/null
cp /bin/busybox sub/busybox
ln -s obj-1m link
cd /

# --verity=require refuses a filesystem without fs-verity (the tmpfs /run).
if sealtree --repo /run/no-verity-repo init --verity=require >$W/err 2>&1; then
	nok "init --verity=require on tmpfs succeeded"
else
	ok "init --verity=require refused on tmpfs: $(cat $W/err)"
fi

if st init --verity=require >$W/err 2>&1; then ok "init --verity=require on ext4 -O verity"
else nok "init --verity=require: $(cat $W/err)"; exit 1; fi
if C=$(st commit -b main --tree $W/src 2>$W/err); then ok "commit: $C"
else nok "commit: $(cat $W/err)"; exit 1; fi

n=0 bad=0
for o in $(cd $R && find objects images -type f); do
	name=$(echo "$o" | sed 's|^objects/||; s|^images/||; s|/||')
	m=$(fsverity measure "$R/$o" 2>&1 | cut -d' ' -f1)
	[ "$m" = "sha256:$name" ] || { bad=$((bad + 1)); nok "$o: fsverity measure says '$m'"; }
	n=$((n + 1))
done
[ $n -ge 5 ] && [ $bad = 0 ] && ok "all $n objects and images have fs-verity, measured as named" ||
	nok "$n objects/images, $bad without the right fs-verity"

# --verity=off on the same filesystem: no object gets fs-verity (the store
# used to try it on every object anyway, and every read then paid it).
if sealtree --repo $W/off init --verity=off >$W/err 2>&1 && sealtree --repo $W/off commit -b main --tree $W/src >/dev/null 2>$W/err; then
	n=0 with=0
	for o in $(find $W/off/objects -type f); do
		n=$((n + 1))
		fsverity measure "$o" >/dev/null 2>&1 && with=$((with + 1))
	done
	[ $n -ge 3 ] && [ $with = 0 ] && ok "verity=off: none of its $n objects has fs-verity" ||
		nok "verity=off: $with of $n objects have fs-verity"
else
	nok "verity=off repository: $(cat $W/err)"
fi

if st fsck >$W/out 2>&1; then ok "fsck clean: $(tail -1 $W/out)"
else nok "fsck of a sound verity repository: $(cat $W/out)"; fi

if st mount --verity main $W/m >$W/err 2>&1; then
	ok "sealtree mount --verity"
	bad=0
	for f in $(cd $W/src && find . -type f); do cmp -s "$W/src/$f" "$W/m/$f" || { bad=1; nok "content of $f differs"; }; done
	[ $bad = 0 ] && ok "every file reads back identical"
	$W/m/sub/busybox true && ok "exec a binary from the verity mount" || nok "exec from the mount"
	st umount $W/m >$W/err 2>&1 || umount $W/m || nok "umount: $(cat $W/err)"
else
	nok "sealtree mount --verity: $(cat $W/err)"
fi

# ---- an object replaced by a plain copy: same bytes, no fs-verity
o2=objects/$(digest_path $W/src/obj-64k)
cp $R/$o2 $W/plain && chmod 644 $W/plain && mv -f $W/plain $R/$o2 && ! fsverity measure $R/$o2 >/dev/null 2>&1 &&
	ok "replaced $o2 by a copy without fs-verity" || nok "plain copy of $o2"
if st fsck >$W/out 2>&1; then nok "fsck passed an object without fs-verity: $(cat $W/out)"
elif grep -q "^error: $o2: fs-verity is not enabled" $W/out; then ok "fsck: $(grep "^error: $o2" $W/out)"
else nok "fsck did not name $o2: $(cat $W/out)"; fi
st fsck --repair >$W/out 2>&1
grep -q "^error: $o2: fs-verity was not enabled (fixed)" $W/out && fsverity measure $R/$o2 >/dev/null 2>&1 &&
	ok "fsck --repair enabled fs-verity on it" || nok "repair of $o2: $(cat $W/out)"
st fsck >$W/out 2>&1 && ok "fsck clean again" || nok "fsck after repair: $(cat $W/out)"

# ---- tamper: one byte of the victim's object on the raw device
o=objects/$(digest_path $W/src/sub/victim)
[ -f $R/$o ] && ok "victim object $o" || nok "victim object $o missing"
change_byte_on_disk $R/$o 1 99

if st fsck >$W/out 2>&1; then nok "fsck passed a tampered object: $(cat $W/out)"
elif grep -q "^error: $o: " $W/out; then ok "fsck names the object: $(grep "^error: $o: " $W/out | head -1)"
else nok "fsck failed without naming $o: $(cat $W/out)"; fi
n=$(grep -c '^error: ' $W/out)
[ "$n" = 1 ] && ok "exactly one error" || nok "$n errors: $(cat $W/out)"

echo 3 >/proc/sys/vm/drop_caches
if st mount --verity main $W/m >$W/err 2>&1; then
	expect_eio $W/m/sub/victim "tampered file through the mount"
	cmp -s $W/src/obj-1m $W/m/obj-1m && ok "an untampered file still reads" || nok "untampered file"
	st umount $W/m >/dev/null 2>&1 || umount $W/m
else
	nok "mount after tampering: $(cat $W/err)"
fi

# --repair quarantines it; fsck then says the image lacks it (not fixable).
st fsck --repair >$W/out 2>&1
grep -q "^error: $o: .*(quarantined as quarantine/$o)" $W/out && [ -e $R/quarantine/$o ] &&
	ok "fsck --repair quarantined the object" || nok "repair: $(cat $W/out)"
grep -q "needs missing object $o (--repair cannot fix this)" $W/out &&
	ok "and says the image needs it" || nok "repair did not report the image: $(cat $W/out)"

# ---- an OCI image (/ci/oci: a layout made on the host by t1005) in the
# same verity repository: imported, mounted by oci mount --verity, read;
# then one byte of its file's object changed on disk: EIO through the mount.
if [ -d /ci/oci ]; then
	if st oci import oci:/ci/oci:1 --name app:1 >$W/out 2>&1; then ok "oci import into the verity repository"
	else nok "oci import: $(cat $W/out)"; fi
	oo=objects/$(st dump oci/app:1 | awk '$1 == "/app/data" { print $9 }')
	m=$(fsverity measure "$R/$oo" 2>&1 | cut -d' ' -f1)
	[ "$m" = "sha256:$(echo "$oo" | sed 's|^objects/||; s|/||')" ] && ok "the image's object has fs-verity, measured as named" ||
		nok "the image's object $oo: fsverity measure says '$m'"
	mkdir -p $W/om
	if st oci mount --verity app:1 $W/om >$W/err 2>&1; then
		ok "sealtree oci mount --verity"
		cmp -s /ci/oci-data $W/om/app/data && ok "the image's file reads back identical" || nok "the image's file differs"
		st umount $W/om >/dev/null 2>&1 || umount $W/om
	else
		nok "sealtree oci mount --verity: $(cat $W/err)"
	fi
	change_byte_on_disk $R/$oo 0 7
	if st oci mount --verity app:1 $W/om >$W/err 2>&1; then
		expect_eio $W/om/app/data "tampered image file through oci mount --verity"
		st umount $W/om >/dev/null 2>&1 || umount $W/om
	else
		nok "oci mount after tampering: $(cat $W/err)"
	fi
fi
guest_done
