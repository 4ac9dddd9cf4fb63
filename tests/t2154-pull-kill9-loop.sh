#!/bin/bash
# SPDX-License-Identifier: MIT
# kill -9 at many instants, then pull again, until a pull completes: from
# the first request (summary, commit, image) to the last frames, from a
# pack and as loose objects (--no-packs), nginx sending slowly. After each
# kill nothing unverified is published (fsck: no error) and no ref has
# moved; each next pull, counted by nginx's log, asks for no byte of an
# object an earlier pull published nor for a byte kept in tmp/pull (the
# compressed bytes of a large frame, the first bytes of a large loose
# object, the verified image, tmp/pull/DIGEST.image): no verified byte
# crosses the wire twice. The last pull gives the server's tree, tmp/pull
# empty.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/remote-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
command -v python3 >/dev/null || skip_all "needs python3"

mkdir -p "$T/tree/small"
for i in 1 2 3 4; do head -c $((1200000 + i * 100003)) /dev/urandom >"$T/tree/big$i"; done
for i in $(seq 1 80); do head -c $((600 + i * 37)) /dev/urandom >"$T/tree/small/f$i"; done
S init --verity=off >/dev/null
v1=$(S commit -b main --tree "$T/tree")
S summary --packs >/dev/null
H=$(awk '$1 == "pack" { print $4 }' "$srv/summary" | head -1)
[ -f "$srv/packs/$H.index" ] || skip_all "no pack in the summary: $(cat "$srv/summary")"
image=$(ls "$srv/images")
# The pack's entries as "HEX OFFSET CSIZE"; the loose objects as "HEX SIZE".
pack_entries "$srv/packs/$H.index" | cut -d' ' -f1-3 >"$T/entries"
(cd "$srv/objects" && find . -type f -printf '%h%f %s\n' | sed 's|^\./||') >"$T/loose"

NGINX_SERVER_EXTRA='location /packs/ { limit_rate 1200k; } location /objects/ { limit_rate 1200k; }'
nginx_start "$srv"

# state MODE: what the client holds now, one line per entry: "have|kept|want|image START END [KEPT_END]"
# in the pack's body (MODE pack) or in each object's own file (MODE loose: START 0).
state() {
	local hex rest
	if [ "$1" = pack ]; then
		while read -r hex off cs; do
			if [ "$hex" = "$image" ] && [ -f "$cl/tmp/pull/$image.image" ]; then echo "have $hex $off $((off + cs))"
			elif [ "$hex" = "$image" ]; then echo "image $hex $off $((off + cs))"
			elif [ -f "$cl/objects/${hex:0:2}/${hex:2}" ]; then echo "have $hex $off $((off + cs))"
			elif [ -f "$cl/tmp/pull/$hex.zst" ]; then echo "kept $hex $off $((off + cs)) $((off + $(stat -c %s "$cl/tmp/pull/$hex.zst")))"
			else echo "want $hex $off $((off + cs))"; fi
		done <"$T/entries"
	else
		while read -r hex size; do
			if [ -f "$cl/objects/${hex:0:2}/${hex:2}" ]; then echo "have $hex 0 $size"
			elif [ -f "$cl/tmp/pull/$hex" ]; then echo "kept $hex 0 $size $(stat -c %s "$cl/tmp/pull/$hex")"
			else echo "want $hex 0 $size"; fi
		done <"$T/loose"
	fi
}

# asked_again MODE STATE MARK: bytes nginx sent after line MARK that STATE says the client had
# (published objects, kept bytes); prints "TWICE SENT", exit 0.
asked_again() {
	tail -n +$(($3 + 1)) "$NGINX_DIR/access.log" | python3 -c '
import re, sys
mode, state = sys.argv[1], [l.split() for l in open(sys.argv[2])]
have = {}   # key -> list of [start, end) ranges the client holds verified or kept
for f in state:
    if f[0] == "have":
        have.setdefault(f[1] if mode == "loose" else "pack", []).append((int(f[2]), int(f[3])))
    elif f[0] == "kept":
        have.setdefault(f[1] if mode == "loose" else "pack", []).append((int(f[2]), int(f[4])))
twice = sent = 0
for l in sys.stdin:
    m = re.search(r"\"GET /(packs/[0-9a-f]+\.pack|objects/([0-9a-f]{2})/([0-9a-f]{62})) HTTP/[0-9.]+\" (\d+) (\d+) \"([^\"]*)\"", l)
    if not m or m.group(4) not in ("200", "206"):
        continue
    n = int(m.group(5))
    start = int(re.match(r"bytes=(\d+)-", m.group(6)).group(1)) if m.group(6).startswith("bytes=") else 0
    key = "pack" if m.group(1).startswith("packs/") else m.group(2) + m.group(3)
    if mode == "pack" and key != "pack":
        continue
    sent += n
    for a, b in have.get(key, []):
        twice += max(0, min(b, start + n) - max(a, start))
print(twice, sent)
' "$1" "$2"
}

# run MODE PULL_ARGS...: kill -9 at growing instants until a pull completes, checking after each.
run() {
	local mode=$1 d rc kills=0 bad=0 mark twice sent total=0 imgs=0 kept_after=0 midway=0 imgkept=0 images_kept=0 n
	shift
	cl=$T/cl-$mode
	rm -rf "$cl"
	C init --verity=off >/dev/null
	C remote add origin "$NGINX_URL" --no-sign-verify
	state "$mode" >"$T/state"
	# The last, "none": not killed (a slow machine may need it).
	for d in 0.05 0.15 0.3 0.5 0.8 1.1 1.5 2 2.5 3 3.5 4 5 6 none; do
		mark=$(access_lines)
		"$SEALTREE" --repo "$cl" pull origin "$@" >"$T/out" 2>"$T/err" &
		pid=$!
		[ "$d" = none ] || sleep "$d"
		rc=0
		if [ "$d" != none ] && kill -9 $pid 2>/dev/null; then
			wait $pid 2>/dev/null || rc=$?
			[ $rc = 137 ] && kills=$((kills + 1))
		else
			wait $pid || rc=$?
		fi
		sleep 0.3       # nginx logs the cut requests
		read -r twice sent < <(asked_again "$mode" "$T/state" "$mark")
		total=$((total + sent))
		n=$(tail -n +$((mark + 1)) "$NGINX_DIR/access.log" | grep -c "GET /images/" || true)
		imgs=$((imgs + n))
		[ "$n" = 0 ] || [ "$imgkept" = 0 ] || { bad=1; fail "$mode: after the kill at $d s" "the kept image fetched again"; }
		[ "$twice" = 0 ] || { bad=1; fail "$mode: after the kill at $d s" "$twice bytes held asked again: $(cat "$T/state")"; }
		[ $rc = 0 ] && break
		[ $rc = 137 ] || { bad=1; fail "$mode: the pull failed (rc $rc)" "$(cat "$T/err")"; break; }
		C fsck >"$T/fsck" 2>&1 || true
		if grep -q "^error" "$T/fsck" || C refs --all | grep -q origin; then
			bad=1
			fail "$mode: killed at $d s" "$(cat "$T/fsck"; C refs --all)"
		fi
		state "$mode" >"$T/state"
		if [ -f "$cl/tmp/pull/$image.image" ]; then imgkept=1; images_kept=$((images_kept + 1)); else imgkept=0; fi
		grep -q "^kept" "$T/state" && kept_after=$((kept_after + 1))
		grep -q "^have" "$T/state" && grep -q "^want\|^kept" "$T/state" && midway=$((midway + 1))
	done
	[ $bad = 0 ] && [ $kills -ge 3 ] && ok "$mode: killed $kills times (first at 0.05 s), each time fsck clean, no ref, nothing held asked again" ||
		fail "$mode: kills" "$kills kills, bad $bad"
	[ "$rc" = 0 ] && [ "$(C refs --all | awk '$2 == "refs/remotes/origin/main" { print $1 }')" = "$v1" ] &&
		S dump main | cmp -s - <(C dump refs/remotes/origin/main) && C fsck >/dev/null 2>&1 &&
		[ -z "$(ls "$cl/tmp/pull" 2>/dev/null)" ] && ok "$mode: the last pull completes: the same tree, fsck clean, tmp/pull empty" ||
		fail "$mode: last pull" "rc $rc $(cat "$T/err")"
	[ $kept_after -ge 1 ] && [ $midway -ge 1 ] &&
		ok "$mode: kills landed midway: $midway with objects published and others not, $kept_after with bytes kept in tmp/pull" ||
		fail "$mode: no kill midway" "midway $midway, kept $kept_after"
	[ $images_kept -ge 1 ] && ok "$mode: $images_kept kills left the verified image in tmp/pull, and no pull fetched it again" ||
		fail "$mode: image kept" "$images_kept"
	echo "# $mode: $total bytes of $mode bodies sent over $((kills + 1)) pulls; image fetched loose $imgs times"
}

run pack
size=$(stat -c %s "$srv/packs/$H.pack")
echo "# the pack body: $size bytes"
run loose --no-packs

done_testing
