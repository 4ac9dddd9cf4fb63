#!/bin/bash
# SPDX-License-Identifier: MIT
# A large object's frame in a pack, cut again and again (tests/fault-server.py
# truncates every answer): each attempt asks only for the rest of the frame,
# the bytes received are kept in REPO/tmp/pull/<digest>.zst when the pull
# gives up, nothing unverified is published and no ref moves; the next pull
# replays the kept bytes and asks the server for the rest only, so the frame
# crosses the wire once in all, and leaves no partial file behind.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/remote-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
command -v python3 >/dev/null || skip_all "needs python3"
remote_ref() { C refs --all | awk '$2 == "refs/remotes/origin/main" { print $1 }'; }
rules() { echo "$1" >"$T/rules.json"; }
log_mark() { wc -l <"$T/requests.log"; }

mkdir -p "$T/tree"
head -c 3000000 /dev/urandom >"$T/tree/big"
for i in 1 2 3; do echo "small $i" >"$T/tree/s$i"; head -c 5000 /dev/urandom >"$T/tree/m$i"; done
S init --verity=off >/dev/null
v1=$(S commit -b main --tree "$T/tree")
S summary --packs >/dev/null
H=$(awk '$1 == "pack" { print $4 }' "$srv/summary")
big=$(cd "$srv/objects" && find . -type f -size +2000k | sed 's|^\./||;s|/||')
read -r boff bcs _ < <(pack_entry "$srv/packs/$H.index" "$big")
[ -n "$bcs" ] && [ "$bcs" -gt 1048576 ] || skip_all "the large object's frame is not in the pack ($big)"

rules '{}'
fault_server_start
C init --verity=off >/dev/null
C remote add origin "$URL" --no-sign-verify

# ---- every answer holding the large frame's last byte cut in half (the image's honest), loose objects gone ----
rules "{\"packs/$H.pack\": {\"mode\": \"truncate\", \"covering\": $((boff + bcs - 1))}, \"objects/\": {\"mode\": \"404\"}, \"images/\": {\"mode\": \"404\"}}"
mark=$(log_mark)
rc=0
C pull origin >"$T/out" 2>"$T/err" || rc=$?
[ $rc = 1 ] && [ -z "$(remote_ref)" ] && [ ! -e "$cl/objects/${big:0:2}/${big:2}" ] &&
	ok "the cut frame: pull fails, no ref moved, the object not published" || fail "cut" "rc=$rc $(cat "$T/err")"
kept=$(stat -c %s "$cl/tmp/pull/$big.zst" 2>/dev/null || echo 0)
[ "$kept" -gt 0 ] && [ "$kept" -lt "$bcs" ] && ok "its compressed bytes kept ($kept of $bcs)" || fail "kept" "$kept of $bcs; $(ls -la "$cl/tmp/pull" 2>&1)"
tail -n +$((mark + 1)) "$T/requests.log" | sed -n "s/^GET \/packs\/$H\.pack .* range=bytes=\([0-9]*\)-\([0-9]*\)\$/\1 \2/p" |
	awk -v b=$((boff + bcs - 1)) '$1 <= b && $2 >= b' >"$T/big-ranges"
# The requests that cover the large frame's end: each attempt asks from where the one before
# stopped (half of what it asked for, further on).
python3 - "$T/big-ranges" <<'PY' && ok "each attempt asks only for the rest of the frame" || fail "attempts" "$(cat "$T/big-ranges")"
import sys
r = [tuple(map(int, l.split())) for l in open(sys.argv[1])]
ok = len(r) >= 2 and all(b[0] == a[0] + (a[1] - a[0] + 1) // 2 for a, b in zip(r, r[1:]))
sys.exit(0 if ok else 1)
PY

# ---- the honest server: the rest of the frame only ----
rules '{}'
mark=$(log_mark)
C pull origin >"$T/out" 2>"$T/err" && [ "$(remote_ref)" = "$v1" ] && C fsck >/dev/null 2>&1 &&
	ok "the next pull completes" || fail "next" "$(cat "$T/out" "$T/err")"
tail -n +$((mark + 1)) "$T/requests.log" | grep "^GET /packs/$H.pack .* range=bytes=$((boff + kept))-$((boff + bcs - 1))\$" >/dev/null &&
	ok "it asks for the frame from byte $kept on: the kept bytes are not fetched again" ||
	fail "rest" "$(tail -n +$((mark + 1)) "$T/requests.log")"
[ -z "$(ls "$cl/tmp/pull" 2>/dev/null)" ] && ok "no partial file left" || fail "left" "$(ls "$cl/tmp/pull")"
S dump main | cmp -s - <(C dump refs/remotes/origin/main) && ok "dumps identical" || fail "dump" ""

# ---- wrong bytes in a large frame: found when the pool reads it back from tmp/pull ----
mkdir -p "$T/solo"
head -c 3000000 /dev/urandom >"$T/solo/big2"
objects_of "$srv" >"$T/before"
v2=$(S commit -b solo --tree "$T/solo")
S summary --packs >/dev/null
big2=$(objects_of "$srv" | comm -13 "$T/before" - | sed 's|^\./||')
H2=$(awk -v c="$v2" '$1 == "pack" && $2 == c && $3 == "-" { print $4 }' "$srv/summary")
read -r b2off _ < <(pack_entry "$srv/packs/$H2.index" "${big2/\//}")
rules "{\"packs/$H2.pack\": {\"mode\": \"corrupt\", \"covering\": $b2off}}"
C pull origin solo >"$T/out" 2>"$T/err" &&
	grep -q "packs/$H2.pack: abandoned, the rest from loose objects: object $big2: the bytes received do not have its fs-verity digest" "$T/err" &&
	[ "$(C refs --all | awk '$2 == "refs/remotes/origin/solo" { print $1 }')" = "$v2" ] && C fsck >/dev/null 2>&1 &&
	[ -z "$(ls "$cl/tmp/pull" 2>/dev/null)" ] &&
	ok "a flipped byte in a large frame: named, the pack given up, the object loose, fsck clean" ||
	fail "corrupt large" "big2=$big2 $(cat "$T/out" "$T/err")"

done_testing
