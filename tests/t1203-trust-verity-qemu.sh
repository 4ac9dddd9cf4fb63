#!/bin/bash
# SPDX-License-Identifier: MIT
# t1203-trust-verity-qemu: mount --require-signature on a repository with
# fs-verity, which this build machine's kernel cannot exercise. Boots a
# Debian kernel with fs-verity under QEMU (../shared/tools/qemu-verity-kit.sh)
# and runs tests/qemu/trust-verity-test.sh there: an unsigned commit is
# refused, a signed one mounts with the image measured by the kernel and
# verity=require, a swapped image and an older commit (--no-downgrade) are
# refused, and after one object byte is changed on the raw device the
# sealed mount reads that file as EIO.
# Takes 1-3 minutes. Exit 77 (loudly) without root, without sealtree, or
# when the kit cannot download its kernel/QEMU. Env: QEMU_KIT, KIT_WORK.
source "$(dirname "$0")/test-lib.sh"
need_root
KIT=${QEMU_KIT:-$(cd "$COMPAT_DIR/.." 2>/dev/null && pwd)/tools/qemu-verity-kit.sh}
[ -r "$KIT" ] || skip_all "QEMU verity kit not found at $KIT (set QEMU_KIT)"
SEALTREE=$BUILD_DIR/tools/sealtree/sealtree
[ -x "$SEALTREE" ] || skip_all "$SEALTREE is not built"

ROOT=$TEST_TMP/extra-root
mkdir -p "$ROOT/ci/bin"
copy_with_libs() { # BINARY
	local lib
	install -m 0755 "$1" "$ROOT/ci/bin/"
	for lib in $(ldd "$1" | awk '{for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i}'); do
		[ -e "$ROOT$lib" ] || install -D -m 0755 "$lib" "$ROOT$lib"
	done
}
copy_with_libs "$SEALTREE"
install -m 0755 "$SOURCE_DIR/tests/qemu/trust-verity-test.sh" "$ROOT/ci-test.sh"

export SKIP_APT_INSTALL=1
for t in qemu-system-x86_64 busybox cpio fsverity mkfs.erofs mkfs.ext4 debugfs setfattr xz zstd depmod gcc; do
	command -v $t >/dev/null || SKIP_APT_INSTALL=0
done
ldd "$(command -v busybox 2>/dev/null || echo /nonexistent)" >/dev/null 2>&1 && SKIP_APT_INSTALL=0

KIT_WORK=${KIT_WORK:-$TEST_TMP/kit}
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
	skip_all "the QEMU kit could not set up (no Debian mirror, download or host package failure): sealed mounts with fs-verity NOT tested"
	;;
*)
	tail -40 "$TEST_TMP/kit.log" >&2
	echo "--- last lines of the guest's serial console:" >&2
	tail -60 "$KIT_WORK/serial.log" >&2 || true
	;;
esac

for want in 'unsigned: refused, link signature' 'sealed mount with verity=require' 'files read back identical' \
	'swapped image: refused, link image' 'older commit: refused, link freshness' \
	'tampered object through the sealed mount -> EIO'; do
	grep -aq "ci-test: ok   $want" "$KIT_WORK/serial.log" 2>/dev/null && ok "guest: $want" ||
		fail "guest: $want" "not in the serial log"
done
summary=$(grep -ao 'ci-test: ci-test: [0-9]* passed, [0-9]* failed' "$KIT_WORK/serial.log" | tail -1 || true)
[[ $summary == *", 0 failed" ]] && ok "guest script: ${summary#ci-test: ci-test: }" || fail "guest script" "${summary:-no summary}"
grep -aq 'DEMO: ok   - /ci-test.sh' "$KIT_WORK/serial.log" && ok "the kit counted /ci-test.sh as passed" ||
	fail "kit verdict on /ci-test.sh" "$(grep -a '/ci-test.sh' "$KIT_WORK/serial.log" | tail -2)"
[ $rc = 0 ] && ok "kit PASS in ${secs}s" || fail "kit" "exit $rc"
done_testing
