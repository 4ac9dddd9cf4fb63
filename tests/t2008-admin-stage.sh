#!/bin/bash
# SPDX-License-Identifier: MIT
# Staged deployments: deploy --stage writes everything but the entry; other
# switches keep the staged deployment; finalize-staged (at shutdown) merges
# /etc again, so a change made after staging is kept, and switches; a
# failed finalization changes no entry and is shown by status.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/admin-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
T=$TEST_TMP
ENTRIES=$SYS/boot/loader/entries
new_sysroot debian
make_tree "$T/t"
c1=$(commit_tree "$T/t" os/main 1)
admin deploy --os debian --keys-dir "$KEYS" --karg quiet os/main >/dev/null
L1=$SYS/sealtree/deploy/debian/$c1.0/etc
echo "before staging" >"$L1/before"

echo v2 >"$T/t/usr/etc/v"
head -c 70000 /dev/urandom >"$T/t/usr/lib/modules/6.1.0-test/vmlinuz"
c2=$(commit_tree "$T/t" os/main 2)
admin upgrade --stage --keys-dir "$KEYS" >"$T/out"
check "upgrade --stage says staged" grep -q "^staged debian/$c2.0: it becomes the default" "$T/out"
check "no new entry yet" test "$(ls "$ENTRIES" | wc -l)" = 1
check "staged deployment written" test -f "$SYS/sealtree/deploy/debian/$c2.0/etc/before"
check "run marker for the path unit" test -f "$SEALTREE_RUN_DIR/staged"
check "status shows it" grep -q "staged: debian/$c2.0" <(admin status)
check "status --json shows it" test "$(admin status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["staged"])')" = "debian/$c2.0"

# Another switch and a cleanup keep the staged deployment and its boot files.
admin kargs --append extra >/dev/null
admin cleanup --no-gc >/dev/null
check "staged deployment kept through a switch and cleanup" test -d "$SYS/sealtree/deploy/debian/$c2.0/etc"
check "its pin kept" grep -q "refs/deployments/debian/$c2.0" <(st refs --all)
check "its boot files kept" test "$(ls "$SYS/boot/sealtree" | wc -l)" = 2

# A change after staging, then the shutdown.
echo "after staging" >"$L1/after"
rm "$L1/sub/b"
admin finalize-staged >"$T/out"
check "finalize-staged" grep -q "^finalized debian/$c2.0" "$T/out"
L2=$SYS/sealtree/deploy/debian/$c2.0/etc
check "change before staging kept" test -f "$L2/before"
check "change after staging kept" grep -qx "after staging" "$L2/after"
check "removal after staging kept" test ! -e "$L2/sub/b"
check "new default arrived" grep -qx v2 "$L2/v"
check "now the default" test "$(json_get 0 id)" = "$c2.0"
check "kargs as at staging" grep -qx "options quiet sealtree=debian/$c2.0" "$ENTRIES/sealtree-debian-$c2.0.conf"
check "no staged left" test -z "$(admin status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["staged"] or "")')"
check "finalize again: nothing" grep -q "no staged deployment" <(admin finalize-staged)
python3 "$(dirname "$0")/admin-check.py" "$SEALTREE" "$SYS" --clean >"$T/check" && ok "sysroot whole" || fail "sysroot whole" "$(cat "$T/check")"

# A failed finalization: no entry changes, and the next status says why.
echo v3 >"$T/t/usr/etc/v"
c3=$(commit_tree "$T/t" os/main 3)
admin deploy --stage --keys-dir "$KEYS" os/main >/dev/null
rm -rf "$SYS/sealtree/deploy/debian/$c3.0"
before=$(ls "$ENTRIES"; cat "$ENTRIES"/*)
if admin finalize-staged 2>"$T/err"; then fail "finalize of a missing deployment fails"; else check "finalize of a missing deployment fails" grep -q "staged deployment deploy/debian/$c3.0 is missing" "$T/err"; fi
check "entries unchanged" test "$(ls "$ENTRIES"; cat "$ENTRIES"/*)" = "$before"
check "status reports the failure" grep -q "LAST FINALIZE-STAGED FAILED: the staged deployment" <(admin status)
# staging again clears the failure
admin deploy --stage --keys-dir "$KEYS" os/main >/dev/null
check "a new stage clears the failure" test -z "$(admin status | grep FAILED)"
admin finalize-staged >/dev/null
check "finalized after a failure" test "$(json_get 0 id)" = "$c3.0"
done_testing
