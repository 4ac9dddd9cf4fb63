# Sourced as /ci/guest-lib.sh by the guest scripts in tests/qemu (run as
# /ci-test.sh by tests/qemu/kit.sh: busybox ash, root, a kernel with
# fs-verity, an ext4 -O verity store at $S=/run/store on /dev/vda). Our
# binaries are in /ci/bin with their libraries. The caller sets W, its
# work directory on the store, before using these.
export PATH=/ci/bin:$PATH
S=/run/store
PASS=0 FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok   $*"; }
nok() { FAIL=$((FAIL + 1)); echo "FAIL $*"; }

# digest_path FILE: "xx/yyyy…", where an object store keeps FILE's content.
digest_path() { d=$(fsverity digest --compact "$1") && echo "$(echo "$d" | cut -c1-2)/$(echo "$d" | cut -c3-)"; }

# expect_eio FILE DESC: reading FILE must fail with EIO.
expect_eio() {
	if cat "$1" >/dev/null 2>$W/err; then nok "$2: read succeeded, expected EIO"
	elif grep -qE 'Input/output error|I/O error' $W/err; then ok "$2 -> EIO"
	else nok "$2: wrong error: $(cat $W/err)"; fi
}

# change_byte_on_disk FILE BLOCK OFFSET: write one byte at OFFSET inside
# logical block BLOCK of FILE (on the store) straight to /dev/vda, under the
# filesystem and fs-verity, then drop the page cache.
change_byte_on_disk() {
	sync
	blk=$(debugfs -R "bmap ${1#$S} $2" /dev/vda 2>/dev/null)
	if [ -n "$blk" ] && [ "$blk" -gt 0 ]; then
		printf 'X' | dd of=/dev/vda bs=1 seek=$((blk * 4096 + $3)) conv=notrunc,fsync 2>/dev/null
		sync
		echo 3 >/proc/sys/vm/drop_caches
		ok "changed a byte of $1 on disk (block $blk)"
	else
		nok "debugfs bmap of $1: '$blk'"
	fi
}

# guest_done: no mounts left under $W; print the summary the host test
# reads; the exit status is the verdict.
guest_done() {
	grep -q "$W" /proc/mounts && nok "mounts left: $(grep "$W" /proc/mounts)"
	echo "ci-test: $PASS passed, $FAIL failed"
	[ $FAIL = 0 ]
}
