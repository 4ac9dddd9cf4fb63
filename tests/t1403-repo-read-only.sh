#!/bin/bash
# SPDX-License-Identifier: MIT
# A repository on a read-only filesystem (here a read-only bind mount) can
# still be read: ls, log, show, cat, dump, diff, refs, export, checkout,
# verify and fsck work there (the shared lock is taken on a read-only
# descriptor of the lock file, or not at all where there is none), and
# commands that write say that the filesystem is read-only. On a
# writable repository the read-only commands create, change and delete
# nothing (no lock file, no tmp/ file, no state). Needs root for the mount.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/maint-lib.sh"
need_root
T=$TEST_TMP
RO=$T/ro
cleanup() {
	set +e
	mountpoint -q "$RO" && umount -l "$RO"
	cleanup_test_tmp
}
trap cleanup EXIT

REPO=$T/repo
src=$T/src
mkdir -p "$src/d" "$RO"
head -c 20000 /dev/urandom >"$src/big"
echo tiny >"$src/d/tiny"
check "init" st init --verity=off >/dev/null
c1=$(commit_tree main "$src") || fail "commit 1"
echo more >>"$src/d/tiny"
c2=$(commit_tree main "$src") || fail "commit 2"
"$SEALTREE" keygen -o "$T/k" >/dev/null || fail "keygen"
mkdir -p "$T/keys/trusted.d"
cp "$T/k.pub" "$T/keys/trusted.d/k.pem"
st sign main --key "$T/k" >/dev/null || fail "sign"

# read_only_commands: every command that only reads, each must succeed.
read_only_commands() {
	local cmd rc
	for cmd in "ls main /" "ls -R main /d" "log main" "show main" "show $c1" "cat main /big" "dump main" \
		"diff $c1 $c2" "refs" "refs --all" "export -o $T/out.tar main" "checkout main $T/co" \
		"verify --keys-dir $T/keys main" "verify --keys-dir $T/keys --no-downgrade main" "fsck"; do
		rm -rf "$T/co" "$T/out.tar"
		rc=0
		# shellcheck disable=SC2086
		timeout 60 "$SEALTREE" --repo "$1" $cmd >"$T/out" 2>&1 || rc=$?
		[ $rc = 0 ] && ok "$2: $cmd" || fail "$2: $cmd" "exit $rc: $(head -n3 "$T/out")"
	done
}

# Read-only commands leave a writable repository exactly as it was (the lock
# file is the repository's own since init).
snapshot() { (cd "$REPO" && find . -printf '%y %m %s %T@ %p\n' | sort); }
rm -rf "$REPO/tmp/"* "$REPO/state"
snapshot >"$T/before"
read_only_commands "$REPO" "writable, changes nothing"
snapshot >"$T/after"
cmp -s "$T/before" "$T/after" && ok "the read-only commands changed nothing in the repository" ||
	fail "read-only commands wrote" "$(diff "$T/before" "$T/after")"

# A read-only bind mount of the repository; first without its lock file, then with it.
rm -f "$REPO/lock"
mount --bind "$REPO" "$RO" && mount -o remount,bind,ro "$RO" || skip_all "cannot make a read-only bind mount"
touch "$RO/probe" 2>/dev/null && skip_all "the bind mount is writable"
read_only_commands "$RO" "read-only fs, no lock file"
umount "$RO"
: >"$REPO/lock"
mount --bind "$REPO" "$RO" && mount -o remount,bind,ro "$RO"
read_only_commands "$RO" "read-only fs"

# What writes says why it cannot.
for cmd in "commit -b main --tree $src" "prune --keep=1 main" "ref new $c1" "verify --keys-dir $T/keys --accept main"; do
	rc=0
	# shellcheck disable=SC2086
	"$SEALTREE" --repo "$RO" $cmd >"$T/out" 2>&1 || rc=$?
	[ $rc != 0 ] && grep -q "Read-only file system" "$T/out" &&
		ok "read-only fs: $cmd refused: $(head -n1 "$T/out" | cut -c1-120)" ||
		fail "read-only fs: $cmd" "exit $rc: $(cat "$T/out")"
done

done_testing
