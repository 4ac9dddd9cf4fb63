#!/bin/sh
# Runs as /ci-test.sh inside the QEMU guest of tests/qemu/kit.sh (busybox
# ash, root, a kernel with fs-verity, an ext4 -O verity store at /run/store).
# Our binaries are in /ci/bin with their libraries, tests/qemu/guest-lib.sh
# is /ci/guest-lib.sh. Exit 0 = all passed.
. /ci/guest-lib.sh
W=$S/ci
OBJ=$W/objects
objpath() { p=$(digest_path "$1") && echo "$OBJ/$p"; }
# mount_fails DESC REGEX ARGS...: mount.composefs must exit 1 with REGEX in its message.
mount_fails() {
	d=$1 re=$2
	shift 2
	if mount.composefs "$@" >$W/err 2>&1; then nok "$d: mount succeeded"; umount "$W/m" 2>/dev/null
	elif grep -qE "$re" $W/err; then ok "$d ($(cat $W/err))"
	else nok "$d: message '$(cat $W/err)' lacks /$re/"; fi
}

mkdir -p $W/src/sub $W/m $OBJ
cd $W/src
echo "small inline file" >inline
dd if=/dev/urandom of=obj-64k bs=4k count=16 2>/dev/null
dd if=/dev/urandom of=obj-1m bs=64k count=16 2>/dev/null # multi-level Merkle tree
dd if=/dev/urandom of=sub/victim-bytes bs=64k count=4 2>/dev/null
dd if=/dev/urandom of=sub/victim-swap bs=4k count=3 2>/dev/null
dd if=/dev/urandom of=sub/victim-plain bs=4k count=5 2>/dev/null
cp /bin/busybox sub/busybox
ln -s obj-1m link
chmod 750 sub/busybox
cd /

# ---- image + store with fs-verity on everything -----------------------------
if mkcomposefs --digest-store=$OBJ $W/src $W/img.tmp >$W/err 2>&1; then ok "mkcomposefs --digest-store"
else nok "mkcomposefs: $(cat $W/err)"; exit 1; fi
n=0 had=0
for o in $(find $OBJ -type f); do
	# mkcomposefs tries to enable fs-verity itself; do it where it did not.
	if fsverity measure "$o" >/dev/null 2>&1; then had=$((had + 1)); else fsverity enable "$o" || nok "fsverity enable $o"; fi
	n=$((n + 1))
done
[ "$n" -ge 6 ] && ok "$n objects in the store, all with fs-verity ($had enabled by mkcomposefs)" || nok "only $n objects in the store"
cp $W/img.tmp $W/img-noverity
fsverity enable $W/img.tmp && mv $W/img.tmp $W/img || nok "fsverity enable image"
D=$(fsverity measure $W/img | cut -d' ' -f1 | sed 's/^sha256://')
[ ${#D} = 64 ] && ok "image digest $D" || nok "image digest '$D'"

# ---- good mount -----------------------------------------------------------
if mount.composefs -o basedir=$OBJ,digest=$D $W/img $W/m 2>$W/err; then ok "mount with digest= (implies verity)"
else nok "mount with digest=: $(cat $W/err)"; fi
grep " $W/m " /proc/mounts | grep -q 'verity=require' && ok "overlay has verity=require" ||
	nok "verity=require missing: $(grep " $W/m " /proc/mounts)"
bad=0
for f in $(cd $W/src && find . -type f); do cmp -s "$W/src/$f" "$W/m/$f" || { bad=1; nok "content of $f differs"; }; done
[ $bad = 0 ] && ok "every file reads back identical under verity=require"
[ "$(readlink $W/m/link)" = obj-1m ] && ok "symlink" || nok "symlink: $(readlink $W/m/link)"
$W/m/sub/busybox true && ok "exec a binary from a verity object" || nok "exec busybox from the mount"
umount $W/m

# ---- digest= refusals -------------------------------------------------------------
mount_fails "wrong digest= refused" "wrong fs-verity digest" -o basedir=$OBJ,digest=$(echo "$D" | tr 0-9a-f 1-9a-f0) $W/img $W/m
mount_fails "digest= on an image without fs-verity refused" "no fs-verity" -o basedir=$OBJ,digest=$D $W/img-noverity $W/m
SEALTREE_MOUNT_FORCE=loop mount_fails "wrong digest= refused (loop path)" "wrong fs-verity digest" \
	-o basedir=$OBJ,digest=0000000000000000000000000000000000000000000000000000000000000000 $W/img $W/m

# ---- tampering ----------------------------------------------------------------
# (a) an object swapped for another fs-verity file: metacopy digest mismatch
o=$(objpath $W/src/sub/victim-swap)
dd if=/dev/urandom of=$W/evil bs=4k count=3 2>/dev/null
fsverity enable $W/evil && mv -f $W/evil "$o" && ok "swapped victim-swap's object for another verity file" || nok "swap object"
# (b) an object replaced by a plain copy without fs-verity
o=$(objpath $W/src/sub/victim-plain)
cp $W/src/sub/victim-plain $o.new && mv -f $o.new "$o" && ok "replaced victim-plain's object with a non-verity copy" || nok "plain copy"
# (c) one byte changed on disk inside an fs-verity object (the store stays
# mounted: the kit's own root overlay uses it), then the page cache dropped
change_byte_on_disk "$(objpath $W/src/sub/victim-bytes)" 2 7
for legacy in "" legacy-overlay; do
	tag=${legacy:-new-api}
	if SEALTREE_MOUNT_FORCE=$legacy mount.composefs -o basedir=$OBJ,digest=$D $W/img $W/m 2>$W/err; then
		ok "[$tag] mount after tampering"
	else nok "[$tag] mount after tampering: $(cat $W/err)"; continue; fi
	echo 3 >/proc/sys/vm/drop_caches
	cmp -s $W/src/obj-1m $W/m/obj-1m && ok "[$tag] untampered object still reads" || nok "[$tag] untampered object"
	expect_eio $W/m/sub/victim-swap "[$tag] object swapped for another verity file"
	expect_eio $W/m/sub/victim-plain "[$tag] object without fs-verity"
	expect_eio $W/m/sub/victim-bytes "[$tag] object with a changed byte"
	expect_eio "$(objpath $W/src/sub/victim-bytes)" "[$tag] control: the changed object read directly"
	umount $W/m
done
# control: without verity the swapped object is served silently
if mount.composefs -o basedir=$OBJ $W/img $W/m 2>$W/err; then
	cat $W/m/sub/victim-swap >/dev/null 2>&1 && ! cmp -s $W/src/sub/victim-swap $W/m/sub/victim-swap &&
		ok "control: without verity the swapped object is served (wrong bytes)" ||
		nok "control: swapped object without verity"
	umount $W/m
else nok "control mount: $(cat $W/err)"; fi
guest_done
