#!/bin/bash
# SPDX-License-Identifier: MIT
# A dead mirror costs a few failed requests, not a round of retries per
# object: once a server has failed 3 requests in a row without answering
# (connection refused, or a timeout), the pull stops asking it for what
# another source can serve. Three sources (the url, a dead mirror first in
# the content order, a live one): the pull takes about the time it takes
# without the dead mirror, with a handful of extra requests, and the same
# for a mirror that accepts connections but never answers.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/remote-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
command -v python3 >/dev/null || skip_all "needs python3"

N=256
mkdir -p "$T/tree"
for i in $(seq 1 $N); do head -c $((200 + i * 7)) /dev/urandom >"$T/tree/f$i"; done
S init --verity=off >/dev/null
S commit -b main --tree "$T/tree" >/dev/null
S summary >/dev/null
nginx_start "$srv"

# A mirror that accepts connections (the kernel's backlog) and never answers.
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1024)
print(s.getsockname()[1], flush=True); time.sleep(600)' >"$T/hang.port" &
hang_pid=$!
trap 'kill $hang_pid 2>/dev/null || true; wait $hang_pid 2>/dev/null || true; nginx_stop; cleanup_test_tmp' EXIT
for _ in $(seq 50); do [ -s "$T/hang.port" ] && break; sleep 0.1; done
DEAD=http://127.0.0.1:$(free_port)
HANG=http://127.0.0.1:$(cat "$T/hang.port")

now_ms() { echo $(($(date +%s%N) / 1000000)); }
# pull_with NAME MIRROR...: a fresh client pulls with these mirrors; sets ms and requests.
pull_with() {
	local name=$1 args=() m t0
	shift
	for m in "$@"; do args+=(--mirror "$m"); done
	rm -rf "$cl"
	C init --verity=off >/dev/null
	C remote add origin "$NGINX_URL" "${args[@]}" --no-sign-verify
	t0=$(now_ms)
	C pull origin --stall-timeout 1 >"$T/out.$name" 2>"$T/err.$name" || fail "$name: pull" "$(cat "$T/err.$name")"
	ms=$(($(now_ms) - t0))
	requests=$(sed -n 's/^pull: .* \([0-9]*\) requests.*$/\1/p' "$T/out.$name")
	[ "$(objects_of "$srv")" = "$(objects_of "$cl")" ] && C fsck >/dev/null 2>&1 ||
		fail "$name: tree" "$(cat "$T/out.$name")"
	echo "# $name: $ms ms, $requests requests"
}

pull_with base "$NGINX_URL/"
base_ms=$ms base_req=$requests
[ "$requests" -ge $N ] && ok "without a dead mirror: $N objects in $base_ms ms, $base_req requests" || fail "base" "$requests"

pull_with dead "$DEAD" "$NGINX_URL/"
extra=$((requests - base_req))
[ "$extra" -le 6 ] && ok "a mirror on a dead port first: $extra requests more ($requests), all objects from the next" ||
	fail "dead requests" "$extra more: $(cat "$T/out.dead")"
[ $((ms - base_ms)) -lt 3000 ] && ok "... and $((ms - base_ms)) ms more ($ms ms), under 3 s" ||
	fail "dead time" "$ms ms vs $base_ms ms"

pull_with hang "$HANG" "$NGINX_URL/"
extra=$((requests - base_req))
[ "$extra" -le 6 ] && ok "a mirror that never answers: $extra requests more ($requests)" ||
	fail "hang requests" "$extra more: $(cat "$T/out.hang")"
# Three stall timeouts of 1 s and two backoffs (0.25 s, 0.5 s) before it is down: 3.75 s.
[ $((ms - base_ms)) -lt 6000 ] && ok "... and $((ms - base_ms)) ms more ($ms ms): 3 stall timeouts of 1 s, once" ||
	fail "hang time" "$ms ms vs $base_ms ms"

# The url itself dead and the only other source a mirror: metadata fails over too, objects come from the mirror.
rm -rf "$cl"
C init --verity=off >/dev/null
C remote add origin "$DEAD" --mirror "$NGINX_URL/" --no-sign-verify
t0=$(now_ms)
C pull origin >"$T/out" 2>"$T/err" && [ "$(objects_of "$srv")" = "$(objects_of "$cl")" ] &&
	ok "a dead url with a live mirror: pulled in $(($(now_ms) - t0)) ms" || fail "dead url" "$(cat "$T/err")"

# With no other source, a refused connection is still retried (5 attempts) and the pull names the URL.
rm -rf "$cl"
C init --verity=off >/dev/null
C remote add origin "$DEAD" --no-sign-verify
expect_refused "a dead url alone: the pull fails naming it, after 5 attempts" "${DEAD#http://}/summary.*after 5 attempts" \
	C pull origin

done_testing
