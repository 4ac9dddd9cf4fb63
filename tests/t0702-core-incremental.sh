#!/bin/bash
# SPDX-License-Identifier: MIT
# The scan cache: a recommit of an unchanged tree hashes nothing; with 1% of
# the files changed it hashes exactly those; a file rewritten in place with
# its size and mtime kept (touch -d) is hashed again and gets the right
# digest; a cache entry whose object was deleted is not used; --no-cache
# hashes everything; a damaged cache file is ignored. Every image digest is
# checked against mkcomposefs --hardlinks of the same tree.
. "$(dirname "$0")/test-lib.sh"

need_root       # gentree trees have owners and devices
DIGEST=$BUILD_DIR/lib/verity/st-verity-digest
[ -x "$SEALTREE" ] || skip_all "sealtree not built"
export LC_ALL=C
repo=$TEST_TMP/repo
src=$TEST_TMP/src
st() { "$SEALTREE" --repo "$repo" "$@"; }

# stat_of NAME: the value of one --stats line of the last commit.
stat_of() { awk -v k="$1" '$1 == k { print $2 }' "$TEST_TMP/stats"; }
commit() { st commit -b main --stats "$@" --tree "$src" 2>"$TEST_TMP/stats" >"$TEST_TMP/id"; }
image_of_main() { commit_image "$repo" main; }
# check_image NAME: the last commit's image equals mkcomposefs --hardlinks of $src.
check_image() {
	"$MKCOMPOSEFS" --hardlinks "$src" "$TEST_TMP/mk.img"
	local want
	want=$("$DIGEST" "$TEST_TMP/mk.img" | cut -d' ' -f1 | sed 's/^sha256://')
	[ "$(image_of_main)" = "$want" ] && ok "$1: image = mkcomposefs --hardlinks" || fail "$1" "image $(image_of_main) != $want"
}

"$SEALTREE" --repo "$repo" init >/dev/null
mkdir "$src"
for seed in 1 2 3 4 5; do gentree tree $seed "$src/s$seed"; done
# Big files are objects: count regular inodes over 64 bytes.
n_files=$(find "$src" -type f -size +64c -printf '%i\n' | sort -u | wc -l)
echo "# $n_files regular inodes over 64 bytes"
[ "$n_files" -ge 500 ] || fail "tree" "only $n_files files"
sleep 1.2       # older than the racy margin: the first commit may cache them all

commit
[ "$(stat_of files-hashed)" = "$n_files" ] && ok "first commit hashes every file ($n_files)" ||
	fail "first commit" "hashed $(stat_of files-hashed)"
check_image "first commit"
[ -f "$repo/cache/scan" ] && ok "cache written" || fail "cache" "no cache/scan"

commit
[ "$(stat_of files-hashed)" = 0 ] && [ "$(stat_of files-cached)" = "$n_files" ] &&
	ok "unchanged recommit hashes nothing, $n_files from the cache" ||
	fail "unchanged recommit" "hashed $(stat_of files-hashed) cached $(stat_of files-cached)"
[ "$(stat_of objects-written)" = 0 ] && ok "and writes no object" || fail "recommit objects" "$(stat_of objects-written)"
check_image "unchanged recommit"

# Change 1% of the files (single-link ones, so each change is one inode).
n_change=$(( (n_files + 99) / 100 ))
find "$src" -type f -size +64c -links 1 | sort | awk -v n="$n_change" 'NR % 7 == 0 && c < n { print; c++ }' >"$TEST_TMP/changed"
[ "$(wc -l <"$TEST_TMP/changed")" = "$n_change" ] || fail "pick" "picked $(wc -l <"$TEST_TMP/changed")"
while IFS= read -r f; do printf 'changed %s\n' "$f" >>"$f"; done <"$TEST_TMP/changed"
sleep 1.2
commit
[ "$(stat_of files-hashed)" = "$n_change" ] && ok "1% changed ($n_change files): exactly those hashed" ||
	fail "1% changed" "hashed $(stat_of files-hashed), changed $n_change"
[ "$(stat_of objects-written)" = "$n_change" ] && ok "and $n_change objects written" ||
	fail "1% objects" "$(stat_of objects-written)"
check_image "1% changed"

# Same size, same mtime, new content: the ctime in the key catches it.
victim=$(head -n1 "$TEST_TMP/changed")
mtime=$(stat -c %y "$victim")
size=$(stat -c %s "$victim")
head -c "$size" /dev/urandom >"$TEST_TMP/new" && cat "$TEST_TMP/new" >"$victim"
touch -d "$mtime" "$victim"
[ "$(stat -c %s "$victim")" = "$size" ] && [ "$(stat -c %y "$victim")" = "$mtime" ] || fail "touch -d" "size or mtime differ"
sleep 1.2
commit
[ "$(stat_of files-hashed)" = 1 ] && ok "rewrite with size and mtime kept: hashed again" ||
	fail "stale entry" "hashed $(stat_of files-hashed)"
check_image "rewrite with size and mtime kept"

# A deleted object: its cache entry is not trusted, the file is hashed and stored again.
d=$("$DIGEST" "$victim" | cut -d' ' -f1 | sed 's/^sha256://')
rm "$repo/objects/${d:0:2}/${d:2}"
commit
[ "$(stat_of files-hashed)" = 1 ] && [ "$(stat_of objects-written)" = 1 ] &&
	ok "entry of a deleted object unused; object written again" ||
	fail "deleted object" "hashed $(stat_of files-hashed) written $(stat_of objects-written)"
[ -f "$repo/objects/${d:0:2}/${d:2}" ] && ok "object back" || fail "object back" "missing"
check_image "deleted object"

commit --no-cache
[ "$(stat_of files-hashed)" = "$n_files" ] && [ "$(stat_of files-cached)" = 0 ] && ok "--no-cache hashes every file" ||
	fail "--no-cache" "hashed $(stat_of files-hashed)"

# A damaged cache is ignored, never trusted.
printf 'X' | dd of="$repo/cache/scan" bs=1 seek=100 conv=notrunc status=none
commit
[ "$(stat_of files-hashed)" = "$n_files" ] && ok "damaged cache ignored" || fail "damaged cache" "hashed $(stat_of files-hashed)"
check_image "damaged cache"
commit
[ "$(stat_of files-hashed)" = 0 ] && ok "cache rebuilt" || fail "cache rebuilt" "hashed $(stat_of files-hashed)"

# A file changed just now (within the racy margin) is not cached.
f=$(sed -n 2p "$TEST_TMP/changed")
echo more >>"$f"
commit
commit
[ "$(stat_of files-hashed)" = 1 ] && ok "a racily clean file is hashed again" || fail "racy" "hashed $(stat_of files-hashed)"
check_image "racy"

done_testing
