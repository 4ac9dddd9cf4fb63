#!/bin/bash
# SPDX-License-Identifier: MIT
# sealtree admin deploy oci:...: an OS tree (a stand-in kernel and
# initramfs, usr/etc) pushed with oci push to a loopback docker-registry is
# deployed on a temporary sysroot from oci:http://REGISTRY/NAME:TAG
# (pulled, then deployed like any commit: entry, boot files, /etc), then
# again from oci:IMAGE already in the repository (nothing fetched); a
# missing image and tag are clear errors.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/admin-lib.sh"
. "$(dirname "$0")/oci-registry-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
need_registry_tools
T=$TEST_TMP
ENTRIES=$SYS/boot/loader/entries
trap 'registry_stop_all; cleanup_test_tmp' EXIT
B() { "$SEALTREE" --repo "$T/build" "$@"; }

registry_start reg
make_tree "$T/os"
B init --verity=off >/dev/null
c=$(B commit -b os/main --tree "$T/os" -s os --version 1.0)
check "push the OS tree" B oci push --tls-verify=false os/main "$REG/test/os:1"

new_sysroot debian
admin deploy --os debian --keys-dir "$KEYS" "oci:http://$REG/test/os:1" >"$T/out" 2>"$T/err"
check "admin deploy oci:http://REGISTRY/NAME:TAG" grep -q "^deployed debian/" "$T/out"
check "... says it pulled" grep -q "oci/$REG/test/os:1: pulled" "$T/err"
id=$(json_get 0 id)
check "... the image's ref is in the repository" st checkout "oci/$REG/test/os:1" "$T/co"
e=$ENTRIES/sealtree-debian-$id.conf
check "... a boot entry" test -f "$e"
boot=$(sed -n 's|^linux /boot/sealtree/\([^/]*\)/vmlinuz$|\1|p' "$e")
check "... the image's kernel" cmp "$SYS/boot/sealtree/$boot/vmlinuz" "$T/os/usr/lib/modules/6.1.0-test/vmlinuz"
check "... and initramfs" cmp "$SYS/boot/sealtree/$boot/initramfs.img" "$T/os/usr/lib/modules/6.1.0-test/initramfs.img"
check "... /etc from the image's usr/etc" cmp "$(deploy_dir 0)/etc/hostname" "$T/os/usr/etc/hostname"
check "... the origin names the image's ref" grep -qx "ref refs/oci/${REG/:/+}/test/os/+1" "$(deploy_dir 0)/origin"

admin deploy --os debian --keys-dir "$KEYS" "oci:$REG/test/os:1" >"$T/out2" 2>"$T/err2" || true
check "a registry reference without a scheme needs https: refused" sh -c "! grep -q '^deployed' '$T/out2'"
st oci pull --tls-verify=false --name local/os:1 "$REG/test/os:1" >/dev/null
check "admin deploy oci:IMAGE of the repository" admin deploy --os debian --keys-dir "$KEYS" oci:local/os:1
check "... deployed" grep -qx "ref refs/oci/local/os/+1" "$(deploy_dir 0)/origin"

rc=0
admin deploy --os debian --keys-dir "$KEYS" oci:nosuch/image:1 2>"$T/err" || rc=$?
check "a missing image is refused" test $rc = 1
check "... naming it" grep -q "no image 'nosuch/image:1'" "$T/err"
rc=0
admin deploy --os debian --keys-dir "$KEYS" "oci:http://$REG/test/os:nosuchtag" 2>"$T/err" || rc=$?
check "a missing tag is refused" test $rc = 1
check "... naming the manifest" grep -q "manifest nosuchtag" "$T/err"
done_testing
