#!/bin/bash
# SPDX-License-Identifier: MIT
# sealtree export: `commit --tar` of an export has the exported commit's
# image digest; the archive is the same bytes every time, through a pipe or
# -o; -o replaces its file atomically and leaves nothing on failure; a
# terminal is refused; a corrupted object fails the export, naming the file;
# GNU tar extracts the archive to a directory that commits to the same image
# (as root).
. "$(dirname "$0")/test-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
export LC_ALL=C
unset SOURCE_DATE_EPOCH
repo=$TEST_TMP/repo
st() { "$SEALTREE" --repo "$repo" "$@"; }
image_of() { commit_image "$repo" "$1"; }
root=false
[ "$(id -u)" = 0 ] && root=true

check "export --help" st export --help >/dev/null
st init --verity=off >/dev/null || { fail "init" ""; done_testing; exit; }

src=$TEST_TMP/src
mkdir -p "$src/d/e" "$src/empty"
printf 'inline' >"$src/small"
head -c 200000 /dev/urandom >"$src/d/big"
head -c 100 /dev/urandom >"$src/d/e/mid"
ln "$src/d/big" "$src/a-first-name"
ln "$src/small" "$src/d/e/small2"
ln -s ../../small "$src/d/e/up"
ln -s /absolute/target "$src/abs"
mkfifo "$src/fifo"
printf z >"$src/$(printf 'bin\xff\xfe')"
touch -d '2011-11-11 11:11:11.111111111' "$src/small" "$src/d"
chmod 2750 "$src/d/e"
if $root; then
	mknod "$src/tty" c 5 1
	mknod "$src/wh" c 0 0
	chown 3:4 "$src/d/e/mid"
	setfattr -n trusted.overlay.redirect -v /x "$src/d"
	setfattr -n security.selinux -v "system_u:object_r:usr_t:s0" "$src/small"
fi
setfattr -n user.a -v "$(printf 'with=equals and\ttab')" "$src/d/e/mid" 2>/dev/null || true

st commit -b main --tree "$src" --timestamp 1 >/dev/null || fail "commit --tree" ""
want=$(image_of main)
cp -a "$src" "$TEST_TMP/src2"     # the same tree, committed again below

st export main >"$TEST_TMP/a.tar" && ok "export to stdout" || fail "export" ""
st export main -o "$TEST_TMP/b.tar" && ok "export -o" || fail "export -o" ""
st export main | cat >"$TEST_TMP/c.tar"
cmp -s "$TEST_TMP/a.tar" "$TEST_TMP/b.tar" && cmp -s "$TEST_TMP/a.tar" "$TEST_TMP/c.tar" &&
	ok "file, -o and pipe give the same bytes" || fail "determinism" "archives differ"
# A name that is not UTF-8 puts the archive in pax binary mode, which GNU tar
# 1.34 does not know of (it says so, and reads the names right).
tar tf "$TEST_TMP/a.tar" >"$TEST_TMP/list" 2>"$TEST_TMP/tarerr"
grep -v "unknown extended header keyword 'hdrcharset'" "$TEST_TMP/tarerr" >"$TEST_TMP/tarerr2" || true
[ ! -s "$TEST_TMP/tarerr2" ] && grep -q '^bin\\377\\376$' "$TEST_TMP/list" &&
	ok "GNU tar lists it, binary name included" || fail "GNU tar" "$(cat "$TEST_TMP/tarerr2")"
grep -q "hdrcharset" "$TEST_TMP/a.tar" && ok "binary mode for a tree with a non-UTF-8 name" || fail "binary mode" ""
rm "$src/$(printf 'bin\xff\xfe')"
st commit -b utf8 --tree "$src" --timestamp 1 >/dev/null
st export utf8 >"$TEST_TMP/u.tar"
tar tf "$TEST_TMP/u.tar" >/dev/null 2>"$TEST_TMP/tarerr" && [ ! -s "$TEST_TMP/tarerr" ] && ! grep -q hdrcharset "$TEST_TMP/u.tar" &&
	ok "an all-UTF-8 tree: plain pax, GNU tar lists it without a word" || fail "utf-8 tree" "$(cat "$TEST_TMP/tarerr")"
[ $(($(stat -c %s "$TEST_TMP/a.tar") % 10240)) = 0 ] && ok "whole 10 KiB records" || fail "records" ""

st commit -b back --tar "$TEST_TMP/a.tar" --timestamp 1 >/dev/null &&
	[ "$(image_of back)" = "$want" ] && ok "commit --tar of the export: the same image digest" ||
	fail "round trip" "$(image_of back) != $want"
st export back >"$TEST_TMP/d.tar"
cmp -s "$TEST_TMP/a.tar" "$TEST_TMP/d.tar" && ok "export of the re-import: the same bytes" || fail "re-export" "differs"

# A second commit of an identical tree elsewhere exports the same archive.
st commit -b other --tree "$TEST_TMP/src2" --timestamp 7 -s other >/dev/null
st export other | cmp -s - "$TEST_TMP/a.tar" && ok "same tree, same archive" || fail "same tree" "differs"

# Hardlinks: one inode, the others tar hardlinks to the first name in sorted order.
tar tvf "$TEST_TMP/a.tar" >"$TEST_TMP/listing" 2>/dev/null || true
grep -q '^h.* d/big link to a-first-name$' "$TEST_TMP/listing" &&
	ok "hardlink to the first name" || fail "hardlink" "$(grep ^h "$TEST_TMP/listing")"

# Extracting with GNU tar gives the tree back (as root: owners, devices, all xattrs).
if $root; then
	x=$TEST_TMP/x
	mkdir "$x"
	tar --xattrs --xattrs-include='*' --numeric-owner -xpf "$TEST_TMP/a.tar" -C "$x" 2>/dev/null
	st commit -b extracted --tree "$x" --timestamp 1 >/dev/null
	[ "$(image_of extracted)" = "$want" ] && ok "GNU tar extraction commits to the same image" ||
		fail "extraction" "$(image_of extracted) != $want"
else
	echo "# not root: GNU tar extraction check skipped"
fi

# -o replaces atomically; a failed export leaves the old file and no temporary.
printf 'old' >"$TEST_TMP/out.tar"
st export main -o "$TEST_TMP/out.tar" && cmp -s "$TEST_TMP/out.tar" "$TEST_TMP/a.tar" &&
	ok "-o replaces an existing file" || fail "-o replace" ""
printf 'old' >"$TEST_TMP/out.tar"
st export no-such-ref -o "$TEST_TMP/out.tar" 2>"$TEST_TMP/err" && fail "bad ref" "accepted" || {
	rc=$?
	[ $rc = 1 ] && grep -q "no-such-ref" "$TEST_TMP/err" && ok "unknown ref: exit 1, named" ||
		fail "bad ref" "rc=$rc $(cat "$TEST_TMP/err")"
}
[ "$(cat "$TEST_TMP/out.tar")" = old ] && ok "failed export keeps the old file" || fail "old file" "changed"
[ -z "$(find "$TEST_TMP" -maxdepth 1 -name '.sealtree-export*')" ] && ok "no temporary file left" ||
	fail "temporary" "left behind"

# Usage errors and the terminal.
st export 2>/dev/null && fail "no ref" "accepted" || { [ $? = 2 ] && ok "no REF: exit 2"; }
st export a b 2>/dev/null && fail "two refs" "accepted" || { [ $? = 2 ] && ok "two REFs: exit 2"; }
if command -v script >/dev/null; then
	script -qec "$SEALTREE --repo $repo export main" /dev/null >"$TEST_TMP/tty.out" 2>&1 && rc=0 || rc=$?
	[ $rc = 2 ] && grep -q "terminal" "$TEST_TMP/tty.out" && ok "a terminal is refused (exit 2)" ||
		fail "terminal" "rc=$rc $(head -c 300 "$TEST_TMP/tty.out")"
fi

# A corrupted object is not exported.
obj=$(find "$repo/objects" -type f -size 200000c | head -n1)
chmod u+w "$obj"
printf 'X' | dd of="$obj" bs=1 seek=100 conv=notrunc 2>/dev/null
st export main -o "$TEST_TMP/bad.tar" 2>"$TEST_TMP/err" && fail "corrupt object" "exported" || {
	rc=$?
	[ $rc = 1 ] && grep -q "'a-first-name'.*does not match its digest" "$TEST_TMP/err" &&
		ok "corrupted object: exit 1, the file named" || fail "corrupt" "rc=$rc $(cat "$TEST_TMP/err")"
}
[ ! -e "$TEST_TMP/bad.tar" ] && ok "no archive left by the failed export" || fail "bad.tar" "exists"

done_testing
