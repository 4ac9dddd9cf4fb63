#!/bin/bash
# SPDX-License-Identifier: MIT
# Boot files on the repository's filesystem are hardlinks of their objects
# (nothing written, nothing to flush), after the object was checked: a
# corrupt kernel object fails the deploy and changes nothing.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/admin-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
T=$TEST_TMP
new_sysroot debian
make_tree "$T/t"
head -c 70001 /dev/urandom >"$T/t/usr/lib/modules/6.1.0-test/vmlinuz"
c1=$(commit_tree "$T/t" os/main 1)
admin deploy --os debian --keys-dir "$KEYS" os/main >/dev/null 2>"$T/err" && ok "deploy" || fail "deploy" "$(cat "$T/err")"
obj=$(find "$REPO/objects" -type f -size 70001c)
boot=$(echo "$SYS"/boot/sealtree/debian-*/vmlinuz)
check "the kernel object exists" test -f "$obj"
check "the boot file is the object, linked" test "$(stat -c %i "$obj")" = "$(stat -c %i "$boot")"
check "same bytes" cmp -s "$T/t/usr/lib/modules/6.1.0-test/vmlinuz" "$boot"

# A new kernel whose object is corrupt (same size, one byte changed).
head -c 70002 /dev/urandom >"$T/t/usr/lib/modules/6.1.0-test/vmlinuz"
commit_tree "$T/t" os/main 2 >/dev/null
obj2=$(find "$REPO/objects" -type f -size 70002c)
chmod u+w "$obj2"
printf 'X' | dd of="$obj2" bs=1 seek=100 conv=notrunc status=none
n_boot=$(ls "$SYS/boot/sealtree" | wc -l)
if admin deploy --keys-dir "$KEYS" os/main >/dev/null 2>"$T/err"; then
	fail "a corrupt kernel object fails the deploy" "it succeeded"
else
	check "the error says corrupt" grep -q "corrupt" "$T/err"
fi
check "no new boot files" test "$(ls "$SYS/boot/sealtree" | wc -l)" = "$n_boot"
check "one deployment still" test "$(n_deployments)" = 1
check "its kernel is intact" cmp -s "$boot" "$obj"
done_testing
