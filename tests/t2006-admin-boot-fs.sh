#!/bin/bash
# SPDX-License-Identifier: MIT
# /boot as its own small filesystem, as on a real machine: a vfat ESP where
# the kernel has vfat (else a small ext4, and it says so; entries name
# /sealtree/... without /boot, the switch is a RENAME_EXCHANGE, on vfat
# since Linux 6.0) and then a full /boot: a deploy whose kernel does
# not fit fails saying so, and changes nothing (no entry, no deployment, no
# pin, no partial boot files).
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/admin-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
need_root
command -v mkfs.ext4 >/dev/null || skip_all "needs mkfs.ext4"
T=$TEST_TMP
"$SEALTREE" admin init-fs --verity=off "$SYS" >/dev/null
truncate -s 8M "$T/esp.img"
if command -v mkfs.vfat >/dev/null && grep -qw vfat /proc/filesystems; then
	mkfs.vfat -n ESP "$T/esp.img" >/dev/null
	echo "# /boot is vfat"
else
	echo "# NOTE: no vfat in this kernel (or no mkfs.vfat): /boot is a small ext4 instead"
	mkfs.ext4 -q -F "$T/esp.img"
fi
mount -o loop "$T/esp.img" "$SYS/boot" || skip_all "cannot loop-mount a filesystem image here"
cleanup_mnt() { umount -l "$SYS/boot" 2>/dev/null; rm -rf "$TEST_TMP"; }
trap cleanup_mnt EXIT
mkdir -p "$SYS/boot/loader/entries"
admin os-init debian >/dev/null
ENTRIES=$SYS/boot/loader/entries

make_tree "$T/t"
head -c 3000000 /dev/urandom >"$T/t/usr/lib/modules/6.1.0-test/vmlinuz"
c1=$(commit_tree "$T/t" os/main 1)
admin deploy --os debian --keys-dir "$KEYS" os/main >"$T/out" 2>"$T/err" && ok "deploy onto a vfat /boot" || fail "deploy onto a vfat /boot" "$(cat "$T/err")"
e1=$ENTRIES/sealtree-debian-$c1.0.conf
check "entry paths are relative to the ESP" grep -q "^linux /sealtree/debian-[0-9a-f]*/vmlinuz$" "$e1"
echo v2 >"$T/t/usr/etc/v"
c2=$(commit_tree "$T/t" os/main 2)
admin deploy --keys-dir "$KEYS" os/main >/dev/null 2>"$T/err" && ok "second deploy (same kernel, shared)" || fail "second deploy" "$(cat "$T/err")"
admin rollback >/dev/null 2>"$T/err" && ok "rollback on vfat" || fail "rollback on vfat" "$(cat "$T/err")"
check "rollback order on vfat" grep -qx "version 2" "$e1"
python3 "$(dirname "$0")/admin-check.py" "$SEALTREE" "$SYS" --clean >"$T/check" && ok "sysroot whole" || fail "sysroot whole" "$(cat "$T/check")"

# A new 6 MB kernel does not fit beside the 3 MB one on 8 MB.
head -c 6000000 /dev/urandom >"$T/t/usr/lib/modules/6.1.0-test/vmlinuz"
c3=$(commit_tree "$T/t" os/main 3)
snapshot() { (cd "$SYS" && find . -path ./sealtree/lock -prune -o -print | sort; cat boot/loader/entries/*; ls -R sealtree/repo/refs) >"$1"; }
snapshot "$T/before"
rc=0
admin deploy --keys-dir "$KEYS" os/main >"$T/out" 2>"$T/err" || rc=$?
snapshot "$T/after"
check "full /boot: deploy fails" test $rc = 1
check "full /boot: says so" grep -q "no space left on /boot for the kernel and initramfs of 6.1.0-test" "$T/err"
if cmp -s "$T/before" "$T/after"; then ok "full /boot: nothing changed"; else fail "full /boot: nothing changed" "$(diff "$T/before" "$T/after" | head)"; fi
check "full /boot: no partial boot files" test -z "$(ls "$SYS/boot/sealtree" | grep tmp)"
python3 "$(dirname "$0")/admin-check.py" "$SEALTREE" "$SYS" --clean >"$T/check" && ok "sysroot whole after ENOSPC" || fail "sysroot whole after ENOSPC" "$(cat "$T/check")"
admin status | grep -q BROKEN && fail "status clean" || ok "status clean"
done_testing
