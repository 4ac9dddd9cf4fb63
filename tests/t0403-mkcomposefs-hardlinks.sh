#!/bin/bash
# SPDX-License-Identifier: MIT
# Hardlinks in a source directory: by default mkcomposefs splits them into
# separate inodes with nlink 1, like the reference; with --hardlinks they stay
# hardlinks (composefs-info dump shows '@' lines to the first name in sorted
# depth-first order, whose nlink counts the names inside the tree).
. "$(dirname "$0")/test-lib.sh"

[ -x "$MKCOMPOSEFS" ] || skip_all "mkcomposefs not built"

src=$TEST_TMP/src
mkdir -p "$src/a-dir" "$src/z-dir"
head -c 5000 /dev/urandom >"$src/a-dir/big"
ln "$src/a-dir/big" "$src/b-big"
ln "$src/a-dir/big" "$src/z-dir/big"
printf 'small inline content\n' >"$src/small"
ln "$src/small" "$src/small-2"
: >"$src/empty"
ln "$src/empty" "$src/empty-2"
ln -s target "$src/sym"
ln -P "$src/sym" "$src/sym-2" 2>/dev/null || true
head -c 3000 /dev/urandom >"$src/single"
# A file with a link outside the tree: one name inside, so nlink 1.
ln "$src/single" "$TEST_TMP/outside"
touch -d @1700000000 "$src" "$src"/* 2>/dev/null || true

check "default run" "$MKCOMPOSEFS" "$src" "$TEST_TMP/split.img"
check "--hardlinks run" "$MKCOMPOSEFS" --hardlinks "$src" "$TEST_TMP/links.img"
if cmp -s "$TEST_TMP/split.img" "$TEST_TMP/links.img"; then
	fail "--hardlinks changes the image" "both images are identical"
else
	ok "--hardlinks changes the image"
fi
# The same tree twice gives the same bytes (the first name wins deterministically).
check "--hardlinks run again" "$MKCOMPOSEFS" --hardlinks "$src" "$TEST_TMP/links2.img"
check "--hardlinks is deterministic" cmp "$TEST_TMP/links.img" "$TEST_TMP/links2.img"

# A dumpfile has its own hardlink lines: --hardlinks does not apply there.
printf '/ 0 40755 2 0 0 0 0.0 - - -\n/f 3 100644 1 0 0 0 0.0 - abc -\n' >"$TEST_TMP/t.dump"
"$MKCOMPOSEFS" --from-file "$TEST_TMP/t.dump" "$TEST_TMP/d1.img"
"$MKCOMPOSEFS" --hardlinks --from-file "$TEST_TMP/t.dump" "$TEST_TMP/d2.img"
check "--hardlinks is a no-op for --from-file" cmp "$TEST_TMP/d1.img" "$TEST_TMP/d2.img"

[ -x "$COMPOSEFS_INFO" ] || { echo "# composefs-info not built: cannot read the images back"; done_testing; exit; }

"$COMPOSEFS_INFO" dump "$TEST_TMP/split.img" >"$TEST_TMP/split.dump"
"$COMPOSEFS_INFO" dump "$TEST_TMP/links.img" >"$TEST_TMP/links.dump"

# field N of the dump line for PATH
field() { awk -v p="$2" -v n="$3" '$1 == p { print $n }' "$1"; }

if grep -q ' @[0-7]* ' "$TEST_TMP/split.dump"; then
	fail "default splits hardlinks" "the dump has '@' lines"
else
	ok "default splits hardlinks"
fi
for p in /a-dir/big /b-big /z-dir/big /small /small-2 /single; do
	[ "$(field "$TEST_TMP/split.dump" "$p" 4)" = 1 ] && ok "default: $p has nlink 1" ||
		fail "default: $p nlink" "got '$(field "$TEST_TMP/split.dump" "$p" 4)'"
done

# --hardlinks: /a-dir/big comes first in sorted depth-first order.
[ "$(field "$TEST_TMP/links.dump" /a-dir/big 4)" = 3 ] && ok "--hardlinks: /a-dir/big has nlink 3" ||
	fail "--hardlinks: /a-dir/big nlink" "got '$(field "$TEST_TMP/links.dump" /a-dir/big 4)'"
for p in /b-big /z-dir/big; do
	mode=$(field "$TEST_TMP/links.dump" "$p" 3) target=$(field "$TEST_TMP/links.dump" "$p" 9)
	if [ "${mode#@}" != "$mode" ] && [ "$target" = /a-dir/big ]; then
		ok "--hardlinks: $p is a hardlink to /a-dir/big"
	else
		fail "--hardlinks: $p" "mode '$mode', target '$target'"
	fi
done
for pair in /small:/small-2 /empty:/empty-2; do
	first=${pair%%:*} second=${pair#*:}
	mode=$(field "$TEST_TMP/links.dump" "$second" 3) target=$(field "$TEST_TMP/links.dump" "$second" 9)
	if [ "${mode#@}" != "$mode" ] && [ "$target" = "$first" ] &&
		[ "$(field "$TEST_TMP/links.dump" "$first" 4)" = 2 ]; then
		ok "--hardlinks: $second is a hardlink to $first (nlink 2)"
	else
		fail "--hardlinks: $second" "mode '$mode', target '$target'"
	fi
done
[ "$(field "$TEST_TMP/links.dump" /single 4)" = 1 ] && ok "--hardlinks: a link from outside the tree does not count" ||
	fail "--hardlinks: /single nlink" "got '$(field "$TEST_TMP/links.dump" /single 4)'"

# Reading the image back and writing it again keeps the hardlinks.
if "$MKCOMPOSEFS" --from-file "$TEST_TMP/links.dump" "$TEST_TMP/links3.img" &&
	cmp -s "$TEST_TMP/links.img" "$TEST_TMP/links3.img"; then
	ok "--hardlinks image -> dump -> image is identical"
else
	fail "--hardlinks round trip" "image differs"
fi

done_testing
