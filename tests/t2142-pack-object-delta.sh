#!/bin/bash
# SPDX-License-Identifier: MIT
# Object deltas of a pack from F: a large file changed a little travels as
# its new object compressed against the old one at the same path (what
# `zstd --patch-from` does), a fraction of its own frame, and the client
# decodes it against its own copy and checks the object's digest. Files
# without an old version at their path (new, moved) and small ones take
# their own frames. Never required: a client without the base object
# takes the object's own frame; a delta frame with wrong bytes abandons
# the pack for loose objects; the pull completes either way.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/remote-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
command -v python3 >/dev/null || skip_all "needs python3"
ref_is_v2() { [ "$(C refs --all | awk '$2 == "refs/remotes/origin/main" { print $1 }')" = "$v2" ]; }
same_v2() { ref_is_v2 && S dump main | cmp -s - <(C dump refs/remotes/origin/main) && C fsck >/dev/null 2>&1; }
hex_of() { S dump main | awk -v p="/$1" '$1 == p { print $NF }' | tr -d /; }

# ---- v1: two large files, one in a directory, a large one that will move, small ones ----
mkdir -p "$T/tree/dir"
head -c 1500000 /dev/urandom >"$T/tree/big"
head -c 300000 /dev/urandom >"$T/tree/dir/mid"
head -c 200000 /dev/urandom >"$T/tree/moves"
head -c 2600000 /dev/urandom >"$T/tree/half"
for i in $(seq 1 20); do head -c $((1000 + i * 97)) /dev/urandom >"$T/tree/s$i"; done
commit_serve_pull || fail "v1" "$(cat "$T/err")"
cp -a "$cl" "$T/cl-v1"

# ---- v2: 64 bytes appended to big, 1000 bytes rewritten in dir/mid, half of half, a small file changed, moves moved, a new large file ----
sleep 1.1
head -c 64 /dev/urandom >>"$T/tree/big"
python3 -c 'import os, sys
f = open(sys.argv[1], "r+b"); f.seek(150000); f.write(os.urandom(1000))' "$T/tree/dir/mid"
head -c 1500 /dev/urandom >"$T/tree/s3"
# half: its second half new, so that its delta (over 1 MiB) is decoded as it arrives, not by the pool
python3 -c 'import os, sys
f = open(sys.argv[1], "r+b"); f.seek(1300000); f.write(os.urandom(1300000))' "$T/tree/half"
mv "$T/tree/moves" "$T/tree/dir/moved"
head -c 100 /dev/urandom >>"$T/tree/dir/moved"
head -c 250000 /dev/urandom >"$T/tree/new"
v2=$(S commit -b main --tree "$T/tree")
S summary --packs >/dev/null
P=$(awk -v f="$v1" '$1 == "pack" && $3 == f { print $4 }' "$srv/summary")
[ -n "$P" ] || fail "pack from v1" "$(cat "$srv/summary")"
image=$(ls -t "$srv/images" | head -1)
# entries KIND HEX OFFSET CSIZE SIZE of the pack from v1: object (an object of the server), image, or other
python3 - "$srv/packs/$P.index" "$srv" >"$T/entries" <<'PY'
import os, struct, sys
idx = open(sys.argv[1], "rb").read()
for i in range(struct.unpack_from("<Q", idx, 24)[0]):
    e = 128 + 56 * i
    h = idx[e:e + 32].hex()
    off, cs, sz = struct.unpack_from("<QQQ", idx, e + 32)
    kind = "object" if os.path.exists(f"{sys.argv[2]}/objects/{h[:2]}/{h[2:]}") else \
        "image" if os.path.exists(f"{sys.argv[2]}/images/{h}") else "other"
    print(kind, h, off, cs, sz)
PY
big=$(hex_of big); mid=$(hex_of dir/mid); moved=$(hex_of dir/moved); new=$(hex_of new); half=$(hex_of half)
own() { awk -v h="$1" '$2 == h { print $3, $4 }' "$T/entries"; }
# The deltas: entries that are no object nor the image, of the size of big and of mid (the image's dump delta is the third).
dbig=$(awk -v s="$(stat -c %s "$T/tree/big")" '$1 == "other" && $5 == s { print $3, $4 }' "$T/entries")
dmid=$(awk -v s="$(stat -c %s "$T/tree/dir/mid")" '$1 == "other" && $5 == s { print $3, $4 }' "$T/entries")
dhalf=$(awk -v s="$(stat -c %s "$T/tree/half")" '$1 == "other" && $5 == s { print $3, $4 }' "$T/entries")
[ "$(awk '$1 == "other"' "$T/entries" | wc -l)" = 4 ] && [ -n "$dbig" ] && [ -n "$dmid" ] && [ -n "$dhalf" ] &&
	[ "${dhalf#* }" -gt 1048576 ] && [ "${dhalf#* }" -lt $(($(own "$half" | cut -d' ' -f2) * 6 / 10)) ] &&
	[ "${dbig#* }" -lt $(($(own "$big" | cut -d' ' -f2) / 50)) ] && [ "${dmid#* }" -lt $(($(own "$mid" | cut -d' ' -f2) / 50)) ] &&
	ok "the pack from v1 holds deltas of big (${dbig#* } bytes, its own frame $(own "$big" | cut -d' ' -f2)), dir/mid (${dmid#* } of $(own "$mid" | cut -d' ' -f2)) and half (${dhalf#* } of $(own "$half" | cut -d' ' -f2)), none for the moved, new or small files" ||
	fail "deltas in the pack" "$(cat "$T/entries")"
[ -n "$(own "$big")" ] && [ -n "$(own "$mid")" ] && ok "... and their own frames too (never required)" || fail "own frames" ""

# sent_of MARK START CSIZE: body bytes of the pack from v1 nginx sent after MARK within [START, START + CSIZE)
sent_of() {
	tail -n +$(($1 + 1)) "$NGINX_DIR/access.log" | grep "GET /packs/$P.pack" |
		sed -n 's/.*" 206 \([0-9]*\) "bytes=\([0-9]*\)-[0-9]*".*/\2 \1/p' |
		awk -v a="$2" -v b="$(($2 + $3))" '{ s = $1; e = $1 + $2; lo = s > a ? s : a; hi = e < b ? e : b; if (hi > lo) n += hi - lo } END { print n + 0 }'
}

# ---- the update: the deltas, not the own frames ----
mark=$(access_lines)
C pull origin >"$T/out" 2>"$T/err" && same_v2 && ok "update pulled: the same tree, fsck clean" || fail "update" "$(cat "$T/out" "$T/err")"
[ "$(sent_of "$mark" $dbig)" = "${dbig#* }" ] && [ "$(sent_of "$mark" $dmid)" = "${dmid#* }" ] &&
	[ "$(sent_of "$mark" $dhalf)" = "${dhalf#* }" ] && [ "$(sent_of "$mark" $(own "$half"))" = 0 ] &&
	[ "$(sent_of "$mark" $(own "$big"))" = 0 ] && [ "$(sent_of "$mark" $(own "$mid"))" = 0 ] &&
	ok "... the three deltas fetched whole (half's, over 1 MiB, decoded as it arrives), not a byte of their objects' own frames" || fail "delta ranges" "$(tail -n +$((mark + 1)) "$NGINX_DIR/access.log")"
[ "$(sent_of "$mark" $(own "$moved"))" = "$(own "$moved" | cut -d' ' -f2)" ] && [ "$(sent_of "$mark" $(own "$new"))" = "$(own "$new" | cut -d' ' -f2)" ] &&
	ok "... the moved and the new file by their own frames" || fail "own ranges" "$(tail -n +$((mark + 1)) "$NGINX_DIR/access.log")"
[ "$(requests_since "$mark" 'GET /objects/')" = 0 ] && ! grep -q warning "$T/err" && ok "... nothing loose, no warning" ||
	fail "loose" "$(cat "$T/err")"
bytes=$(sed -n 's/.*, \([0-9]*\) bytes of pack ranges).*/\1/p' "$T/out")
echo "# update: $bytes bytes of pack ranges for $(grep -o '^pull: [0-9]* objects' "$T/out"); big's own frame alone is $(own "$big" | cut -d' ' -f2)"

# ---- never required: the base object gone here, the object's own frame instead ----
rm -rf "$cl" && cp -a "$T/cl-v1" "$cl"
oldbig=$("$SEALTREE" --repo "$cl" dump "$v1" | awk '$1 == "/big" { print $NF }' | tr -d /)
rm "$cl/objects/${oldbig:0:2}/${oldbig:2}"
mark=$(access_lines)
C pull origin >"$T/out" 2>"$T/err" && ref_is_v2 && S dump main | cmp -s - <(C dump refs/remotes/origin/main) &&
	[ "$(sent_of "$mark" $(own "$big"))" = "$(own "$big" | cut -d' ' -f2)" ] && [ "$(sent_of "$mark" $dbig)" = 0 ] &&
	[ "$(sent_of "$mark" $dmid)" = "${dmid#* }" ] &&
	ok "without its base here, big comes by its own frame (mid still by its delta)" || fail "no base" "$(cat "$T/out" "$T/err")"

# ---- wrong bytes in the delta's frame: the pack abandoned, the object loose, the pull completes ----
rm -rf "$cl" && cp -a "$T/cl-v1" "$cl"
cp "$srv/packs/$P.pack" "$T/pack.good"
python3 -c 'import sys
off = int(sys.argv[2]) + int(sys.argv[3]) // 2
f = open(sys.argv[1], "r+b"); f.seek(off); b = f.read(1); f.seek(off); f.write(bytes([b[0] ^ 0xff]))' "$srv/packs/$P.pack" $dbig
C pull origin >"$T/out" 2>"$T/err" && same_v2 && grep -q "warning: packs/$P.pack: abandoned, the rest from loose objects: object " "$T/err" &&
	! find "$cl/objects" -name '.*' | grep -q . &&
	ok "a delta frame with wrong bytes: refused with a warning naming the pack, loose fallback, the same tree" ||
	fail "bad delta" "$(cat "$T/out" "$T/err")"
cp "$T/pack.good" "$srv/packs/$P.pack"

done_testing
