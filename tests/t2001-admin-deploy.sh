#!/bin/bash
# SPDX-License-Identifier: MIT
# sealtree admin: init-fs, os-init, deploy (entries, boot files, /etc,
# origin, pin), a second deploy with /etc merged, status, rollback,
# set-default, undeploy, pin, kargs, cleanup, upgrade, switch, config-diff,
# a foreign entry kept through every switch. docs/formats/sysroot.md.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/admin-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
T=$TEST_TMP
ENTRIES=$SYS/boot/loader/entries

new_sysroot debian
check "init-fs layout" test -d "$SYS/sealtree/repo/objects" -a -d "$ENTRIES" -a -d "$SYS/boot/sealtree" -a -d "$SYS/sealtree/deploy/debian/var"
if "$SEALTREE" admin init-fs --verity=off "$SYS" 2>"$T/err"; then fail "init-fs twice refused"; else check "init-fs twice refused" grep -q "holds a sysroot already" "$T/err"; fi

# A foreign entry, kept byte for byte through every switch.
printf 'title Rescue  shell\nlinux /vmlinuz-rescue\noptions ro\n' >"$ENTRIES/rescue.conf"
foreign_sum=$(sha256_of "$ENTRIES/rescue.conf")

make_tree "$T/t1"
c1=$(commit_tree "$T/t1" os/main 1.0)
admin deploy --os debian --keys-dir "$KEYS" --karg quiet --karg 'console="ttyS0 115200"' os/main >"$T/out"
check "deploy prints the deployment" grep -q "^deployed debian/$c1.0 (default)" "$T/out"
e1=$ENTRIES/sealtree-debian-$c1.0.conf
check "entry written" test -f "$e1"
check "entry options keep quotes and spaces" grep -qx "options quiet console=\"ttyS0 115200\" sealtree=debian/$c1.0" "$e1"
check "entry version" grep -qx "version 1" "$e1"
boot1=$(sed -n 's|^linux /boot/sealtree/\([^/]*\)/vmlinuz$|\1|p' "$e1")
check "boot files copied" cmp "$SYS/boot/sealtree/$boot1/vmlinuz" "$T/t1/usr/lib/modules/6.1.0-test/vmlinuz"
check "initramfs copied" cmp "$SYS/boot/sealtree/$boot1/initramfs.img" "$T/t1/usr/lib/modules/6.1.0-test/initramfs.img"
d1=$SYS/sealtree/deploy/debian/$c1.0
check "etc from usr/etc" cmp "$d1/etc/hostname" "$T/t1/usr/etc/hostname"
check "etc symlink" test "$(readlink "$d1/etc/link")" = hostname
check "origin" grep -qx "ref os/main" "$d1/origin"
check "pin ref" test "$(st refs --all | grep "refs/deployments/debian/$c1.0" | cut -d' ' -f1)" = "$c1"
check "foreign entry kept" test "$(sha256_of "$ENTRIES/rescue.conf")" = "$foreign_sum"
admin status >"$T/status"
check "status lists the foreign entry" grep -q "foreign entry rescue.conf: Rescue  shell" "$T/status"
check "status marks the default" grep -q "0 debian/$c1.0 (default)" "$T/status"

# Local /etc changes, then a new commit: merged.
echo "myhost" >"$d1/etc/hostname"
echo "local" >"$d1/etc/local-only"
echo "b2" >"$T/t1/usr/etc/sub/b"
echo "new" >"$T/t1/usr/etc/new-default"
c2=$(commit_tree "$T/t1" os/main 2.0)
admin upgrade --check >"$T/out"
check "upgrade --check says so" grep -q "upgrade available for 'os/main'" "$T/out"
admin upgrade --keys-dir "$KEYS" >"$T/out"
check "upgrade deploys" grep -q "^deployed debian/$c2.0 (default)" "$T/out"
check "upgrade merged" grep -q "merged from debian/$c1.0, 0 conflicts" "$T/out"
d2=$SYS/sealtree/deploy/debian/$c2.0
check "local change kept" grep -qx myhost "$d2/etc/hostname"
check "local file kept" grep -qx local "$d2/etc/local-only"
check "new default arrives" grep -qx b2 "$d2/etc/sub/b"
check "new file arrives" grep -qx new "$d2/etc/new-default"
check "kargs inherited" grep -q "^options quiet console=\"ttyS0 115200\" sealtree=debian/$c2.0$" "$ENTRIES/sealtree-debian-$c2.0.conf"
check "boot files shared" test "$(ls "$SYS/boot/sealtree" | wc -l)" = 1
check "new entry first" grep -qx "version 2" "$ENTRIES/sealtree-debian-$c2.0.conf"
check "old entry second" grep -qx "version 1" "$e1"
admin upgrade --keys-dir "$KEYS" >"$T/out"
check "upgrade with nothing new" grep -q "^no upgrade" "$T/out"

# config-diff
admin config-diff >"$T/diff"
check "config-diff" test "$(cat "$T/diff")" = "$(printf 'M /etc/hostname\nA /etc/local-only')"

# rollback, set-default
admin rollback >"$T/out"
check "rollback" test "$(json_get 0 id)" = "$c1.0"
check "rollback entry order" grep -qx "version 2" "$e1"
admin set-default 1 >/dev/null
check "set-default" test "$(json_get 0 id)" = "$c2.0"
check "foreign entry kept after switches" test "$(sha256_of "$ENTRIES/rescue.conf")" = "$foreign_sum"

# kargs
admin kargs --append 'extra="x  y"' --delete quiet >"$T/out"
check "kargs edit" test "$(cat "$T/out")" = "console=\"ttyS0 115200\" extra=\"x  y\""
check "kargs in entry" grep -qx "options console=\"ttyS0 115200\" extra=\"x  y\" sealtree=debian/$c2.0" "$ENTRIES/sealtree-debian-$c2.0.conf"
admin kargs --replace 'console=tty0' >/dev/null
check "kargs replace" test "$(admin kargs)" = "console=tty0 extra=\"x  y\""
if admin kargs --append "$(printf 'a\nb')" 2>"$T/err"; then fail "kargs newline refused"; else check "kargs newline refused" grep -q "control character" "$T/err"; fi
if admin kargs --append 'sealtree=x/y' 2>"$T/err"; then fail "kargs sealtree= refused"; else ok "kargs sealtree= refused"; fi
check "kargs unchanged after refusals" test "$(admin kargs)" = "console=tty0 extra=\"x  y\""

# switch to another ref, a third deployment, then pin + cleanup
echo "other" >"$T/t1/usr/etc/other"
c3=$(commit_tree "$T/t1" os/other 3.0)
admin switch --keys-dir "$KEYS" os/other >"$T/out"
check "switch deploys" grep -q "^deployed debian/$c3.0 (default)" "$T/out"
check "switch tracks the new ref" test "$(json_get 0 ref)" = os/other
check "three deployments" test "$(n_deployments)" = 3
admin pin 2 >/dev/null
check "pinned" test "$(json_get 2 pinned)" = true
admin cleanup --no-gc >"$T/out"
check "cleanup keeps the pinned one" test "$(n_deployments)" = 3
admin pin --unpin 2 >/dev/null
admin cleanup >"$T/out"
check "cleanup drops the unpinned third" test "$(n_deployments)" = 2
check "cleanup removed its directory" test ! -e "$d1"
check "cleanup removed its pin" test -z "$(st refs --all | grep "refs/deployments/debian/$c1.0")"
check "cleanup removed its entry" test ! -e "$e1"
check "foreign entry kept after cleanup" test "$(sha256_of "$ENTRIES/rescue.conf")" = "$foreign_sum"

# undeploy; the booted one is refused
echo "{\"os\": \"debian\", \"deployment\": \"$c3.0\", \"root\": \"composefs\", \"verity\": false}" >"$SEALTREE_RUN_DIR/booted.json"
admin status >"$T/status"
check "status marks the booted one" grep -q "^\* 0 debian/$c3.0" "$T/status"
if admin undeploy 0 2>"$T/err"; then fail "undeploy booted refused"; else check "undeploy booted refused" grep -q "booted deployment" "$T/err"; fi
rm "$SEALTREE_RUN_DIR/booted.json"
admin undeploy 1 >/dev/null
check "undeploy" test "$(n_deployments)" = 1
check "undeploy removed the directory" test ! -e "$d2"
admin status --json | python3 -c 'import json,sys; json.load(sys.stdin)' && ok "status --json parses" || fail "status --json parses"
st fsck >"$T/fsck" 2>&1 && ok "fsck clean" || fail "fsck clean" "$(cat "$T/fsck")"
done_testing
