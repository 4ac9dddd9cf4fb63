#!/bin/bash
# SPDX-License-Identifier: MIT
# t1203-trust-verity-qemu: mount --require-signature on a repository with
# fs-verity, which this build machine's kernel cannot exercise. Boots a
# Debian kernel with fs-verity under QEMU (tests/qemu/kit.sh)
# and runs tests/qemu/trust-verity-test.sh there: an unsigned commit is
# refused, a signed one mounts with the image measured by the kernel and
# verity=require, a swapped image and an older commit (--no-downgrade) are
# refused, and after one object byte is changed on the raw device the
# sealed mount reads that file as EIO.
# Takes 1-3 minutes. Exit 77 (loudly) without root, without sealtree, or
# when the kit cannot download its kernel/QEMU. Env: see tests/qemu-kit-lib.sh.
source "$(dirname "$0")/test-lib.sh"
source "$(dirname "$0")/qemu-kit-lib.sh"
need_root
qemu_kit_find
[ -x "$SEALTREE" ] || skip_all "$SEALTREE is not built"

qemu_kit_root "$SOURCE_DIR/tests/qemu/trust-verity-test.sh"
qemu_kit_add_binary "$SEALTREE"
qemu_kit_run "sealed mounts with fs-verity"

qemu_guest_ok 'unsigned: refused, link signature' 'sealed mount with verity=require' 'files read back identical' \
	'swapped image: refused, link image' 'older commit: refused, link rollback' \
	'tampered object through the sealed mount -> EIO'
qemu_kit_verdict
done_testing
