#!/bin/bash
# SPDX-License-Identifier: MIT
# Runs in the booted sealtree deployment (tests/qemu/boot-image.sh), from a
# unit ordered after multi-user.target: BOOTCHECK: lines on the console, a
# BOOTCHECK-RESULT: line last. The image builder greps them.
pass=0 failed=0
ok() { pass=$((pass + 1)); echo "BOOTCHECK: ok   $*"; }
nok() { failed=$((failed + 1)); echo "BOOTCHECK: FAIL $*"; }
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
state=$(systemctl is-active multi-user.target)
[ "$state" = active ] && ok "multi-user.target reached" || nok "multi-user.target is $state"
systemctl --failed --no-legend | sed 's/^/BOOTCHECK:   failed unit: /'
state=$(systemctl is-active sealtree-boot-complete.service)
[ "$state" = active ] && ok "sealtree-boot-complete.service ran" || nok "sealtree-boot-complete.service is $state"
# A file of the image reads back; /etc is the deployment's, writable.
[ -x /usr/bin/sealtree ] && ok "/usr/bin/sealtree is there" || nok "/usr/bin/sealtree missing"
if echo test >/etc/sealtree-boot-check 2>/dev/null; then ok "/etc is writable"; rm -f /etc/sealtree-boot-check; else nok "/etc is not writable"; fi
v=FAIL
[ $failed = 0 ] && [ $pass -gt 0 ] && v=PASS
echo "BOOTCHECK-RESULT: $v pass=$pass fail=$failed"
