#!/bin/bash
# SPDX-License-Identifier: MIT
# sealtree mount --require-signature: the chain signature -> commit -> image
# -> mount, each attack refused with the broken link named and nothing left
# mounted or pinned: unsigned, untrusted, revoked, flipped bits in the
# commit, the signature and the image, an image swapped for another valid
# image of the same repository, a signature file moved to another commit,
# an older signed commit replayed with --no-downgrade. Runs on a repository
# without fs-verity (this host has none), so objects are checked by the
# QEMU test, not here.
. "$(dirname "$0")/test-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
need_root
export LC_ALL=C
unset SOURCE_DATE_EPOCH
T=$TEST_TMP
repo=$T/repo
mnt=$T/mnt
st() { "$SEALTREE" --repo "$repo" "$@"; }
cleanup_mounts() { mountpoint -q "$mnt" && umount -l "$mnt"; rm -rf "$TEST_TMP"; }
trap cleanup_mounts EXIT

flip_byte() { # FILE OFFSET
	chmod u+w "$1"
	python3 -c 'import sys
p, o = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, "rb").read()); b[o] ^= 1; open(p, "wb").write(bytes(b))' "$1" "$2"
}
image_of() { commit_image "$repo" "$1"; }
# refused NAME PATTERN ARGS...: mount --require-signature ARGS exits 1 naming PATTERN, mounts and pins nothing.
refused() {
	local name=$1 pattern=$2 rc=0
	shift 2
	st mount --require-signature --keys-dir "$T/keys" "$@" "$mnt" >"$T/out" 2>"$T/err" || rc=$?
	if [ $rc = 1 ] && grep -q -- "$pattern" "$T/err" && ! mountpoint -q "$mnt" &&
		[ -z "$(ls "$repo/refs/mounts")" ]; then
		ok "$name"
	else
		fail "$name" "rc=$rc, stderr: $(cat "$T/err")"
		mountpoint -q "$mnt" && umount "$mnt"
	fi
	return 0
}
mounts_ok() { # NAME ARGS...
	local name=$1
	shift
	if st mount --require-signature --allow-unverified-objects --keys-dir "$T/keys" "$@" "$mnt" >"$T/out" 2>"$T/err" &&
		mountpoint -q "$mnt"; then
		ok "$name"
	else
		fail "$name" "$(cat "$T/err")"
	fi
}

mkdir -p "$mnt" "$T/tree/etc" "$T/keys/trusted.d" "$T/keys/revoked.d"
cd "$T"
echo one >tree/etc/release && head -c 20000 /dev/urandom >tree/blob
st init --verity=off >/dev/null
c1=$(st commit -b main --tree tree --timestamp 1000 -s one)
echo two >tree/etc/release
c2=$(st commit -b main --tree tree --timestamp 2000 -s two)
echo other >tree/etc/release
c3=$(st commit -b other --tree tree --orphan --timestamp 3000 -s other)
"$SEALTREE" keygen -o k1 >/dev/null
"$SEALTREE" keygen -o k2 >/dev/null
cp k1.pub keys/trusted.d/

if ! st mount main "$mnt" 2>"$T/err"; then
	skip_all "plain sealtree mount does not work here: $(cat "$T/err")"
fi
st umount "$mnt"

refused "no fs-verity: refused unless asked" "broken link: file contents" main
refused "unsigned commit" "broken link: signature: .* no signature" --allow-unverified-objects main
st sign main --key k2 >/dev/null
refused "signed by an untrusted key" "untrusted key" --allow-unverified-objects main
st sign main --key k1 >/dev/null
cp k1.pub keys/revoked.d/
refused "signed by a revoked key" "revoked key" --allow-unverified-objects main
rm keys/revoked.d/k1.pub

mounts_ok "a validly signed commit mounts" main
[ "$(cat "$mnt/etc/release")" = two ] && cmp -s "$mnt/blob" tree/blob && ok "its contents" || fail "contents" ""
grep -q "signature valid (key " "$T/out" && ok "says which key validated it" || fail "message" "$(cat "$T/out")"
grep -qx "commit $c2" "$repo/state/accepted/main" && ok "recorded as accepted" || fail "accepted" ""
st umount "$mnt"

# The commit.
cp "$repo/commits/$c2" "$T/commit.good"
flip_byte "$repo/commits/$c2" 30
refused "a flipped bit in the commit" "broken link: commit: .*$c2" --allow-unverified-objects main
cp "$T/commit.good" "$repo/commits/$c2"

# The signature (both of them, as bytes).
sig=$repo/commits/$c2.sig
cp "$sig" "$T/sig.good"
python3 -c 'import sys
p = sys.argv[1]; lines = open(p).read().split("\n")
for i, l in enumerate(lines):
    if l.startswith("ed25519 "):
        f = l.split(" "); b = bytearray.fromhex(f[2]); b[40] ^= 0x80; f[2] = b.hex(); lines[i] = " ".join(f)
open(p, "w").write("\n".join(lines))' "$sig"
refused "a flipped bit in the signature" "broken link: signature: .*bad signature by key" --allow-unverified-objects main
cp "$T/sig.good" "$sig"

# A signature file moved to another commit.
cp "$sig" "$repo/commits/$c3.sig"
refused "a signature file moved to another commit" "belongs to commit $c2" --allow-unverified-objects other
rm "$repo/commits/$c3.sig"

# The image: a flipped bit, then another valid image of the same repository.
img2=$(image_of main)
img3=$(image_of other)
[ -n "$img2" ] && [ -n "$img3" ] && [ "$img2" != "$img3" ] || fail "images" "$img2 $img3"
cp "$repo/images/$img2" "$T/image.good"
flip_byte "$repo/images/$img2" 1100
refused "a flipped bit in the image" "broken link: image" --allow-unverified-objects main
cp "$repo/images/$img3" "$repo/images/$img2"
refused "an image swapped for another valid image" "broken link: image" --allow-unverified-objects main
cp "$T/image.good" "$repo/images/$img2"
mounts_ok "restored, it mounts again" main
st umount "$mnt"

# Replay: c1 is validly signed but older than the accepted c2.
st sign "$c1" --key k1 >/dev/null
st ref main "$c1"
refused "an older signed commit with --no-downgrade" "broken link: rollback: .*older than the last accepted" --allow-unverified-objects --no-downgrade main
mounts_ok "the same without --no-downgrade" main
st umount "$mnt"
grep -qx "commit $c2" "$repo/state/accepted/main" && ok "the record did not move back" || fail "record" ""
st ref main "$c2"
mounts_ok "--no-downgrade mounts the accepted commit" --no-downgrade main
st umount "$mnt"

# Usage.
rc=0; st mount --require-signature --no-verity main "$mnt" 2>/dev/null || rc=$?
[ $rc = 2 ] && ok "--no-verity contradicts --require-signature" || fail "no-verity" "rc=$rc"
rc=0; st mount --no-downgrade main "$mnt" 2>/dev/null || rc=$?
[ $rc = 2 ] && ok "--no-downgrade alone is a usage error" || fail "usage" "rc=$rc"

done_testing
