#!/bin/bash
# SPDX-License-Identifier: MIT
# t1851-policy-verity-qemu: fs-verity on only some folders, with the
# kernel's fs-verity (which this build machine lacks). Boots a Debian
# kernel under QEMU (tests/qemu/kit.sh) and runs
# tests/qemu/policy-verity-test.sh there: a commit with --verity-policy
# mounts with overlay verity=on (sealtree mount and prepare-root in signed
# mode, booted.json recording the policy); with the objects of one file
# under the policy and one outside replaced by changed copies, the first
# reads EIO and the second reads; without a policy both read EIO; an image
# claiming the policy without a digest under it is refused by mount, fsck
# and prepare-root. Takes 1-3 minutes. Exit 77 (loudly) without root,
# without the binaries, or when the kit cannot set up.
source "$(dirname "$0")/test-lib.sh"
source "$(dirname "$0")/qemu-kit-lib.sh"
need_root
qemu_kit_find
PREPARE=$BUILD_DIR/tools/prepare-root/sealtree-prepare-root
for b in "$SEALTREE" "$PREPARE" "$MKCOMPOSEFS"; do [ -x "$b" ] || skip_all "$b is not built"; done

qemu_kit_root "$SOURCE_DIR/tests/qemu/policy-verity-test.sh"
qemu_kit_add_binary "$SEALTREE" "$PREPARE" "$MKCOMPOSEFS"
qemu_kit_run "verity policies with fs-verity"

qemu_guest_ok 'policy image mounted with verity=on' 'plain image mounted with verity=require' \
	'every file reads back identical' 'prepare-root mounted the root with verity=on' \
	'booted.json records the policy' \
	'policy image: tampered /usr/bin/tool (under /usr/bin) -> EIO' \
	'policy image: tampered /etc/conf (outside the policy) reads, unchecked' \
	'plain image: tampered /etc/conf -> EIO' 'sealtree mount refuses the lying image' \
	'fsck names the lying image' 'prepare-root refuses the lying image, nothing mounted'
qemu_kit_verdict
done_testing
