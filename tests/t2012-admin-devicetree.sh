#!/bin/bash
# SPDX-License-Identifier: MIT
# A tree that ships usr/lib/modules/KVER/devicetree (else a regular file
# KVER/dtb) gets it installed with its kernel, and its entries name it in a
# BLS "devicetree" line; a dtb/ directory is not installed; the boot files
# digest covers the devicetree, so a new devicetree is a new boot directory.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/admin-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
T=$TEST_TMP
K=usr/lib/modules/6.1.0-test
new_sysroot debian
ENTRIES=$SYS/boot/loader/entries
entry_of() { echo "$ENTRIES/sealtree-debian-$1.0.conf"; }
dt_line() { sed -n 's/^devicetree //p' "$(entry_of "$1")"; }

make_tree "$T/t"
c0=$(commit_tree "$T/t" os/main 0)
admin deploy --os debian --keys-dir "$KEYS" os/main >/dev/null 2>"$T/err" || fail "deploy without devicetree" "$(cat "$T/err")"
check "no devicetree: no devicetree line" test -z "$(dt_line "$c0")"
bd0=$(sed -n 's|^linux /boot/sealtree/\(.*\)/vmlinuz$|\1|p' "$(entry_of "$c0")")

head -c 5000 /dev/urandom >"$T/t/$K/devicetree"
c1=$(commit_tree "$T/t" os/main 1)
admin deploy --keys-dir "$KEYS" os/main >/dev/null 2>"$T/err" && ok "deploy with a devicetree" || fail "deploy with a devicetree" "$(cat "$T/err")"
dt=$(dt_line "$c1")
bd1=$(sed -n 's|^linux /boot/sealtree/\(.*\)/vmlinuz$|\1|p' "$(entry_of "$c1")")
check "the entry names the devicetree beside its kernel" test "$dt" = "/boot/sealtree/$bd1/devicetree"
check "the devicetree is installed, same bytes" cmp -s "$T/t/$K/devicetree" "$SYS$dt"
check "a devicetree makes other boot files" test "$bd0" != "$bd1"
check "the rollback entry has none" test -z "$(dt_line "$c0")"

# Another devicetree alone: another boot directory, the old one untouched.
head -c 5000 /dev/urandom >"$T/t/$K/devicetree"
c2=$(commit_tree "$T/t" os/main 2)
admin deploy --keys-dir "$KEYS" os/main >/dev/null 2>"$T/err" || fail "deploy with another devicetree" "$(cat "$T/err")"
bd2=$(sed -n 's|^linux /boot/sealtree/\(.*\)/vmlinuz$|\1|p' "$(entry_of "$c2")")
check "a new devicetree is a new boot directory" test "$bd2" != "$bd1"
check "the previous devicetree is untouched" test -f "$SYS/boot/sealtree/$bd1/devicetree"
admin rollback >/dev/null 2>"$T/err" || fail "rollback" "$(cat "$T/err")"
check "after a rollback the entries keep their devicetree" test "$(dt_line "$c1")" = "/boot/sealtree/$bd1/devicetree"

# dtb as a regular file is the devicetree; a dtb/ directory is not installed.
rm "$T/t/$K/devicetree"
head -c 4000 /dev/urandom >"$T/t/$K/dtb"
c3=$(commit_tree "$T/t" os/main 3)
admin deploy --keys-dir "$KEYS" os/main >/dev/null 2>"$T/err" || fail "deploy with dtb" "$(cat "$T/err")"
check "a dtb file is installed as the devicetree" cmp -s "$T/t/$K/dtb" "$SYS$(dt_line "$c3")"
rm "$T/t/$K/dtb"
mkdir -p "$T/t/$K/dtb/vendor"
head -c 3000 /dev/urandom >"$T/t/$K/dtb/vendor/board.dtb"
c4=$(commit_tree "$T/t" os/main 4)
admin deploy --keys-dir "$KEYS" os/main >/dev/null 2>"$T/err" && ok "deploy with a dtb/ directory" || fail "deploy with a dtb/ directory" "$(cat "$T/err")"
check "a dtb/ directory: no devicetree line" test -z "$(dt_line "$c4")"
check "status is clean" admin status >/dev/null
done_testing
