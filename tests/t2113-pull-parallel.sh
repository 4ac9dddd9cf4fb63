#!/bin/bash
# SPDX-License-Identifier: MIT
# What a pull does at once, so that a long round trip costs few of them
# (docs/formats/remote.md, "Round trips"): tests/fault-server.py holds every
# answer for commits/ and for the pack index a while ("delay"), and its log
# shows which requests arrived before which answers were sent. The summary
# and its signatures go together (on a first pull from the remote, with
# HEADs of the summary that open the connections the next steps use), then
# the commit and its signatures together, and nothing else before both
# answers are in and checked; a pack index of several 12 KiB parts comes in
# parallel bounded ranges that cover it exactly, once; then the objects'
# ranges go with the image's, not after it. A later pull whose
# pack index is that large sends its HEADs with the commit instead.
# Against nginx: an error status (the commit's missing signatures, 404)
# does not close its connection: the next request reuses it.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/remote-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
command -v python3 >/dev/null || skip_all "needs python3"
rules() { echo "$1" >"$T/rules.json"; }
# line_of PATTERN [MARK]: the first line of the fault server's log (after line MARK) matching PATTERN, or nothing
line_of() { tail -n +$((${2:-0} + 1)) "$T/requests.log" | grep -n -m1 -- "$1" | cut -d: -f1 | awk -v m="${2:-0}" '{ print $1 + m }' || true; }

# ---- a server repository: 700 objects of 300 bytes, so that the pack index (56 bytes an entry) is over 36 KiB ----
python3 -c 'import os, sys
os.makedirs(sys.argv[1])
for i in range(700):
    open(f"{sys.argv[1]}/f{i}", "wb").write(os.urandom(300))' "$T/tree"
S init --verity=off >/dev/null
v1=$(S commit -b main --tree "$T/tree")
"$SEALTREE" keygen -o "$T/k" >/dev/null
mkdir -p "$T/keys/trusted.d" && cp "$T/k.pub" "$T/keys/trusted.d/"
S sign main --key "$T/k" >/dev/null
S summary --packs --sign "$T/k" >/dev/null
H=$(awk '$1 == "pack" { print $4 }' "$srv/summary")
isize=$(stat -c %s "$srv/packs/$H.index")
[ "$isize" -gt $((3 * 12288)) ] || fail "index size" "$isize bytes: too small to come in parts"

rules '{"commits/": {"mode": "delay", "arg": "0.4"}, "summary": {"mode": "delay", "arg": "0.4"}, ".index": {"mode": "delay", "arg": "0.4"}, ".pack": {"mode": "delay", "arg": "0.4"}}'
fault_server_start

C init --verity=off >/dev/null
C remote add origin "$URL" --keys-dir "$T/keys"
C pull origin >"$T/out" 2>"$T/err" && [ "$(C refs --all | awk '$2 == "refs/remotes/origin/main" { print $1 }')" = "$v1" ] &&
	C fsck >/dev/null 2>&1 && S dump main | cmp -s - <(C dump refs/remotes/origin/main) &&
	ok "a signed pull from the pack, fsck clean, the same tree" || fail "pull" "$(cat "$T/err")"

# The summary's signatures, and HEADs of the summary, asked for before the summary's answer was sent.
s_sent=$(line_of "^SENT /summary ")
s_sig=$(line_of "^GET /summary.sig ")
s_head=$(line_of "^HEAD /summary ")
[ -n "$s_sig" ] && [ -n "$s_sent" ] && [ "$s_sig" -lt "$s_sent" ] &&
	ok "the summary and its signatures asked for together" || fail "summary pair" "$(head -8 "$T/requests.log")"
[ -n "$s_head" ] && [ "$s_head" -lt "$s_sent" ] && [ "$(grep -c "^HEAD /summary " "$T/requests.log")" -ge 2 ] &&
	[ "$(grep -c "^HEAD /commits/" "$T/requests.log")" = 0 ] &&
	ok "... with HEADs of the summary that open the next steps' connections (a first pull)" || fail "warm" "$(head -20 "$T/requests.log")"

# The commit's signatures asked for before the commit's answer was sent.
c_sent=$(line_of "^SENT /commits/$v1 ")
c_sig=$(line_of "^GET /commits/$v1.sig ")
[ -n "$c_sig" ] && [ -n "$c_sent" ] && [ "$c_sig" -lt "$c_sent" ] &&
	ok "the commit and its signatures asked for together" || fail "commit pair" "$(head -20 "$T/requests.log")"
# Nothing else before both answers were sent (and then checked).
last=$(grep -n "^SENT /commits/$v1" "$T/requests.log" | tail -1 | cut -d: -f1)
first_other=$(grep -n -v -E "^(GET|HEAD|SENT) /(summary|summary.sig|commits/$v1|commits/$v1.sig) " "$T/requests.log" | head -1 | cut -d: -f1)
[ -n "$first_other" ] && [ "$first_other" -gt "$last" ] &&
	ok "nothing else asked for before the commit and its signatures were in" || fail "order" "$(head -30 "$T/requests.log")"

# The index: parts in parallel (every part asked for before the first was sent), exactly covering it.
i_first_sent=$(line_of "^SENT /packs/$H.index ")
grep "^GET /packs/$H.index " "$T/requests.log" | sed -n 's/.* range=bytes=\([0-9]*\)-\([0-9]*\)$/\1 \2/p' >"$T/parts"
n=$(wc -l <"$T/parts")
i_last_get=$(grep -n "^GET /packs/$H.index " "$T/requests.log" | tail -1 | cut -d: -f1)
[ "$n" -ge 3 ] && [ "$n" = "$(grep -c "^GET /packs/$H.index " "$T/requests.log")" ] && [ "$i_last_get" -lt "$i_first_sent" ] &&
	ok "the index in $n parts asked for at once" || fail "index parts" "$(grep "index" "$T/requests.log")"
sort -n "$T/parts" | awk -v size="$isize" 'BEGIN { next_ = 0 } { if ($1 != next_) bad = 1; next_ = $2 + 1 } END { exit !(bad == 0 && next_ == size) }' &&
	ok "... its bounded ranges cover it exactly, each byte once" || fail "index ranges" "$(cat "$T/parts")"

# The objects' ranges go with the image's (in parts): all asked for before the first pack answer was sent.
read -r img_off img_cs _ < <(pack_entry "$srv/packs/$H.index" "$(ls "$srv/images")")
img_end=$((img_off + img_cs))
p_first_sent=$(line_of "^SENT /packs/$H.pack ")
p_image=$(line_of "^GET /packs/$H.pack .* range=bytes=$img_off-")
p_object=$(grep -n "^GET /packs/$H.pack " "$T/requests.log" | sed 's/^\([0-9]*\):.* range=bytes=\([0-9]*\)-.*/\1 \2/' |
	awk -v a="$img_off" -v b="$img_end" '$2 < a || $2 >= b { print $1; exit }')
i_last_sent=$(grep -n "^SENT /packs/$H.index " "$T/requests.log" | tail -1 | cut -d: -f1)
[ -n "$p_first_sent" ] && [ -n "$p_image" ] && [ -n "$p_object" ] && [ "$p_image" -lt "$p_first_sent" ] &&
	[ "$p_object" -lt "$p_first_sent" ] && [ "$p_image" -gt "$i_last_sent" ] && [ "$p_object" -gt "$i_last_sent" ] &&
	ok "the objects' ranges asked for with the image's, after the index, not after the image" ||
	fail "objects with the image" "$(grep -E "packs/" "$T/requests.log" | head -20)"

# A later pull (the remote's summary seen before) of the same large pack: the HEADs go with the commit.
rm -rf "$cl"
C init --verity=off >/dev/null
C remote add origin "$URL" --keys-dir "$T/keys"
echo 1 >"$cl/remotes/origin/seen"
mark=$(wc -l <"$T/requests.log")
C pull origin >"$T/out" 2>"$T/err" || fail "later pull" "$(cat "$T/err")"
c_sent=$(line_of "^SENT /commits/$v1 " "$mark")
c_head=$(line_of "^HEAD /commits/$v1 " "$mark")
[ -n "$c_head" ] && [ -n "$c_sent" ] && [ "$c_head" -lt "$c_sent" ] && [ -z "$(line_of "^HEAD /summary" "$mark")" ] &&
	ok "a later pull of a large pack: HEADs of the commit with the commit, none with the summary" ||
	fail "later warm" "$(tail -n +$((mark + 1)) "$T/requests.log" | head -20)"
fault_server_stop

# ---- nginx: a 404 leaves its connection open for the next request (700 loose objects follow) ----
nginx_start "$srv"
rm -f "$srv/commits/$v1.sig"
rm -rf "$cl"
C init --verity=off >/dev/null
C remote add origin "$NGINX_URL" --no-sign-verify
mark=$(access_lines)
C pull origin --no-packs >"$T/out" 2>"$T/err" || fail "pull from nginx" "$(cat "$T/err")"
# ADDR - - [TIME] "REQUEST" STATUS BYTES "RANGE" PROTOCOL CONNECTION REQUEST_NO: the 404's connection and number
tail -n +$((mark + 1)) "$NGINX_DIR/access.log" >"$T/access"
conn=$(awk '$7 ~ /\.sig$/ && $9 == 404 { print $(NF - 1); exit }' "$T/access")
no=$(awk '$7 ~ /\.sig$/ && $9 == 404 { print $NF; exit }' "$T/access")
[ -n "$conn" ] && awk -v c="$conn" -v n="$no" '$(NF - 1) == c && $NF > n { f = 1 } END { exit !f }' "$T/access" &&
	ok "the connection that answered 404 served the next request" || fail "404 connection" "$(head -20 "$T/access")"

done_testing
