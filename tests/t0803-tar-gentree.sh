#!/bin/bash
# SPDX-License-Identifier: MIT
# The image digest depends only on the tree: for the hostile gentree
# trees (tests/assets: odd names, 255-byte and non-UTF-8 names, hardlinks,
# devices, whiteouts, ACLs and escaped overlay xattrs, large ids, nanosecond
# mtimes), `commit --tree DIR`, `commit --tar` of GNU tar's archive of DIR
# and `commit --tar` of `sealtree export` all give the same image digest.
# Sockets are removed first: tar cannot carry them. Needs root.
. "$(dirname "$0")/test-lib.sh"

need_root
[ -x "$SEALTREE" ] || skip_all "sealtree not built"
export LC_ALL=C
unset SOURCE_DATE_EPOCH
repo=$TEST_TMP/repo
st() { "$SEALTREE" --repo "$repo" "$@"; }
image_of() { commit_image "$repo" "$1"; }
seeds=${GENTREE_SEEDS:-1 2 3 4}

st init --verity=off >/dev/null || { fail "init" ""; done_testing; exit; }
for seed in $seeds; do
	dir=$TEST_TMP/tree-$seed
	gentree tree "$seed" "$dir" || { fail "gentree $seed" "seedtree.py failed"; continue; }
	find "$dir" -type s -delete
	st commit -b "tree$seed" --tree "$dir" --timestamp 1 >/dev/null || { fail "tree $seed" "commit --tree"; continue; }
	want=$(image_of "tree$seed")

	tar --xattrs --xattrs-include='*' --numeric-owner -C "$dir" -cf "$TEST_TMP/g$seed.tar" . 2>"$TEST_TMP/tarerr" ||
		{ fail "gnu tar $seed" "$(cat "$TEST_TMP/tarerr")"; continue; }
	if st commit -b "gnu$seed" --tar "$TEST_TMP/g$seed.tar" --timestamp 1 >/dev/null 2>"$TEST_TMP/err"; then
		got=$(image_of "gnu$seed")
		[ "$got" = "$want" ] && ok "seed $seed: GNU tar archive = --tree ($want)" ||
			fail "seed $seed GNU tar" "$got != $want"
	else
		fail "seed $seed GNU tar" "$(cat "$TEST_TMP/err")"
	fi

	st export "tree$seed" >"$TEST_TMP/e$seed.tar" || { fail "export $seed" ""; continue; }
	st commit -b "exp$seed" --tar "$TEST_TMP/e$seed.tar" --timestamp 1 >/dev/null 2>"$TEST_TMP/err" &&
		[ "$(image_of "exp$seed")" = "$want" ] && ok "seed $seed: export -> commit --tar = --tree" ||
		fail "seed $seed export" "$(image_of "exp$seed") != $want $(cat "$TEST_TMP/err")"
	st export "exp$seed" | cmp -s - "$TEST_TMP/e$seed.tar" && ok "seed $seed: the export exports the same bytes again" ||
		fail "seed $seed re-export" "differs"
	rm -rf "$dir" "$TEST_TMP/g$seed.tar" "$TEST_TMP/e$seed.tar"
done

st fsck -q >"$TEST_TMP/fsck" 2>&1 && ok "fsck is clean" || fail "fsck" "$(head -n 5 "$TEST_TMP/fsck")"
done_testing
