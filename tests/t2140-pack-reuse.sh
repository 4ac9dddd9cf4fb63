#!/bin/bash
# SPDX-License-Identifier: MIT
# Pack frame reuse: a new pack copies the frames existing packs hold for its
# objects instead of compressing them again, and the result is the pack a
# full recompression gives, byte for byte. A damaged frame of an old pack
# (the index still in order) is not carried forward; the image entry of a
# pack from F (compressed against F's image) is never copied.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/remote-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
name_of() { sed -n 's|^packs/\([0-9a-f]\{64\}\)\.pack:.*|\1|p' "$1"; }
copied() { sed -n 's/^frames copied from other packs: //p' "$1"; }

for d in a b; do
	mkdir -p "$T/tree/$d"
	for i in $(seq 1 15); do head -c $((700 + i * 900)) /dev/urandom | base64 >"$T/tree/$d/f$i"; done
done
head -c 200000 /dev/urandom | base64 >"$T/tree/big"
S init --verity=off >/dev/null
v1=$(S commit -b main --tree "$T/tree")
total=$(objects_of "$srv" | wc -l)

S pack --recompress main >"$T/p0" && [ "$(copied "$T/p0")" = 0 ] && ok "--recompress copies nothing" ||
	fail "recompress" "$(cat "$T/p0")"
S pack main >"$T/p1" && [ "$(copied "$T/p1")" = "$total" ] && [ "$(name_of "$T/p1")" = "$(name_of "$T/p0")" ] &&
	ok "a second pack copies all $total object frames (not the image) and is the same pack" ||
	fail "reuse all" "$(cat "$T/p0" "$T/p1")"

# v2: one file changed, one new; v1's full pack is still there.
echo changed >>"$T/tree/a/f3"
head -c 5000 /dev/urandom | base64 >"$T/tree/b/new"
v2=$(S commit -b main --tree "$T/tree")
S pack --from "$v1" main >"$T/pd" && [ "$(copied "$T/pd")" = 0 ] && ok "the pack from v1 holds only new objects" ||
	fail "from pack" "$(cat "$T/pd")"
S pack main >"$T/p2" && [ "$(copied "$T/p2")" = $((total + 1)) ] &&
	ok "v2's full pack copies every object frame: $((total - 1)) from v1's pack, 2 from the pack from v1" ||
	fail "v2 reuse" "$(cat "$T/p2")"
mkdir -p "$T/save" && mv "$srv/packs/$(name_of "$T/p2")".* "$T/save/"
S pack --recompress main >"$T/p2r" && [ "$(name_of "$T/p2r")" = "$(name_of "$T/p2")" ] &&
	cmp -s "$srv/packs/$(name_of "$T/p2")".pack "$T/save/$(name_of "$T/p2")".pack &&
	ok "copied frames give the pack a recompression gives, byte for byte" || fail "identical" "$(cat "$T/p2" "$T/p2r")"

# The same objects from a pull of the reused pack.
nginx_start "$srv"
C init --verity=off >/dev/null
C remote add origin "$NGINX_URL" --no-sign-verify
S summary >/dev/null
C pull origin main >"$T/out" 2>"$T/err" && ref_is main "$v2" && grep -q "from packs" "$T/out" &&
	S dump main >"$T/d1" && C dump refs/remotes/origin/main >"$T/d2" && cmp -s "$T/d1" "$T/d2" && C fsck >/dev/null 2>&1 &&
	ok "a pull from the copied frames gives the same tree, fsck clean" || fail "pull" "$(cat "$T/out" "$T/err")"

# A damaged frame in the only full pack: every old pack but v1's and v2's recompressed one goes.
rm -f "$srv"/packs/*
S pack --recompress "$v1" >"$T/q1"
body="$srv/packs/$(name_of "$T/q1").pack"
idx="$srv/packs/$(name_of "$T/q1").index"
# Flip a byte in the middle of the largest frame.
read -r off cs < <(pack_entries "$idx" | sort -k3,3n | tail -1 | cut -d' ' -f2,3)
python3 - "$body" $((off + cs / 2)) <<'PY'
import sys
f = open(sys.argv[1], "r+b"); f.seek(int(sys.argv[2])); b = f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0] ^ 0x55]))
PY
S pack main >"$T/q2" && [ "$(copied "$T/q2")" = $((total - 2)) ] && [ "$(name_of "$T/q2")" = "$(name_of "$T/p2")" ] &&
	ok "a damaged frame is compressed again, not copied; the pack is still the right one" || fail "damaged" "$(cat "$T/q2")"
# Truncated body: the pack is not offered at all, nothing copied.
rm -f "$srv/packs/$(name_of "$T/q2")".*
truncate -s -1 "$body"
S pack main >"$T/q3" && [ "$(copied "$T/q3")" = 0 ] && [ "$(name_of "$T/q3")" = "$(name_of "$T/p2")" ] &&
	ok "a pack whose body has the wrong size is not used" || fail "truncated" "$(cat "$T/q3")"

# The image entry of a pack from F is never copied into a full pack (it needs F's image to decode).
rm -f "$srv"/packs/*
S pack --from "$v1" main >/dev/null
S pack main >"$T/r1" && [ "$(copied "$T/r1")" = 2 ] && [ "$(name_of "$T/r1")" = "$(name_of "$T/p2")" ] &&
	ok "only the from-pack's objects are copied, not its image" || fail "image" "$(cat "$T/r1")"

# summary --packs after a small commit copies nearly everything.
echo again >>"$T/tree/b/f2"
S commit -b main --tree "$T/tree" >/dev/null
S summary --packs >"$T/s" && grep -q "packs: 2 written" "$T/s" && ok "summary --packs after a small commit" || fail "summary" "$(cat "$T/s")"
done_testing
