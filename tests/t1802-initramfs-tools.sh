#!/bin/bash
# SPDX-License-Identifier: MIT
# The initramfs-tools hook and local-bottom script: a real initramfs built
# with mkinitramfs -d (a configuration directory holding our hook and
# script) carries sealtree-prepare-root with its libraries, the policy and
# the trust store; lsinitramfs lists them; the binary runs when chrooted
# into the unpacked image; the local-bottom script is in the boot order.
. "$(dirname "$0")/test-lib.sh"
need_root
command -v mkinitramfs >/dev/null || skip_all "mkinitramfs missing (apt-get install initramfs-tools-core)"
command -v lsinitramfs >/dev/null || skip_all "lsinitramfs missing (initramfs-tools-core)"
. "$(dirname "$0")/initramfs-lib.sh"

CONF=$T/itconf
mkdir -p "$CONF/hooks" "$CONF/scripts/local-bottom" "$CONF/conf.d"
cp /etc/initramfs-tools/initramfs.conf "$CONF/" 2>/dev/null ||
	cp /usr/share/initramfs-tools/conf.d/* "$CONF/conf.d/" 2>/dev/null || true
[ -e "$CONF/initramfs.conf" ] || printf 'MODULES=dep\nBUSYBOX=auto\nCOMPRESS=gzip\n' >"$CONF/initramfs.conf"
sed -i 's/^MODULES=.*/MODULES=list/; s/^COMPRESS=.*/COMPRESS=gzip/' "$CONF/initramfs.conf"
install -m 0755 "$BUILD_DIR/data/initramfs-tools-hook-sealtree" "$CONF/hooks/sealtree"
install -m 0755 "$SOURCE_DIR/data/initramfs-tools/scripts/local-bottom/sealtree" "$CONF/scripts/local-bottom/sealtree"
: >"$CONF/modules"

if ! mkinitramfs -d "$CONF" -o "$T/initrd.img" "$KVER" >"$T/mkinitramfs.log" 2>&1; then
	cat "$T/mkinitramfs.log" >&2
	fail "mkinitramfs with the sealtree hook" "failed"
	done_testing
	exit
fi
ok "mkinitramfs with the sealtree hook ($(du -k "$T/initrd.img" | cut -f1) KiB)"

lsinitramfs "$T/initrd.img" >"$T/list"
for f in usr/sbin/sealtree-prepare-root etc/sealtree/prepare-root.conf etc/sealtree/keys/trusted.d/k1.pub \
	scripts/local-bottom/sealtree; do
	check "lsinitramfs lists $f" grep -qx "$f" "$T/list"
done
# efivarfs, where the kernel has it as a module: without it the script never
# sees LoaderBootCountPath and a refusal panics instead of rebooting.
if [ -n "$(find "/usr/lib/modules/$KVER/" -name 'efivarfs.ko*' 2>/dev/null | head -n1)" ]; then
	check "lsinitramfs lists the efivarfs module" grep -q '/efivarfs\.ko' "$T/list"
fi
check "local-bottom/sealtree is in the boot order (ORDER)" bash -c "mkdir -p '$T/u' && cd '$T/u' && unmkinitramfs '$T/initrd.img' . && grep -q 'local-bottom/sealtree' scripts/local-bottom/ORDER"

check_unpacked "$T/u"
# The script is valid shell and stops the boot (panic) on a refusal.
check "local-bottom script parses" sh -n "$T/u/scripts/local-bottom/sealtree"
check "local-bottom script panics on a refusal" grep -q '^panic ' "$T/u/scripts/local-bottom/sealtree"

# Without a policy the hook warns and still installs the binary.
SEALTREE_PREPARE_CONF=$T/none mkinitramfs -d "$CONF" -o "$T/initrd2.img" "$KVER" >"$T/mk2.log" 2>&1 &&
	lsinitramfs "$T/initrd2.img" >"$T/list2" && grep -qx usr/sbin/sealtree-prepare-root "$T/list2" && grep -q "no $T/none" "$T/mk2.log" &&
	ok "no policy: the hook warns, the binary is still there" || fail "no policy: the hook warns" "$(tail -5 "$T/mk2.log")"
# A policy that names a missing keys directory fails the build.
printf '[composefs]\nenabled = signed\nkeys = /etc/sealtree/nokeys\n' >"$T/bad.conf"
if SEALTREE_PREPARE_CONF=$T/bad.conf SEALTREE_KEYS_SOURCE=$T/nokeys mkinitramfs -d "$CONF" -o "$T/initrd3.img" "$KVER" >"$T/mk3.log" 2>&1; then
	fail "missing keys directory fails the build" "mkinitramfs succeeded"
else
	check "missing keys directory fails the build, named" grep -q "keys directory $T/nokeys is missing" "$T/mk3.log"
fi
done_testing
