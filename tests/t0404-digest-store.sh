#!/bin/bash
# SPDX-License-Identifier: MIT
# mkcomposefs --digest-store: every non-inline regular file lands once in
# STORE/xx/yyyy... named by its fs-verity digest, mode 0644, with the same
# bytes; no temporary file is left; a second run (or two at once) rewrites
# nothing and gives the same image; a bad store fails cleanly.
. "$(dirname "$0")/test-lib.sh"

[ -x "$MKCOMPOSEFS" ] || skip_all "mkcomposefs not built"
DIGEST=$BUILD_DIR/lib/verity/st-verity-digest
[ -x "$DIGEST" ] || skip_all "st-verity-digest not built"
export LC_ALL=C

src=$TEST_TMP/src
mkdir -p "$src/sub/deeper"
i=0
for size in 0 1 64 65 100 4095 4096 4097 70000 1048576 1048577 3000000; do
	head -c "$size" /dev/urandom >"$src/f$size"
	i=$((i + 1))
done
cp "$src/f4096" "$src/sub/copy-of-4096"         # same content: one object
cp "$src/f100" "$src/sub/deeper/copy-of-100"
printf '%065d' 0 >"$src/sub/zeros-65"
ln -s f100 "$src/link"
mkfifo "$src/fifo"

store=$TEST_TMP/store/nested # its parents do not exist yet
check "mkcomposefs --digest-store" "$MKCOMPOSEFS" --digest-store="$store" "$src" "$TEST_TMP/a.img"
check "the image equals the one without a store" "$MKCOMPOSEFS" "$src" "$TEST_TMP/plain.img"
check "same bytes" cmp "$TEST_TMP/a.img" "$TEST_TMP/plain.img"

# Expected objects: the distinct contents of the regular files over 64 bytes.
find "$src" -type f -size +64c -print0 | xargs -0 "$DIGEST" | cut -d' ' -f1 | sed 's/^sha256://' | sort -u >"$TEST_TMP/want"
(cd "$store" && find . -type f | sed 's|^\./||; s|/||' | sort) >"$TEST_TMP/got"
if diff -u "$TEST_TMP/want" "$TEST_TMP/got"; then
	ok "one object per distinct non-inline content ($(wc -l <"$TEST_TMP/want"))"
else
	fail "objects" "store content differs from the expected digests"
fi

bad=0
while read -r obj; do
	path=$store/${obj:0:2}/${obj:2}
	d=$("$DIGEST" "$path" | cut -d' ' -f1)
	[ "$d" = "sha256:$obj" ] || { bad=1; echo "# $path: digest $d" >&2; }
	[ "$(stat -c %a "$path")" = 644 ] || { bad=1; echo "# $path: mode $(stat -c %a "$path")" >&2; }
	[ "$(stat -c %h "$path")" = 1 ] || { bad=1; echo "# $path: link count $(stat -c %h "$path")" >&2; }
done <"$TEST_TMP/got"
[ $bad = 0 ] && ok "objects are named by their digest, mode 0644" || fail "objects" "bad name, mode or link count"

# Contents identical: every source file over 64 bytes has a byte-equal object.
bad=0
while IFS= read -r -d '' f; do
	d=$("$DIGEST" "$f" | cut -d' ' -f1 | sed 's/^sha256://')
	cmp -s "$f" "$store/${d:0:2}/${d:2}" || { bad=1; echo "# $f differs from its object" >&2; }
done < <(find "$src" -type f -size +64c -print0)
[ $bad = 0 ] && ok "object contents equal the sources" || fail "object contents" "differ"

left=$(find "$store" -name '.*' ! -name . | head -n 5)
[ -z "$left" ] && ok "no temporary files left" || fail "temporary files" "$left"
obj=$(head -n1 "$TEST_TMP/got")
[ "$(stat -c %a "$store/${obj:0:2}")" = 755 ] && ok "fan-out directories are 0755" || fail "fan-out mode" "$(stat -c %a "$store/${obj:0:2}")"

if [ -x "$COMPOSEFS_INFO" ]; then
	"$COMPOSEFS_INFO" objects "$TEST_TMP/a.img" | sed 's|/||' | sort >"$TEST_TMP/listed"
	check "composefs-info objects lists exactly the stored objects" diff -u "$TEST_TMP/got" "$TEST_TMP/listed"
fi

# Idempotent: a second run rewrites nothing.
(cd "$store" && find . -type f -exec stat -c '%n %i %Y.%y %s' {} + | sort) >"$TEST_TMP/stat1"
sleep 1
check "second run" "$MKCOMPOSEFS" --digest-store="$store" "$src" "$TEST_TMP/b.img"
(cd "$store" && find . -type f -exec stat -c '%n %i %Y.%y %s' {} + | sort) >"$TEST_TMP/stat2"
check "second run rewrites no object" diff -u "$TEST_TMP/stat1" "$TEST_TMP/stat2"
check "second run gives the same image" cmp "$TEST_TMP/a.img" "$TEST_TMP/b.img"

# Two runs into one fresh store at once: both succeed, each object once, nothing left over.
store2=$TEST_TMP/store2
"$MKCOMPOSEFS" --threads=3 --digest-store="$store2" "$src" "$TEST_TMP/c1.img" & pid1=$!
"$MKCOMPOSEFS" --threads=3 --digest-store="$store2" "$src" "$TEST_TMP/c2.img" & pid2=$!
rc1=0 rc2=0
wait $pid1 || rc1=$?
wait $pid2 || rc2=$?
(cd "$store2" && find . -type f | sed 's|^\./||; s|/||' | sort) >"$TEST_TMP/got2"
if [ $rc1 = 0 ] && [ $rc2 = 0 ] && diff -q "$TEST_TMP/want" "$TEST_TMP/got2" >/dev/null &&
	[ -z "$(find "$store2" -name '.*' ! -name .)" ]; then
	ok "two concurrent runs into one store"
else
	fail "concurrent runs" "exit $rc1/$rc2 or store differs"
fi

# A store that cannot be created: exit 1, a message, and no image.
: >"$TEST_TMP/not-a-dir"
rc=0
"$MKCOMPOSEFS" --digest-store="$TEST_TMP/not-a-dir/store" "$src" "$TEST_TMP/bad.img" 2>"$TEST_TMP/err" || rc=$?
if [ $rc = 1 ] && [ ! -e "$TEST_TMP/bad.img" ] && grep -q 'not-a-dir' "$TEST_TMP/err"; then
	ok "a bad store fails with exit 1 and leaves no image: $(cat "$TEST_TMP/err")"
else
	fail "bad store" "exit $rc, image left or no message"
fi

done_testing
