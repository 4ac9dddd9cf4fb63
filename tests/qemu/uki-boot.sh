#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/qemu/uki-boot.sh: the Secure Boot chain, booted (docs/uki.md).
# Runs on the system tests/qemu/boot-image.sh builds:
#
#   BOOT_IMAGE_HOOK=tests/qemu/uki-boot.sh boot-image.sh BUILD WORK
#     committed  `sealtree admin build-uki` of version 1 (C1) from the
#                repository while this host can read it, signed with
#                OVMF's snakeoil db key; systemd-boot signed with it too
#     disk       a copy of the finished disk, before the phases change it
#   uki-boot.sh run WORK
#     1. the copy's ESP: the signed systemd-boot as \EFI\BOOT\BOOTX64.EFI,
#        the UKI at \EFI\sealtree\uki.efi, an entry for it with
#        `options sealtree.composefs=0 uki.extra=1` (what a loader, or
#        whoever edits its entries, adds), the default; the deployment's
#        /etc runs tests/qemu/uki-check.sh instead of the phases
#     2. boot with OVMF_CODE_4M.snakeoil.fd and a copy of
#        OVMF_VARS_4M.snakeoil.fd (Secure Boot enforcing): the guest checks
#        Secure Boot is on, the command line is the UKI's own (the entry's
#        options ignored), the sealed root of sealtree.digest= is up in
#        mode signed (UKICHECK: lines)
#     3. the UKI with one byte of its .cmdline changed, as BOOTX64.EFI:
#        the firmware refuses to load it (Access Denied), no kernel starts
#   uki-boot.sh wait WORK
#     the disk stage starts `run` in the background (UKI_PARALLEL=1, the
#     default), so the Secure Boot boots go on beside boot-image.sh's: wait
#     prints its log and exits with its status (or runs it, if none started)
# Exit: 0 pass, 1 fail, 2 could not set up (skip). Env: UKI_TIMEOUT (600).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
KIT_CACHE=${QEMU_KIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sealtree/qemu-kit}
OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.snakeoil.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd
DB_KEY=/usr/share/ovmf/PkKek-1-snakeoil.key     # its passphrase is "snakeoil" (README.Debian)
DB_CERT=/usr/share/ovmf/PkKek-1-snakeoil.pem
SDBOOT=/usr/lib/systemd/boot/efi/systemd-bootx64.efi
ENTRY_OPTIONS="sealtree.composefs=0 uki.extra=1"
START=$SECONDS
say() { echo "uki [$((SECONDS - START))s]: $*"; }

stage=${1:?usage: uki-boot.sh committed|disk|run|wait WORK}

# ---- hook stages (inside boot-image.sh) --------------------------------------
if [ "$stage" = committed ]; then
	U=$WORK/uki
	rm -rf "$U" && mkdir -p "$U"
	for f in "$OVMF_CODE" "$OVMF_VARS" "$DB_KEY" "$DB_CERT" "$SDBOOT"; do
		[ -e "$f" ] || { echo "$f missing (ovmf, systemd-boot-efi)" >"$U/skip"; exit 0; }
	done
	for t in sbsign objcopy openssl mcopy; do
		command -v $t >/dev/null || { echo "$t missing (sbsigntool, binutils, openssl, mtools)" >"$U/skip"; exit 0; }
	done
	openssl pkey -in "$DB_KEY" -passin pass:snakeoil -out "$U/db.key"
	t0=$SECONDS
	"$BUILD/tools/sealtree/sealtree" --repo "$REPO" admin build-uki --sign-key "$U/db.key" --sign-cert "$DB_CERT" \
		--karg "root=UUID=$ROOT_UUID" --karg rw --karg console=ttyS0 --karg panic=-1 --karg systemd.show_status=1 \
		"$C1" "$U/uki.efi" >"$U/build-uki.log" 2>&1 || { cat "$U/build-uki.log" >&2; exit 1; }
	echo "build-uki: $((SECONDS - t0))s" >>"$U/times"
	sbsign --key "$U/db.key" --cert "$DB_CERT" --output "$U/systemd-bootx64.efi" "$SDBOOT" >/dev/null 2>&1
	echo "$C1" >"$U/commit"
	cat "$U/build-uki.log"
	exit 0
fi
if [ "$stage" = disk ]; then
	U=$WORK/uki
	[ -e "$U/skip" ] && exit 0
	t0=$SECONDS
	cp --sparse=always "$DISK" "$U/disk.img"
	echo "disk copy: $((SECONDS - t0))s" >>"$U/times"
	# The copy is this run's own: its boots go on beside boot-image.sh's
	# (one TCG vCPU each, on a machine with two cores), and `wait` collects
	# the result. UKI_PARALLEL=0: `wait` runs them afterwards instead.
	if [ "${UKI_PARALLEL:-1}" = 1 ]; then
		rm -f "$U/run.rc"
		setsid bash -c 'bash "$0" run "$1" >"$2/run.log" 2>&1 </dev/null; echo $? >"$2/run.rc"' \
			"$0" "$WORK" "$U" </dev/null >/dev/null 2>&1 &
		echo $! >"$U/run.pid"
	fi
	exit 0
fi
# wait WORK: the result of the run the disk stage started (its log, its exit
# status), or, when none was started, the run itself.
if [ "$stage" = wait ]; then
	WORK=${2:?usage: uki-boot.sh wait WORK}
	U=$WORK/uki
	[ -e "$U/run.pid" ] || exec bash "$0" run "$WORK"
	pid=$(cat "$U/run.pid")
	while [ ! -e "$U/run.rc" ] && kill -0 "$pid" 2>/dev/null; do sleep 2; done
	cat "$U/run.log"
	rc=$(cat "$U/run.rc" 2>/dev/null || echo 1)
	rm -f "$U/run.pid"
	exit "$rc"
fi

# ---- run -----------------------------------------------------------------------
[ "$stage" = run ] || { echo "usage: uki-boot.sh committed|disk|run|wait WORK" >&2; exit 2; }
WORK=$(cd "${2:?usage: uki-boot.sh run WORK}" && pwd)
U=$WORK/uki
UKI_TIMEOUT=${UKI_TIMEOUT:-600}
QEMU=$KIT_CACHE/current/qemu/usr/bin/qemu-system-x86_64
[ "$(id -u)" = 0 ] || { echo "uki-boot: SKIP: needs root" >&2; exit 2; }
[ -e "$U/skip" ] && { echo "uki-boot: SKIP: $(cat "$U/skip")" >&2; exit 2; }
for f in uki.efi systemd-bootx64.efi disk.img commit; do
	[ -e "$U/$f" ] || { echo "uki-boot: $U/$f missing: boot-image.sh did not run the hook (BOOT_IMAGE_HOOK)" >&2; exit 1; }
done
[ -x "$QEMU" ] || { echo "uki-boot: SKIP: no QEMU in the kit cache" >&2; exit 2; }
C1=$(cat "$U/commit")
DISK=$U/disk.img
export MTOOLS_SKIP_CHECK=1
LOOP=
MNT=$U/mnt
cleanup() {
	set +e
	mountpoint -q "$MNT" && umount "$MNT"
	[ -n "$LOOP" ] && losetup -d "$LOOP"
}
trap cleanup EXIT
part_offset() {   # part_offset N: byte offset and size of partition N of $DISK
	sfdisk -J "$DISK" | python3 -c 'import json,sys; p=json.load(sys.stdin)["partitiontable"]["partitions"][int(sys.argv[1])-1]; print(p["start"]*512, p["size"]*512)' "$1"
}
fail=0
ok() { echo "uki: ok   $*"; }
nok() { echo "uki: FAIL $*"; fail=1; }

# 1. the deployment's /etc runs the UKI check instead of the phases
read -r off size < <(part_offset 2)
LOOP=$(losetup -f --show -o "$off" --sizelimit "$size" "$DISK")
mkdir -p "$MNT"
mount -t ext4 "$LOOP" "$MNT"
dep=$(ls -d "$MNT/sealtree/deploy/debian/$C1".*/ | head -n1)
[ -d "$dep/etc" ] || { echo "uki-boot: no deployment of $C1 on the disk" >&2; exit 1; }
ETC=$dep/etc
ln -sfn /dev/null "$ETC/systemd/system/sealtree-boot-check.service"
install -D -m 0755 "$SRC/tests/qemu/uki-check.sh" "$ETC/sealtree-test/uki-check.sh"
cat >"$ETC/systemd/system/sealtree-uki-check.service" <<-'EOF'
	[Unit]
	Description=sealtree UKI test: check the Secure Boot chain, then power off
	After=multi-user.target sealtree-boot-complete.service
	[Service]
	Type=oneshot
	ExecStart=/etc/sealtree-test/uki-check.sh
	StandardOutput=tty
	StandardError=tty
	TTYPath=/dev/ttyS0
	[Install]
	WantedBy=multi-user.target
EOF
ln -sfn /etc/systemd/system/sealtree-uki-check.service "$ETC/systemd/system/multi-user.target.wants/sealtree-uki-check.service"
umount "$MNT"
losetup -d "$LOOP"
LOOP=

# 2. the ESP: signed systemd-boot, the signed UKI, an entry adding kargs
read -r off size < <(part_offset 1)
ESP="$DISK@@$off"
mkdir -p "$U/esp/loader/entries"
printf 'timeout 0\ndefault uki-extra.conf\nconsole-mode keep\n' >"$U/esp/loader/loader.conf"
printf 'title sealtree UKI, extra kargs from the entry\nefi /EFI/sealtree/uki.efi\noptions %s\n' "$ENTRY_OPTIONS" \
	>"$U/esp/loader/entries/uki-extra.conf"
mmd -i "$ESP" ::/EFI/sealtree 2>/dev/null || true
mcopy -o -i "$ESP" "$U/systemd-bootx64.efi" ::/EFI/BOOT/BOOTX64.EFI
mcopy -o -i "$ESP" "$U/uki.efi" ::/EFI/sealtree/uki.efi
mcopy -o -i "$ESP" "$U/esp/loader/loader.conf" ::/loader/loader.conf
mcopy -o -i "$ESP" "$U/esp/loader/entries/uki-extra.conf" ::/loader/entries/uki-extra.conf

# boot NAME SECONDS STOP-PATTERN: boot the disk with Secure Boot enforcing,
# serial console to $U/NAME.log; stop at STOP-PATTERN or after SECONDS.
boot() {
	local name=$1 limit=$2 stop=$3 log=$U/$1.log t0=$SECONDS pid
	cp "$OVMF_VARS" "$U/vars-$name.fd"
	: >"$log"
	"$QEMU" -L "$KIT_CACHE/current/qemu/usr/share/qemu" -L "$KIT_CACHE/current/qemu/usr/share/seabios" \
		-nodefaults -no-user-config -display none -serial "file:$log" -accel tcg -cpu max -smp 1 -m 1024 \
		-machine q35,smm=on -global driver=cfi.pflash01,property=secure,value=on \
		-drive if=pflash,format=raw,unit=0,readonly=on,file="$OVMF_CODE" \
		-drive if=pflash,format=raw,unit=1,file="$U/vars-$name.fd" \
		-drive file="$DISK",if=virtio,format=raw </dev/null >"$U/$name.qemu.log" 2>&1 &
	pid=$!
	while kill -0 $pid 2>/dev/null; do
		if [ $((SECONDS - t0)) -ge "$limit" ] || grep -aqE "$stop" "$log"; then
			sleep 2
			# It may have exited in those 2 s (the guest powered off):
			# under set -e a failed kill would end this script.
			kill $pid 2>/dev/null || true
			break
		fi
		sleep 1
	done
	wait $pid 2>/dev/null || true
	tr -d '\r' <"$log" | sed 's/\x1b\[[0-9;=]*[A-Za-z]//g' >"$log.txt"
	echo "boot $name: $((SECONDS - t0))s" >>"$U/times"
	say "boot $name: $((SECONDS - t0))s"
}

say "boot 1: signed UKI through systemd-boot, Secure Boot enforcing (TCG, at most ${UKI_TIMEOUT}s)"
boot signed "$UKI_TIMEOUT" 'UKICHECK-RESULT:|reboot: Power down'
grep -a -E 'UKICHECK|sealtree-prepare-root' "$U/signed.log.txt" || true
grep -aq 'UKICHECK-RESULT: PASS' "$U/signed.log.txt" && ok "the signed UKI booted the sealed root (guest checks above)" ||
	{ nok "the signed UKI boot: no UKICHECK-RESULT: PASS"; tail -30 "$U/signed.log.txt" >&2; }

# 3. one byte of .cmdline changed (the last digit of the commit it names): the firmware refuses the image
read -r csize coff < <(objdump -h "$U/uki.efi" | awk '$2 == ".cmdline" { print $3, $6 }')
cp "$U/uki.efi" "$U/uki-tampered.efi"
pos=$((0x$coff + 0x$csize - 1))     # the last digit of sealtree.digest=
byte=$(od -An -t x1 -j $pos -N 1 "$U/uki-tampered.efi" | tr -d ' ')
printf "\\x$(printf %02x $((0x$byte ^ 1)))" | dd of="$U/uki-tampered.efi" bs=1 seek=$pos conv=notrunc 2>/dev/null
[ "$(cmp -l "$U/uki.efi" "$U/uki-tampered.efi" | wc -l)" = 1 ] && ok "the tampered UKI differs in one byte (.cmdline offset $pos)" ||
	nok "the tampered UKI does not differ in exactly one byte"
mcopy -o -i "$ESP" "$U/uki-tampered.efi" ::/EFI/BOOT/BOOTX64.EFI
say "boot 2: the tampered UKI as \\EFI\\BOOT\\BOOTX64.EFI"
boot tampered 180 'No bootable option|Linux version|EFI stub'
grep -a -E 'BdsDxe|Security Violation|Access Denied' "$U/tampered.log.txt" | sed 's/^/  /' || true
if grep -aqE 'BdsDxe: failed to load Boot[0-9A-F]+ .*(Access Denied|Security Violation)' "$U/tampered.log.txt" &&
	! grep -aqE 'Linux version|EFI stub|UKICHECK' "$U/tampered.log.txt"; then
	ok "the firmware refused the tampered UKI, no kernel started"
else
	nok "the tampered UKI was not refused by the firmware"
fi
sed 's/^/  time: /' "$U/times"
[ $fail = 0 ] && echo "uki-boot: PASS" || echo "uki-boot: FAIL (logs in $U)"
exit $fail
