#!/bin/bash
# SPDX-License-Identifier: MIT
# sealtree export -o FILE with whatever is at FILE. A regular file is
# replaced atomically (a new inode; a hardlink to the old one keeps the old
# bytes). A fifo, a character device, and a symlink to either are written
# through as a stream, never replaced (as root, -o /dev/stdout replaced the
# /dev/stdout symlink with a regular file). A symlink to a regular file, to
# a directory or to nothing is refused and left as it was, and so is a
# directory.
. "$(dirname "$0")/test-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
export LC_ALL=C
repo=$TEST_TMP/repo
st() { "$SEALTREE" --repo "$repo" "$@"; }

st init --verity=off >/dev/null || { fail "init" ""; done_testing; exit; }
mkdir -p "$TEST_TMP/src/d"
printf 'hello\n' >"$TEST_TMP/src/d/f"
st commit -b main --tree "$TEST_TMP/src" --timestamp 1 >/dev/null || fail "commit" ""
st export main >"$TEST_TMP/ref.tar" || fail "export to stdout" ""
o=$TEST_TMP/out
mkdir "$o"

# A regular file: replaced atomically.
echo old >"$o/reg"
ln "$o/reg" "$o/reg-old-link"
st export -o "$o/reg" main && cmp -s "$o/reg" "$TEST_TMP/ref.tar" && [ "$(cat "$o/reg-old-link")" = old ] &&
	ok "a regular file is replaced by a new one" || fail "regular" "not replaced atomically"

# A fifo: written through, still a fifo (the reader gives up after 20 s if the fifo was replaced).
mkfifo "$o/fifo"
timeout 20 cat "$o/fifo" >"$TEST_TMP/from-fifo" &
reader=$!
st export -o "$o/fifo" main && wait $reader && [ -p "$o/fifo" ] && cmp -s "$TEST_TMP/from-fifo" "$TEST_TMP/ref.tar" &&
	ok "a fifo is written through and stays a fifo" || fail "fifo" "$(ls -l "$o/fifo")"

# A symlink to a fifo (what /dev/stdout is when it is a pipe): written through, the link stays.
ln -s fifo "$o/link-to-fifo"
timeout 20 cat "$o/fifo" >"$TEST_TMP/from-link" &
reader=$!
st export -o "$o/link-to-fifo" main && wait $reader && [ -L "$o/link-to-fifo" ] && [ -p "$o/fifo" ] &&
	cmp -s "$TEST_TMP/from-link" "$TEST_TMP/ref.tar" &&
	ok "a symlink to a fifo is written through and stays a symlink" || fail "link to fifo" "$(ls -l "$o")"
# What /dev/stdout is (a private copy: the unfixed export replaced the link it was given).
ln -s /proc/self/fd/1 "$o/stdout"
st export -o "$o/stdout" main | cmp -s - "$TEST_TMP/ref.tar" && [ -L "$o/stdout" ] &&
	ok "-o a link to /proc/self/fd/1 (as /dev/stdout) into a pipe works, the link stays" ||
	fail "stdout link" "$(ls -l "$o/stdout")"

# A character device (our own, as root): written through, still a device.
if [ "$(id -u)" = 0 ] && mknod "$o/null" c 1 3 2>/dev/null; then
	ln -s null "$o/link-to-null"
	st export -o "$o/null" main && st export -o "$o/link-to-null" main && [ -c "$o/null" ] && [ -L "$o/link-to-null" ] &&
		ok "a character device (and a link to it) is written through, not replaced" ||
		fail "chardev" "$(ls -l "$o")"
else
	echo "# not root: no private character device"
fi

# Refused, left as they were: symlinks to a regular file, a directory, nothing; a directory.
echo target >"$o/target"
ln -s target "$o/link-to-file"
ln -s . "$o/link-to-dir"
ln -s missing "$o/dangling"
mkdir "$o/dir"
for f in link-to-file link-to-dir dangling dir; do
	before=$(ls -l "$o/$f"; cat "$o/target")
	st export -o "$o/$f" main 2>"$TEST_TMP/err" && rc=0 || rc=$?
	after=$(ls -l "$o/$f"; cat "$o/target")
	if [ $rc = 1 ] && [ "$before" = "$after" ] && [ ! -e "$o/missing" ] && grep -qF "'$o/$f'" "$TEST_TMP/err"; then
		ok "$f: refused and untouched ($(sed 's/^sealtree: //' "$TEST_TMP/err" | head -c 120))"
	else
		fail "$f" "exit $rc, $(cat "$TEST_TMP/err"), $(ls -l "$o")"
	fi
done
[ -z "$(find "$o" -name '.sealtree-export.*')" ] && ok "no temporary file left" || fail "temporaries" "$(ls -a "$o")"
done_testing
