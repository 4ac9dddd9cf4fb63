#!/bin/bash
# SPDX-License-Identifier: MIT
# Runs in the booted sealtree deployment (tests/qemu/boot-image.sh), from a
# unit ordered after multi-user.target: BOOTCHECK: lines on the console, a
# BOOTCHECK-RESULT: line last. The image builder greps them.
STATE=/var/lib/sealtree-boot-test
mkdir -p $STATE
phase=$(cat $STATE/phase 2>/dev/null || echo 1)
pass=0 failed=0
ok() { pass=$((pass + 1)); echo "BOOTCHECK: ok   $*"; }
nok() { failed=$((failed + 1)); echo "BOOTCHECK: FAIL $*"; }
echo "BOOTCHECK: phase $phase, version $(cat /usr/share/sealtree-test/version 2>/dev/null)"
echo "BOOTCHECK: up $(cut -d' ' -f1 /proc/uptime)s, kernel $(uname -r), cmdline: $(cat /proc/cmdline)"

root=$(findmnt -n -o FSTYPE,OPTIONS /)
echo "BOOTCHECK: / is $root"
case $root in
overlay*verity=require*) ok "/ is an overlay with verity=require" ;;
*) nok "/ is not an overlay with verity=require: $root" ;;
esac
if [ -e /run/sealtree/booted.json ]; then
	ok "booted.json written by prepare-root"
	sed 's/^/BOOTCHECK:   /' /run/sealtree/booted.json
else
	nok "no /run/sealtree/booted.json"
fi
json() { sed -n "s/.*\"$1\": \"\\([^\"]*\\)\".*/\\1/p" /run/sealtree/booted.json; }
[ "$(json mode)" = signed ] && ok "booted.json: mode signed" || nok "booted.json: mode is '$(json mode)'"
signer=$(json signed-by)
# The physical root's ESP is on /sysroot/boot (fstab); the sysroot is found
# without --sysroot on a booted machine.
findmnt -n -o TARGET,FSTYPE /sysroot/boot | sed 's/^/BOOTCHECK:   ESP: /'
if [ "$phase" = 1 ]; then
	if out=$(sealtree admin status 2>&1); then
		echo "$out" | sed 's/^/BOOTCHECK:   /'
		grep -q "^\* 0 debian/$(json deployment) (default)" <<<"$out" && ok "status: deployment 0 is the booted default" ||
			nok "status does not show debian/$(json deployment) booted as the default"
		grep -q "signature: valid, key ${signer:0:16}" <<<"$out" && ok "status: signature valid, key ${signer:0:16}" ||
			nok "status does not show a valid signature by ${signer:0:16}"
		grep -q "root: composefs, verity, signed by $signer" <<<"$out" && ok "status: root composefs, verity, signed" ||
			nok "status does not show the root composefs, verity, signed by $signer"
	else
		nok "sealtree admin status failed: $out"
	fi
fi
state=$(systemctl is-active multi-user.target)
[ "$state" = active ] && ok "multi-user.target reached" || nok "multi-user.target is $state"
systemctl --failed --no-legend | sed 's/^/BOOTCHECK:   failed unit: /'
state=$(systemctl is-active sealtree-boot-complete.service)
[ "$state" = active ] && ok "sealtree-boot-complete.service ran" || nok "sealtree-boot-complete.service is $state"
# A file of the image reads back; /etc is the deployment's, writable.
[ -x /usr/bin/sealtree ] && ok "/usr/bin/sealtree is there" || nok "/usr/bin/sealtree missing"
if echo test >/etc/sealtree-boot-check 2>/dev/null; then ok "/etc is writable"; rm -f /etc/sealtree-boot-check; else nok "/etc is not writable"; fi
version=$(cat /usr/share/sealtree-test/version 2>/dev/null)
# next PHASE: record it and reboot (the phases are this boot's failures or
# none); the last phase prints the result and powers off.
next() {
	if [ $failed != 0 ]; then
		echo "BOOTCHECK-RESULT: FAIL in phase $phase pass=$pass fail=$failed"
		systemctl --no-block poweroff
		exit 0
	fi
	echo "$1" >$STATE/phase
	sync
	echo "BOOTCHECK: phase $phase passed ($pass checks), rebooting into phase $1"
	systemctl --no-block reboot
	exit 0
}
case $phase in
1)
	[ "$version" = 1 ] && ok "phase 1 boots version 1" || nok "phase 1 boots version '$version'"
	echo "edited on the machine" >/etc/sealtree-local-edit
	if out=$(sealtree admin upgrade 2>&1); then ok "admin upgrade (to version 2)"; else nok "admin upgrade: $out"; fi
	echo "$out" | sed 's/^/BOOTCHECK:   /'
	next 2 ;;
2)
	[ "$version" = 2 ] && ok "after upgrade + reboot: version 2 booted" || nok "after upgrade + reboot: version '$version'"
	[ "$(cat /etc/sealtree-local-edit 2>/dev/null)" = "edited on the machine" ] &&
		ok "the local /etc edit survived the upgrade" || nok "the local /etc edit is lost"
	if out=$(sealtree admin rollback 2>&1); then ok "admin rollback"; else nok "admin rollback: $out"; fi
	next 3 ;;
3)
	[ "$version" = 1 ] && ok "after rollback + reboot: version 1 booted" || nok "after rollback + reboot: version '$version'"
	# A deployment whose image is then changed: prepare-root must refuse
	# it, and boot counting (one try) must bring the machine back here.
	if out=$(sealtree admin deploy --boot-tries 1 debian/bad 2>&1); then ok "deploy debian/bad with --boot-tries 1"; else nok "deploy debian/bad: $out"; fi
	img=$(sealtree --repo /sysroot/sealtree/repo show --json debian/bad | sed -n 's/.*"image": "\([0-9a-f]\{64\}\)".*/\1/p' | head -n1)
	if [ -n "$img" ] && unshare -m sh -c "mount -o remount,rw /sysroot && I=/sysroot/sealtree/repo/images/$img &&
		cp \$I \$I.tamper && printf 'X' | dd of=\$I.tamper bs=1 seek=200 conv=notrunc 2>/dev/null &&
		mv -f \$I.tamper \$I && sync"; then
		ok "image $img of debian/bad changed on disk"
	else
		nok "could not change the image of debian/bad ($img)"
	fi
	ls /sysroot/boot/loader/entries | sed 's/^/BOOTCHECK:   entry: /'
	next 4 ;;
4)
	[ "$version" = 1 ] && ok "the tampered deployment was refused, boot counting fell back to version 1" ||
		nok "after the tampered deployment: version '$version' booted"
	out=$(sealtree admin status 2>&1)
	echo "$out" | grep -E '^[ *] [0-9]|boot counting' | sed 's/^/BOOTCHECK:   /'
	grep -q 'boot counting: BAD' <<<"$out" && ok "status: the tampered deployment is marked BAD" ||
		nok "status does not mark the tampered deployment BAD"
	;;
esac
v=FAIL
[ $failed = 0 ] && [ $pass -gt 0 ] && v=PASS
echo "BOOTCHECK-RESULT: $v pass=$pass fail=$failed"
systemctl --no-block poweroff
