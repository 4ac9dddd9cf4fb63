#!/bin/bash
# SPDX-License-Identifier: MIT
# Boot counting: deploy --boot-tries N names the entry +N; the counter the
# loader rewrites (+LEFT-DONE) is kept through every switch; a deployment
# with no tries left shows as BAD; admin boot-complete drops the booted
# deployment's counter; the shipped unit runs it.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/admin-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
T=$TEST_TMP
ENTRIES=$SYS/boot/loader/entries
new_sysroot debian
make_tree "$T/t"
c1=$(commit_tree "$T/t" os/main 1)
admin deploy --os debian --keys-dir "$KEYS" os/main >/dev/null
echo v2 >"$T/t/usr/etc/v" && c2=$(commit_tree "$T/t" os/main 2)
admin deploy --keys-dir "$KEYS" --boot-tries 3 os/main >/dev/null
check "counted entry named +3" test -f "$ENTRIES/sealtree-debian-$c2.0+3.conf"
check "uncounted entry plain" test -f "$ENTRIES/sealtree-debian-$c1.0.conf"
check "status shows the tries" grep -q "boot counting: 3 tries left, 0 used" <(admin status)

# The loader counts a boot attempt: +3 -> +2-1. A switch keeps it.
mv "$ENTRIES/sealtree-debian-$c2.0+3.conf" "$ENTRIES/sealtree-debian-$c2.0+2-1.conf"
admin kargs --append quiet >/dev/null
check "counter kept through a switch" test -f "$ENTRIES/sealtree-debian-$c2.0+2-1.conf"
check "kargs edited in the counted entry" grep -q "^options quiet sealtree=debian/$c2.0$" "$ENTRIES/sealtree-debian-$c2.0+2-1.conf"
check "still the default" test "$(json_get 0 id)" = "$c2.0"
check "json boot-counter" test "$(json_get 0 boot-counter)" = "+2-1"

# No tries left: BAD.
mv "$ENTRIES/sealtree-debian-$c2.0+2-1.conf" "$ENTRIES/sealtree-debian-$c2.0+0-3.conf"
check "a deployment out of tries shows BAD" grep -q "boot counting: BAD, failed to boot 3 times" <(admin status)
mv "$ENTRIES/sealtree-debian-$c2.0+0-3.conf" "$ENTRIES/sealtree-debian-$c2.0+1-2.conf"

# It booted: boot-complete drops the counter.
if admin boot-complete 2>"$T/err"; then fail "boot-complete without booted.json refused"; else check "boot-complete without booted.json refused" grep -q "no deployment is booted" "$T/err"; fi
echo "{\"os\": \"debian\", \"deployment\": \"$c2.0\", \"root\": \"composefs\", \"verity\": false}" >"$SEALTREE_RUN_DIR/booted.json"
check "boot-complete" grep -q "marked good" <(admin boot-complete)
check "counter dropped" test -f "$ENTRIES/sealtree-debian-$c2.0.conf"
check "no counted entry left" test -z "$(ls "$ENTRIES" | grep '+')"
check "boot-complete again: nothing to do" grep -q "not counted" <(admin boot-complete)
python3 "$(dirname "$0")/admin-check.py" "$SEALTREE" "$SYS" --clean >"$T/check" && ok "sysroot whole" || fail "sysroot whole" "$(cat "$T/check")"
check "unit runs admin boot-complete" grep -qx "ExecStart=/usr/bin/sealtree admin boot-complete" "$SOURCE_DIR/data/systemd/sealtree-boot-complete.service"
if "$SEALTREE" admin --sysroot "$SYS" deploy --boot-tries 0 os/main 2>/dev/null; then fail "--boot-tries 0 refused"; else ok "--boot-tries 0 refused"; fi
done_testing
