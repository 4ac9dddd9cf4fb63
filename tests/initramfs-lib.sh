# Sourced by t1802/t1803 (building real initramfs images with our hook and
# dracut module). Needs root; re-execs itself in a private mount namespace
# where /usr/lib/modules/KVER holds a Debian kernel's modules: this host's
# kernel has none, so the modules of the QEMU kit's kernel are used
# (~/.cache/sealtree/qemu-kit, filled by tests/qemu/kit.sh), or those of a
# kernel in /usr/lib/modules if there is one. Sets KVER, PREPARE, KEYSRC,
# and writes a signed-mode policy to $T/prepare-root.conf.
in_private_mount_ns "$@"
T=$TEST_TMP
PREPARE=$BUILD_DIR/tools/prepare-root/sealtree-prepare-root
[ -x "$PREPARE" ] || skip_all "sealtree-prepare-root not built"

KIT=${QEMU_KIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sealtree/qemu-kit}/current/kernel
KVER=
for d in /usr/lib/modules/*/ "$KIT"/lib/modules/*/ "$KIT"/usr/lib/modules/*/; do
	[ -e "${d}modules.dep" ] || [ -d "${d}kernel" ] || continue
	KVER=$(basename "$d")
	MODSRC=${d%/}
	break
done
[ -n "$KVER" ] || skip_all "no kernel modules here (the host kernel has none): run a QEMU test once so tests/qemu/kit.sh fills $KIT, or install a linux-image package"
if [ "$MODSRC" != "/usr/lib/modules/$KVER" ]; then
	# An overlay over /usr/lib, in this namespace only, holding modules/KVER.
	mkdir -p "$T/ovl/up/modules" "$T/ovl/work"
	mount -t overlay overlay -o "lowerdir=/usr/lib,upperdir=$T/ovl/up,workdir=$T/ovl/work" /usr/lib ||
		skip_all "cannot overlay /usr/lib to bring kernel $KVER's modules"
	mkdir -p "/usr/lib/modules/$KVER"
	mount --bind "$MODSRC" "/usr/lib/modules/$KVER"
fi
# mkinitramfs reads /boot/config-KVER (compression support): an overlay on /boot too.
KCONFIG=
for f in "/boot/config-$KVER" "$MODSRC/config" "${MODSRC%/lib/modules/*}/boot/config-$KVER"; do
	[ -e "$f" ] && { KCONFIG=$f; break; }
done
if [ -n "$KCONFIG" ] && [ "$KCONFIG" != "/boot/config-$KVER" ]; then
	mkdir -p "$T/ovl/bootup" "$T/ovl/bootwork" /boot
	mount -t overlay overlay -o "lowerdir=/boot,upperdir=$T/ovl/bootup,workdir=$T/ovl/bootwork" /boot ||
		skip_all "cannot overlay /boot to bring kernel $KVER's config"
	cp "$KCONFIG" "/boot/config-$KVER"
fi
echo "# kernel modules: $KVER from $MODSRC"

# The trust store and the policy the initramfs must carry.
"$SEALTREE" keygen -o "$T/k1" >/dev/null
KEYSRC=$T/keys
mkdir -p "$KEYSRC/trusted.d" "$KEYSRC/revoked.d"
cp "$T/k1.pub" "$KEYSRC/trusted.d/k1.pub"
printf '[composefs]\nenabled = signed\nkeys = /etc/sealtree/keys\n[rollback]\nfloor-timestamp = 1764700000\n' >"$T/prepare-root.conf"
export SEALTREE_PREPARE_ROOT=$PREPARE SEALTREE_PREPARE_CONF=$T/prepare-root.conf SEALTREE_KEYS_SOURCE=$KEYSRC

# check_unpacked DIR: the unpacked initramfs holds the binary, its
# libraries, the policy and the keys, and the binary runs there.
check_unpacked() {
	local d=$1 lib
	check "binary in the initramfs" test -x "$d/usr/sbin/sealtree-prepare-root"
	for lib in $(ldd "$PREPARE" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }'); do
		lib=${lib##*/}
		if find "$d" -name "$lib" | grep -q .; then ok "library $lib in the initramfs"; else fail "library $lib in the initramfs" "missing"; fi
	done
	check "policy in the initramfs" cmp "$T/prepare-root.conf" "$d/etc/sealtree/prepare-root.conf"
	check "trusted key in the initramfs" cmp "$KEYSRC/trusted.d/k1.pub" "$d/etc/sealtree/keys/trusted.d/k1.pub"
	check "revoked.d in the initramfs" test -d "$d/etc/sealtree/keys/revoked.d"
	# /proc as the initramfs has it when prepare-root runs (the sanitizer
	# build's leak checker needs it too); only around the two runs.
	mkdir -p "$d/proc" && mount -t proc proc "$d/proc"
	if out=$(chroot "$d" /usr/sbin/sealtree-prepare-root --help 2>&1) && grep -q "^Usage: sealtree-prepare-root" <<<"$out"; then
		ok "the binary runs inside the initramfs (chroot, --help)"
	else
		fail "the binary runs inside the initramfs (chroot, --help)" "$out"
	fi
	# And refuses in the initramfs's own policy: no deployment on this command line.
	if out=$(chroot "$d" /usr/sbin/sealtree-prepare-root --cmdline "quiet" --run-dir /tmp/st /nonexistent 2>&1); then
		fail "prepare-root inside refuses a command line with no deployment (signed policy)" "exit 0: $out"
	else
		ok "prepare-root inside refuses a command line with no deployment (signed policy)"
	fi
	umount "$d/proc"
	if find "$d" -name 'erofs.ko*' | grep -q . && find "$d" -name 'overlay.ko*' | grep -q .; then
		ok "erofs and overlay modules in the initramfs"
	else
		fail "erofs and overlay modules in the initramfs" "missing"
	fi
}
