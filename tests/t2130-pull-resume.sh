#!/bin/bash
# SPDX-License-Identifier: MIT
# Resumable large objects: a download cut midway (a dropped connection from
# tests/fault-server.py, or the pull killed with SIGKILL while nginx sends
# slowly) is kept in REPO/tmp/pull and continued with a Range request, so
# that counting the bytes the server sent, none is sent twice; a server
# that answers the Range with 200 (the whole file) restarts it cleanly, one
# that answers with other bytes is refused; the result is always the same
# tree, nothing unverified is published, and tmp/pull is empty afterwards.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/remote-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
command -v python3 >/dev/null || skip_all "needs python3"

digest_path() { echo "${1:0:2}/${1:2}"; }
rules() { echo "$1" >"$T/rules.json"; }
# sent PATH: body bytes the fault server sent for PATH since the log was emptied.
sent() { awk -v p="/objects/$1" '$1 == "SENT" && $2 == p { s += $3 } END { print s + 0 }' "$T/requests.log"; }
same_tree() {
	S dump main >"$T/d1" && "$SEALTREE" --repo "$1" dump refs/remotes/origin/main >"$T/d2" && cmp -s "$T/d1" "$T/d2" &&
		[ "$(objects_of "$srv")" = "$(objects_of "$1")" ] && "$SEALTREE" --repo "$1" fsck >/dev/null 2>&1
}
# The partial downloads (not the verified image a failed pull keeps, tmp/pull/DIGEST.image).
partials() { find "$1/tmp/pull" -type f ! -name '*.image' 2>/dev/null | wc -l; }

# ---- the server's repository: four large objects and some small ones ----
mkdir -p "$T/tree"
for i in 1 2 3 4; do head -c $((4 * 1048576 + i * 4099)) /dev/urandom >"$T/tree/big$i"; done
for i in $(seq 1 6); do head -c $((1000 + i * 333)) /dev/urandom >"$T/tree/small$i"; done
S init --verity=off >/dev/null
S commit -b main --tree "$T/tree" >/dev/null
S summary >/dev/null
path_of() { digest_path "$(S dump main | awk -v p="/$1" '$1 == p { print $NF }')"; }
for i in 1 2 3 4; do eval "big$i=$(path_of "big$i")"; done
[ -f "$srv/objects/$big1" ] && [ -f "$srv/objects/$big4" ] && ok "the large objects are in the server's store" ||
	fail "objects" "$big1 $big4"
size_of() { stat -c %s "$srv/objects/$1"; }

rules '{}'
: >"$T/requests.log"
python3 "$SOURCE_DIR/tests/fault-server.py" "$srv" "$T/rules.json" "$T/requests.log" >"$T/port" 2>"$T/server.err" &
server_pid=$!
trap 'kill $server_pid 2>/dev/null || true; wait $server_pid 2>/dev/null || true; nginx_stop; cleanup_test_tmp' EXIT
for _ in $(seq 50); do [ -s "$T/port" ] && break; sleep 0.1; done
[ -s "$T/port" ] || skip_all "the fault server did not start"
URL=http://127.0.0.1:$(cat "$T/port")

# ---- a dropped connection, retried within the pull: the retry asks for the rest ----
cl=$T/c1
"$SEALTREE" --repo "$cl" init --verity=off >/dev/null
"$SEALTREE" --repo "$cl" remote add origin "$URL" --no-sign-verify
rules "{\"$big1\": {\"mode\": \"truncate\", \"count\": 1}}"
: >"$T/requests.log"
"$SEALTREE" --repo "$cl" pull origin >"$T/out" 2>"$T/err" && ok "a connection dropped midway: pulled" ||
	fail "dropped" "$(cat "$T/err")"
[ "$(grep -c "^GET /objects/$big1 " "$T/requests.log")" = 2 ] &&
	grep -q "^GET /objects/$big1 ok range=bytes=$(($(size_of "$big1") / 2))-$" "$T/requests.log" &&
	ok "... the retry is a Range request from the byte where it stopped" || fail "range retry" "$(cat "$T/requests.log")"
[ "$(sent "$big1")" = "$(size_of "$big1")" ] && ok "... no byte of it sent twice ($(sent "$big1") bytes)" ||
	fail "bytes twice" "$(sent "$big1") vs $(size_of "$big1")"
same_tree "$cl" && ok "... the same tree, fsck clean" || fail "tree" ""
[ "$(partials "$cl")" = 0 ] && ok "... and tmp/pull is empty" || fail "partials left" "$(find "$cl/tmp")"

# ---- dropped on every attempt: the pull fails, keeps the bytes, the next pull resumes ----
cl=$T/c2
"$SEALTREE" --repo "$cl" init --verity=off >/dev/null
"$SEALTREE" --repo "$cl" remote add origin "$URL" --no-sign-verify
rules "{\"$big2\": {\"mode\": \"truncate\"}}"
: >"$T/requests.log"
expect_refused "dropped on every attempt: the pull fails naming the object" "object $big2: .*after 5 attempts" \
	"$SEALTREE" --repo "$cl" pull origin
[ ! -e "$cl/objects/$big2" ] && [ "$(partials "$cl")" = 1 ] && ok "... nothing published, one partial file kept" ||
	fail "partial" "$(find "$cl/tmp" "$cl/objects" -newer "$T/port" | head)"
kept=$(find "$cl/tmp/pull" -type f ! -name "*.image" -exec stat -c %s {} +)
[ "$kept" = "$(sent "$big2")" ] && ok "... holding every byte sent ($kept)" || fail "kept" "$kept vs $(sent "$big2")"
[ -z "$("$SEALTREE" --repo "$cl" refs --all | grep origin)" ] && ok "... no ref moved" || fail "ref moved" ""
rules '{}'
"$SEALTREE" --repo "$cl" pull origin >"$T/out" 2>"$T/err" && ok "the next pull completes" || fail "resume" "$(cat "$T/err")"
grep -q "^GET /objects/$big2 ok range=bytes=$kept-$" "$T/requests.log" && ok "... asking for the rest only" ||
	fail "resume range" "$(grep "$big2" "$T/requests.log")"
[ "$(sent "$big2")" = "$(size_of "$big2")" ] && ok "... no byte sent twice over both pulls" ||
	fail "bytes twice" "$(sent "$big2") vs $(size_of "$big2")"
same_tree "$cl" && [ "$(partials "$cl")" = 0 ] && ok "... the same tree, fsck clean, tmp/pull empty" || fail "tree" ""

# ---- a server that answers the Range with 200: starts over cleanly ----
cl=$T/c3
"$SEALTREE" --repo "$cl" init --verity=off >/dev/null
"$SEALTREE" --repo "$cl" remote add origin "$URL" --no-sign-verify
rules "{\"objects/$big3\": {\"mode\": \"truncate\", \"count\": 1}, \"$big3\": {\"mode\": \"norange\"}}"
: >"$T/requests.log"
"$SEALTREE" --repo "$cl" pull origin >"$T/out" 2>"$T/err" && same_tree "$cl" &&
	ok "a 200 to the Range: the object starts over, the same tree" || fail "norange" "$(cat "$T/err")"
[ "$(sent "$big3")" = $(($(size_of "$big3") / 2 + $(size_of "$big3"))) ] && ok "... fetched whole once more, no more" ||
	fail "norange bytes" "$(sent "$big3")"

# ---- a server that answers the Range with other bytes: refused, the partial dropped ----
cl=$T/c4
"$SEALTREE" --repo "$cl" init --verity=off >/dev/null
"$SEALTREE" --repo "$cl" remote add origin "$URL" --no-sign-verify
rules "{\"objects/$big4\": {\"mode\": \"truncate\", \"count\": 1}, \"$big4\": {\"mode\": \"badrange\"}}"
expect_refused "a 206 with other bytes than asked is refused, naming the URL" "objects/$big4: answered a request for bytes [0-9]*- with another range" \
	"$SEALTREE" --repo "$cl" pull origin
[ ! -e "$cl/objects/$big4" ] && [ "$(partials "$cl")" = 0 ] && ok "... nothing published, the partial dropped" ||
	fail "badrange" "$(find "$cl/tmp" | head)"
rules '{}'
"$SEALTREE" --repo "$cl" pull origin >"$T/out" 2>"$T/err" && same_tree "$cl" && ok "... an honest server afterwards completes" ||
	fail "badrange honest" "$(cat "$T/err")"

# ---- a partial file with wrong bytes (a crash before they reached the disk): fetched again whole ----
cl=$T/c5
"$SEALTREE" --repo "$cl" init --verity=off >/dev/null
"$SEALTREE" --repo "$cl" remote add origin "$URL" --no-sign-verify
mkdir -p "$cl/tmp/pull"
head -c 1000000 /dev/zero >"$cl/tmp/pull/$(echo "$big1" | tr -d /)"
: >"$T/requests.log"
"$SEALTREE" --repo "$cl" pull origin >"$T/out" 2>"$T/err" && same_tree "$cl" && [ "$(partials "$cl")" = 0 ] &&
	ok "a partial file of zeros: its digest fails, fetched whole again, the same tree" || fail "zeros" "$(cat "$T/err")"
[ "$(grep -c "^GET /objects/$big1 " "$T/requests.log")" = 2 ] && ok "... in one more request" ||
	fail "zeros requests" "$(grep "$big1" "$T/requests.log")"

# ---- kill -9 mid-transfer (nginx sending slowly), then pull again ----
kill $server_pid 2>/dev/null || true
NGINX_SERVER_EXTRA='location /objects/ { limit_rate 1m; }'
nginx_start "$srv"
cl=$T/c6
"$SEALTREE" --repo "$cl" init --verity=off >/dev/null
"$SEALTREE" --repo "$cl" remote add origin "$NGINX_URL" --no-sign-verify
"$SEALTREE" --repo "$cl" pull origin >"$T/out" 2>"$T/err" &
pid=$!
sleep 2
kill -9 $pid
wait $pid 2>/dev/null || true
[ "$(partials "$cl")" -ge 1 ] && ok "killed mid-transfer: partial files kept ($(partials "$cl"))" || fail "kill partials" "$(find "$cl/tmp")"
for i in 1 2 3 4; do eval "o=\$big$i"; [ ! -e "$cl/objects/$o" ] || fail "published early" "$o"; done
sleep 0.5
total=0
for i in 1 2 3 4; do eval "o=\$big$i"; total=$((total + $(size_of "$o"))); done
kept=$(find "$cl/tmp/pull" -type f ! -name "*.image" -exec stat -c %s {} + | awk '{ s += $1 } END { print s + 0 }')
first=$(awk '$7 ~ "^/objects/" && $10 > 1048576 { s += $10 } END { print s + 0 }' "$NGINX_DIR/access.log")
mark=$(access_lines)
"$SEALTREE" --repo "$cl" pull origin >"$T/out" 2>"$T/err" && same_tree "$cl" && [ "$(partials "$cl")" = 0 ] &&
	ok "the next pull completes: the same tree, tmp/pull empty" || fail "after kill" "$(cat "$T/err")"
second=$(tail -n +$((mark + 1)) "$NGINX_DIR/access.log" | awk '$7 ~ "^/objects/" && $9 != 404 { s += $10 } END { print s + 0 }')
ranges=$(tail -n +$((mark + 1)) "$NGINX_DIR/access.log" | grep -c '"GET /objects/[^ ]* HTTP/1.1" 206 [0-9]* "bytes=' || true)
[ "$ranges" -ge 1 ] && ok "... resuming with Range requests ($ranges answered 206)" || fail "no ranges" "$(cat "$NGINX_DIR/access.log")"
[ "$kept" -gt 0 ] && [ "$second" = $((total - kept)) ] &&
	ok "... none of the $kept kept bytes served again (second pull: $second of $total)" ||
	fail "served twice" "second pull served $second, objects $total, kept $kept: $(cat "$NGINX_DIR/access.log")"
echo "# killed pull: nginx logged $first bytes of large objects sent, $kept kept; $((first - kept)) were in flight"

done_testing
