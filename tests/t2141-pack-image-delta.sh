#!/bin/bash
# SPDX-License-Identifier: MIT
# The image delta of a pack from F: an update takes the new image as its
# dumpfile compressed against the old one's (a fraction of the image's own
# frame), rebuilds it and checks it against the commit's image digest. A
# delta with wrong bytes, one that decodes to another tree, and one whose
# size in the index is beyond reason are refused with a warning, and the
# image's own frame is used instead; the pull still ends with the right ref.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/remote-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
command -v zstd >/dev/null || skip_all "needs the zstd command"
delta_key() { python3 -c 'import hashlib, sys; print(hashlib.sha256(b"sealtree image dump delta 1\0" + bytes.fromhex(sys.argv[1])).hexdigest())' "$1"; }
# repack NAME KEY FRAME_FILE [SIZE]: pack NAME with KEY's frame replaced (and its size field), under its new name
repack() {
	python3 - "$srv/packs" "$@" <<'PY'
import hashlib, os, struct, sys
packs, name, key, frame_file = sys.argv[1:5]
frame = open(frame_file, "rb").read()
idx = bytearray(open(f"{packs}/{name}.index", "rb").read())
body = open(f"{packs}/{name}.pack", "rb").read()
n = struct.unpack_from("<Q", idx, 24)[0]
out, off = bytearray(), 0
for i in range(n):
    e = 128 + 56 * i
    o, cs, sz = struct.unpack_from("<QQQ", idx, e + 32)
    f = body[o:o + cs]
    if idx[e:e + 32].hex() == key:
        f = frame
        if len(sys.argv) > 5:
            sz = int(sys.argv[5])
    struct.pack_into("<QQQ", idx, e + 32, off, len(f), sz)
    out += f
    off += len(f)
struct.pack_into("<Q", idx, 32, off)
h = hashlib.sha256(idx).hexdigest()
os.unlink(f"{packs}/{name}.index"); os.unlink(f"{packs}/{name}.pack")
open(f"{packs}/{h}.pack", "wb").write(out)
open(f"{packs}/{h}.index", "wb").write(idx)
print(h)
PY
}
from_pack() { grep "^pack $v2 $v1 " "$srv/summary" | cut -d' ' -f4; }
fresh_client() {
	rm -rf "$cl"
	cp -a "$T/cl1" "$cl"
}

# v1: files, a hardlink pair, a symlink, an empty file, a directory of its own.
mkdir -p "$T/tree/a/deep/er" "$T/tree/b"
for i in $(seq 1 40); do head -c $((300 + i * 700)) /dev/urandom | base64 >"$T/tree/a/f$i"; done
for i in $(seq 1 20); do echo "small $i" >"$T/tree/a/deep/er/s$i"; done
ln "$T/tree/a/f1" "$T/tree/b/hard"
ln -s ../a/f2 "$T/tree/b/link"
: >"$T/tree/b/empty"
commit_serve_pull && ref_is main "$v1" || fail "v1" "$(cat "$T/err")"
cp -a "$cl" "$T/cl1"

# v2: 3 files changed, 1 new, 1 removed.
for f in a/f5 a/f17 a/deep/er/s3; do echo changed >>"$T/tree/$f"; done
echo new >"$T/tree/b/new"
rm "$T/tree/a/f30"
v2=$(S commit -b main --tree "$T/tree")
S summary --packs >/dev/null
name=$(from_pack)
img2=$(S show main | awk '$1 == "image" { print $2 }')
key=$(delta_key "$img2")
read -r doff dcs dsz < <(pack_entry "$srv/packs/$name.index" "$key") || true
read -r ioff ics isz < <(pack_entry "$srv/packs/$name.index" "$img2") || true
[ -n "$dcs" ] && [ -n "$ics" ] && [ "$dcs" -lt "$ics" ] && ok "the pack from v1 holds the image delta ($dcs bytes, the image's frame $ics)" ||
	fail "delta entry" "delta '$dcs' image '$ics'"

# ---- the delta used ----
fresh_client
mark=$(access_lines)
C pull origin >"$T/out" 2>"$T/err" && ref_is main "$v2" && ! grep -q "image delta" "$T/err" &&
	ok "update pulled with the image delta" || fail "update" "$(cat "$T/err")"
[ "$(requests_since "$mark" "\"bytes=$doff-$((doff + dcs - 1))\"")" = 1 ] &&
	[ "$(requests_since "$mark" "\"bytes=$ioff-")" = 0 ] && [ "$(requests_since "$mark" 'GET /images/')" = 0 ] &&
	ok "the delta's range fetched, not the image's frame nor images/" || fail "ranges" "$(tail -n +$((mark + 1)) "$NGINX_DIR/access.log")"
S dump main >"$T/d1" && C dump refs/remotes/origin/main >"$T/d2" && cmp -s "$T/d1" "$T/d2" && C fsck >/dev/null 2>&1 &&
	[ -f "$cl/images/$img2" ] && ok "the rebuilt image is the commit's; dumps identical, fsck clean" || fail "rebuilt" ""

# ---- a delta with wrong bytes: refused, the image's frame instead ----
# expect_fallback NAME PATTERN: the pull warns with PATTERN, takes the image's frame and ends right.
expect_fallback() {
	local ioff2
	fresh_client
	name=$(from_pack)
	read -r ioff2 _ _ < <(pack_entry "$srv/packs/$name.index" "$img2") || true
	mark=$(access_lines)
	if C pull origin >"$T/out" 2>"$T/err" && ref_is main "$v2" && grep -q "image delta not used, the image's frame instead: .*$2" "$T/err" &&
		[ "$(requests_since "$mark" "\"bytes=$ioff2-")" = 1 ] && C fsck >/dev/null 2>&1 &&
		C dump refs/remotes/origin/main | cmp -s - "$T/d1"; then
		ok "$1: refused, the image's frame instead"
	else
		fail "$1" "$(cat "$T/err")"
	fi
}
cp "$srv/packs/$name.pack" "$T/good.pack"
cp "$srv/packs/$name.index" "$T/good.index"
restore() {
	rm -f "$srv/packs/$(from_pack)".*
	cp "$T/good.pack" "$srv/packs/$name0.pack"
	cp "$T/good.index" "$srv/packs/$name0.index"
	S summary >/dev/null
}
name0=$name
python3 - "$srv/packs/$name.pack" $((doff + dcs / 2)) <<'PY'
import sys
f = open(sys.argv[1], "r+b"); f.seek(int(sys.argv[2])); b = f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0] ^ 0x20]))
PY
expect_fallback "a delta with a flipped byte" "does not decompress"

# ---- a valid frame of another tree's dump (checked by the image digest) ----
restore
C dump "$v1" >"$T/v1.dump" 2>/dev/null || S dump "$v1" >"$T/v1.dump"
S dump "$v2" | sed 's|^/b/new 4 100644|/b/new 4 100755|' >"$T/evil.dump"
cmp -s "$T/evil.dump" "$T/d1" && fail "evil dump" "sed did not change it"
zstd -q -f -19 --patch-from="$T/v1.dump" "$T/evil.dump" -o "$T/evil.zst"
repack "$name0" "$key" "$T/evil.zst" "$(stat -c %s "$T/evil.dump")" >/dev/null && S summary >/dev/null
expect_fallback "a delta of another tree" "does not have the commit's image digest"

# ---- a delta that is not a dump at all ----
restore
head -c 5000 /dev/urandom | base64 >"$T/junk"
zstd -q -f -19 --patch-from="$T/v1.dump" "$T/junk" -o "$T/junk.zst"
repack "$name0" "$key" "$T/junk.zst" "$(stat -c %s "$T/junk")" >/dev/null && S summary >/dev/null
expect_fallback "a delta that is no dumpfile" "its dump does not give an image"

# ---- an index whose delta size is beyond what the image can give: not even fetched ----
restore
python3 - "$T/good.pack" "$doff" "$dcs" "$T/frame" <<'PY'
import sys
d = open(sys.argv[1], "rb").read(); o, n = int(sys.argv[2]), int(sys.argv[3])
open(sys.argv[4], "wb").write(d[o:o + n])
PY
repack "$name0" "$key" "$T/frame" $((1 << 40)) >/dev/null && S summary >/dev/null
expect_fallback "a delta 1 TiB long" "beyond what a"
[ "$(requests_since "$mark" "GET /packs/.*\.pack HTTP/1.1\" 206 $dcs ")" = 0 ] && ok "that delta was not fetched" ||
	fail "fetched" "$(tail -n +$((mark + 1)) "$NGINX_DIR/access.log")"
done_testing
