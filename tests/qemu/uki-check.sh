#!/bin/bash
# SPDX-License-Identifier: MIT
# Runs in the guest that tests/qemu/uki-boot.sh boots from a signed UKI with
# Secure Boot enforcing: UKICHECK: lines on the console, UKICHECK-RESULT: last.
pass=0 failed=0
ok() { pass=$((pass + 1)); echo "UKICHECK: ok   $*"; }
nok() { failed=$((failed + 1)); echo "UKICHECK: FAIL $*"; }
EFI=/sys/firmware/efi/efivars
cmdline=$(cat /proc/cmdline)
echo "UKICHECK: up $(cut -d' ' -f1 /proc/uptime)s, kernel $(uname -r), cmdline: $cmdline"

# Secure Boot: the firmware's variable, and the kernel's view of it
sb=$(od -An -t u1 -j 4 -N 1 $EFI/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c 2>/dev/null | tr -d ' ')
[ "$sb" = 1 ] && ok "SecureBoot efivar is 1" || nok "SecureBoot efivar is '$sb'"
dmesg | grep 'Secure boot enabled' >/dev/null && ok "the kernel says: Secure boot enabled" || nok "the kernel did not see Secure Boot"
echo "UKICHECK:   lockdown: $(cat /sys/kernel/security/lockdown 2>/dev/null)"

# The command line is the UKI's own: the entry's options were ignored
# (efivarfs files do not seek: read them whole, drop the 4 attribute bytes)
loader_var() { cat "$EFI/$1-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f" 2>/dev/null | tail -c +5 | tr -d '\0'; }
echo "UKICHECK:   loader variables: $(ls $EFI | sed -n 's/^\(Loader[A-Za-z]*\|Stub[A-Za-z]*\)-4a67b082.*/\1/p' | tr '\n' ' ')"
loader=$(loader_var LoaderInfo)
case $loader in
systemd-boot*) ok "the loader was $loader" ;;
*) nok "the loader was '$loader', not systemd-boot" ;;
esac
sel=$(loader_var LoaderEntrySelected)
[ "$sel" = uki-extra.conf ] && ok "systemd-boot started the entry $sel (options sealtree.composefs=0 uki.extra=1)" ||
	nok "systemd-boot started '$sel', not uki-extra.conf"
case " $cmdline " in
*" uki.extra=1 "* | *" sealtree.composefs=0 "*) nok "the entry's options reached the kernel: $cmdline" ;;
*) ok "the entry's extra kargs are not on the command line" ;;
esac
digest=$(sed -n 's/.*sealtree\.digest=\([0-9a-f]\{64\}\).*/\1/p' /proc/cmdline)
[ -n "$digest" ] && ok "sealtree.digest=$digest on the command line" || nok "no sealtree.digest= on the command line"
case " $cmdline " in *" sealtree="*) nok "sealtree= on the command line" ;; esac

# The sealed root of that commit
root=$(findmnt -n -o FSTYPE,OPTIONS /)
case $root in
overlay*verity=require*) ok "/ is an overlay with verity=require" ;;
*) nok "/ is not an overlay with verity=require: $root" ;;
esac
if [ -e /run/sealtree/booted.json ]; then
	sed 's/^/UKICHECK:   /' /run/sealtree/booted.json
else
	nok "no /run/sealtree/booted.json"
fi
json() { sed -n "s/.*\"$1\": \"\\([^\"]*\\)\".*/\\1/p" /run/sealtree/booted.json 2>/dev/null; }
[ "$(json mode)" = signed ] && ok "booted.json: mode signed" || nok "booted.json: mode is '$(json mode)'"
[ -n "$digest" ] && [ "$(json commit)" = "$digest" ] && ok "booted.json: the commit is the one sealtree.digest= names" ||
	nok "booted.json: commit '$(json commit)', sealtree.digest= '$digest'"
[ -n "$(json signed-by)" ] && ok "booted.json: signed by $(json signed-by)" || nok "booted.json: no signer"
state=$(systemctl is-active multi-user.target)
[ "$state" = active ] && ok "multi-user.target reached" || nok "multi-user.target is $state"
v=FAIL
[ $failed = 0 ] && [ $pass -gt 0 ] && v=PASS
echo "UKICHECK-RESULT: $v pass=$pass fail=$failed"
systemctl --no-block poweroff
