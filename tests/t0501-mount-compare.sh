#!/bin/bash
# t0501-mount-compare: mount composefs images with mount.composefs and check
# what the kernel shows, path by path, against the source tree; the kernel
# fallbacks (loop device, mount(2) for EROFS and overlay) against the
# preferred path; rw with upperdir/workdir; idmap; digest= refusal without
# fs-verity; option errors; and that no failure leaves mounts, loop devices
# or temporary directories behind. Needs root with EROFS and overlayfs.
# Env: T0501_SYSDIRS="dir ..." system directories to image (default
# /usr/share/doc /usr/share/zoneinfo; /usr/share works and takes ~1 minute).
source "$(dirname "$0")/test-lib.sh"
need_root
[ -x "$MOUNT_COMPOSEFS" ] || skip_all "mount.composefs not built ($MOUNT_COMPOSEFS)"
COMPARE=$SOURCE_DIR/tests/compare-trees.sh
W=$TEST_TMP
USERNS_PIDS=()

cleanup() {
	set +e
	for p in "${USERNS_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	# Innermost first: everything we mounted lives under $W.
	findmnt -rn -o TARGET | grep -F "$W/" | sort -r | while read -r m; do umount -l "$m"; done
	cleanup_test_tmp
}
trap cleanup EXIT

is_mounted() { findmnt -rn --mountpoint "$1" >/dev/null; }
mount_opts() { findmnt -rn -o OPTIONS --mountpoint "$1"; }
# find exits 1 when an entry vanishes while it looks (another test's mount
# removing its own directory): with pipefail that ended the test silently.
tmpdirs() { { find /tmp -maxdepth 1 -name '.composefs.*' 2>/dev/null || true; } | sort; }
# left_tmpdirs BEFORE: the temporary directories that appeared since BEFORE
# and are still there 3 s later. Mounts of other tests running at the same
# time make and remove their own in milliseconds; one left behind stays.
left_tmpdirs() {
	local new i
	for i in 1 2 3 4; do
		new=$(comm -13 <(echo "$1") <(tmpdirs) | grep . || true)
		[ -z "$new" ] && return 0
		[ $i = 4 ] || sleep 1
	done
	echo "$new"
}
loops_for() { losetup -a 2>/dev/null | grep -F "$1" || true; }

# mount_ok NAME IMAGE DIR OPTS [env...]: mount, record ok/fail.
mount_ok() {
	local name=$1 img=$2 dir=$3 opts=$4
	shift 4
	mkdir -p "$dir"
	if env "$@" "$MOUNT_COMPOSEFS" -o "$opts" "$img" "$dir" 2>"$W/err"; then
		ok "$name"
	else
		fail "$name" "$(cat "$W/err")"
		return 1
	fi
}

# mount_fails NAME REGEX IMAGE DIR OPTS: must exit 1 with a message matching
# REGEX, mount nothing and leave no temp dir or loop device behind.
mount_fails() {
	local name=$1 re=$2 img=$3 dir=$4 opts=$5 rc=0 before left
	before=$(tmpdirs)
	"$MOUNT_COMPOSEFS" -o "$opts" "$img" "$dir" 2>"$W/err" || rc=$?
	if [ "$rc" != 1 ]; then
		fail "$name" "exit $rc, expected 1 ($(cat "$W/err"))"
	elif ! grep -qE "$re" "$W/err"; then
		fail "$name" "message '$(cat "$W/err")' does not match /$re/"
	elif [ -d "$dir" ] && is_mounted "$dir"; then
		fail "$name" "something is mounted on $dir"
	elif left=$(left_tmpdirs "$before") && [ -n "$left" ]; then
		fail "$name" "left a temporary directory: $left"
	elif [ -n "$(loops_for "$img")" ]; then
		fail "$name" "left a loop device: $(loops_for "$img")"
	else
		ok "$name"
	fi
}

compare() { # NAME SRC MNT
	if "$COMPARE" "$2" "$3" >"$W/diff" 2>&1; then ok "$1"; else
		fail "$1" "$(head -20 "$W/diff")"
	fi
}

# Dummy objects of the right sizes for every payload of a dumpfile: enough
# for a mount without verity, where the overlay does not look inside.
make_dummy_objects() { # DUMP DIR
	python3 - "$1" "$2" <<'PY'
import os, re, sys
for line in open(sys.argv[1], encoding="latin-1"):
    f = line.split(" ")
    if len(f) > 9 and f[2].startswith("10") and re.fullmatch(r"[0-9a-f]{2}/[0-9a-f]{62}", f[8]):
        p = os.path.join(sys.argv[2], f[8])
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as o:
            o.truncate(int(f[1]))
PY
}

mkdir -p "$W/e" "$W/dg" "$W/idm2"

# ---- 0. kernel support -------------------------------------------------------
for fs in erofs overlay; do
	grep -qw "$fs" /proc/filesystems || modprobe "$fs" 2>/dev/null || true
	grep -qw "$fs" /proc/filesystems || skip_all "kernel has no $fs filesystem"
done

# ---- 1. reference image, dummy objects: fallbacks against the preferred path --
REF=$W/ref
mkdir -p "$REF/obj"
reference_image 1 "$REF/g1.img"
gentree dump 1 >"$REF/g1.dump"
make_dummy_objects "$REF/g1.dump" "$REF/obj"
[ -n "$(find "$REF/obj" -type f)" ] || fail "dummy objects" "no payloads found in the dump"

before_tmp=$(tmpdirs)
mount_ok "mount reference image (new API, file-backed)" "$REF/g1.img" "$REF/m0" "basedir=$REF/obj" || true
opts=$(mount_opts "$REF/m0")
case "$opts" in
*lowerdir+=/tmp/.composefs.*datadir+=$REF/obj*redirect_dir=on*metacopy=on*) ok "overlay uses lowerdir+/datadir+" ;;
*) fail "overlay uses lowerdir+/datadir+" "options: $opts" ;;
esac
case "$opts" in ro,*) ok "mount without upperdir is read-only" ;; *) fail "read-only" "$opts" ;; esac
left=$(left_tmpdirs "$before_tmp")
[ -z "$left" ] && ok "temporary EROFS directory removed" || fail "temp dir removed" "$left"
findmnt -rn -t erofs -o SOURCE,TARGET | grep -q composefs && fail "EROFS detached" "$(findmnt -t erofs)" || ok "EROFS mount detached"
[ -z "$(loops_for "$REF/g1.img")" ] && ok "no loop device for a file-backed mount" || fail "no loop" "$(loops_for "$REF/g1.img")"
[ "$(stat -c %s "$REF/m0/0c")" = 229202 ] && ok "external file size through the overlay" || fail "size of /0c" "$(stat -c %s "$REF/m0/0c")"
if (echo x >"$REF/m0/newfile") 2>"$W/err"; then fail "write to ro mount" "succeeded"; else
	grep -q 'Read-only file system' "$W/err" && ok "write to read-only mount refused" || fail "write refused" "$(cat "$W/err")"
fi

for force in loop legacy-erofs legacy-overlay loop,legacy-erofs legacy-erofs,legacy-overlay loop,legacy-erofs,legacy-overlay; do
	m=$REF/m-${force//,/-}
	mount_ok "mount with SEALTREE_MOUNT_FORCE=$force" "$REF/g1.img" "$m" "basedir=$REF/obj" SEALTREE_MOUNT_FORCE=$force || continue
	compare "[$force] same tree as the preferred path" "$REF/m0" "$m"
	opts=$(mount_opts "$m")
	case $force in
	*legacy-overlay*) [[ $opts == *"lowerdir=/tmp/.composefs."*"::$REF/obj"* ]] && ok "[$force] legacy overlay with '::' data-only layer" ||
		fail "[$force] legacy lowerdir" "$opts" ;;
	*) [[ $opts == *"datadir+=$REF/obj"* ]] && ok "[$force] new-API overlay" || fail "[$force] new-API overlay" "$opts" ;;
	esac
	case $force in
	*loop*) [ -n "$(loops_for "$REF/g1.img")" ] && ok "[$force] EROFS on a loop device" || fail "[$force] loop device" "none attached" ;;
	esac
	umount "$m"
	[ -z "$(loops_for "$REF/g1.img")" ] && ok "[$force] loop device gone after umount" || fail "[$force] loop cleared" "$(loops_for "$REF/g1.img")"
done
left=$(left_tmpdirs "$before_tmp")
[ -z "$left" ] && ok "no temporary directories left by the fallbacks" || fail "fallback temp dirs" "$left"

# Paths with ',' and ':' (escaped in -o; escaped again for mount(2)).
odd=$W/o,dd:dir
cp -a "$REF/obj" "$odd"
mkdir -p "$odd-up" "$odd-work"
esc() { local s=${1//\\/\\\\}; s=${s//,/\\,}; printf '%s' "${s//:/\\:}"; }
for force in "" legacy-overlay; do
	m=$REF/m-odd-${force:-new}
	mount_ok "[${force:-new API}] basedir/upperdir/workdir with ',' and ':'" "$REF/g1.img" "$m" \
		"basedir=$(esc "$odd"),upperdir=$(esc "$odd-up"),workdir=$(esc "$odd-work"),rw" SEALTREE_MOUNT_FORCE=$force || continue
	echo "written via ${force:-new}" >"$m/file-${force:-new}" &&
		grep -q "written via" "$odd-up/file-${force:-new}" && ok "[${force:-new API}] write lands in the odd upperdir" ||
		fail "[${force:-new API}] write to odd upper" "$(ls -la "$odd-up")"
	umount "$m"
done

# ---- 2. rw with upperdir/workdir -------------------------------------------
RW=$W/rw
mkdir -p "$RW/up" "$RW/work"
if mount_ok "mount rw with upperdir/workdir" "$REF/g1.img" "$RW/m" "basedir=$REF/obj,upperdir=$RW/up,workdir=$RW/work"; then
	case "$(mount_opts "$RW/m")" in rw,*) ok "upperdir mount is rw" ;; *) fail "rw" "$(mount_opts "$RW/m")" ;; esac
	echo hello >"$RW/m/new-file" && [ "$(cat "$RW/up/new-file")" = hello ] && ok "new file lands in upperdir" ||
		fail "new file in upper" "$(ls -la "$RW/up")"
	echo more >>"$RW/m/0c" && [ "$(stat -c %s "$RW/up/0c")" = 229207 ] && ok "appending to an image file copies it up" ||
		fail "copy-up" "$(ls -la "$RW/up")"
	[ "$(stat -c %s "$REF/obj/"*/* | sort -n | tail -1)" -ge 0 ] # objects untouched below
	rm "$RW/m/0b" -rf && [ ! -e "$RW/m/0b" ] && [ -c "$RW/up/0b" ] && ok "deleting an image dir leaves a whiteout in upper" ||
		fail "whiteout" "$(ls -la "$RW/up")"
	# The comparison itself must notice changes, or every "equals" above is void.
	if "$COMPARE" "$REF/m0" "$RW/m" >"$W/diff" 2>&1; then fail "compare-trees notices changes" "no difference reported"
	elif grep -q '^DIFF /new-file: only in the mount' "$W/diff" && grep -q '^DIFF /0c: size' "$W/diff" &&
		grep -q '^DIFF /0b: missing in the mount' "$W/diff"; then ok "compare-trees reports added, changed and removed paths"
	else fail "compare-trees notices changes" "$(cat "$W/diff")"; fi
	umount "$RW/m"
fi
rm -rf "$RW/work"/*
if mount_ok "mount ro with upperdir/workdir" "$REF/g1.img" "$RW/m" "basedir=$REF/obj,upperdir=$RW/up,workdir=$RW/work,ro"; then
	[ -e "$RW/m/new-file" ] && [ ! -e "$RW/m/0b" ] && ok "ro mount shows the upper layer" || fail "ro upper" "$(ls "$RW/m")"
	(echo x >"$RW/m/nope") 2>/dev/null && fail "ro with upper refuses writes" "write succeeded" || ok "ro with upper refuses writes"
	umount "$RW/m"
fi

# ---- 3. idmap ------------------------------------------------------------------
unshare --user --map-user=1000 --map-group=1000 sleep 600 </dev/null >/dev/null 2>&1 &
USERNS_PIDS+=($!)
sleep 0.3
if mount_ok "idmapped mount" "$REF/g1.img" "$W/idm" "basedir=$REF/obj,idmap=/proc/${USERNS_PIDS[0]}/ns/user"; then
	# The namespace maps its 1000 to our 0: files owned by 1000 show as 0,
	# everything else has no mapping and shows as the overflow id.
	if python3 - "$REF/m0" "$W/idm" <<'PY'; then ok "idmap shifts every owner"; else fail "idmap owners" "see above"; fi
import os, sys
bad = 0
for d, dirs, files in os.walk(sys.argv[1]):
    for n in dirs + files + ["."]:
        p = os.path.join(d, n)
        q = os.path.join(sys.argv[2], os.path.relpath(p, sys.argv[1]))
        a, b = os.lstat(p), os.lstat(q)
        for x, y in ((a.st_uid, b.st_uid), (a.st_gid, b.st_gid)):
            want = 0 if x == 1000 else 65534
            if y != want:
                bad += 1
                print(f"{q}: id {y}, expected {want} (from {x})")
sys.exit(1 if bad else 0)
PY
	umount "$W/idm"
fi
mount_fails "idmap with a non-namespace file" "idmap|mount_setattr|Invalid argument|Bad file" "$REF/g1.img" "$W/idm2" "basedir=$REF/obj,idmap=/etc/hostname"
mount_fails "idmap path that does not exist" "cannot open user namespace" "$REF/g1.img" "$W/idm2" "basedir=$REF/obj,idmap=/nonexistent"

# ---- 4. verity options on a kernel without fs-verity -----------------------
zero=$(printf '0%.0s' {1..64})
if fsverity measure "$REF/g1.img" >/dev/null 2>&1; then
	fail "digest= refusal" "this filesystem has fs-verity on the image; the check below assumes it has none"
else
	mount_fails "digest= refused: image has no fs-verity" "image has no fs-verity" "$REF/g1.img" "$W/dg" "basedir=$REF/obj,digest=$zero"
	SEALTREE_MOUNT_FORCE=loop mount_fails "digest= refused with loop fallback forced too" "image has no fs-verity" "$REF/g1.img" "$W/dg" "basedir=$REF/obj,digest=sha256:$zero"
fi
mount_fails "digest= must be 64 hex digits" "64 hex digits" "$REF/g1.img" "$W/dg" "basedir=$REF/obj,digest=abc"
if mount_ok "verity mounts with verity=require" "$REF/g1.img" "$W/ver" "basedir=$REF/obj,verity"; then
	[[ $(mount_opts "$W/ver") == *verity=require* ]] && ok "verity=require in the mount options" || fail "verity=require" "$(mount_opts "$W/ver")"
	# Dummy objects have no fs-verity: external files must not be readable.
	cat "$W/ver/0c" >/dev/null 2>"$W/err" && fail "verity=require refuses objects without fs-verity" "read succeeded" ||
		{ grep -q 'Input/output error' "$W/err" && ok "verity=require: object without fs-verity gives EIO" || fail "EIO" "$(cat "$W/err")"; }
	umount "$W/ver"
fi
mount_ok "tryverity mounts" "$REF/g1.img" "$W/tv" "basedir=$REF/obj,tryverity" && umount "$W/tv"

# ---- 5. option and image errors leave nothing behind ------------------------
mount_fails "unknown option" "unknown mount option 'bogus'" "$REF/g1.img" "$W/e" "basedir=$REF/obj,bogus"
mount_fails "basedir required" "basedir= is required" "$REF/g1.img" "$W/e" "ro"
mount_fails "upperdir needs workdir" "together" "$REF/g1.img" "$W/e" "basedir=$REF/obj,upperdir=$W"
mount_fails "not a composefs image" "not a composefs image" "$REF/g1.dump" "$W/e" "basedir=$REF/obj"
mount_fails "missing image" "cannot open image" "$W/nonexistent.img" "$W/e" "basedir=$REF/obj"
mount_fails "missing basedir: overlay step fails" "overlay" "$REF/g1.img" "$W/e" "basedir=$W/no-such-objects"
SEALTREE_MOUNT_FORCE=legacy-overlay mount_fails "missing basedir, legacy overlay" "overlay" "$REF/g1.img" "$W/e" "basedir=$W/no-such-objects"
SEALTREE_MOUNT_FORCE=loop mount_fails "failure after the loop device: no loop left" "overlay" "$REF/g1.img" "$W/e" "basedir=$W/no-such-objects"
mount_fails "missing target" "attaching the overlay" "$REF/g1.img" "$W/no/such/dir" "basedir=$REF/obj"
"$MOUNT_COMPOSEFS" -t ext4 -o basedir=/x "$REF/g1.img" "$W/e" 2>"$W/err" && fail "-t ext4 refused" "accepted" ||
	{ grep -q "unsupported filesystem type 'ext4'" "$W/err" && ok "-t other than composefs refused" || fail "-t" "$(cat "$W/err")"; }
"$MOUNT_COMPOSEFS" --help | grep -q 'basedir=' && ok "--help lists the options" || fail "--help" ""

# ---- 6. as a mount(8) helper: `mount -t composefs` --------------------------
# mount(8) runs /sbin/mount.composefs; give it one in a private mount
# namespace only (an overlay on /usr/sbin there), never on the host.
mkdir -p "$W/helper/bin" "$W/helper/work" "$W/helper/up" "$W/h"
cp "$MOUNT_COMPOSEFS" "$W/helper/bin/mount.composefs"
sbin=$(readlink -f /sbin)
if unshare --mount --propagation private sh -ec "
	mount -t overlay overlay -o lowerdir=$W/helper/bin:$sbin $sbin
	mount -t composefs '$REF/g1.img' '$W/h' -o basedir='$REF/obj',ro -v
	findmnt -rn -o FSTYPE,SOURCE --mountpoint '$W/h' | grep -q '^overlay composefs'
	stat -c %s '$W/h/0c' | grep -qx 229202
" >"$W/err" 2>&1; then ok "mount -t composefs runs the helper"; else fail "mount -t composefs" "$(cat "$W/err")"; fi

# ---- 6b. /tmp read-only (early boot): the EROFS waits in /run instead ----------
if unshare --mount --propagation private sh -ec "
	mount --bind /tmp /tmp
	mount -o remount,bind,ro /tmp
	'$MOUNT_COMPOSEFS' -o basedir='$REF/obj' '$REF/g1.img' '$W/h'
	findmnt -rn -o OPTIONS --mountpoint '$W/h' | grep -q 'lowerdir+=/run/.composefs.'
	stat -c %s '$W/h/0c' | grep -qx 229202
	! ls -d /run/.composefs.* 2>/dev/null
" >"$W/err" 2>&1; then ok "read-only /tmp: temporary directory in /run, removed after"; else
	fail "read-only /tmp" "$(cat "$W/err")"; fi

# ---- 7. our own images of real trees, compared path by path -----------------
umount "$REF/m0"
if [ ! -x "$MKCOMPOSEFS" ]; then
	echo "SKIP PART: mkcomposefs not built ($MKCOMPOSEFS): trees were not compared with their mounts" >&2
	done_testing
	exit
fi
# compare_tree NAME SRC [--hardlinks]: image SRC with our mkcomposefs, mount
# (new API and legacy overlay), compare. By default mkcomposefs splits
# hardlinks into separate inodes as the reference does; --hardlinks keeps them.
compare_tree() {
	local name=$1 src=$2 d=$W/t-$1 links=split
	shift 2
	[ "${1:-}" = --hardlinks ] && links=keep
	mkdir -p "$d/store" "$d/m"
	if ! "$MKCOMPOSEFS" "$@" --digest-store="$d/store" "$src" "$d/img" 2>"$W/err"; then
		fail "$name: mkcomposefs" "$(cat "$W/err")"
		return
	fi
	for force in "" legacy-overlay; do
		mount_ok "$name: mount ${force:-(new API)}" "$d/img" "$d/m" "basedir=$d/store" SEALTREE_MOUNT_FORCE=$force || return
		COMPARE_HARDLINKS=$links compare "$name: ${force:-new API} mount equals the source tree" "$src" "$d/m"
		umount "$d/m"
	done
	rm -rf "$d"
}
for seed in ${GENTREE_SEEDS:-1 2 3 4}; do
	gentree tree $seed "$W/src-$seed"
	compare_tree "gentree-$seed" "$W/src-$seed"
	compare_tree "gentree-$seed-hardlinks" "$W/src-$seed" --hardlinks
	rm -rf "$W/src-$seed"
done
for dir in ${T0501_SYSDIRS:-/usr/share/doc /usr/share/zoneinfo}; do
	[ -d "$dir" ] || { echo "note: $dir does not exist here, not compared" >&2; continue; }
	compare_tree "system${dir//\//-}" "$dir"
done
left=$(left_tmpdirs "$before_tmp")
[ -z "$left" ] && ok "no temporary directories left at the end" || fail "temp dirs at end" "$left"
done_testing
