#!/bin/bash
# SPDX-License-Identifier: MIT
# An object already in objects/ is kept only if it looks like what its name
# promises: a regular file of the right size (and, where it carries
# fs-verity, the right measurement). A truncated object, or a directory or
# FIFO in its place, was trusted by every later commit of the same content
# (the repository stayed broken until fsck --repair); now a commit of that
# content writes a new copy and puts it in place atomically (a directory
# cannot be replaced: the commit fails naming the object). Through the
# scan cache, without it, from a tar, and with mkcomposefs --digest-store.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/maint-lib.sh"

REPO=$TEST_TMP/repo
src=$TEST_TMP/src
mkdir -p "$src"
head -c 3000000 /dev/urandom >"$src/big"    # streamed (over 1 MiB)
head -c 20000 /dev/urandom >"$src/small"    # written from the buffer
check "init" st init --verity=off >/dev/null
commit_tree main "$src" >/dev/null || fail "commit"
big=$(object_of "$src/big")
small=$(object_of "$src/small")

# damage HOW OBJECT, then one commit mode; fsck must be clean afterwards
round() {
	local how=$1 obj=$2 mode=$3 p=$REPO/$2
	case $how in
	truncate) truncate -s 100 "$p" ;;
	dir) rm -f "$p" && mkdir "$p" ;;
	fifo) rm -f "$p" && mkfifo "$p" ;;
	esac
	local rc=0
	case $mode in
	cache) st commit -b main --tree "$src" >/dev/null 2>"$TEST_TMP/err" || rc=$? ;;
	no-cache) st commit -b main --no-cache --tree "$src" >/dev/null 2>"$TEST_TMP/err" || rc=$? ;;
	tar) tar -C "$src" -cf - . | st commit -b main --tar - >/dev/null 2>"$TEST_TMP/err" || rc=$? ;;
	mkcomposefs) "$MKCOMPOSEFS" --digest-store="$REPO/objects" "$src" "$TEST_TMP/img" 2>"$TEST_TMP/err" || rc=$? ;;
	esac
	if [ "$how" = dir ]; then
		# A directory cannot be renamed over: the commit fails naming the object, fsck names it too.
		if [ "$rc" != 0 ] && grep -q "${obj#objects/}" "$TEST_TMP/err"; then ok "a directory as $4 object: commit refused"
		else fail "directory as object" "rc=$rc $(cat "$TEST_TMP/err")"; fi
		rmdir "$p"; st commit -b main --tree "$src" >/dev/null
		return
	fi
	if [ -f "$p" ] && [ "$(stat -c %s "$p")" = "$(stat -c %s "$src/$4")" ] && st fsck >/dev/null 2>&1; then
		ok "$how $4 object, $mode: replaced, fsck clean"
	else
		fail "$how $4 object, $mode" "$(cat "$TEST_TMP/err"); $(ls -ld "$p")"
		rm -rf "$p"; st fsck --repair >/dev/null 2>&1 || true
	fi
}
for mode in cache no-cache tar mkcomposefs; do
	round truncate "$big" "$mode" big
	round truncate "$small" "$mode" small
done
round dir "$big" no-cache big
round fifo "$small" no-cache small
check "no temporary file left in objects/" test -z "$(find "$REPO/objects" -name '.tmp*')"
done_testing
