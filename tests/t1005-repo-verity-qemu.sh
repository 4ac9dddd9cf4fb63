#!/bin/bash
# SPDX-License-Identifier: MIT
# t1005-repo-verity-qemu: a sealtree repository with fs-verity, which this
# build machine's kernel cannot exercise. Boots a Debian kernel with
# fs-verity under QEMU (tests/qemu/kit.sh) and runs
# tests/qemu/repo-verity-test.sh there: init --verity=require, commit,
# fs-verity on every object, fsck clean, mount --verity reads every file;
# an object copied without fs-verity is found and fsck --repair enables it;
# then one object byte changed on the raw device: fsck names the object,
# reading it through the mount gives EIO, --repair quarantines it.
# Takes 1-3 minutes. Exit 77 (loudly) without root, without sealtree, or
# when the kit cannot download its kernel/QEMU. Env: see tests/qemu-kit-lib.sh.
source "$(dirname "$0")/test-lib.sh"
source "$(dirname "$0")/qemu-kit-lib.sh"
need_root
qemu_kit_find
[ -x "$SEALTREE" ] || skip_all "$SEALTREE is not built"

qemu_kit_root "$SOURCE_DIR/tests/qemu/repo-verity-test.sh"
qemu_kit_add_binary "$SEALTREE"
qemu_kit_run "repository fs-verity"

qemu_guest_ok 'init --verity=require on ext4' '.*objects and images have fs-verity' 'fsck clean' \
	'verity=off: none of its' 'every file reads back identical' 'fsck --repair enabled fs-verity' 'fsck names the object' \
	'.*through the mount -> EIO'
qemu_kit_verdict
done_testing
