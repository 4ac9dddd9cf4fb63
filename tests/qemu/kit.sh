#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/qemu/kit.sh WORKDIR: boot a Debian kernel that has fs-verity under
# QEMU and run a guest script there. This build machine's kernel has no
# fs-verity, so everything fs-verity enforces is tested in this guest.
#
# The guest: busybox as /init in an initramfs, the kernel's virtio_blk, ext4,
# erofs, overlay and loop modules loaded, an ext4 filesystem made with
# `-O verity` on /dev/vda and mounted at /run/store (the kit checks that
# fs-verity works there), then EXTRA_ROOT/ci-test.sh run as root with its
# output on the serial console, each line prefixed "ci-test: ". The verdict
# is written to a second disk and to the console.
#
# Needs root (mknod, chown in the initramfs, apt-get for missing host tools).
# The kernel and QEMU come from Debian's bookworm-backports: QEMU 10 (Debian
# 12's QEMU 7.2 crashes 6.12 guests at random under TCG) and the cloud
# kernel 6.12 (fs-verity, EROFS and overlayfs). Their .deb files are fetched
# with apt-get download through a private apt configuration (the system's
# is not touched), unpacked with dpkg -x and kept in QEMU_KIT_CACHE.
#
# Env:
#   EXTRA_ROOT      directory copied into the guest's root; its /ci-test.sh runs
#   QEMU_TIMEOUT    seconds before the guest is stopped (600)
#   QEMU_KIT_CACHE  the downloads and unpacked trees (~/.cache/sealtree/qemu-kit);
#                   refreshed when older than QEMU_KIT_MAX_AGE days (7) and a
#                   mirror answers, else used as it is
#   MIRROR          Debian mirror (default: the first one in the apt sources)
#   KERNEL_SUITE, QEMU_SUITE (bookworm-backports), KERNEL_FLAVOUR (cloud-amd64)
#   QEMU            a qemu-system-x86_64 to use instead of the backports one
#   QEMU_MEM (1024), QEMU_SMP (1: faster than 2 on a 2-core host), KERNEL_APPEND
#   QEMU_STORE_SIZE the ext4 store /dev/vda (256M; benchmarks need more)
#   QEMU_EXTRA_ARGS more qemu arguments, split at spaces (benchmarks: -icount)
#   QEMU_EXTRA_DRIVES  raw disk images (space separated) given to the guest
#                   after its own two: /dev/vdc, /dev/vdd, ...
# Exit status: 0 the guest passed, 1 it failed, 2 the kit could not set up
# (no mirror, a download or a host package missing): the caller skips then.
# Logs and disks stay in WORKDIR: kit.log, serial.log (the console, each line
# with the seconds since boot), result.txt.
set -euo pipefail

WORK=${1:?usage: kit.sh WORKDIR}
EXTRA_ROOT=${EXTRA_ROOT:-}
QEMU_TIMEOUT=${QEMU_TIMEOUT:-600}
CACHE=${QEMU_KIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sealtree/qemu-kit}
MAX_AGE=${QEMU_KIT_MAX_AGE:-7}
KERNEL_SUITE=${KERNEL_SUITE:-bookworm-backports}
KERNEL_FLAVOUR=${KERNEL_FLAVOUR:-cloud-amd64}
QEMU_SUITE=${QEMU_SUITE:-bookworm-backports}
QEMU=${QEMU:-}
QEMU_MEM=${QEMU_MEM:-1024}
QEMU_SMP=${QEMU_SMP:-1}
KERNEL_APPEND=${KERNEL_APPEND:-}
EXTRA_DRIVES=()
for d in ${QEMU_EXTRA_DRIVES:-}; do EXTRA_DRIVES+=(-drive "file=$d,if=virtio,format=raw"); done

START=$SECONDS
say() { echo "kit [$((SECONDS - START))s]: $*"; }
setup_failed() { echo "kit: cannot set up: $*" >&2; exit 2; }

[ "$(id -u)" = 0 ] || setup_failed "needs root"
case $WORK in / | "") setup_failed "refusing WORKDIR '$WORK'" ;; esac
rm -rf "$WORK"
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)

# ---- host tools: the guest gets copies of some of them ------------------
declare -A PKG_OF=([busybox]=busybox-static [cpio]=cpio [fsverity]=fsverity [mkfs.ext4]=e2fsprogs
	[debugfs]=e2fsprogs [xz]=xz-utils [zstd]=zstd [depmod]=kmod [modprobe]=kmod [dpkg]=dpkg
	[apt-get]=apt [gzip]=gzip [flock]=util-linux [timeout]=coreutils)
missing=()
for t in "${!PKG_OF[@]}"; do
	command -v "$t" >/dev/null || missing+=("${PKG_OF[$t]}")
done
busybox=$(command -v busybox || true)
[ -n "$busybox" ] && ldd "$busybox" >/dev/null 2>&1 && missing+=(busybox-static)
if [ ${#missing[@]} != 0 ]; then
	say "installing host packages: ${missing[*]}"
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}"; } >"$WORK/apt-install.log" 2>&1 || setup_failed "apt-get install ${missing[*]} failed"
fi

# ---- kernel and QEMU from the cache, refreshed when old ------------------
mirror() {
	local m=${MIRROR:-}
	[ -n "$m" ] || m=$(sed -n 's/^URIs: *\([^ ]*debian\)\/*$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
	[ -n "$m" ] || m=$(awk '$1 == "deb" && $2 ~ /debian\/?$/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
	echo "$m"
}

# fetch DIR: download and unpack into DIR (a new directory); fails on any error.
fetch() {
	local dir=$1 a=$1/apt m kpkg kpkgs
	m=$(mirror)
	[ -n "$m" ] || { echo "no Debian mirror in the apt sources: set MIRROR" >&2; return 1; }
	mkdir -p "$a/lists/partial" "$a/cache/archives/partial" "$a/prefs" "$dir/debs/kernel" "$dir/debs/qemu"
	printf 'deb %s %s main\n' "$m" $(printf '%s\n' "$KERNEL_SUITE" "$QEMU_SUITE" | sort -u) >"$a/sources.list"
	cat >"$a/apt.conf" <<-EOF
		Dir::Etc::SourceList "$a/sources.list";
		Dir::Etc::SourceParts "/nonexistent";
		Dir::Etc::Preferences "/nonexistent";
		Dir::Etc::PreferencesParts "$a/prefs";
		Dir::State::Lists "$a/lists";
		Dir::Cache "$a/cache";
		APT::Sandbox::User "root";
	EOF
	export APT_CONFIG=$a/apt.conf
	apt-get update -qq || return 1
	# linux-image-FLAVOUR is a metapackage: the real image is what it depends on.
	kpkg=$(apt-cache depends "linux-image-$KERNEL_FLAVOUR/$KERNEL_SUITE" |
		awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
	[ -n "$kpkg" ] || { echo "no linux-image-$KERNEL_FLAVOUR in $KERNEL_SUITE" >&2; return 1; }
	# Newer suites split the kernel into linux-{binary,modules}-VERSION packages.
	kpkgs="$kpkg $(apt-cache depends "$kpkg/$KERNEL_SUITE" |
		awk '/Depends: linux-(base|binary|modules)-/ { print $2 }' | sort -u | tr '\n' ' ')"
	(cd "$dir/debs/kernel" && apt-get download -qq $kpkgs) || return 1
	(cd "$dir/debs/qemu" && apt-get download -qq qemu-system-x86/"$QEMU_SUITE" \
		qemu-system-common/"$QEMU_SUITE" qemu-system-data/"$QEMU_SUITE" seabios/"$QEMU_SUITE") || return 1
	unset APT_CONFIG
	rm -rf "$a"
	for d in "$dir"/debs/kernel/*.deb; do dpkg -x "$d" "$dir/kernel"; done
	for d in "$dir"/debs/qemu/*.deb; do dpkg -x "$d" "$dir/qemu"; done
	echo "$kpkgs" >"$dir/kernel-packages"
	(cd "$dir/debs" && ls */) >"$dir/debs.txt"
	rm -rf "$dir/debs"   # the unpacked trees are what is kept
}

mkdir -p "$CACHE"
exec 9>"$CACHE/lock"
flock 9   # one download at a time; the QEMU tests may run in parallel
if [ ! -e "$CACHE/current/ready" ] || [ -n "$(find "$CACHE/current/ready" -mtime +"$MAX_AGE")" ]; then
	new=$CACHE/new.$$
	rm -rf "$new"
	say "fetching the kernel ($KERNEL_SUITE, $KERNEL_FLAVOUR) and QEMU ($QEMU_SUITE) into $CACHE"
	if fetch "$new" >"$WORK/fetch.log" 2>&1; then
		touch "$new/ready"
		rm -rf "$CACHE/old"
		[ -e "$CACHE/current" ] && mv "$CACHE/current" "$CACHE/old"
		mv "$new" "$CACHE/current"
		rm -rf "$CACHE/old"
	else
		rm -rf "$new"
		tail -5 "$WORK/fetch.log" >&2
		[ -e "$CACHE/current/ready" ] || setup_failed "download failed (see $WORK/fetch.log)"
		say "download failed, using the cached kernel and QEMU of $(date -r "$CACHE/current/ready" +%F)"
	fi
fi
flock -u 9
C=$CACHE/current
say "kernel packages: $(cat "$C/kernel-packages")"

if [ -z "$QEMU" ]; then
	QEMU=$C/qemu/usr/bin/qemu-system-x86_64
	QEMU_ARGS=(-L "$C/qemu/usr/share/qemu" -L "$C/qemu/usr/share/seabios")
	# Its libraries come from the host: Debian's qemu-system-x86 pulls nearly all in.
	if ldd "$QEMU" | grep -q 'not found'; then
		setup_failed "the unpacked QEMU misses host libraries ($(ldd "$QEMU" | awk '/not found/ { print $1 }' | tr '\n' ' '));" \
			"apt-get install qemu-system-x86 brings most of them"
	fi
else
	QEMU_ARGS=()
fi
"$QEMU" --version | head -n1 | sed 's/^/kit: /'

# The unpacked kernel: /boot/vmlinuz-V and /lib/modules/V (bookworm), or
# /usr/lib/modules/V with vmlinuz and config inside (newer suites).
K=$C/kernel
MODDIR=
for d in "$K"/lib/modules/*/ "$K"/usr/lib/modules/*/; do [ -d "$d" ] && { MODDIR=${d%/}; break; }; done
[ -n "$MODDIR" ] || setup_failed "no lib/modules in the kernel packages"
KVER=${MODDIR##*/}
MODBASE=${MODDIR%/lib/modules/*}
VMLINUZ= KCONFIG=
for f in "$K/boot/vmlinuz-$KVER" "$MODDIR/vmlinuz"; do [ -e "$f" ] && { VMLINUZ=$f; break; }; done
for f in "$K/boot/config-$KVER" "$MODDIR/config"; do [ -e "$f" ] && { KCONFIG=$f; break; }; done
[ -n "$VMLINUZ" ] && [ -n "$KCONFIG" ] || setup_failed "no vmlinuz or config for $KVER"
for opt in FS_VERITY EROFS_FS EROFS_FS_BACKED_BY_FILE OVERLAY_FS EXT4_FS VIRTIO_BLK BLK_DEV_LOOP; do
	grep -Eq "^CONFIG_$opt=[ym]" "$KCONFIG" || setup_failed "kernel $KVER lacks CONFIG_$opt"
done

# ---- the initramfs -------------------------------------------------------
say "initramfs for kernel $KVER"
R=$WORK/root
mkdir -p "$R"/{bin,sbin,etc,lib/modules,proc,sys,dev,run,tmp}
install -m 0755 "$(command -v busybox)" "$R/bin/busybox"
ln -s busybox "$R/bin/sh"
[ -e /etc/mke2fs.conf ] && cp /etc/mke2fs.conf "$R/etc/"
# add_tool NAME: a host binary at the same path, with the libraries it loads.
add_tool() {
	local bin lib
	bin=$(command -v "$1")
	install -D -m 0755 "$bin" "$R$bin"
	for lib in $(ldd "$bin" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }'); do
		[ -e "$R$lib" ] || install -D -m 0755 "$lib" "$R$lib"
	done
}
for t in fsverity mkfs.ext4 debugfs; do add_tool $t; done
# Modules with their dependencies in load order, uncompressed for busybox insmod.
depmod -b "$MODBASE" "$KVER"
for m in virtio_blk loop ext4 erofs overlay; do
	modprobe -d "$MODBASE" -S "$KVER" --show-depends "$m" || setup_failed "no module $m in $KVER"
done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }' | while read -r ko; do
	name=${ko##*/}
	name=${name%%.ko*}
	case $ko in
	*.xz) xz -dc "$ko" ;;
	*.zst) zstd -qdc "$ko" ;;
	*.gz) gzip -dc "$ko" ;;
	*) cat "$ko" ;;
	esac >"$R/lib/modules/$name.ko"
	echo "$name"
done >"$R/lib/modules/order"
[ -n "$EXTRA_ROOT" ] && cp -a "$EXTRA_ROOT"/. "$R"/

cat >"$R/init" <<'INIT'
#!/bin/sh
# PID 1 of the kit's guest (busybox ash).
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs -o mode=0755 tmpfs /run
echo "KIT: guest up after $(cut -d' ' -f1 /proc/uptime)s, kernel $(uname -r)"
PASS=0 FAIL=0
kit_ok() { PASS=$((PASS + 1)); echo "KIT: ok   $*"; }
kit_fail() { FAIL=$((FAIL + 1)); echo "KIT: FAIL $*"; }
finish() {
	v=FAIL
	[ $FAIL = 0 ] && [ $PASS -gt 0 ] && v=PASS
	echo "KIT-RESULT: $v pass=$PASS fail=$FAIL" >/run/result
	dd if=/run/result of=/dev/vdb conv=fsync 2>/dev/null
	echo "KIT-RESULT: $v pass=$PASS fail=$FAIL"
	sync
	poweroff -f
}
for m in $(cat /lib/modules/order); do insmod /lib/modules/$m.ko || echo "KIT: insmod $m failed"; done
for i in $(seq 100); do [ -b /dev/vdb ] && break; sleep 0.1; done
[ -b /dev/vda ] && [ -b /dev/vdb ] || { kit_fail "no virtio disks"; finish; }
grep -q 'loglevel=' /proc/cmdline || dmesg -n 1

mkdir -p /run/store
if mkfs.ext4 -q -F -O verity -b 4096 /dev/vda && mount -t ext4 /dev/vda /run/store; then
	kit_ok "ext4 -O verity at /run/store"
else
	kit_fail "ext4 -O verity at /run/store"; finish
fi
echo "fs-verity self-check" >/run/store/.kit-check
want=$(fsverity digest --compact /run/store/.kit-check)
if fsverity enable /run/store/.kit-check && [ "$(fsverity measure /run/store/.kit-check | cut -d' ' -f1)" = "sha256:$want" ]; then
	kit_ok "fs-verity enable and measure"
else
	kit_fail "fs-verity does not work on /run/store"
fi
rm -f /run/store/.kit-check
if [ -x /ci-test.sh ]; then
	{ /ci-test.sh; echo $? >/run/ci-test.rc; } 2>&1 | sed 's/^/ci-test: /'
	rc=$(cat /run/ci-test.rc)
	[ "$rc" = 0 ] && kit_ok "/ci-test.sh" || kit_fail "/ci-test.sh exited $rc"
fi
echo "KIT: guest done after $(cut -d' ' -f1 /proc/uptime)s"
finish
INIT
chmod 755 "$R/init"
(cd "$R" && find . | cpio -o -H newc --quiet | gzip -1) >"$WORK/initrd.img"
truncate -s "${QEMU_STORE_SIZE:-256M}" "$WORK/store.img"
truncate -s 1M "$WORK/result.img"

# ---- boot ------------------------------------------------------------------
# TCG: this host's /dev/kvm (a nested PVM hypervisor) cannot run stock kernels.
say "booting (TCG, timeout ${QEMU_TIMEOUT}s)"
boot=$SECONDS
set +e
# shellcheck disable=SC2206
QEMU_ARGS+=(${QEMU_EXTRA_ARGS:-})
timeout "$QEMU_TIMEOUT" "$QEMU" "${QEMU_ARGS[@]}" -nodefaults -no-user-config -no-reboot \
	-display none -serial stdio -accel tcg -cpu max -smp "$QEMU_SMP" -m "$QEMU_MEM" \
	-kernel "$VMLINUZ" -initrd "$WORK/initrd.img" -append "console=ttyS0 panic=-1 quiet $KERNEL_APPEND" \
	-drive file="$WORK/store.img",if=virtio,format=raw \
	-drive file="$WORK/result.img",if=virtio,format=raw "${EXTRA_DRIVES[@]}" </dev/null 2>&1 |
	while IFS= read -r line; do printf '[%4d] %s\n' $((SECONDS - boot)) "${line%$'\r'}"; done >"$WORK/serial.log"
qrc=${PIPESTATUS[0]}
set -e
tr -d '\0' <"$WORK/result.img" >"$WORK/result.txt"
say "QEMU exit $qrc after $((SECONDS - boot))s: $(head -n1 "$WORK/result.txt")"
grep -q '^KIT-RESULT: PASS' "$WORK/result.txt" && exit 0
[ "$qrc" = 124 ] && say "the guest was stopped after QEMU_TIMEOUT=${QEMU_TIMEOUT}s"
grep -m3 -E 'Kernel panic|double fault|Oops' "$WORK/serial.log" || true
exit 1
