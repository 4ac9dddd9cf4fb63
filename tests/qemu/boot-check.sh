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
		[ "$(head -n1 <<<"$out")" = "verity errors this boot: 0" ] && ok "status: first line, 0 verity errors" ||
			nok "status does not start with 0 verity errors"
	else
		nok "sealtree admin status failed: $out"
	fi
fi
# prepare-root's cost, from the kernel log's timestamps: its own (its
# "starting" line, debug level, to its "mounted" line), and from the
# physical root's mount (loading erofs/overlay included), next to the whole
# boot (systemd-analyze: firmware, loader, kernel + initrd, userspace).
kts() { dmesg | sed -n "s/^\[ *\([0-9.]*\)\] $1.*/\1/p" | head -n1; }
t_root=$(kts 'EXT4-fs ([a-z0-9]*): mounted filesystem')
t_start=$(kts 'sealtree-prepare-root: starting')
t_prep=$(kts 'sealtree-prepare-root: .* mounted (composefs')
t_mu=$(systemctl show -p ActiveEnterTimestampMonotonic --value multi-user.target)
t_user=$(systemctl show -p UserspaceTimestampMonotonic --value)
if [ -n "$t_root" ] && [ -n "$t_start" ] && [ -n "$t_prep" ]; then
	awk -v a="$t_root" -v s="$t_start" -v b="$t_prep" -v mu="$t_mu" -v us="$t_user" 'BEGIN {
		printf "BOOTCHECK: time: prepare-root %.0f ms (started at %.3fs, mounted at %.3fs; %.0f ms from the physical root'"'"'s mount at %.3fs); switch-root at %.3fs; multi-user.target at %.3fs (prepare-root %.2f%% of it)\n",
			(b - s) * 1000, s, b, (b - a) * 1000, a, us / 1e6, mu / 1e6, (mu > 0 ? (b - s) * 1e8 / mu : 0) }'
else
	echo "BOOTCHECK: time: no prepare-root timestamps in the kernel log (root '$t_root', start '$t_start', mounted '$t_prep')"
fi
# What systemd-analyze prints once the boot has finished (this unit is part
# of it, so it cannot ask): firmware and loader (before the kernel), kernel
# (to the initramfs), initrd (to the switch-root), then to multi-user.target.
systemctl show -p FirmwareTimestampMonotonic -p LoaderTimestampMonotonic -p InitRDTimestampMonotonic \
	-p UserspaceTimestampMonotonic | awk -F= -v mu="$t_mu" '{ v[$1] = $2 }
	END { fw = v["FirmwareTimestampMonotonic"]; ld = v["LoaderTimestampMonotonic"]; ird = v["InitRDTimestampMonotonic"]
		us = v["UserspaceTimestampMonotonic"]
		if (ird > 0)
			k = sprintf("kernel %.1fs + initrd %.1fs", ird / 1e6, (us - ird) / 1e6)
		else
			k = sprintf("kernel + initramfs %.1fs", us / 1e6)
		if (fw > 0 || ld > 0)
			f = sprintf("firmware %.1fs + loader %.1fs", (fw - ld) / 1e6, ld / 1e6)
		else
			f = "firmware and loader: not reported (the serial log'"'"'s times show them)"
		printf "BOOTCHECK: time: boot: %s; %s + userspace to multi-user.target %.1fs\n", f, k, (mu - us) / 1e6 }'
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
# Phase 4's attacks on objects of the running system: the payload of PATH
# in the booted commit ("XX/Y..."), then the two attacks, then what status
# and the record say.
payload_of() {
	sealtree --repo /sysroot/sealtree/repo dump "$(json commit)" 2>/dev/null | awk -v p="$1" '$1 == p { print $9 }'
}
verity_phase() {
	local f=/usr/share/sealtree-test/eio-target g=/usr/share/sealtree-test/swap-target
	local pf pg dev blk err out
	pf=$(payload_of $f)
	pg=$(payload_of $g)
	echo "BOOTCHECK:   objects: $f $pf, $g $pg"
	# 1. A byte of the object's second block flipped on the block device,
	# under the filesystem (O_DIRECT both ways, then the caches dropped).
	dev=$(findmnt -n -o SOURCE /sysroot | sed 's/\[.*//')
	blk=$(filefrag -v "/sysroot/sealtree/repo/objects/$pf" 2>/dev/null | awk '$1 == "0:" { sub(/\.\.$/, "", $4); print $4 + 1 }')
	if [ -n "$pf" ] && [ -n "$blk" ] && [ -b "$dev" ] &&
		dd if="$dev" of=/run/blk bs=4096 skip="$blk" count=1 iflag=direct 2>/dev/null &&
		b=$(od -An -tu1 -j100 -N1 /run/blk | tr -d ' ') &&
		printf "\\$(printf %o $(((b + 1) % 256)))" | dd of=/run/blk bs=1 seek=100 conv=notrunc 2>/dev/null &&
		dd if=/run/blk of="$dev" bs=4096 seek="$blk" count=1 oflag=direct conv=notrunc 2>/dev/null; then
		ok "flipped a byte of $f's object on $dev (block $blk)"
	else
		nok "could not flip a byte of $f's object (payload '$pf', device '$dev', block '$blk')"
	fi
	sync
	echo 3 >/proc/sys/vm/drop_caches
	if err=$(cat $f 2>&1 >/dev/null); then nok "$f still reads"; else
		case $err in *"Input/output error"*) ok "reading $f gives EIO" ;; *) nok "reading $f: $err" ;; esac
	fi
	# 2. The object replaced by another file with fs-verity: fs-verity is
	# satisfied, the digest is not the image's; overlayfs verity=require.
	if [ -n "$pg" ] && [ -x /usr/libexec/sealtree-test/verity-enable-all ] &&
		unshare -m sh -c "mount -o remount,rw /sysroot && d=/sysroot/sealtree/repo/tmp/swap && mkdir -p \$d &&
			head -c 8192 /dev/urandom >\$d/f && /usr/libexec/sealtree-test/verity-enable-all \$d >/dev/null &&
			mv -f \$d/f /sysroot/sealtree/repo/objects/$pg && rmdir \$d && sync"; then
		ok "replaced $g's object by another file with fs-verity"
	else
		nok "could not replace $g's object (payload '$pg')"
	fi
	if err=$(cat $g 2>&1 >/dev/null); then nok "$g still reads"; else
		case $err in *"Input/output error"*) ok "reading $g gives EIO" ;; *) nok "reading $g: $err" ;; esac
	fi
	dmesg | grep -E 'fs-verity \(|overlayfs: (lower|metacopy) file' | sed 's/^/BOOTCHECK:   kernel: /'
	# The rest keeps running.
	[ "$(cat /usr/share/sealtree-test/version)" = 1 ] && ok "other files still read" || nok "other files no longer read"
	state=$(systemctl is-active multi-user.target)
	[ "$state" = active ] && ok "the system keeps running" || nok "multi-user.target is $state after the errors"
	out=$(sealtree admin status 2>&1)
	echo "$out" | head -n4 | sed 's/^/BOOTCHECK:   /'
	n=$(head -n1 <<<"$out" | sed -n 's/^verity errors this boot: \([0-9]*\).*/\1/p')
	[ "${n:-0}" -ge 2 ] && ok "status counts $n verity errors this boot" || nok "status counts '${n}' verity errors: $(head -n1 <<<"$out")"
	# Below its first line status names the last errors' files (the newest last).
	grep -qE "^  (corrupted $f|wrong-digest $g) \(object " <<<"$out" && ok "status names the file of the last error" ||
		nok "status names neither $f nor $g"
	out=$(sealtree admin verity-errors 2>&1)
	echo "$out" | sed 's/^/BOOTCHECK:   /'
	grep -q "^  corrupted $f (object ${pf%%/*}" <<<"$out" && ok "verity-errors names $f (fs-verity, object ${pf%%/*}...)" ||
		nok "verity-errors does not name $f"
	grep -q "^  wrong-digest $g (object ${pg%%/*}" <<<"$out" && ok "verity-errors names $g (overlayfs, object ${pg%%/*}...)" ||
		nok "verity-errors does not name $g"
	state=$(systemctl is-active sealtree-verity-errors.service)
	[ "$state" = active ] && ok "sealtree-verity-errors.service ran at boot" || nok "sealtree-verity-errors.service is $state"
	systemctl restart sealtree-verity-errors.service
	grep -q "\"paths\": \[\"$f\"\]" /var/lib/sealtree/verity-errors.log 2>/dev/null &&
		grep -q "\"paths\": \[\"$g\"\]" /var/lib/sealtree/verity-errors.log &&
		ok "the unit recorded both in /var/lib/sealtree/verity-errors.log" ||
		nok "/var/lib/sealtree/verity-errors.log lacks them: $(cat /var/lib/sealtree/verity-errors.log 2>&1 | head -c 600)"
}

# Version 2 carries an initramfs made by dracut (boot-image.sh): this boot
# went through systemd in the initrd, and the sealtree module's unit ran
# there after sysroot.mount and before initrd-root-fs.target (the order the
# initrd's PID 1 logged, kept in this boot's journal).
dracut_initrd() {
	local j n_run n_dracut n_sysroot n_start n_done n_rootfs n_switch
	# Not only _PID=1: the initrd's PID 1 logs through the kernel until its
	# journald runs, and those lines carry SYSLOG_PID, not _PID.
	j=$(journalctl -b -o cat --no-pager 2>/dev/null)
	line_of() { grep -n -m1 -E "$1" <<<"$j" | cut -d: -f1; }
	n_run=$(line_of '^Running in initrd')
	n_dracut=$(line_of 'dracut-(cmdline|pre-udev|pre-trigger|pre-mount)\.service')
	n_sysroot=$(line_of '^Mounted sysroot\.mount')
	n_start=$(line_of '^Starting sealtree-prepare-root\.service')
	n_done=$(line_of '^Finished sealtree-prepare-root\.service')
	n_rootfs=$(line_of '^Reached target initrd-root-fs\.target')
	n_switch=$(line_of '^(Starting initrd-switch-root\.service|Switching root)')
	echo "BOOTCHECK:   initrd journal lines: in initrd $n_run, dracut hook $n_dracut, sysroot.mount $n_sysroot," \
		"prepare-root start $n_start done $n_done, initrd-root-fs.target $n_rootfs, switch-root $n_switch"
	grep -E 'sysroot\.mount|sealtree-prepare-root|initrd-root-fs\.target' <<<"$j" | head -n 8 | sed 's/^/BOOTCHECK:     /'
	# The unit's own time, from the journal's monotonic timestamps.
	journalctl -b -o short-monotonic --no-pager 2>/dev/null |
		sed -n 's/^\[ *\([0-9.]*\)\].*\(Starting\|Finished\) sealtree-prepare-root\.service.*/\2 \1/p' |
		awk '$1 == "Starting" && !s { s = $2 } $1 == "Finished" && !f { f = $2 }
			END { if (s && f) printf "BOOTCHECK: time: sealtree-prepare-root.service %.0f ms in the initrd (started at %.3fs, finished at %.3fs)\n", (f - s) * 1000, s, f }'
	[ -n "$n_run" ] && [ -n "$n_dracut" ] && ok "the initramfs was dracut's, with systemd in the initrd" ||
		nok "no systemd initrd made by dracut in this boot's journal"
	[ -n "$n_sysroot" ] && [ -n "$n_start" ] && [ -n "$n_done" ] && [ -n "$n_rootfs" ] && [ -n "$n_switch" ] &&
		[ "$n_sysroot" -lt "$n_start" ] && [ "$n_done" -lt "$n_rootfs" ] && [ "$n_rootfs" -lt "$n_switch" ] &&
		ok "sealtree-prepare-root.service ran after sysroot.mount, before initrd-root-fs.target and the switch-root" ||
		nok "sealtree-prepare-root.service did not run in order in the initrd"
	# systemd's initrd makes mounts shared: the physical root, not a
	# propagated copy of the image, must be the top of /sysroot.
	state=$(findmnt -n -o FSTYPE --mountpoint /sysroot | tail -n1)
	[ "$state" = ext4 ] && [ -d /sysroot/sealtree/deploy ] && ok "the physical root is on /sysroot after the switch-root" ||
		nok "/sysroot is '$state', not the physical root"
}

case $phase in
1)
	[ "$version" = 1 ] && ok "phase 1 boots version 1" || nok "phase 1 boots version '$version'"
	echo "edited on the machine" >/etc/sealtree-local-edit
	# The test package (boot-image.sh): version 1.0 here; one of its
	# conffiles edited locally, which version 2 changes too (a conflict).
	[ "$(sealtree-boot-test 2>&1)" = 1.0 ] && ok "the test package is version 1.0" ||
		nok "sealtree-boot-test says '$(sealtree-boot-test 2>&1)', not 1.0"
	echo "setting = local" >/etc/sealtree-boot-test/edited.conf
	# Staged: finalize-staged switches at this shutdown (merging /etc
	# again); counted, so the loader sets LoaderBootCountPath; and with a
	# karg that asks prepare-root for no composefs at all.
	if out=$(sealtree admin upgrade --stage --boot-tries 3 --karg-append sealtree.composefs=0 2>&1); then
		ok "admin upgrade --stage (to version 2, 3 tries, sealtree.composefs=0)"
	else
		nok "admin upgrade --stage: $out"
	fi
	echo "$out" | sed 's/^/BOOTCHECK:   /'
	echo "edited after staging" >/etc/sealtree-staged-edit
	sealtree admin status 2>&1 | grep -q '^  staged: ' && ok "status shows the staged deployment" || nok "status does not show the staged deployment"
	for i in $(seq 20); do
		state=$(systemctl is-active sealtree-finalize-staged.service)
		[ "$state" = active ] && break
		sleep 0.5
	done
	[ "$state" = active ] && ok "sealtree-finalize-staged.service started by its path unit" ||
		nok "sealtree-finalize-staged.service is $state"
	next 2 ;;
2)
	[ "$version" = 2 ] && ok "finalize-staged ran at shutdown: version 2 booted" || nok "after the staged upgrade + reboot: version '$version'"
	[ "$(cat /etc/sealtree-local-edit 2>/dev/null)" = "edited on the machine" ] &&
		ok "the local /etc edit survived the upgrade" || nok "the local /etc edit is lost"
	[ "$(cat /etc/sealtree-staged-edit 2>/dev/null)" = "edited after staging" ] &&
		ok "the /etc edit made after staging survived (merged at shutdown)" || nok "the /etc edit made after staging is lost"
	# The package dpkg upgraded between the two commits, and its conffiles
	# through the /etc merge: the unedited one takes version 2's default,
	# the edited one keeps the edit, gets the default beside it and is a
	# conflict that admin status reports.
	[ "$(sealtree-boot-test 2>&1)" = 2.0 ] && ok "the changed package: sealtree-boot-test 2.0 runs" ||
		nok "sealtree-boot-test says '$(sealtree-boot-test 2>&1)', not 2.0"
	c=/etc/sealtree-boot-test
	[ "$(cat $c/defaults.conf 2>&1)" = "setting = 2.0" ] && ok "a changed /etc default not edited here: the new one" ||
		nok "$c/defaults.conf is '$(cat $c/defaults.conf 2>&1)'"
	[ "$(cat $c/edited.conf 2>&1)" = "setting = local" ] && ok "a changed /etc default edited here: the edit kept" ||
		nok "$c/edited.conf is '$(cat $c/edited.conf 2>&1)'"
	[ "$(cat $c/edited.conf.sealtree-new 2>&1)" = "setting = 2.0" ] && ok "its new default beside it as edited.conf.sealtree-new" ||
		nok "$c/edited.conf.sealtree-new is '$(cat $c/edited.conf.sealtree-new 2>&1)'"
	out=$(sealtree admin status 2>&1)
	echo "$out" | grep -A3 '/etc conflicts' | sed 's/^/BOOTCHECK:   /'
	awk '/^\* 0 / { b = 1; next } /^[ *] [0-9]+ / { b = 0 } b' <<<"$out" | grep -q '^      modified sealtree-boot-test/edited.conf$' &&
		ok "admin status reports the conflict on the booted deployment: modified sealtree-boot-test/edited.conf" ||
		nok "admin status does not report the conflict of sealtree-boot-test/edited.conf"
	# sealtree.composefs=0 on the command line: still signed, the word ignored.
	case " $(cat /proc/cmdline) " in
	*" sealtree.composefs=0 "*) ok "booted with sealtree.composefs=0" ;;
	*) nok "sealtree.composefs=0 is not on the command line" ;;
	esac
	[ "$(json mode)" = signed ] && [ "$(json root)" = composefs ] && ok "sealtree.composefs=0 did not unseal: mode signed, root composefs" ||
		nok "with sealtree.composefs=0: mode '$(json mode)', root '$(json root)'"
	grep -q '"notes": "[^"]*ignored sealtree.composefs=0' /run/sealtree/booted.json && ok "booted.json notes the ignored karg" ||
		nok "booted.json does not note the ignored sealtree.composefs=0"
	# Boot counting through the firmware: systemd-boot named the counted
	# entry in LoaderBootCountPath; sealtree-boot-complete dropped the counter.
	v=/sys/firmware/efi/efivars/LoaderBootCountPath-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f
	if [ -e $v ]; then
		p=$(cat $v | tail -c +5 | tr -d '\0')
		echo "BOOTCHECK:   LoaderBootCountPath: $p"
		case $p in *+3.conf | *+2-1.conf) ok "LoaderBootCountPath names the counted entry" ;; *) nok "LoaderBootCountPath is '$p'" ;; esac
	else
		nok "no LoaderBootCountPath efi variable on a counted boot"
	fi
	ls /sysroot/boot/loader/entries | sed 's/^/BOOTCHECK:   entry: /'
	ls /sysroot/boot/loader/entries | grep -q '+' && nok "an entry still has a boot counter after boot-complete" ||
		ok "boot-complete dropped the counter of the counted boot"
	dracut_initrd
	if out=$(sealtree admin rollback 2>&1); then ok "admin rollback"; else nok "admin rollback: $out"; fi
	next 3 ;;
3)
	[ "$version" = 1 ] && ok "after rollback + reboot: version 1 booted" || nok "after rollback + reboot: version '$version'"
	# A deployment whose image is then changed: prepare-root must refuse
	# it, and boot counting (one try) must bring the machine back here.
	if out=$(sealtree admin deploy --boot-tries 1 debian/bad 2>&1); then ok "deploy debian/bad with --boot-tries 1"; else nok "deploy debian/bad: $out"; fi
	img=$(sealtree --repo /sysroot/sealtree/repo show --json debian/bad | sed -n 's/.*"image": "\([0-9a-f]\{64\}\)".*/\1/p' | head -n1)
	# With fs-verity enabled on the changed copy, as an attacker would: the
	# kernel measures it, and the digest is not the one the commit names.
	if [ -n "$img" ] && [ -x /usr/libexec/sealtree-test/verity-enable-all ] &&
		unshare -m sh -c "mount -o remount,rw /sysroot && I=/sysroot/sealtree/repo/images/$img &&
		d=/sysroot/sealtree/repo/tmp/imgtamper && mkdir -p \$d && cp \$I \$d/i &&
		printf 'X' | dd of=\$d/i bs=1 seek=200 conv=notrunc 2>/dev/null &&
		/usr/libexec/sealtree-test/verity-enable-all \$d >/dev/null && mv -f \$d/i \$I && rmdir \$d && sync"; then
		ok "image $img of debian/bad changed on disk (fs-verity enabled on the change)"
	else
		nok "could not change the image of debian/bad ($img)"
	fi
	# A deployment whose signature is then changed: refused as well; it is
	# the default, so it is tried first, then debian/bad, then version 1.
	if out=$(sealtree admin deploy --boot-tries 1 debian/badsig 2>&1); then ok "deploy debian/badsig with --boot-tries 1"; else nok "deploy debian/badsig: $out"; fi
	c4=$(sealtree --repo /sysroot/sealtree/repo show --json debian/badsig | sed -n 's/.*"id": "\([0-9a-f]\{64\}\)".*/\1/p' | head -n1)
	if [ -n "$c4" ] && unshare -m sh -c "mount -o remount,rw /sysroot && S=/sysroot/sealtree/repo/commits/$c4.sig &&
		cp \$S \$S.tamper && printf 'X' | dd of=\$S.tamper bs=1 seek=40 conv=notrunc 2>/dev/null &&
		mv -f \$S.tamper \$S && sync"; then
		ok "signature of debian/badsig ($c4) changed on disk"
	else
		nok "could not change the signature of debian/badsig ($c4)"
	fi
	# A deployment whose commit record is then swapped for another
	# commit's, validly signed (version 1's record and signature): refused
	# too; it is the default now, so it is tried first.
	if out=$(sealtree admin deploy --boot-tries 1 debian/badcommit 2>&1); then ok "deploy debian/badcommit with --boot-tries 1"; else nok "deploy debian/badcommit: $out"; fi
	c5=$(sealtree --repo /sysroot/sealtree/repo show --json debian/badcommit | sed -n 's/.*"id": "\([0-9a-f]\{64\}\)".*/\1/p' | head -n1)
	c1=$(json commit)
	if [ -n "$c5" ] && [ -n "$c1" ] && unshare -m sh -c "mount -o remount,rw /sysroot && C=/sysroot/sealtree/repo/commits &&
		cp \$C/$c1 \$C/$c5.tamper && cp \$C/$c1.sig \$C/$c5.sig.tamper &&
		mv -f \$C/$c5.tamper \$C/$c5 && mv -f \$C/$c5.sig.tamper \$C/$c5.sig && sync"; then
		ok "commit record of debian/badcommit ($c5) swapped for version 1's, with its signature"
	else
		nok "could not swap the commit record of debian/badcommit ($c5)"
	fi
	ls /sysroot/boot/loader/entries | sed 's/^/BOOTCHECK:   entry: /'
	next 4 ;;
4)
	[ "$version" = 1 ] && ok "the three tampered deployments were refused, boot counting fell back to version 1" ||
		nok "after the tampered deployments: version '$version' booted"
	out=$(sealtree admin status 2>&1)
	echo "$out" | grep -E '^[ *] [0-9]|boot counting' | sed 's/^/BOOTCHECK:   /'
	[ "$(grep -c 'boot counting: BAD' <<<"$out")" = 3 ] && ok "status: the three tampered deployments (image, signature, commit) are marked BAD" ||
		nok "status does not mark the three tampered deployments BAD"
	grep -q 'BROKEN: its commit record is corrupt or unreadable: .*do not match its id' <<<"$out" &&
		ok "status: the swapped commit record is named corrupt" || nok "status does not name the swapped commit record"
	verity_phase
	;;
esac
v=FAIL
[ $failed = 0 ] && [ $pass -gt 0 ] && v=PASS
echo "BOOTCHECK-RESULT: $v pass=$pass fail=$failed"
systemctl --no-block poweroff
