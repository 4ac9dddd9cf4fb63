#!/bin/bash
# SPDX-License-Identifier: MIT
# Many files sharing one large xattr: the image stores it once, a reader
# copies it into each file. The writer refuses such a tree before writing
# anything (same budget as the reader), so the repository never holds an
# image its own reader refuses: fsck stays clean and gc keeps working. A
# tree within the budget commits and reads back.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/maint-lib.sh"

REPO=$TEST_TMP/repo
check "init" st init --verity=off

# dump N: a root with N empty files carrying one 30000-byte user.big.
dump() {
	awk -v n="$1" 'BEGIN {
		v = "v"; while (length(v) < 30000) v = v v; v = substr(v, 1, 30000)
		print "/ 0 40755 2 0 0 0 0.0 - - -"
		for (i = 0; i < n; i++)
			printf "/f%05d 0 100644 1 0 0 0 0.0 - - - user.big=%s\n", i, v
	}'
}

dump 1000 >"$TEST_TMP/small.dump"
st commit -b small --dumpfile "$TEST_TMP/small.dump" >/dev/null && ok "1000 files sharing a 30000-byte xattr commit" ||
	fail "small commit"
n=$(st ls small / | wc -l)
[ "$n" = 1000 ] && ok "and read back ($n entries)" || fail "small read back" "$n entries"

dump 3000 >"$TEST_TMP/big.dump"
rc=0
st commit -b big --dumpfile "$TEST_TMP/big.dump" >"$TEST_TMP/out" 2>&1 || rc=$?
if [ $rc != 0 ] && grep -q "xattr 'user.big' (30000 bytes) is stored once but copied into each of the 3000 files" "$TEST_TMP/out"; then
	ok "3000 files: refused before writing: $(cut -c1-160 "$TEST_TMP/out")"
else
	fail "big commit refused" "exit $rc: $(cat "$TEST_TMP/out")"
fi
check "no ref was made" test ! -e "$REPO/refs/heads/big"
[ "$(ls "$REPO/images" | wc -l)" = 1 ] && ok "no image was published" || fail "images" "$(ls "$REPO/images")"
[ -z "$(ls "$REPO/tmp")" ] && ok "no temporary file is left" || fail "tmp" "$(ls "$REPO/tmp")"
out=$(st fsck 2>&1) && ok "fsck is clean" || fail "fsck" "$out"
out=$(st gc 2>&1) && ok "gc works" || fail "gc" "$out"

done_testing
