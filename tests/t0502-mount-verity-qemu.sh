#!/bin/bash
# t0502-mount-verity-qemu: the fs-verity half of mount.composefs, which this
# build machine's kernel cannot exercise. Boots a Debian kernel with
# fs-verity under QEMU (../shared/tools/qemu-verity-kit.sh) and runs
# tests/qemu/ci-test.sh there with our mkcomposefs, mount.composefs and
# composefs-info: image + object store with fs-verity, mount with digest=,
# every file read back, then tampered objects must give EIO and a wrong
# digest= must be refused. Takes 1-3 minutes (kernel download + TCG boot).
# Exit 77 (loudly) without root, without our tools, or when the kit cannot
# download its kernel/QEMU. Env: QEMU_KIT, KIT_WORK (default: a directory
# removed afterwards; set it to keep the kit's logs and disks).
source "$(dirname "$0")/test-lib.sh"
need_root
# The kit sits next to the compat vectors in the shared tree.
KIT=${QEMU_KIT:-$(cd "$COMPAT_DIR/.." 2>/dev/null && pwd)/tools/qemu-verity-kit.sh}
[ -r "$KIT" ] || skip_all "QEMU verity kit not found at $KIT (set QEMU_KIT)"
for b in "$MKCOMPOSEFS" "$MOUNT_COMPOSEFS"; do
	[ -x "$b" ] || skip_all "$b is not built"
done

ROOT=$TEST_TMP/extra-root
mkdir -p "$ROOT/ci/bin"
# Our dynamically linked tools plus every library they load.
copy_with_libs() { # BINARY
	local lib
	install -m 0755 "$1" "$ROOT/ci/bin/"
	for lib in $(ldd "$1" | awk '{for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i}'); do
		[ -e "$ROOT$lib" ] || install -D -m 0755 "$lib" "$ROOT$lib"
	done
}
copy_with_libs "$MKCOMPOSEFS"
copy_with_libs "$MOUNT_COMPOSEFS"
[ -x "$COMPOSEFS_INFO" ] && copy_with_libs "$COMPOSEFS_INFO"
install -m 0755 "$SOURCE_DIR/tests/qemu/ci-test.sh" "$ROOT/ci-test.sh"

# The kit installs its host packages itself unless they are all present.
export SKIP_APT_INSTALL=1
for t in qemu-system-x86_64 busybox cpio fsverity mkfs.erofs mkfs.ext4 debugfs setfattr xz zstd depmod gcc; do
	command -v $t >/dev/null || SKIP_APT_INSTALL=0
done
ldd "$(command -v busybox 2>/dev/null || echo /nonexistent)" >/dev/null 2>&1 && SKIP_APT_INSTALL=0

KIT_WORK=${KIT_WORK:-$TEST_TMP/kit}
# Below meson's 900 s, with room for the downloads.
export QEMU_TIMEOUT=${QEMU_TIMEOUT:-600}
start=$SECONDS
rc=0
EXTRA_ROOT=$ROOT bash "$KIT" "$KIT_WORK" >"$TEST_TMP/kit.log" 2>&1 || rc=$?
secs=$((SECONDS - start))
grep -a 'ci-test' "$KIT_WORK/serial.log" 2>/dev/null | sed 's/^\[ *[0-9.]*\] //' || true
echo "# kit exit $rc after ${secs}s (work directory $KIT_WORK)"
case $rc in
0) ;;
2)
	tail -20 "$TEST_TMP/kit.log" >&2
	skip_all "the QEMU kit could not set up (no Debian mirror, download or host package failure): fs-verity mounts NOT tested"
	;;
*)
	tail -40 "$TEST_TMP/kit.log" >&2
	echo "--- last lines of the guest's serial console:" >&2
	tail -60 "$KIT_WORK/serial.log" >&2 || true
	;;
esac

grep -q 'ci-test: ok   mount with digest=' "$KIT_WORK/serial.log" 2>/dev/null && ok "guest ran /ci-test.sh" ||
	fail "guest ran /ci-test.sh" "no ci-test output in the serial log"
summary=$(grep -ao 'ci-test: ci-test: [0-9]* passed, [0-9]* failed' "$KIT_WORK/serial.log" | tail -1 || true)
[[ $summary == *", 0 failed" ]] && ok "ci-test.sh: ${summary#ci-test: ci-test: }" || fail "ci-test.sh" "${summary:-no summary}"
grep -aq 'DEMO: ok   - /ci-test.sh' "$KIT_WORK/serial.log" && ok "the kit counted /ci-test.sh as passed" ||
	fail "kit verdict on /ci-test.sh" "$(grep -a '/ci-test.sh' "$KIT_WORK/serial.log" | tail -2)"
[ $rc = 0 ] && ok "kit PASS (its own verity checks too) in ${secs}s" || fail "kit" "exit $rc"
done_testing
