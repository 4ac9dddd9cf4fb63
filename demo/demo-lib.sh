# Sourced by make demo's parts 3 and 4 (from the top of the source tree).

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
proof() { printf '   \033[32mPROVED\033[0m %s\n' "$*"; }
indent() { sed 's/^/   /'; }

# os_tree DIR: demo/sample as an operating system tree in DIR: its /etc
# defaults in usr/etc, an empty /etc, and a stand-in kernel and initramfs
# (filler bytes) under usr/lib/modules/6.1.0-demo.
os_tree() {
	local t=$1
	rm -rf "$t"
	cp -a demo/sample "$t"
	mkdir -p "$t/usr/lib/modules/6.1.0-demo"
	mv "$t/etc" "$t/usr/etc"
	mkdir "$t/etc"
	head -c 65536 /dev/zero | tr '\0' 'K' >"$t/usr/lib/modules/6.1.0-demo/vmlinuz"
	head -c 16384 /dev/zero | tr '\0' 'I' >"$t/usr/lib/modules/6.1.0-demo/initramfs.img"
}

# vendor_release_1_0 TREE: the vendor's repository (V), its signing key
# ($WORK/vendor.key, trusted by machines through $WORK/keys) and release 1.0
# of demo/os committed from TREE and signed.
vendor_release_1_0() {
	V init --verity=off | indent
	V keygen --type ed25519 -o "$WORK/vendor.key" >/dev/null
	mkdir -p "$WORK/keys/trusted.d"
	cp "$WORK/vendor.key.pub" "$WORK/keys/trusted.d/vendor.pub"
	V -q commit -b demo/os --version 1.0 -s "release 1.0" --tree "$1" >/dev/null
	V sign demo/os --key "$WORK/vendor.key" >/dev/null
}
