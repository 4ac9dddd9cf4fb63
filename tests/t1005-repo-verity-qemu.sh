#!/bin/bash
# SPDX-License-Identifier: MIT
# t1005-repo-verity-qemu: a sealtree repository with fs-verity, which this
# build machine's kernel cannot exercise. Boots a Debian kernel with
# fs-verity under QEMU (tests/qemu/kit.sh) and runs
# tests/qemu/repo-verity-test.sh there: init --verity=require, commit,
# fs-verity on every object, fsck clean, mount --verity reads every file;
# an object copied without fs-verity is found and fsck --repair enables it;
# then one object byte changed on the raw device: fsck names the object,
# reading it through the mount gives EIO, --repair quarantines it; an OCI
# image imported there is mounted with oci mount --verity, and a byte
# changed in its object gives EIO.
# Takes 1-3 minutes. Exit 77 (loudly) without root, without sealtree, or
# when the kit cannot download its kernel/QEMU. Env: see tests/qemu-kit-lib.sh.
source "$(dirname "$0")/test-lib.sh"
source "$(dirname "$0")/qemu-kit-lib.sh"
need_root
qemu_kit_find
[ -x "$SEALTREE" ] || skip_all "$SEALTREE is not built"

qemu_kit_root "$SOURCE_DIR/tests/qemu/repo-verity-test.sh"
qemu_kit_add_binary "$SEALTREE"
# An OCI layout for the guest's oci import and oci mount --verity (made here: the guest has no python).
mkdir -p "$TEST_TMP/layer/app"
head -c 200000 /dev/urandom >"$TEST_TMP/layer/app/data"
echo hello >"$TEST_TMP/layer/app/hello"
tar -C "$TEST_TMP/layer" --owner=0 --group=0 -cf "$TEST_TMP/layer.tar" app
python3 "$SOURCE_DIR/tests/oci-make-layout.py" "$KIT_ROOT/ci/oci" 1 "$TEST_TMP/layer.tar"
cp "$TEST_TMP/layer/app/data" "$KIT_ROOT/ci/oci-data"
qemu_kit_run "repository fs-verity"

qemu_guest_ok 'init --verity=require on ext4' '.*objects and images have fs-verity' 'fsck clean' \
	'verity=off: none of its' 'every file reads back identical' 'fsck --repair enabled fs-verity' 'fsck names the object' \
	'.*through the mount -> EIO' 'oci import into the verity repository' \
	"the image's object has fs-verity" 'sealtree oci mount --verity' "the image's file reads back identical" \
	'tampered image file through oci mount --verity -> EIO'
qemu_kit_verdict
done_testing
