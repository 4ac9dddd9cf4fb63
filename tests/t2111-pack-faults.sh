#!/bin/bash
# SPDX-License-Identifier: MIT
# Pulling from packs against a server that misbehaves (tests/fault-server.py):
# a pack index that lies about offsets or sizes, an index that is not the
# one the summary names, a pack body with wrong bytes, a 200 to a Range
# request and a truncated range. Each abandons the pack with a warning that
# names it and falls back to loose objects; with the loose objects gone too
# the pull fails and no ref moves; nothing unverified is ever published; a
# truncated range resumes after its last verified object; a pull against
# the honest server afterwards completes from the pack.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/remote-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
command -v python3 >/dev/null || skip_all "needs python3"
remote_ref() { C refs --all | awk '$2 == "refs/remotes/origin/main" { print $1 }'; }
rules() { echo "$1" >"$T/rules.json"; }
log_mark() { wc -l <"$T/requests.log"; }
requests_since() { tail -n +$(($1 + 1)) "$T/requests.log" | grep -c -- "$2" || true; }
fresh_client() { rm -rf "$cl" && C init --verity=off >/dev/null && C remote add origin "$URL" --no-sign-verify; }
DIGEST=$BUILD_DIR/lib/verity/st-verity-digest
[ -x "$DIGEST" ] || skip_all "st-verity-digest not built"
# verified: no temporary file left, and every object there has the digest of its name
verified() {
	! find "$cl/objects" -name '.*' | grep -q . &&
		! find "$cl/objects" -type f -name '[0-9a-f]*' -exec "$DIGEST" {} + |
			awk '{ n = split($2, p, "/"); if ("sha256:" p[n - 1] p[n] != $1) bad = 1 } END { exit !bad }'
}
# clean: verified, and the repository checks (fsck)
clean() { verified && C fsck >/dev/null 2>&1; }

# fallback NAME RULES WARNING: the pull warns (naming the pack and why), fetches the rest loose, completes clean.
fallback() {
	local name=$1 r=$2 pattern=$3
	fresh_client
	rules "$r"
	if C pull origin >"$T/out" 2>"$T/err" && [ "$(remote_ref)" = "$v1" ] && grep -q "warning: packs/[0-9a-f]\{64\}\.pack: .*$pattern" "$T/err" &&
		clean && C dump refs/remotes/origin/main | cmp -s - "$T/d1"; then
		ok "$name: pack abandoned with a warning naming it, loose fallback complete"
	else
		fail "$name" "$(cat "$T/out" "$T/err")"
	fi
}

# refused NAME RULES: with loose objects gone (404) the pull fails, no ref moves, nothing unverified stays;
# then the same client pulls from the honest server (honest summary, no rules) and completes clean.
refused() {
	local name=$1 r=$2 rc=0
	fresh_client
	rules "$r"
	C pull origin >"$T/out" 2>"$T/err" || rc=$?
	if [ $rc = 1 ] && [ -z "$(remote_ref)" ] && verified && [ -z "$(ls "$cl/images")" ]; then
		ok "$name and no loose objects: the pull fails, no ref moved, nothing unverified published"
	else
		fail "$name (refused)" "rc=$rc $(cat "$T/err")"
	fi
	cp "$srv/summary" "$T/summary.now"
	honest
	rules '{}'
	if C pull origin >"$T/out" 2>"$T/err" && [ "$(remote_ref)" = "$v1" ] && clean; then
		ok "... then the honest server: the same client completes, fsck clean"
	else
		fail "$name (honest afterwards)" "$(cat "$T/out" "$T/err")"
	fi
	cp "$T/summary.now" "$srv/summary"
}

# ---- a server repository with a full pack ----
mkdir -p "$T/tree"
for i in $(seq 1 40); do head -c $((2000 + i * 301)) /dev/urandom >"$T/tree/f$i"; done
S init --verity=off >/dev/null
v1=$(S commit -b main --tree "$T/tree")
S summary --packs >/dev/null
S dump main >"$T/d1"
H=$(awk '$1 == "pack" { print $4 }' "$srv/summary")
cp "$srv/summary" "$T/summary.honest"
rules '{}'
fault_server_start

# lie MODE: publish a lying index for the pack (body linked under its new name) and a summary naming it.
lie() {
	python3 - "$srv" "$H" "$1" <<'PY'
import hashlib, os, struct, sys
srv, h, mode = sys.argv[1:4]
idx = bytearray(open(f"{srv}/packs/{h}.index", "rb").read())
E = lambda i: 128 + 56 * i
# Entries a and a + 1: the first two neighbours that are objects (the image's entry, fetched
# on its own, is somewhere in digest order: a lie about it tells of the image instead).
image = bytes.fromhex(os.listdir(f"{srv}/images")[0])
count = struct.unpack_from("<Q", idx, 24)[0]
a = next(i for i in range(count - 1) if image not in (idx[E(i):E(i) + 32], idx[E(i + 1):E(i + 1) + 32]))
offa, csa, sza = struct.unpack_from("<QQQ", idx, E(a) + 32)
offb, csb, szb = struct.unpack_from("<QQQ", idx, E(a + 1) + 32)
if mode == "offsets":       # the boundary of frames a and a + 1 moved 5 bytes: geometry holds, the offsets lie
    struct.pack_into("<QQQ", idx, E(a) + 32, offa, csa - 5, sza)
    struct.pack_into("<QQQ", idx, E(a + 1) + 32, offb - 5, csb + 5, szb)
elif mode == "size":        # object a one byte larger than the image says
    struct.pack_into("<Q", idx, E(a) + 48, sza + 1)
elif mode == "gap":         # frame a + 1 one byte later: not back to back
    struct.pack_into("<Q", idx, E(a + 1) + 32, offb + 1)
n = hashlib.sha256(idx).hexdigest()
open(f"{srv}/packs/{n}.index", "wb").write(idx)
if not os.path.exists(f"{srv}/packs/{n}.pack"):
    os.link(f"{srv}/packs/{h}.pack", f"{srv}/packs/{n}.pack")
lines = open(f"{srv}/summary").read().splitlines(True)
out = []
for l in lines:
    f = l.split()
    if f[0] == "pack":
        l = f"pack {f[1]} {f[2]} {n} {len(idx)}\n"
    out.append(l)
open(f"{srv}/summary", "w").write("".join(out))
PY
}
honest() { cp "$T/summary.honest" "$srv/summary"; }

# ---- a 200 to a Range request: refused at once, never read whole ----
fallback "a 200 to a Range request" '{".pack": {"mode": "norange"}}' "answered 200, not 206"
grep -q "(0 from packs, 0 bytes of pack ranges)" "$T/out" && ok "... not one byte of the whole pack used" || fail "200 bytes" "$(cat "$T/out")"
refused "a 200 to a Range request" '{".pack": {"mode": "norange"}, "objects/": {"mode": "404"}}'

# flip_image_byte: the middle byte of the image's frame in the pack body flipped (in place: again to undo it).
flip_image_byte() {
	python3 - "$srv" "$H" <<'PY'
import os, struct, sys
srv, h = sys.argv[1:3]
idx = open(f"{srv}/packs/{h}.index", "rb").read()
image = bytes.fromhex(os.listdir(f"{srv}/images")[0])
count = struct.unpack_from("<Q", idx, 24)[0]
i = next(i for i in range(count) if idx[128 + 56 * i:128 + 56 * i + 32] == image)
off, csize, _ = struct.unpack_from("<QQQ", idx, 128 + 56 * i + 32)
with open(f"{srv}/packs/{h}.pack", "r+b") as f:
    f.seek(off + csize // 2)
    b = f.read(1)[0]
    f.seek(off + csize // 2)
    f.write(bytes([b ^ 0xff]))
PY
}

# ---- a pack body with wrong bytes: in the image's frame (its objects come all the same), in the objects' ----
flip_image_byte
fallback "wrong bytes in the image's frame" '{}' "abandoned, the image from elsewhere: .*image's bytes do not have the commit's image digest"
grep -q "pull: 40 objects (40 from packs" "$T/out" && ok "... every object from the pack, asked for with the image" || fail "image flip" "$(cat "$T/out")"
flip_image_byte
# Every pack answer but the image's (asked for on another connection, in no fixed order).
read -r img_off _ < <(pack_entry "$srv/packs/$H.index" "$(ls "$srv/images")")
fallback "wrong bytes in the objects' frames" "{\".pack\": {\"mode\": \"corrupt\", \"not_covering\": $img_off}}" "abandoned, the rest from loose objects: object [0-9a-f/]*: "
refused "a pack body with wrong bytes" "{\".pack\": {\"mode\": \"corrupt\", \"not_covering\": $img_off}, \"objects/\": {\"mode\": \"404\"}}"

# ---- an index that lies ----
lie offsets
fallback "an index lying about offsets" '{}' "abandoned, the rest from loose objects: object [0-9a-f/]*: "
refused "an index lying about offsets" '{"objects/": {"mode": "404"}}'
honest; lie size
# (its objects are asked for with the image, before the image can tell: the object's check does)
fallback "an index lying about a size" '{}' "abandoned, the rest from loose objects: object [0-9a-f/]*: the server sent [0-9]* bytes, not [0-9]*"
honest; lie gap
fallback "an index with a gap between frames" '{}' "bad index: pack index entry [0-9]*: offset"
honest
fallback "an index that is not the summary's" "{\"packs/$H.index\": {\"mode\": \"other\", \"arg\": \"summary\"}}" "bad index: .*not the index the summary names"
refused "an index that is not the summary's" "{\"packs/$H.index\": {\"mode\": \"other\", \"arg\": \"summary\"}, \"objects/\": {\"mode\": \"404\"}}"

# ---- an index that never ends (chunked, no length): cut at the summary's size, in bounded memory ----
/usr/bin/time -f %M -o "$T/rss" true 2>/dev/null || skip_all "needs /usr/bin/time"
fresh_client
rules '{".index": {"mode": "endless"}}'
if /usr/bin/time -f %M -o "$T/rss" "$SEALTREE" --repo "$cl" pull origin >"$T/out" 2>"$T/err" && [ "$(remote_ref)" = "$v1" ] &&
	grep -q "warning: packs/[0-9a-f]\{64\}\.\(index\|pack\): .*larger than" "$T/err" && clean; then
	ok "an index that never ends: cut, a warning naming it, loose fallback complete"
else
	fail "endless index" "$(cat "$T/out" "$T/err")"
fi
rss_max=65536
sanitized_build && rss_max=999999999    # under ASan the peak RSS says little (shadow memory)
[ "$(tail -1 "$T/rss")" -lt $rss_max ] && ok "... in bounded memory ($(tail -1 "$T/rss") KiB)" || fail "endless index memory" "$(cat "$T/rss")"
refused "an index that never ends" '{".index": {"mode": "endless"}, "objects/": {"mode": "404"}}'

# ---- a truncated range resumes after its last verified object (the image's range comes first) ----
fresh_client
rules '{".pack": {"mode": "truncate", "count": 1, "after": 1}}'
mark=$(log_mark)
# --jobs 1: the objects in one range (ranges are cut per request in flight), the second one asked for.
C pull origin --jobs 1 >"$T/out" 2>"$T/err" && [ "$(remote_ref)" = "$v1" ] && grep -q "pull: 40 objects (40 from packs" "$T/out" &&
	[ "$(requests_since "$mark" 'GET /objects/')" = 0 ] && clean &&
	ok "a truncated range is retried, every object from the pack" || fail "truncated" "$(cat "$T/out" "$T/err")"
tail -n +$((mark + 1)) "$T/requests.log" | sed -n 's/^GET \/packs\/.*\.pack .* range=bytes=\([0-9]*\)-\([0-9]*\)$/\1 \2/p' | tail -n +2 >"$T/ranges"
# The range cut: the one asked for again with the same end (the retry's start, the same or later).
cut=$(awk '{ if ($2 in s) { print s[$2], $2; exit } s[$2] = $1 }' "$T/ranges")
retry=$(awk -v e="${cut#* }" '$2 == e { n++; if (n == 2) print $1 }' "$T/ranges")
# Where the first verified bytes end: the last frame wholly inside the half that was sent.
expect=$(python3 - "$srv/packs/$H.index" "$cut" <<'PY'
import struct, sys
idx = open(sys.argv[1], "rb").read()
first, last = map(int, sys.argv[2].split())
half = (last - first + 1) // 2
n = struct.unpack_from("<Q", idx, 24)[0]
end = first
for i in range(n):
    off, cs, sz = struct.unpack_from("<QQQ", idx, 128 + 56 * i + 32)
    if off >= first and off + cs <= first + half:
        end = max(end, off + cs)
print(end)
PY
)
# (Where the image's frame splits the objects in two ranges, the one cut may be too short to hold a
# whole frame in its first half: then the retry asks from its start, and nothing was verified yet.)
[ -n "$cut" ] && [ "$retry" = "$expect" ] &&
	ok "the retry asks from the end of the last verified object ($expect$([ "$expect" = "${cut% *}" ] && echo ": none whole in the half sent")): no verified byte twice" ||
	fail "resume point" "$(cat "$T/ranges") expected $expect"

# ---- the honest server afterwards ----
fresh_client
rules '{}'
C pull origin >"$T/out" 2>"$T/err" && [ "$(remote_ref)" = "$v1" ] && grep -q "pull: 40 objects (40 from packs" "$T/out" && clean &&
	ok "the honest server: every object from the pack" || fail "honest" "$(cat "$T/out" "$T/err")"

done_testing
