#!/bin/bash
# t0502-mount-verity-qemu: the fs-verity half of mount.composefs, which this
# build machine's kernel cannot exercise. Boots a Debian kernel with
# fs-verity under QEMU (tests/qemu/kit.sh) and runs
# tests/qemu/ci-test.sh there with our mkcomposefs, mount.composefs and
# composefs-info: image + object store with fs-verity, mount with digest=,
# every file read back, then tampered objects must give EIO and a wrong
# digest= must be refused. Takes 1-3 minutes (kernel download + TCG boot).
# Exit 77 (loudly) without root, without our tools, or when the kit cannot
# download its kernel/QEMU. Env: see tests/qemu-kit-lib.sh.
source "$(dirname "$0")/test-lib.sh"
source "$(dirname "$0")/qemu-kit-lib.sh"
need_root
qemu_kit_find
for b in "$MKCOMPOSEFS" "$MOUNT_COMPOSEFS"; do
	[ -x "$b" ] || skip_all "$b is not built"
done

qemu_kit_root "$SOURCE_DIR/tests/qemu/ci-test.sh"
qemu_kit_add_binary "$MKCOMPOSEFS" "$MOUNT_COMPOSEFS"
[ -x "$COMPOSEFS_INFO" ] && qemu_kit_add_binary "$COMPOSEFS_INFO"
qemu_kit_run "fs-verity mounts"

grep -q 'ci-test: ok   mount with digest=' "$KIT_SERIAL" 2>/dev/null && ok "guest ran /ci-test.sh" ||
	fail "guest ran /ci-test.sh" "no ci-test output in the serial log"
qemu_kit_verdict
done_testing
