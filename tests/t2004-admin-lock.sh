#!/bin/bash
# SPDX-License-Identifier: MIT
# Two admin commands at once are serialised by the sysroot lock and say so:
# a deploy started while another command holds the lock waits, prints that
# it is waiting, and completes once the lock is released; several deploys
# started together all complete, each with its own deployment.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/admin-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
command -v flock >/dev/null || skip_all "needs flock(1)"
T=$TEST_TMP
new_sysroot debian
make_tree "$T/t"
c1=$(commit_tree "$T/t" os/main 1)

# Hold the lock from the shell; the deploy must wait and say so.
exec 9>"$SYS/sealtree/lock"
flock -x 9
admin deploy --os debian --keys-dir "$KEYS" os/main >"$T/out" 2>"$T/err" &
pid=$!
for _ in $(seq 50); do grep -q "waiting for the sysroot lock" "$T/err" && break; sleep 0.1; done
check "a second command says it waits" grep -q "waiting for the sysroot lock: another sealtree admin command is running" "$T/err"
check "and has not deployed yet" test -z "$(ls "$SYS/boot/loader/entries")"
flock -u 9
exec 9>&-
wait $pid && ok "it completes once the lock is free" || fail "it completes once the lock is free" "$(cat "$T/err")"
check "deployed" grep -q "^deployed debian/$c1.0" "$T/out"

# status takes the lock shared: it runs beside another reader.
exec 9>"$SYS/sealtree/lock"
flock -s 9
timeout 10 "$SEALTREE" admin --sysroot "$SYS" status >/dev/null 2>"$T/err" && ok "status runs beside a shared holder" || fail "status beside a shared holder"
check "status did not wait" test ! -s "$T/err"
exec 9>&-

# Four deploys at once: all complete, four deployments, entries whole.
pids=()
for i in 1 2 3 4; do
	admin deploy --keys-dir "$KEYS" --karg "n=$i" os/main >"$T/out.$i" 2>"$T/err.$i" &
	pids+=($!)
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
check "concurrent deploys all succeed" test $rc = 0
check "five deployments" test "$(n_deployments)" = 5
check "serials 0 to 4" test "$(ls "$SYS/sealtree/deploy/debian" | grep -c "^$c1\.[0-4]$")" = 5
python3 "$(dirname "$0")/admin-check.py" "$SEALTREE" "$SYS" --clean >"$T/check" && ok "sysroot whole" || fail "sysroot whole" "$(cat "$T/check")"
done_testing
