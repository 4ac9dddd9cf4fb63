#!/bin/bash
# SPDX-License-Identifier: MIT
# sealtree commit --tar: the image digest of a directory archived by GNU tar
# (pax with xattrs, GNU format, ustar) equals the --tree commit's, for plain,
# gzip, zstd, xz and bzip2 archives, from a file and from stdin; long names
# in pax and GNU form; hardlinks; device nodes and xattrs of every namespace
# (as root); implicit directories and the owner/permission options.
. "$(dirname "$0")/test-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
export LC_ALL=C
unset SOURCE_DATE_EPOCH
repo=$TEST_TMP/repo
st() { "$SEALTREE" --repo "$repo" "$@"; }
image_of() { commit_image "$repo" "$1"; }
root=false
[ "$(id -u)" = 0 ] && root=true

st init --verity=off >/dev/null || { fail "init" ""; done_testing; exit; }

# A tree with what tar can carry (no sockets).
src=$TEST_TMP/src
mkdir -p "$src/sub/deeper" "$src/empty-dir"
printf hello >"$src/small"
printf '%064d' 7 >"$src/exactly64"
head -c 65 /dev/urandom >"$src/sub/b65"
head -c 3000000 /dev/urandom >"$src/sub/big"
: >"$src/zero"
ln "$src/sub/big" "$src/aaa-link-to-big"       # sorts before its target
ln "$src/small" "$src/sub/deeper/small-link"
ln -s ../small "$src/sub/sym"
ln -s "$(printf 'x%.0s' {1..300})" "$src/long-target"
mkfifo "$src/fifo"
long1=$(printf 'd%.0s' {1..120})
long2=$(printf 'e%.0s' {1..200})
mkdir -p "$src/$long1/$long1"
printf 'deep\n' >"$src/$long1/$long1/$long2"
printf 'x' >"$src/$(printf 'na\xefve-\xe9')"     # not UTF-8
printf 'y' >"$src/ünïcödé"
chmod 4755 "$src/sub/b65"
chmod 1777 "$src/empty-dir"
touch -d '1999-12-31 23:59:59.123456789' "$src/small" "$src/sub/big"
if $root; then
	mknod "$src/tty" c 4 64
	mknod "$src/blk" b 8 1
	mknod "$src/whiteout" c 0 0
	chown 1234:5678 "$src/sub/b65"
	chown -h 4294967294:65536 "$src/sub/sym"
	setfattr -n trusted.overlay.opaque -v y "$src/sub"
	setfattr -n security.test -v "$(printf 'a\001b')" "$src/small"
fi
setfattr -n user.mime -v text/plain "$src/small" 2>/dev/null &&
	setfattr -n user.bin -v 0x00ff00 "$src/exactly64" || echo "# no user xattrs on this filesystem"

id_tree=$(st commit -b tree --tree "$src" --timestamp 1) || fail "commit --tree" ""
want=$(image_of tree)
[ -n "$want" ] && ok "commit --tree ($want)" || fail "image of --tree" ""

gtar() { tar --xattrs --xattrs-include='*' --numeric-owner -C "$src" "$@" .; }
n=0
for variant in posix:cat gnu:cat posix:gzip posix:zstd posix:xz posix:bzip2; do
	format=${variant%%:*} comp=${variant#*:}
	f=$TEST_TMP/a-$format-$comp.tar
	if [ "$format" = gnu ]; then
		tar --numeric-owner --format=gnu -C "$src" -cf - . | $comp >"$f"
	else
		gtar --format="$format" -cf - | $comp >"$f"
	fi
	n=$((n + 1))
	got=""
	st commit -b "tar$n" --tar "$f" --timestamp 1 >/dev/null 2>"$TEST_TMP/err" && got=$(image_of "tar$n")
	if [ "$format" = gnu ]; then
		# GNU format has whole-second mtimes and no xattrs: same image as a pax archive without them.
		[ -n "$got" ] && ok "GNU format (long names as ././@LongLink) commits" || fail "gnu $comp" "$(cat "$TEST_TMP/err")"
		continue
	fi
	[ "$got" = "$want" ] && ok "$format $comp archive: the --tree image digest" ||
		fail "$format $comp" "got '$got' want $want: $(cat "$TEST_TMP/err")"
done

# The GNU-format archive equals the --tree commit of its own extraction (as root, owners and devices kept).
if $root; then
	x=$TEST_TMP/x-gnu
	mkdir "$x"
	tar --numeric-owner -xpf "$TEST_TMP/a-gnu-cat.tar" -C "$x"
	st commit -b xgnu --tree "$x" --skip-xattrs --timestamp 1 >/dev/null
	st commit -b gnu-noxattr --tar "$TEST_TMP/a-gnu-cat.tar" --skip-xattrs --timestamp 1 >/dev/null
	[ "$(image_of xgnu)" = "$(image_of gnu-noxattr)" ] && ok "GNU archive = --tree of its extraction" ||
		fail "gnu vs extraction" "$(image_of xgnu) != $(image_of gnu-noxattr)"
fi

# stdin, and the ustar format (no long names: a smaller tree).
gtar --format=posix -cf - | st commit -b stdin --tar - --timestamp 1 >/dev/null &&
	[ "$(image_of stdin)" = "$want" ] && ok "--tar - reads stdin" || fail "stdin" ""
u=$TEST_TMP/ustar-src
mkdir -p "$u/d"
printf 'ustar file contents over sixty-four bytes, to land in objects/ .....\n' >"$u/d/f"
ln "$u/d/f" "$u/hl"
touch -d @1000000000 "$u/d/f" "$u" "$u/d" # whole seconds: ustar has no more
st commit -b ustar-tree --tree "$u" --skip-xattrs --timestamp 1 >/dev/null
tar --format=ustar --numeric-owner -C "$u" -cf "$TEST_TMP/u.tar" .
st commit -b ustar --tar "$TEST_TMP/u.tar" --timestamp 1 >/dev/null &&
	[ "$(image_of ustar)" = "$(image_of ustar-tree)" ] && ok "ustar archive: the --tree image digest" ||
	fail "ustar" "$(image_of ustar) != $(image_of ustar-tree)"

# Archives made by libarchive's bsdtar (xattrs as both SCHILY and LIBARCHIVE records).
if command -v bsdtar >/dev/null; then
	bsdtar --format pax --xattrs --numeric-owner -C "$src" -cf "$TEST_TMP/bsd.tar" . 2>"$TEST_TMP/err" &&
		st commit -b bsd --tar "$TEST_TMP/bsd.tar" --timestamp 1 >/dev/null 2>>"$TEST_TMP/err" &&
		[ "$(image_of bsd)" = "$want" ] && ok "bsdtar pax archive: the --tree image digest" ||
		fail "bsdtar" "$(image_of bsd) != $want $(cat "$TEST_TMP/err")"
fi

# Sparse files (pax 1.0 and GNU sparse): holes read as zeros, the one at the end too.
sp=$TEST_TMP/sparse-src
mkdir -p "$sp"
truncate -s 5M "$sp/middle"
printf data | dd of="$sp/middle" bs=1 seek=3000000 conv=notrunc 2>/dev/null
printf tail | dd of="$sp/middle" bs=1 seek=5242876 conv=notrunc 2>/dev/null
truncate -s 3M "$sp/hole-at-end"
printf head >"$sp/hole-at-end2" && truncate -s 200000 "$sp/hole-at-end2"
touch -d @1500000000 "$sp"/* "$sp"   # whole seconds, for the GNU format
st commit -b sparse-tree --tree "$sp" --skip-xattrs --timestamp 1 >/dev/null
for format in posix gnu; do
	tar --sparse --format=$format --numeric-owner -C "$sp" -cf "$TEST_TMP/sparse-$format.tar" .
	st commit -b "sparse-$format" --tar "$TEST_TMP/sparse-$format.tar" --timestamp 1 >/dev/null 2>"$TEST_TMP/err" &&
		[ "$(image_of "sparse-$format")" = "$(image_of sparse-tree)" ] &&
		ok "$format sparse archive: the --tree image digest" || fail "sparse $format" "$(cat "$TEST_TMP/err")"
done

# objects: every file over 64 bytes, once; nothing left in tmp/.
big=$(sha256sum "$src/sub/big" | cut -d' ' -f1)
nobj=$(find "$repo/objects" -type f | wc -l)
before=$nobj
st commit -b again --tar "$TEST_TMP/a-posix-gzip.tar" --timestamp 2 --stats >/dev/null 2>"$TEST_TMP/stats"
grep -qx "objects-written 0" "$TEST_TMP/stats" && ok "recommitting writes no object" ||
	fail "objects-written" "$(cat "$TEST_TMP/stats")"
[ "$(find "$repo/objects" -type f | wc -l)" = "$before" ] && ok "object count unchanged" || fail "objects" "grew"
[ -z "$(find "$repo/tmp" "$repo/objects" -name '.*' ! -name . | head -n1)" ] && ok "no temporary files left" ||
	fail "temporaries" "$(find "$repo/tmp" "$repo/objects" -name '.*')"
grep -q "files-hashed" "$TEST_TMP/stats" && ok "--stats reports the tar import" || fail "stats" ""

# Implicit directories and a member given after its children.
python3 - "$TEST_TMP/implicit.tar" <<'EOF'
import io, sys, tarfile
t = tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT)
def add(name, data=b"", **kw):
    i = tarfile.TarInfo(name); i.size = len(data); i.mtime = 5
    for k, v in kw.items(): setattr(i, k, v)
    t.addfile(i, io.BytesIO(data))
add("a/b/c", b"x")
add("a", type=tarfile.DIRTYPE, mode=0o700, uid=7, gid=8)
t.close()
EOF
if st commit -b implicit --tar "$TEST_TMP/implicit.tar" --timestamp 1 >/dev/null &&
	"$COMPOSEFS_INFO" dump "$repo/images/$(image_of implicit)" >"$TEST_TMP/implicit.dump"; then
	grep -q '^/ [0-9]* 40755 [0-9]* 0 0 0 0.0 ' "$TEST_TMP/implicit.dump" && ok "implicit root: 0755 0:0 mtime 0" ||
		fail "implicit root" "$(head -n1 "$TEST_TMP/implicit.dump")"
	grep -q '^/a [0-9]* 40700 [0-9]* 7 8 0 5.0 ' "$TEST_TMP/implicit.dump" && ok "a directory described after its child" ||
		fail "late directory" "$(grep '^/a ' "$TEST_TMP/implicit.dump")"
	grep -q '^/a/b [0-9]* 40755 [0-9]* 0 0 0 0.0 ' "$TEST_TMP/implicit.dump" && ok "implicit directory: 0755 0:0 mtime 0" ||
		fail "implicit dir" "$(grep '^/a/b ' "$TEST_TMP/implicit.dump")"
else
	fail "implicit directories" "commit or composefs-info dump failed"
fi

# Owner and permission options apply to tar input too.
st commit -b canon --tar "$TEST_TMP/a-posix-cat.tar" --canonical-permissions --timestamp 1 >/dev/null &&
	st commit -b canon-tree --tree "$src" --canonical-permissions --timestamp 1 >/dev/null &&
	[ "$(image_of canon)" = "$(image_of canon-tree)" ] && [ "$(image_of canon)" != "$want" ] &&
	ok "--canonical-permissions: same as with --tree" || fail "canonical" "$(image_of canon) vs $(image_of canon-tree)"
st commit -b owner --tar "$TEST_TMP/a-posix-cat.tar" --owner-uid 42 --owner-gid 43 --timestamp 1 >/dev/null &&
	st commit -b owner-tree --tree "$src" --owner-uid 42 --owner-gid 43 --timestamp 1 >/dev/null &&
	[ "$(image_of owner)" = "$(image_of owner-tree)" ] && ok "--owner-uid/--owner-gid: same as with --tree" ||
	fail "owner" "$(image_of owner) vs $(image_of owner-tree)"

# Not an archive at all.
printf 'hello' >"$TEST_TMP/not.tar"
st commit -b nope --tar "$TEST_TMP/not.tar" 2>"$TEST_TMP/err" >/dev/null && fail "garbage" "accepted" || {
	rc=$?
	[ $rc = 1 ] && grep -q "^sealtree: .*not a tar archive" "$TEST_TMP/err" && ok "garbage refused (exit 1, clear message)" ||
		fail "garbage" "rc=$rc $(cat "$TEST_TMP/err")"
}
st commit -b nope --tar /nonexistent.tar 2>"$TEST_TMP/err" >/dev/null && fail "missing file" "accepted" ||
	{ grep -q "/nonexistent.tar" "$TEST_TMP/err" && ok "missing file named"; }

done_testing
