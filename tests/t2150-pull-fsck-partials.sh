#!/bin/bash
# SPDX-License-Identifier: MIT
# fsck and the partial downloads of tmp/pull: one a running pull holds
# (flock) is never reported nor touched; one left by a pull killed with -9
# is reported (with its size) and fsck --repair removes it; so are files a
# pull never writes there (a symlink, a bad name, an empty directory), never
# followed; a partial another process holds locked survives --repair; the
# next pull completes the object from the first byte.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/remote-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
command -v python3 >/dev/null || skip_all "needs python3"
command -v flock >/dev/null || skip_all "needs flock(1)"

rules() { echo "$1" >"$T/rules.json"; }
# The partial downloads (not the verified image a killed pull keeps, tmp/pull/DIGEST.image).
partials() { find "$cl/tmp/pull" -mindepth 1 -maxdepth 1 ! -name '*.image' 2>/dev/null | wc -l; }

mkdir -p "$T/tree"
head -c $((3 * 1048576 + 77)) /dev/urandom >"$T/tree/big"
echo small >"$T/tree/small"
S init --verity=off >/dev/null
S commit -b main --tree "$T/tree" >/dev/null
S summary >/dev/null
big=$(S dump main | awk '$1 == "/big" { print $NF }')
[ ${#big} = 64 ] || fail "digest of big" "$big"

rules '{}'
: >"$T/requests.log"
python3 "$SOURCE_DIR/tests/fault-server.py" "$srv" "$T/rules.json" "$T/requests.log" >"$T/port" 2>"$T/server.err" &
server_pid=$!
pull_pid=
holder_pid=
trap 'for p in $pull_pid $holder_pid $server_pid; do kill $p 2>/dev/null || true; wait $p 2>/dev/null || true; done; cleanup_test_tmp' EXIT
for _ in $(seq 50); do [ -s "$T/port" ] && break; sleep 0.1; done
[ -s "$T/port" ] || skip_all "the fault server did not start"
URL=http://127.0.0.1:$(cat "$T/port")

C init --verity=off >/dev/null
C remote add origin "$URL" --no-sign-verify

# ---- a running pull holds its partial: fsck neither reports nor touches it ----
rules "{\"objects/${big:0:2}/${big:2}\": {\"mode\": \"stall\", \"count\": 1}}"
"$SEALTREE" --repo "$cl" pull origin --stall-timeout 60 >"$T/pull.out" 2>"$T/pull.err" &
pull_pid=$!
for _ in $(seq 100); do [ -s "$cl/tmp/pull/$big" ] && break; sleep 0.1; done
[ -s "$cl/tmp/pull/$big" ] && ok "a stalled pull writes tmp/pull/<digest> ($(stat -c %s "$cl/tmp/pull/$big") bytes)" ||
	fail "no partial" "$(find "$cl/tmp"; cat "$T/pull.err")"
C fsck >"$T/fsck1" 2>&1 || true
! grep -q "tmp/pull" "$T/fsck1" && [ -s "$cl/tmp/pull/$big" ] &&
	ok "... fsck while it runs: nothing reported, the partial kept" || fail "fsck during pull" "$(cat "$T/fsck1")"

# ---- killed: the partial is stale, fsck reports it, --repair removes it ----
kill -9 $pull_pid
wait $pull_pid 2>/dev/null || true
pull_pid=
[ -f "$cl/tmp/pull/$big" ] && ok "the pull killed with -9 leaves its partial" || fail "partial gone" "$(find "$cl/tmp")"
size=$(stat -c %s "$cl/tmp/pull/$big")
# Files a pull never writes there: a symlink named like an object, a bad name, a directory, a hardlink.
echo "not ours" >"$T/outside"
ln -s "$T/outside" "$cl/tmp/pull/$(printf 'a%.0s' $(seq 64))"
echo junk >"$cl/tmp/pull/NotAnObject"
mkdir "$cl/tmp/pull/$(printf 'b%.0s' $(seq 64))"
echo linked >"$T/linked"
ln "$T/linked" "$cl/tmp/pull/$(printf 'c%.0s' $(seq 64))"
# One another process holds (as a pull does): flock(1) on a copy under another digest's name.
held=$(printf 'd%.0s' $(seq 64))
head -c 5000 /dev/urandom >"$cl/tmp/pull/$held"
(exec 9<"$cl/tmp/pull/$held" && flock -x 9 && exec sleep 300) &
holder_pid=$!
for _ in $(seq 50); do ! flock -n -x "$cl/tmp/pull/$held" true && break; sleep 0.1; done

rc=0
C fsck >"$T/fsck2" 2>&1 || rc=$?
[ $rc = 0 ] && grep -q "^warning: tmp/pull/$big: partial download ($size bytes, unverified) that no pull holds" "$T/fsck2" &&
	ok "fsck reports the stale partial with its size, as a warning (exit 0)" || fail "fsck report" "rc=$rc $(cat "$T/fsck2")"
[ "$(grep -c '^warning: tmp/pull/.*not a partial download' "$T/fsck2")" = 4 ] &&
	ok "... and the symlink, the bad name, the directory and the hardlink as not a pull's" ||
	fail "fsck junk" "$(cat "$T/fsck2")"
grep -q "^note: commits/.*: fetched by pull --commit-only or by a pull that did not finish" "$T/fsck2" &&
	! grep -q "^error" "$T/fsck2" && ok "... the commit the killed pull stored without its image is a note, not an error" ||
	fail "commit note" "$(cat "$T/fsck2")"
! grep -q "$held" "$T/fsck2" && ok "... not the one a process holds locked" || fail "held reported" "$(cat "$T/fsck2")"
[ "$(partials)" = 6 ] && ok "... and without --repair removes nothing" || fail "removed" "$(ls "$cl/tmp/pull")"

rc=0
C fsck --repair >"$T/fsck3" 2>&1 || rc=$?
[ $rc = 0 ] && grep -q "^warning: tmp/pull/$big: partial download ($size bytes, unverified) that no pull holds: removed (fixed)" "$T/fsck3" &&
	[ ! -e "$cl/tmp/pull/$big" ] && ok "fsck --repair removes the stale partial" || fail "repair" "rc=$rc $(cat "$T/fsck3")"
[ "$(ls "$cl/tmp/pull")" = "$held" ] && [ "$(cat "$T/outside")" = "not ours" ] && [ "$(cat "$T/linked")" = linked ] &&
	ok "... and every file not a pull's (the symlink not followed, the hardlink's other name intact), not the locked one" ||
	fail "repair junk" "$(ls -la "$cl/tmp/pull"; cat "$T/fsck3")"
C fsck >"$T/fsck4" 2>&1 || true
! grep -q "tmp/pull" "$T/fsck4" && ok "... a second fsck finds nothing there" ||
	fail "fsck4" "$(cat "$T/fsck4")"
kill $holder_pid 2>/dev/null || true
wait $holder_pid 2>/dev/null || true
holder_pid=

# ---- the next pull fetches the object from its first byte and completes ----
rules '{}'
: >"$T/requests.log"
C pull origin >"$T/out" 2>"$T/err" && [ -f "$cl/objects/${big:0:2}/${big:2}" ] && C fsck >"$T/fsck5" 2>&1 &&
	! grep -q "^note: commits/" "$T/fsck5" && [ -z "$(find "$cl/commits" -name '*.partial')" ] &&
	ok "the next pull completes, fsck clean" || fail "pull after repair" "$(cat "$T/err")"
grep -q "^GET /objects/${big:0:2}/${big:2} ok$" "$T/requests.log" && ! grep -q "^GET /objects/${big:0:2}/${big:2} ok range" "$T/requests.log" &&
	ok "... fetching the object whole (its partial was removed)" || fail "whole" "$(grep "$big" "$T/requests.log" || cat "$T/requests.log")"
[ "$(partials)" = 0 ] && ok "... tmp/pull empty (the held file swept once no one held it)" || fail "left" "$(ls "$cl/tmp/pull")"

done_testing
