#!/bin/bash
# SPDX-License-Identifier: MIT
# Sizes declared by a tar: a sparse member was written dense (a 10 KiB
# archive declaring 1 TiB filled the disk). Now holes stay holes in the
# object (its fs-verity digest is the dense file's), a member declaring more
# than the repository's filesystem has free is refused before anything is
# written for it, and --max-size caps what one file may declare. The file
# size limit (ulimit -f) keeps a build without the fix from filling the disk.
. "$(dirname "$0")/test-lib.sh"

DIGEST=$BUILD_DIR/lib/verity/st-verity-digest
[ -x "$SEALTREE" ] || skip_all "sealtree not built"
export LC_ALL=C
repo=$TEST_TMP/repo
st() { "$SEALTREE" --repo "$repo" "$@"; }
gen() { python3 "$SOURCE_DIR/tests/gen-hostile-tar.py" "$TEST_TMP/h" "$@"; }

st init --verity=off >/dev/null || { fail "init" ""; done_testing; exit; }
tib=$((1 << 50))   # 1 PiB: more than any test machine has free
gen sparse $tib && gen sparse $((64 << 20)) && gen huge $tib || { fail "generate" ""; done_testing; exit; }
ulimit -f 204800        # 200 MiB

for f in sparse-$tib huge-$tib; do
	start=$SECONDS
	st commit -b main --tar "$TEST_TMP/h/$f.tar" >/dev/null 2>"$TEST_TMP/err" && rc=0 || rc=$?
	used=$(du -sk "$repo" | cut -f1)
	if [ $rc = 1 ] && grep -q "tar member 'huge.*declares $tib bytes, more than the .* bytes free" "$TEST_TMP/err" &&
		[ "$used" -lt 10240 ] && [ $((SECONDS - start)) -lt 30 ]; then
		ok "$f: 1 PiB refused before writing ($(sed 's/^sealtree: cannot import tar archive [^:]*: //' "$TEST_TMP/err"))"
	else
		fail "$f" "exit $rc, ${used} KiB used, $((SECONDS - start)) s: $(cat "$TEST_TMP/err")"
	fi
done

# 64 MiB with one 4 KiB block of data at 1 MiB: stored sparse, digest of the dense file.
python3 -c "
f = open('$TEST_TMP/dense', 'wb'); f.truncate(64 << 20); f.seek(1 << 20); f.write(b'D' * 4096)"
want=$("$DIGEST" "$TEST_TMP/dense" | sed 's/^sha256:\([0-9a-f]*\).*/\1/')
st commit -b main --tar "$TEST_TMP/h/sparse-$((64 << 20)).tar" >/dev/null 2>"$TEST_TMP/err" ||
	fail "sparse 64 MiB" "$(cat "$TEST_TMP/err")"
obj=$repo/objects/${want:0:2}/${want:2}
if [ -f "$obj" ]; then
	size=$(stat -c %s "$obj")
	disk=$(($(stat -c '%b * %B' "$obj")))
	[ "$size" = $((64 << 20)) ] && [ "$disk" -lt $((8 << 20)) ] &&
		ok "sparse member stored sparse: $size bytes, $disk on disk, digest of the dense file" ||
		fail "sparse object" "size $size, $disk bytes on disk"
else
	fail "sparse object" "no object $want: $(find "$repo/objects" -type f)"
fi

st commit -b main --max-size 1M --tar "$TEST_TMP/h/sparse-$((64 << 20)).tar" >/dev/null 2>"$TEST_TMP/err" && rc=0 || rc=$?
[ $rc = 1 ] && grep -q "tar member 'huge': declares 67108864 bytes, over the limit of 1048576" "$TEST_TMP/err" &&
	ok "--max-size 1M refuses a 64 MiB member" || fail "--max-size" "exit $rc: $(cat "$TEST_TMP/err")"
for bad in 0 -1 1X 99999999999T ""; do
	st commit -b main --max-size "$bad" --tar "$TEST_TMP/h/sparse-$((64 << 20)).tar" >/dev/null 2>&1 && rc=0 || rc=$?
	[ $rc = 2 ] && ok "--max-size '$bad' is a usage error" || fail "--max-size '$bad'" "exit $rc"
done
done_testing
