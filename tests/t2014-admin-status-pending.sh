#!/bin/bash
# SPDX-License-Identifier: MIT
# status marks the default as pending when another deployment is booted
# (the next boot changes the system), in the human output and in --json.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/admin-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
T=$TEST_TMP
new_sysroot debian
make_tree "$T/t"
c1=$(commit_tree "$T/t" os/main 1)
admin deploy --os debian --keys-dir "$KEYS" os/main >/dev/null
echo 2 >"$T/t/usr/etc/v"
c2=$(commit_tree "$T/t" os/main 2)
admin deploy --keys-dir "$KEYS" os/main >/dev/null
booted() { echo "{\"os\": \"debian\", \"deployment\": \"$1.0\", \"root\": \"composefs\", \"verity\": false}" >"$SEALTREE_RUN_DIR/booted.json"; }

admin status >"$T/s"
check "nothing booted: no pending" test -z "$(grep pending "$T/s")"
booted "$c1"
admin status >"$T/s"
check "booted the rollback: the default is pending" grep -q "^  0 debian/$c2.0 (default) (pending) *$" "$T/s"
check "the booted one is marked" grep -q "^\* 1 debian/$c1.0 (rollback)" "$T/s"
check "json: pending true" test "$(json_get 0 pending)" = true
check "json: the booted one is not pending" test "$(json_get 1 pending)" = false
booted "$c2"
admin status >"$T/s"
check "booted the default: not pending" test -z "$(grep pending "$T/s")"
check "json: pending false" test "$(json_get 0 pending)" = false
done_testing
