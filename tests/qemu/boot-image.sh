#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/qemu/boot-image.sh BUILD_DIR WORKDIR: build a bootable disk of a
# signed sealtree deployment of Debian 12 and boot it with OVMF under QEMU.
#
#   1. a Debian 12 tree (debootstrap --variant=minbase + systemd-sysv, udev,
#      kmod, e2fsprogs, initramfs-tools, busybox), cached in BOOT_CACHE
#   2. the QEMU kit's kernel (bookworm-backports cloud 6.12: fs-verity,
#      EROFS, overlayfs) and our binaries put in, the initramfs made inside
#      the tree (chroot mkinitramfs) with our hook and a `signed` policy
#      holding the test key, kernel + initramfs moved to
#      usr/lib/modules/KVER/, /etc moved to /usr/etc, a check unit added
#   3. a GPT disk: ESP (vfat, systemd-boot) + ext4 -O verity root; on the
#      root `sealtree admin init-fs --verity=off`, the tree committed and
#      signed, deployed with the ESP mounted on SYSROOT/boot
#   4. this host's kernel has no fs-verity, so the kit boots once with the
#      disk as /dev/vdc and enables fs-verity on every object and image of
#      the repository and flips its config to `verity=yes` (the only
#      difference between a verity and a non-verity repository: the
#      digests, names and images are the same)
#   5. boot the disk: OVMF, systemd-boot, the entry sealtree wrote, the
#      initramfs's prepare-root, systemd; the check unit
#      (tests/qemu/boot-check.sh) writes BOOTCHECK: lines on the console and
#      reboots through its phases: 1 version 1 booted signed with verity,
#      edit /etc (a new file, a conffile of the test package), admin
#      upgrade --stage (counted, with sealtree.composefs=0), edit /etc
#      again; 2 finalize-staged ran at shutdown: version 2 booted still
#      signed despite the karg, the package upgraded by dpkg between the two
#      versions is 2.0, its unedited conffile has the new default, the
#      edited one kept the edit and is reported as a conflict, the edits
#      kept, the counted boot marked good; admin rollback; 3 version 1
#      again, deploy debian/bad, debian/badsig and debian/badcommit with one
#      boot try each, change the image of the first, the signature of the
#      second, swap the commit record of the third for version 1's; 4
#      prepare-root refused all three, the initramfs rebooted each time,
#      systemd-boot fell back to version 1; a byte of an object flipped on
#      the disk and an object replaced by another file with fs-verity read
#      as EIO, admin status counts them, verity-errors names both; power off.
# Env: BOOT_CACHE (~/.cache/sealtree/boot), QEMU_TIMEOUT (1800: seven boots under TCG on a loaded machine).
# Exit: 0 the guest's checks passed, 1 failed, 2 could not set up (skip).
set -euo pipefail
BUILD=$(cd "${1:?usage: boot-image.sh BUILD_DIR WORKDIR}" && pwd)
WORK=${2:?usage: boot-image.sh BUILD_DIR WORKDIR}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${BOOT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sealtree/boot}
KIT_CACHE=${QEMU_KIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sealtree/qemu-kit}
QEMU_TIMEOUT=${QEMU_TIMEOUT:-1800}
SEALTREE=$BUILD/tools/sealtree/sealtree
PREPARE=$BUILD/tools/prepare-root/sealtree-prepare-root
START=$SECONDS
say() { echo "boot [$((SECONDS - START))s]: $*"; }
setup_failed() { echo "boot-image: cannot set up: $*" >&2; exit 2; }
# BOOT_IMAGE_HOOK (tests/qemu/uki-boot.sh): run with "committed" while the
# repository is readable on this host (before fs-verity), and with "disk"
# once the disk is ready, before its first boot; a failure is its own to report.
boot_hook() {
	[ -z "${BOOT_IMAGE_HOOK:-}" ] || BUILD=$BUILD WORK=$WORK REPO=${REPO:-} DISK=${DISK:-} C1=${C1:-} \
		ROOT_UUID=${ROOT_UUID:-} bash "$BOOT_IMAGE_HOOK" "$1" || say "BOOT_IMAGE_HOOK $1 failed"
}

[ "$(id -u)" = 0 ] || setup_failed "needs root"
for t in debootstrap sfdisk mkfs.vfat mcopy mkfs.ext4 losetup chroot; do
	command -v $t >/dev/null || setup_failed "$t missing"
done
[ -e /usr/lib/systemd/boot/efi/systemd-bootx64.efi ] || setup_failed "systemd-boot-efi missing"
[ -e /usr/share/OVMF/OVMF_CODE_4M.fd ] || setup_failed "ovmf missing"
[ -x "$SEALTREE" ] && [ -x "$PREPARE" ] || setup_failed "sealtree not built in $BUILD"
case $WORK in / | "") setup_failed "refusing WORKDIR '$WORK'" ;; esac
rm -rf "$WORK"
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
MNT=$WORK/mnt
LOOPS=()
cleanup() {
	set +e
	for m in "$MNT/sys/boot" "$MNT/sys" "$WORK/tree/proc" "$WORK/tree/sys" "$WORK/tree/dev"; do
		mountpoint -q "$m" && umount -l "$m"
	done
	for l in "${LOOPS[@]}"; do losetup -d "$l"; done
}
trap cleanup EXIT

# ---- 1. the Debian tree (cached) ------------------------------------------
mkdir -p "$CACHE"
BASE=$CACHE/rootfs-base
# The cache key: what the tree was made from. A tree made from another list
# (an older run's, before dracut-core) is made again.
BASE_PACKAGES=systemd-sysv,udev,kmod,e2fsprogs,initramfs-tools,busybox,libssl3,libarchive13,dracut-core
BASE_KEY="bookworm minbase $BASE_PACKAGES"
if [ "$(cat "$BASE/.sealtree-ready" 2>/dev/null)" != "$BASE_KEY" ]; then
	mirror=$(sed -n 's/^URIs: *\([^ ]*debian\)\/*$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
	mirror=${MIRROR:-${mirror:-http://deb.debian.org/debian}}
	say "debootstrap bookworm from $mirror into $BASE (once)"
	rm -rf "$BASE.new"
	debootstrap --variant=minbase --include="$BASE_PACKAGES" \
		bookworm "$BASE.new" "$mirror" >"$WORK/debootstrap.log" 2>&1 || setup_failed "debootstrap failed (see $WORK/debootstrap.log)"
	rm -rf "$BASE.new"/var/cache/apt/archives/*.deb
	echo "$BASE_KEY" >"$BASE.new/.sealtree-ready"
	rm -rf "$BASE"
	mv "$BASE.new" "$BASE"
fi

# The kernel: the QEMU kit's (it downloads and caches it).
if [ ! -e "$KIT_CACHE/current/ready" ]; then
	say "fetching the kit's kernel and QEMU (a first kit boot)"
	mkdir -p "$WORK/kit0root"
	printf '#!/bin/sh\nexit 0\n' >"$WORK/kit0root/ci-test.sh"
	chmod +x "$WORK/kit0root/ci-test.sh"
	EXTRA_ROOT=$WORK/kit0root bash "$SRC/tests/qemu/kit.sh" "$WORK/kit0" >"$WORK/kit0.log" 2>&1 ||
		{ [ -e "$KIT_CACHE/current/ready" ] || setup_failed "the QEMU kit could not fetch its kernel (see $WORK/kit0.log)"; }
fi
K=$KIT_CACHE/current/kernel
QEMU=$KIT_CACHE/current/qemu/usr/bin/qemu-system-x86_64
KVER=$(basename "$(ls -d "$K"/lib/modules/*/ | head -n1)")
[ -e "$K/boot/vmlinuz-$KVER" ] || setup_failed "no kernel in $K"
say "kernel $KVER"

# ---- 2. the OS tree -----------------------------------------------------------
TREE=$WORK/tree
say "OS tree"
cp -a "$BASE" "$TREE"
rm -f "$TREE/.sealtree-ready"
mkdir -p "$TREE/usr/lib/modules" "$TREE/boot"
cp -a "$K/lib/modules/$KVER" "$TREE/usr/lib/modules/"
cp "$K/boot/config-$KVER" "$K/boot/System.map-$KVER" "$TREE/boot/"
install -D -m 0755 "$SEALTREE" "$TREE/usr/bin/sealtree"
# Libraries sealtree loads that the Debian tree lacks (libcurl, ...): the host's.
for lib in $({ ldd "$SEALTREE"; ldd "$PREPARE"; } | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }' | sort -u); do
	dest=$TREE/usr${lib#/usr}
	[ -e "$TREE$lib" ] || [ -e "$dest" ] || install -D -m 0644 "$(readlink -f "$lib")" "$dest"
done
PREPARE_INSTALLED=$(sed -n 's/^prepare=\${SEALTREE_PREPARE_ROOT:-\(.*\)}$/\1/p' "$BUILD/data/initramfs-tools-hook-sealtree")
install -D -m 0755 "$PREPARE" "$TREE$PREPARE_INSTALLED"
install -D -m 0755 "$BUILD/data/initramfs-tools-hook-sealtree" "$TREE/etc/initramfs-tools/hooks/sealtree"
install -D -m 0755 "$SRC/data/initramfs-tools/scripts/local-bottom/sealtree" "$TREE/etc/initramfs-tools/scripts/local-bottom/sealtree"
DRACUT_MOD=$TREE/usr/lib/dracut/modules.d/50sealtree
install -D -m 0755 "$BUILD/data/dracut-module-setup.sh" "$DRACUT_MOD/module-setup.sh"
install -m 0644 "$SRC"/data/dracut/50sealtree/*.service "$DRACUT_MOD/"
for u in sealtree-boot-complete.service sealtree-finalize-staged.service sealtree-finalize-staged.path \
	sealtree-verity-errors.service; do
	install -m 0644 "$SRC/data/systemd/$u" "$TREE/etc/systemd/system/$u"
done
# The test key: the signing key stays on the host; its public half is the
# initramfs's trust store and the booted system's.
"$SEALTREE" keygen -o "$WORK/key" >/dev/null
mkdir -p "$TREE/etc/sealtree/trusted.d" "$TREE/etc/sealtree/revoked.d"
cp "$WORK/key.pub" "$TREE/etc/sealtree/trusted.d/boot-test.pub"
printf '[composefs]\nenabled = signed\nkeys = /etc/sealtree\n' >"$TREE/etc/sealtree/prepare-root.conf"
echo sealtree-boot >"$TREE/etc/hostname"
# A long device timeout: on a loaded machine udev can take more than the
# default 90 s to announce the ESP under TCG, and the boot then stops in
# emergency mode.
echo "PARTLABEL=esp /sysroot/boot vfat umask=0077,x-systemd.device-timeout=10min 0 0" >"$TREE/etc/fstab"
# The check: at multi-user.target, BOOTCHECK: lines on the console, then power off.
install -D -m 0755 "$SRC/tests/qemu/boot-check.sh" "$TREE/usr/libexec/sealtree-test/boot-check.sh"
cat >"$TREE/etc/systemd/system/sealtree-boot-check.service" <<-'EOF'
	[Unit]
	Description=sealtree boot test: check the booted deployment, then power off
	After=multi-user.target sealtree-boot-complete.service
	[Service]
	Type=oneshot
	ExecStart=/usr/libexec/sealtree-test/boot-check.sh
	StandardOutput=tty
	StandardError=tty
	TTYPath=/dev/ttyS0
	[Install]
	WantedBy=multi-user.target
EOF
mkdir -p "$TREE/etc/systemd/system/multi-user.target.wants"
ln -sf /etc/systemd/system/sealtree-boot-check.service "$TREE/etc/systemd/system/multi-user.target.wants/sealtree-boot-check.service"
mkdir -p "$TREE/etc/systemd/system/basic.target.wants"
ln -sf /etc/systemd/system/sealtree-boot-complete.service "$TREE/etc/systemd/system/basic.target.wants/sealtree-boot-complete.service"
for u in sealtree-finalize-staged.path sealtree-verity-errors.service; do
	ln -sf "/etc/systemd/system/$u" "$TREE/etc/systemd/system/multi-user.target.wants/$u"
done
# No getty on the serial console racing the check's output; no waiting for a network.
ln -sf /dev/null "$TREE/etc/systemd/system/serial-getty@ttyS0.service"
ln -sf /dev/null "$TREE/etc/systemd/system/getty@tty1.service"
# dracut-core's dracut-shutdown.service unpacks an initramfs into /run at
# every boot (for a shutdown back into it): seconds per boot under TCG, and
# nothing this test uses.
ln -sf /dev/null "$TREE/etc/systemd/system/dracut-shutdown.service"
mkdir -p "$TREE/sysroot" "$TREE/usr/share/sealtree-test"
echo 1 >"$TREE/usr/share/sealtree-test/version"
# Files only the checks read (never read before they are attacked): a byte
# of one is flipped on the disk, the other's object is replaced by another
# file with fs-verity (tests/qemu/boot-check.sh, phase 4).
head -c 12288 /dev/urandom >"$TREE/usr/share/sealtree-test/eio-target"
head -c 8192 /dev/urandom >"$TREE/usr/share/sealtree-test/swap-target"
# One process enables fs-verity on many files (a fork+exec per file costs
# minutes under TCG): used by step 4 and, on one file, by the guest's check.
VERITY_ENABLE=
if cc -O2 -static -o "$WORK/verity-enable-all" "$SRC/tests/qemu/verity-enable-all.c" 2>"$WORK/cc.log"; then
	VERITY_ENABLE=$WORK/verity-enable-all
	install -D -m 0755 "$VERITY_ENABLE" "$TREE/usr/libexec/sealtree-test/verity-enable-all"
else
	say "no static build of verity-enable-all ($(head -n1 "$WORK/cc.log")): fsverity per file, slower"
fi

# A package of our own, upgraded with dpkg between version 1 and version 2
# (a changed package, changed /etc defaults): a program that prints its
# version and two conffiles whose defaults version 2 changes. The guest
# edits one of them under version 1: the upgrade must bring the other's new
# default, keep the edit, put the new default beside it and report the
# conflict (tests/qemu/boot-check.sh, phases 1 and 2).
command -v dpkg-deb >/dev/null || setup_failed "dpkg-deb missing"
make_pkg() {   # make_pkg VERSION: $WORK/pkg/sealtree-boot-test_VERSION_all.deb
	local d=$WORK/pkg/$1
	mkdir -p "$d/DEBIAN" "$d/usr/bin" "$d/etc/sealtree-boot-test"
	printf 'Package: sealtree-boot-test\nVersion: %s\nArchitecture: all\nMaintainer: sealtree tests <tests@sealtree.invalid>\nDescription: sealtree boot test package\n' \
		"$1" >"$d/DEBIAN/control"
	printf '/etc/sealtree-boot-test/defaults.conf\n/etc/sealtree-boot-test/edited.conf\n' >"$d/DEBIAN/conffiles"
	printf '#!/bin/sh\necho %s\n' "$1" >"$d/usr/bin/sealtree-boot-test"
	chmod 0755 "$d/usr/bin/sealtree-boot-test"
	echo "setting = $1" >"$d/etc/sealtree-boot-test/defaults.conf"
	echo "setting = $1" >"$d/etc/sealtree-boot-test/edited.conf"
	dpkg-deb --root-owner-group -Zgzip -b "$d" "$WORK/pkg/sealtree-boot-test_$1_all.deb" >/dev/null
}
# pkg_install VERSION: dpkg -i in the tree (whose /etc is at usr/etc by then)
pkg_install() {
	rmdir "$TREE/etc" && mv "$TREE/usr/etc" "$TREE/etc"
	cp "$WORK/pkg/sealtree-boot-test_$1_all.deb" "$TREE/tmp/"
	chroot "$TREE" dpkg -i "/tmp/sealtree-boot-test_$1_all.deb" >>"$WORK/dpkg.log" 2>&1 ||
		{ tail -20 "$WORK/dpkg.log" >&2; exit 1; }
	rm -f "$TREE/tmp/sealtree-boot-test_$1_all.deb"
	mv "$TREE/etc" "$TREE/usr/etc" && mkdir "$TREE/etc"
}
make_pkg 1.0
make_pkg 2.0

say "initramfs (chroot mkinitramfs, our hook)"
mount --bind /proc "$TREE/proc"
mount --bind /sys "$TREE/sys"
mount --bind /dev "$TREE/dev"
chroot "$TREE" depmod "$KVER"
chroot "$TREE" mkinitramfs -o "/boot/initrd.img-$KVER" "$KVER" >"$WORK/mkinitramfs.log" 2>&1 ||
	{ tail -20 "$WORK/mkinitramfs.log" >&2; exit 1; }
# The second initramfs, for version 2 and two of the tampered commits: dracut
# (dracut-core beside initramfs-tools) with systemd in the initrd and our
# module. Only what this disk needs: a systemd initrd mounting an ext4 root
# by UUID from a virtio disk.
say "initramfs (chroot dracut, systemd in the initrd, our module)"
chroot "$TREE" dracut --no-hostonly --no-hostonly-cmdline --no-early-microcode --force --kver "$KVER" \
	-m "systemd systemd-initrd dracut-systemd base fs-lib rootfs-block udev-rules kernel-modules shutdown sealtree" \
	--drivers "virtio_blk virtio_pci ext4" --filesystems "ext4 erofs overlay" \
	"/boot/initrd-dracut.img-$KVER" >"$WORK/dracut.log" 2>&1 ||
	{ tail -20 "$WORK/dracut.log" >&2; exit 1; }
umount "$TREE/proc" "$TREE/sys" "$TREE/dev"
lsinitramfs "$TREE/boot/initrd.img-$KVER" >"$WORK/initrd.list"
grep -qx usr/sbin/sealtree-prepare-root "$WORK/initrd.list" || { echo "the initramfs lacks prepare-root" >&2; exit 1; }
lsinitramfs "$TREE/boot/initrd-dracut.img-$KVER" >"$WORK/initrd-dracut.list"
for f in usr/sbin/sealtree-prepare-root usr/lib/systemd/system/sealtree-prepare-root.service \
	etc/systemd/system/initrd-root-fs.target.requires/sealtree-prepare-root.service etc/sealtree/prepare-root.conf; do
	grep -qx "$f" "$WORK/initrd-dracut.list" || { echo "the dracut initramfs lacks $f" >&2; exit 1; }
done
say "initramfs sizes: initramfs-tools $(du -k "$TREE/boot/initrd.img-$KVER" | cut -f1) KiB, dracut $(du -k "$TREE/boot/initrd-dracut.img-$KVER" | cut -f1) KiB"
cp "$K/boot/vmlinuz-$KVER" "$TREE/usr/lib/modules/$KVER/vmlinuz"
mv "$TREE/boot/initrd.img-$KVER" "$TREE/usr/lib/modules/$KVER/initramfs.img"
INITRD_TOOLS=$WORK/initrd-tools.img
INITRD_DRACUT=$WORK/initrd-dracut.img
cp "$TREE/usr/lib/modules/$KVER/initramfs.img" "$INITRD_TOOLS"
mv "$TREE/boot/initrd-dracut.img-$KVER" "$INITRD_DRACUT"
# use_initrd tools|dracut: the initramfs the next commit carries
use_initrd() {
	case $1 in
	tools) cp "$INITRD_TOOLS" "$TREE/usr/lib/modules/$KVER/initramfs.img" ;;
	dracut) cp "$INITRD_DRACUT" "$TREE/usr/lib/modules/$KVER/initramfs.img" ;;
	esac
}
rm -rf "$TREE/boot" && mkdir "$TREE/boot"
mv "$TREE/etc" "$TREE/usr/etc" && mkdir "$TREE/etc"

# ---- 3. the disk ---------------------------------------------------------------
say "disk: GPT, ESP + ext4 -O verity"
DISK=$WORK/disk.img
truncate -s 2G "$DISK"
printf 'label: gpt\nstart=2048, size=128MiB, type=U, name=esp\ntype=L, name=root\n' | sfdisk -q "$DISK"
part_loop() {   # part_loop N: a loop device over partition N
	local start size
	read -r start size < <(sfdisk -J "$DISK" | python3 -c 'import json,sys; p=json.load(sys.stdin)["partitiontable"]["partitions"][int(sys.argv[1])-1]; print(p["start"]*512, p["size"]*512)' "$1")
	losetup -f --show -o "$start" --sizelimit "$size" "$DISK"
}
ESP_DEV=$(part_loop 1); LOOPS+=("$ESP_DEV")
ROOT_DEV=$(part_loop 2); LOOPS+=("$ROOT_DEV")
mkfs.vfat -F 32 -n ESP "$ESP_DEV" >/dev/null
mkfs.ext4 -q -O verity -L root "$ROOT_DEV"
ROOT_UUID=$(blkid -s UUID -o value "$ROOT_DEV")
mkdir -p "$MNT/sys"
mount "$ROOT_DEV" "$MNT/sys"
# This host's kernel has no vfat: SYSROOT/boot is a tmpfs while sealtree
# writes to it (a separate filesystem, as the ESP is, so entries name paths
# from its root), then its contents go into the ESP with mtools.
mkdir -p "$MNT/sys/boot"
mount -t tmpfs -o mode=0755 tmpfs "$MNT/sys/boot"
install -D -m 0644 /usr/lib/systemd/boot/efi/systemd-bootx64.efi "$MNT/sys/boot/EFI/BOOT/BOOTX64.EFI"
install -D -m 0644 /usr/lib/systemd/boot/efi/systemd-bootx64.efi "$MNT/sys/boot/EFI/systemd/systemd-bootx64.efi"
mkdir -p "$MNT/sys/boot/loader"
printf 'timeout 0\nconsole-mode keep\n' >"$MNT/sys/boot/loader/loader.conf"

SYS=$MNT/sys
REPO=$SYS/sealtree/repo
st() { "$SEALTREE" --repo "$REPO" "$@"; }
"$SEALTREE" admin init-fs --verity=off "$SYS" >/dev/null
"$SEALTREE" admin --sysroot "$SYS" os-init debian >/dev/null
say "commit and sign"
pkg_install 1.0
C1=$(st commit -b debian/main --tree "$TREE" -s "boot test 1" --version 1)
st sign "$C1" --key "$WORK/key" >/dev/null
KARGS=(--karg "root=UUID=$ROOT_UUID" --karg rw --karg console=ttyS0 --karg panic=-1 --karg systemd.show_status=1)
"$SEALTREE" admin --sysroot "$SYS" deploy --os debian --keys-dir "$TREE/usr/etc/sealtree" --require-signature \
	"${KARGS[@]}" debian/main >"$WORK/deploy.log"
"$SEALTREE" admin --sysroot "$SYS" status >"$WORK/status-host.txt"
cat "$WORK/status-host.txt"
cat "$SYS"/boot/loader/entries/*.conf
echo "$C1" >"$WORK/commit1"
boot_hook committed
# Version 2 on the same ref (the guest upgrades to it), with the dracut
# initramfs: the phase-2 boot goes through systemd in the initrd. A third
# commit, on debian/bad, whose image the guest changes after deploying it
# (dracut: refused by the module's unit).
use_initrd dracut
echo 2 >"$TREE/usr/share/sealtree-test/version"
pkg_install 2.0
C2=$(st commit -b debian/main --tree "$TREE" -s "boot test 2" --version 2)
st sign "$C2" --key "$WORK/key" >/dev/null
echo bad >"$TREE/usr/share/sealtree-test/version"
C3=$(st commit -b debian/bad --tree "$TREE" -s "boot test 3" --version 3)
st sign "$C3" --key "$WORK/key" >/dev/null
# A fourth, on debian/badsig, whose signature the guest changes
# (initramfs-tools: refused by the local-bottom script).
use_initrd tools
echo badsig >"$TREE/usr/share/sealtree-test/version"
C4=$(st commit -b debian/badsig --tree "$TREE" -s "boot test 4" --version 4)
st sign "$C4" --key "$WORK/key" >/dev/null
# A fifth, on debian/badcommit, whose commit record the guest swaps for
# version 1's (dracut).
use_initrd dracut
echo badcommit >"$TREE/usr/share/sealtree-test/version"
C5=$(st commit -b debian/badcommit --tree "$TREE" -s "boot test 5" --version 5)
st sign "$C5" --key "$WORK/key" >/dev/null
export MTOOLS_SKIP_CHECK=1
mcopy -s -Q -i "$ESP_DEV" "$MNT/sys/boot"/* ::/ 2>&1 | { grep -v "geometry" >&2 || true; }
mdir -/ -b -i "$ESP_DEV" ::/ >"$WORK/esp.list" 2>/dev/null
umount "$MNT/sys/boot" "$MNT/sys"
for l in "${LOOPS[@]}"; do losetup -d "$l"; done
LOOPS=()

# ---- 4. fs-verity on the repository, in the kit's guest ----------------------------
say "fs-verity on every object and image (kit guest, the disk as /dev/vdc)"
mkdir -p "$WORK/kitroot"
cat >"$WORK/kitroot/ci-test.sh" <<-'EOF'
	#!/bin/sh
	mkdir -p /run/disk
	for i in $(seq 50); do [ -b /dev/vdc2 ] && break; sleep 0.1; done
	mount -t ext4 /dev/vdc2 /run/disk || { echo "cannot mount /dev/vdc2"; exit 1; }
	R=/run/disk/sealtree/repo
	if [ -x /verity-enable-all ]; then
		/verity-enable-all $R/objects $R/images || exit 1
	else
		n=0
		for f in $(find $R/objects $R/images -type f); do
			fsverity enable "$f" || { echo "fsverity enable $f failed"; exit 1; }
			n=$((n + 1))
		done
		echo "fs-verity enabled on $n files"
	fi
	sed -i 's/^verity=no$/verity=yes/' $R/config
	grep -qx verity=yes $R/config || { echo "config not flipped"; exit 1; }
	echo "config verity=yes"
	umount /run/disk
EOF
chmod +x "$WORK/kitroot/ci-test.sh"
[ -z "$VERITY_ENABLE" ] || cp "$VERITY_ENABLE" "$WORK/kitroot/verity-enable-all"
EXTRA_ROOT=$WORK/kitroot QEMU_EXTRA_DRIVES=$DISK bash "$SRC/tests/qemu/kit.sh" "$WORK/kit" >"$WORK/kit.log" 2>&1 || {
	rc=$?
	cat "$WORK/kit.log" >&2
	grep 'ci-test:' "$WORK/kit/serial.log" >&2 || true
	[ $rc = 2 ] && setup_failed "the kit could not set up"
	echo "boot-image: enabling fs-verity in the kit guest failed" >&2
	exit 1
}
grep 'ci-test:' "$WORK/kit/serial.log" | sed 's/^/  /'
boot_hook disk

# ---- 5. boot the disk ----------------------------------------------------------------
say "booting the disk: OVMF, systemd-boot, prepare-root, systemd (TCG, timeout ${QEMU_TIMEOUT}s)"
cp /usr/share/OVMF/OVMF_VARS_4M.fd "$WORK/vars.fd"
boot=$SECONDS
set +e
timeout "$QEMU_TIMEOUT" "$QEMU" -L "$KIT_CACHE/current/qemu/usr/share/qemu" -L "$KIT_CACHE/current/qemu/usr/share/seabios" \
	-nodefaults -no-user-config -display none -serial stdio -accel tcg -cpu max -smp 1 -m 1024 \
	-machine q35 \
	-drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
	-drive if=pflash,format=raw,unit=1,file="$WORK/vars.fd" \
	-drive file="$DISK",if=virtio,format=raw </dev/null 2>&1 |
	while IFS= read -r line; do printf '[%4d] %s\n' $((SECONDS - boot)) "${line%$'\r'}"; done >"$WORK/serial.log"
qrc=${PIPESTATUS[0]}
set -e
say "QEMU exit $qrc after $((SECONDS - boot))s"
grep -E 'BOOTCHECK|sealtree-prepare-root|sealtree: the deployment was refused' "$WORK/serial.log" || true
# Each boot's time on this host's clock (the serial log's seconds): from the
# reset to the kernel's banner (firmware, systemd-boot), then to the next
# reset or the power-off (kernel, initramfs, systemd, the checks, shutdown).
tr -d '\r' <"$WORK/serial.log" | awk -v T=$((SECONDS - START)) '
	function t(l) { return substr(l, 2, 4) + 0 }
	/Linux version/ { k = t($0) }
	/BOOTCHECK: phase [0-9],/ { what = "phase " substr($0, index($0, "phase ") + 6, 1) }
	/refusing to boot/ && what == "" { what = "refused by prepare-root" }
	/reboot: (Restarting system|Power down)/ {
		e = t($0)
		printf "boot [%ds]: boot %d (%s): firmware and loader %ds, then %ds to the reset, %ds in all\n", T, ++n, what, k - s, e - k, e - s
		s = e; what = "" }'
# The refused boots end before any check unit runs: their console says it.
# Each boot's lines (from the kernel's banner on) must show prepare-root
# refusing that commit at the link that was broken, through the initramfs
# that commit carries, and the reboot under boot counting.
host_fail=0
boot_of() {   # the console lines of the boot where prepare-root refused debian/$1.0
	# (awk reads to the end: an early exit would kill tr with SIGPIPE, and
	# pipefail would make that the script's exit status)
	tr -d '\r' <"$WORK/serial.log" | awk -v pat="refusing to boot debian/$1.0:" '
		done { next }
		/Linux version/ { if (hit) { done = 1; next } buf = "" }
		{ buf = buf $0 "\n"; if (index($0, pat)) hit = 1 }
		END { if (hit) printf "%s", buf }'
}
refusal() {   # refusal COMMIT LINK INITRAMFS WHAT
	local b
	b=$(boot_of "$1")
	if [ -z "$b" ]; then
		say "FAIL $4: no boot refused debian/$1.0"; host_fail=1; return
	fi
	if ! grep -q "refusing to boot debian/$1.0: $2 link broken: " <<<"$b"; then
		say "FAIL $4: not refused at the $2 link naming the commit: $(grep -m1 'refusing to boot' <<<"$b")"; host_fail=1; return
	fi
	if ! grep -q 'sealtree: the deployment was refused; rebooting so the boot loader counts this try' <<<"$b"; then
		say "FAIL $4: the initramfs did not reboot for boot counting"; host_fail=1; return
	fi
	case $3 in
	dracut) grep -qE 'sealtree-prepare-root\.service|sealtree: assemble the deployment' <<<"$b" ;;
	tools) ! grep -qE 'sealtree-prepare-root\.service|Running in initrd' <<<"$b" ;;
	esac || { say "FAIL $4: not refused by the $3 initramfs"; host_fail=1; return; }
	say "ok   $4: refused at the $2 link by the $3 initramfs, commit named, rebooted for boot counting"
}
refusal "$C5" commit dracut "swapped commit record (debian/badcommit)"
refusal "$C4" signature tools "changed signature (debian/badsig)"
refusal "$C3" image dracut "changed image (debian/bad)"
if grep -q 'BOOTCHECK-RESULT: PASS' "$WORK/serial.log" && [ $host_fail = 0 ]; then
	exit 0
fi
echo "boot-image: the booted checks did not pass; the last console lines:" >&2
tail -40 "$WORK/serial.log" >&2
exit 1
