#!/bin/bash
# SPDX-License-Identifier: MIT
# Content-addressed files (images, commits) are published without
# replacing, but a file already at the name is kept only if it is what the
# name promises: a corrupt or truncated image, a commit whose bytes differ,
# or a FIFO or symlink in their place is replaced by the good file when the
# same content is written again (it was silently accepted, and the
# repository stayed broken). Nothing temporary is left in images/ or
# commits/. On a full filesystem the error names the file being written.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/maint-lib.sh"

REPO=$TEST_TMP/repo
src=$TEST_TMP/src
mkdir -p "$src/d"
head -c 20000 /dev/urandom >"$src/big"
echo tiny >"$src/d/tiny"
check "init" st init --verity=off >/dev/null
# A fixed timestamp: committing the same tree again makes the same commit.
c=$(commit_tree main "$src" --timestamp 1000 --orphan) || fail "commit"
img=$(image_of "$src")
[ -f "$REPO/$img" ] && [ -f "$REPO/commits/$c" ] && ok "commit $c, $img" || fail "layout" "$(ls -R "$REPO")"

# recommit NAME: the same tree and timestamp again; then fsck is clean and the file is a regular file.
recommit() {
	local c2 rc=0
	c2=$(commit_tree other "$src" --timestamp 1000 --orphan) || rc=$?
	[ $rc = 0 ] && [ "$c2" = "$c" ] || { fail "$1: recommit" "exit $rc, $c2"; return; }
	st fsck >"$TEST_TMP/out" 2>&1 && [ -f "$REPO/$2" ] && [ ! -L "$REPO/$2" ] &&
		ok "$1: replaced by the good file, fsck clean" || fail "$1" "$(cat "$TEST_TMP/out")"
	st ref -d other >/dev/null
}

printf '\x01' | dd of="$REPO/$img" bs=1 seek=300 conv=notrunc status=none
recommit "a corrupt image" "$img"
head -c 1000 "$REPO/$img" >"$TEST_TMP/short" && cat "$TEST_TMP/short" >"$REPO/$img"
recommit "a truncated image" "$img"
rm "$REPO/$img" && mkfifo "$REPO/$img"
recommit "a FIFO in place of the image" "$img"
rm "$REPO/$img" && ln -s /etc/passwd "$REPO/$img"
recommit "a symlink in place of the image" "$img"
sed -i 's/^timestamp 1000$/timestamp 1001/' "$REPO/commits/$c"
recommit "a changed commit" "commits/$c"
: >"$REPO/commits/$c"
recommit "an empty commit" "commits/$c"

left=$(cd "$REPO" && find images commits -name '.*' | head)
[ -z "$left" ] && ok "no temporary file left" || fail "temporary files" "$left"

# A full filesystem: the error names the file being written (as root, on a small tmpfs).
if [ "$(id -u)" = 0 ] && mkdir -p "$TEST_TMP/small" && mount -t tmpfs -o size=256k sealtree-test "$TEST_TMP/small"; then
	trap 'umount -l "$TEST_TMP/small" 2>/dev/null; cleanup_test_tmp' EXIT
	REPO=$TEST_TMP/small/repo
	st init --verity=off >/dev/null
	commit_tree main "$src" >/dev/null || fail "commit on the small filesystem"
	dd if=/dev/zero of="$TEST_TMP/small/fill" bs=4k 2>/dev/null || true
	echo changed >"$src/d/tiny"
	rc=0
	st commit -b main --tree "$src" >"$TEST_TMP/out" 2>&1 || rc=$?
	[ $rc != 0 ] && grep -q "cannot write '$REPO/[a-z]*/.*No space left on device" "$TEST_TMP/out" &&
		ok "ENOSPC names the file: $(head -n1 "$TEST_TMP/out")" || fail "ENOSPC" "exit $rc: $(cat "$TEST_TMP/out")"
	rm -f "$TEST_TMP/small/fill"
	check "and the next commit works" st commit -b main --tree "$src"
else
	echo "# SKIP: the ENOSPC case needs root and tmpfs"
fi

done_testing
