#!/bin/bash
# SPDX-License-Identifier: MIT
# A FIFO, a socket, a device or a directory where the repository keeps a
# regular file (a ref, a commit, a signature, an image, an object, the
# config, the lock, state/accepted/<ref>, state/lock, the scan cache) must
# never block a command (a FIFO opened for reading waits for a writer
# forever; gc did so holding the exclusive lock). Every command that meets
# one fails at once, with a message naming the file and what it is; the
# scan cache, which is only a cache, is ignored and replaced. (verify names
# a bad signature file by its verdict, "corrupt signature file".)
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/maint-lib.sh"

T=$TEST_TMP
BASE=$T/base
REPO=$BASE
src=$T/src
mkdir -p "$src/d"
head -c 20000 /dev/urandom >"$src/big"
echo tiny >"$src/d/tiny"
check "init" st init --verity=off >/dev/null
c1=$(commit_tree main "$src") || fail "commit 1"
"$SEALTREE" keygen -o "$T/k" >/dev/null || fail "keygen"
mkdir -p "$T/keys/trusted.d"
cp "$T/k.pub" "$T/keys/trusted.d/k.pem"
st sign main --key "$T/k" >/dev/null || fail "sign"
st verify --keys-dir "$T/keys" --accept main >/dev/null || fail "verify --accept"
echo more >>"$src/d/tiny"
c2=$(commit_tree main "$src") || fail "commit 2"
st sign main --key "$T/k" >/dev/null || fail "sign 2"
img=$(image_of "$src")
obj=$(object_of "$src/big")
[ -f "$BASE/$img" ] && [ -f "$BASE/$obj" ] && [ -f "$BASE/state/accepted/main" ] &&
	[ -f "$BASE/commits/$c2.sig" ] && ok "the base repository has every kind of file" ||
	fail "base" "$(cd "$BASE" && find . | sort)"

# plant KIND PATH: replace REPO/PATH with a non-regular file of KIND.
plant() {
	rm -rf "${REPO:?}/$2"
	case $1 in
	FIFO) mkfifo "$REPO/$2" ;;
	socket) python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$REPO/$2" ;;
	"character device") mknod "$REPO/$2" c 1 3 ;;
	directory) mkdir "$REPO/$2" && echo x >"$REPO/$2/x" ;;
	esac
}
fresh() {
	REPO=$T/case
	rm -rf "$REPO"
	cp -a "$BASE" "$REPO"
}
# try KIND PATH WANT_FAIL CMD...: CMD neither hangs nor (with WANT_FAIL=1) succeeds; its failure names PATH and KIND.
try() {
	local kind=$1 path=$2 want_fail=$3 rc=0
	shift 3
	timeout 20 "$SEALTREE" --repo "$REPO" "$@" >"$T/out" 2>&1 </dev/null || rc=$?
	if [ $rc = 124 ]; then
		fail "$kind at $path: '$*' hangs" ""
	elif [ "$want_fail" = 1 ] && [ $rc = 0 ]; then
		fail "$kind at $path: '$*' succeeded" "$(cat "$T/out")"
	elif [ $rc != 0 ] && ! grep -qF "${path##*/}" "$T/out" && ! { [ "${path%.sig}" != "$path" ] && grep -q "signature file" "$T/out"; }; then
		fail "$kind at $path: '$*' does not name the file" "$(cat "$T/out")"
	elif [ $rc != 0 ] && [ "$kind" != directory ] && ! grep -qiE "$kind|not a regular file|corrupt signature file" "$T/out"; then
		fail "$kind at $path: '$*' does not say what is there" "$(cat "$T/out")"
	else
		ok "$kind at $path: '$*' exit $rc${rc:+: $(head -n1 "$T/out" | cut -c1-110)}"
	fi
}

V="verify --keys-dir $T/keys"
for kind in FIFO socket "character device" directory; do
	fresh; plant "$kind" refs/heads/main
	try "$kind" refs/heads/main 1 log main
	try "$kind" refs/heads/main 1 $V main
	try "$kind" refs/heads/main 0 gc
	try "$kind" refs/heads/main 1 fsck

	fresh; plant "$kind" "commits/$c2"
	try "$kind" "commits/$c2" 1 show main
	try "$kind" "commits/$c2" 1 gc
	try "$kind" "commits/$c2" 1 fsck
	try "$kind" "commits/$c2" 1 sign main --key "$T/k"

	fresh; plant "$kind" "$img"
	try "$kind" "$img" 1 ls main /
	try "$kind" "$img" 1 gc
	try "$kind" "$img" 1 fsck
	try "$kind" "$img" 1 checkout main "$T/co"
	rm -rf "$T/co"

	fresh; plant "$kind" "$obj"
	try "$kind" "$obj" 1 cat main /big
	try "$kind" "$obj" 1 checkout main "$T/co"
	try "$kind" "$obj" 1 fsck
	rm -rf "$T/co"

	fresh; plant "$kind" config
	try "$kind" config 1 log main
	try "$kind" config 1 gc

	fresh; plant "$kind" lock
	try "$kind" lock 1 log main
	try "$kind" lock 1 gc
	try "$kind" lock 1 commit -b main --tree "$src"

	fresh; plant "$kind" "commits/$c2.sig"
	try "$kind" "commits/$c2.sig" 1 $V main
	try "$kind" "commits/$c2.sig" 1 sign main --key "$T/k"

	fresh; plant "$kind" state/accepted/main
	try "$kind" state/accepted/main 1 $V --no-downgrade main
	try "$kind" state/accepted/main 0 $V --accept main

	fresh; plant "$kind" state/lock
	try "$kind" state/lock 1 $V --accept main

	# The scan cache is only a cache: ignored, and a commit still works.
	fresh; plant "$kind" cache/scan
	try "$kind" cache/scan 0 commit -b main --tree "$src"
done
fresh; plant FIFO cache/scan
st commit -b main --tree "$src" >/dev/null && [ -f "$REPO/cache/scan" ] && ok "a FIFO scan cache is replaced by a file" ||
	fail "scan cache" "$(ls -la "$REPO/cache")"

done_testing
