#!/bin/bash
# SPDX-License-Identifier: MIT
# The repository is untrusted data: a symlink planted where one of its own
# directories or files belongs (tmp/, commits/, images/, objects/, an
# objects/XX fan-out, a ref, a ref directory, state/accepted/<ref>,
# refs/mounts/, cache/, lock, quarantine/) must never make a command act
# outside the repository. Each case runs every command that writes or
# deletes (gc, prune, fsck --repair, verify --accept, mount and its pin,
# commit, ref, sign, init) and then checks, byte for byte, a canary tree
# outside the repository: nothing in it may change, whatever the command
# answered. The symlinks point at directories holding files named like the
# repository's own (objects, commits, images), which gc would take for its
# own. fsck names each planted symlink.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/maint-lib.sh"

T=$TEST_TMP
BASE=$T/base
REPO=$BASE
OUT=$T/outside
src=$T/src
M=$T/mnt
mkdir -p "$src/d" "$M"
head -c 20000 /dev/urandom >"$src/big"
echo tiny >"$src/d/tiny"
check "init" st init --verity=off >/dev/null
c1=$(commit_tree main "$src") || fail "commit 1"
echo more >>"$src/d/tiny"
c2=$(commit_tree main "$src") || fail "commit 2"
c3=$(commit_tree other "$src" --orphan) || fail "commit 3"
"$SEALTREE" keygen -o "$T/k" >/dev/null || fail "keygen"
mkdir -p "$T/keys/trusted.d"
cp "$T/k.pub" "$T/keys/trusted.d/k.pem"
st sign main --key "$T/k" >/dev/null || fail "sign"
obj=$(object_of "$src/big")
fan=${obj#objects/}
fan=${fan%%/*}

# The canary: an outside tree whose names look like a repository's own.
make_outside() {
	rm -rf "$OUT"
	mkdir -p "$OUT/dir/$fan" "$OUT/dir/sub" "$OUT/empty"
	cp -a "$BASE/commits/." "$OUT/dir/"
	cp -a "$BASE/images/." "$OUT/dir/"
	cp -a "$BASE/$obj" "$OUT/dir/$fan/"
	head -c 300 /dev/urandom >"$OUT/dir/$fan/$(printf '%062d' 0)"
	printf '%064d\n' 0 >"$OUT/dir/$(printf '%064d' 0)"
	echo "$c1" >"$OUT/file"
	echo keep >"$OUT/dir/sub/keep"
}
canary() {
	(cd "$OUT" && find . -printf '%y %m %s %n %p\n' | sort && find . -type f -exec sha256sum {} + | sort)
}

# case_repo NAME SETUP: a fresh copy of the base repository, then SETUP run in it.
case_repo() {
	REPO=$T/case
	rm -rf "$REPO"
	cp -a "$BASE" "$REPO"
	make_outside
	(cd "$REPO" && eval "$1")
	canary >"$T/canary.before"
}
# run_all: every command that writes or deletes, answers ignored.
run_all() {
	local cmd
	# fsck --repair last: it might move an impostor away before the others meet it. The mount is
	# undone by umount(8), not by sealtree umount, whose removal of the pin could hide its writing.
	for cmd in "commit -b main --tree $src" "commit -b sub/x --tree $src" "ref new $c1" "ref -d other" \
		"sign main --key $T/k" "verify --keys-dir $T/keys --accept main" "ls main" "log main" \
		"mount main $M" "gc" "prune --keep=1 main" "fsck" "fsck --repair" "gc"; do
		# shellcheck disable=SC2086
		timeout 60 "$SEALTREE" --repo "$REPO" $cmd >>"$T/log" 2>&1 || true
		findmnt "$M" >/dev/null 2>&1 && umount -l "$M"
	done
	return 0
}
# expect_untouched NAME SETUP [FSCK_REGEX]: run everything; the outside is as it was; fsck names the impostor.
expect_untouched() {
	local name=$1 setup=$2 regex=${3:-}
	case_repo "$setup"
	if [ -n "$regex" ]; then
		st fsck >"$T/fsck" 2>&1 || true
		grep -qE "$regex" "$T/fsck" && ok "$name: fsck reports it: $(grep -E "$regex" "$T/fsck" | head -n1 | cut -c1-120)" ||
			fail "$name: fsck report" "no /$regex/ in: $(cat "$T/fsck")"
	fi
	: >"$T/log"
	run_all
	canary >"$T/canary.after"
	if cmp -s "$T/canary.before" "$T/canary.after"; then
		ok "$name: nothing outside the repository changed"
	else
		fail "$name: the outside changed" "$(diff "$T/canary.before" "$T/canary.after" | head -20)"
	fi
}

L="symbolic link"
expect_untouched "tmp/ is a symlink" 'rm -rf tmp && ln -s "$OUT/dir" tmp'
expect_untouched "commits/ is a symlink" 'mv commits "$T/c.real" && ln -s "$OUT/dir" commits'
expect_untouched "images/ is a symlink" 'rm -rf images && ln -s "$OUT/dir" images'
expect_untouched "objects/ is a symlink" 'rm -rf objects && ln -s "$OUT/dir" objects'
expect_untouched "objects/XX is a symlink" "rm -rf objects/$fan && ln -s \"\$OUT/dir/$fan\" objects/$fan" \
	"objects/$fan"
expect_untouched "a ref file is a symlink" 'rm refs/heads/main && ln -s "$OUT/file" refs/heads/main' \
	"refs/heads/main.*$L"
expect_untouched "refs/heads/ is a symlink" 'rm -rf refs/heads && ln -s "$OUT/empty" refs/heads' \
	"refs/heads: is a $L"
expect_untouched "a ref directory is a symlink" 'ln -s "$OUT/empty" refs/heads/sub' "refs/heads/sub"
expect_untouched "refs/ is a symlink" 'mv refs "$T/r.real" && ln -s "$OUT/dir" refs' "refs: is a $L"
expect_untouched "refs/mounts/ is a symlink" 'rm -rf refs/mounts && ln -s "$OUT/empty" refs/mounts' \
	"refs/mounts: is a $L"
expect_untouched "state/accepted/<ref> is a symlink" \
	'mkdir -p state/accepted && ln -s "$OUT/file" state/accepted/main'
expect_untouched "state/accepted/ is a symlink" 'mkdir -p state && ln -s "$OUT/empty" state/accepted' \
	"state/accepted: is a $L"
expect_untouched "state/ is a symlink" 'ln -s "$OUT/empty" state' "state: is a $L"
expect_untouched "cache/ is a symlink" 'rm -rf cache && ln -s "$OUT/empty" cache' "cache: is a $L"
expect_untouched "lock is a dangling symlink" 'rm -f lock && ln -s "$OUT/newlock" lock' "lock' is a $L"
expect_untouched "quarantine/ is a symlink" \
	'ln -s "$OUT/empty" quarantine && echo garbage >refs/heads/bad' "quarantine: is a $L"
expect_untouched "a commit is a symlink" "mv commits/$c1 \"\$T/c1\" && ln -s \"\$OUT/file\" commits/$c1"

# init over what an interrupted init left, with a symlink in place of a directory.
make_outside
canary >"$T/canary.before"
mkdir -p "$T/partial"
ln -s "$OUT/dir" "$T/partial/tmp"
rc=0
"$SEALTREE" --repo "$T/partial" init --verity=off >"$T/out" 2>&1 || rc=$?
canary >"$T/canary.after"
[ $rc != 0 ] && grep -q "symbolic link" "$T/out" && ok "init refuses a symlinked tmp/: $(head -n1 "$T/out")" ||
	fail "init over a symlink" "exit $rc: $(cat "$T/out")"
cmp -s "$T/canary.before" "$T/canary.after" && ok "init: nothing outside changed" ||
	fail "init changed the outside" "$(diff "$T/canary.before" "$T/canary.after" | head)"

# The messages name the impostor.
case_repo 'rm -rf tmp && ln -s "$OUT/dir" tmp'
rc=0
st gc >"$T/out" 2>&1 || rc=$?
[ $rc != 0 ] && grep -q "tmp' is a symbolic link" "$T/out" && ok "gc refuses: $(head -n1 "$T/out")" ||
	fail "gc over a symlinked tmp/" "exit $rc: $(cat "$T/out")"
case_repo 'rm refs/heads/main && ln -s "$OUT/file" refs/heads/main'
rc=0
st log main >"$T/out" 2>&1 || rc=$?
[ $rc != 0 ] && grep -q "ref 'main'.*symbolic link" "$T/out" && ok "a symlinked ref is refused: $(head -n1 "$T/out")" ||
	fail "log of a symlinked ref" "exit $rc: $(cat "$T/out")"

# fsck --repair moves the impostor away (never what it points at) and makes the directory again.
case_repo 'rm -rf refs/mounts && ln -s "$OUT/empty" refs/mounts'
st fsck --repair >"$T/out" 2>&1 || true
[ -d "$REPO/refs/mounts" ] && [ ! -L "$REPO/refs/mounts" ] && [ -L "$REPO/quarantine/refs/mounts" ] &&
	ok "fsck --repair quarantines a symlinked refs/mounts/ and makes it again" ||
	fail "repair of refs/mounts" "$(cat "$T/out"; ls -la "$REPO/refs" "$REPO/quarantine/refs" 2>&1)"
st fsck >"$T/out" 2>&1 && ok "fsck is clean after the repair" || fail "fsck after repair" "$(cat "$T/out")"

done_testing
