#!/bin/bash
# SPDX-License-Identifier: MIT
# The dracut module 50sealtree: a real initramfs built with
# `dracut --no-hostonly -m "base sealtree"` carries sealtree-prepare-root
# with its libraries, the policy and the trust store, and the unit that runs
# it between sysroot.mount and initrd-root-fs.target, required by that
# target (a failure must stop the switch-root); lsinitrd lists them;
# the binary runs when chrooted into the unpacked image.
. "$(dirname "$0")/test-lib.sh"
need_root
command -v dracut >/dev/null || skip_all "dracut missing (apt-get install dracut-core)"
command -v lsinitrd >/dev/null || skip_all "lsinitrd missing (dracut-core)"
[ -d /usr/lib/dracut/modules.d ] || skip_all "no /usr/lib/dracut/modules.d"
. "$(dirname "$0")/initramfs-lib.sh"

# dracut's modules with ours added, in a copy (dracutbasedir).
cp -a /usr/lib/dracut "$T/dracut"
M=$T/dracut/modules.d/50sealtree
mkdir -p "$M"
install -m 0755 "$BUILD_DIR/data/dracut-module-setup.sh" "$M/module-setup.sh"
cp "$SOURCE_DIR"/data/dracut/50sealtree/*.service "$M/"
export dracutbasedir=$T/dracut

if ! dracut --no-hostonly --no-hostonly-cmdline --force --kver "$KVER" -m "base sealtree" --no-compress \
	--tmpdir "$T" "$T/initrd.img" >"$T/dracut.log" 2>&1; then
	tail -30 "$T/dracut.log" >&2
	fail "dracut -m 'base sealtree'" "failed"
	done_testing
	exit
fi
ok "dracut -m 'base sealtree' ($(du -k "$T/initrd.img" | cut -f1) KiB)"

lsinitrd "$T/initrd.img" >"$T/list"
for f in usr/sbin/sealtree-prepare-root etc/sealtree/prepare-root.conf etc/sealtree/keys/trusted.d/k1.pub \
	usr/lib/systemd/system/sealtree-prepare-root.service usr/lib/systemd/system/sealtree-prepare-root-failed.service \
	initrd-root-fs.target.requires/sealtree-prepare-root.service; do
	if grep -q "[ /]$f\( ->.*\)\?$" "$T/list"; then ok "lsinitrd lists $f"; else fail "lsinitrd lists $f" "missing"; fi
done
mkdir -p "$T/u"
(cd "$T/u" && lsinitrd --unpack "$T/initrd.img") >/dev/null 2>&1 || true
check_unpacked "$T/u"

# The unit's ordering and conditions, as the initrd's systemd reads them.
U=$T/u/usr/lib/systemd/system/sealtree-prepare-root.service
for l in "After=sysroot.mount" "Before=initrd-root-fs.target" "ConditionKernelCommandLine=|sealtree" \
	"ConditionKernelCommandLine=|sealtree.digest" "ConditionPathExists=|/etc/sealtree/prepare-root.conf" \
	"OnFailure=sealtree-prepare-root-failed.service" "ExecStart=/usr/sbin/sealtree-prepare-root /sysroot" \
	"RequiredBy=initrd-root-fs.target"; do
	check "unit: $l" grep -qxF "$l" "$U"
done
done_testing
