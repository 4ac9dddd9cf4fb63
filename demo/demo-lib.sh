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
