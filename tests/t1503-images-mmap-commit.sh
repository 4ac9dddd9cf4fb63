#!/bin/bash
# SPDX-License-Identifier: MIT
# Files rewritten through a shared mapping while they are committed (sizes
# and times unchanged once the pages are dirty): the bytes published under
# an object's name must be the bytes that were hashed. Many rounds of
# `sealtree commit` (with and without the scan cache) and `mkcomposefs
# --digest-store` run while st-mmap-rewrite writes; each either succeeds or
# fails saying the file changed, and afterwards fsck is clean and every
# object's fs-verity digest is its name.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/maint-lib.sh"

REWRITE=$BUILD_DIR/lib/tree/st-mmap-rewrite
[ -x "$REWRITE" ] || skip_all "st-mmap-rewrite not built"
ROUNDS=${ROUNDS:-8}

REPO=$TEST_TMP/repo
src=$TEST_TMP/src
store=$TEST_TMP/store
mkdir -p "$src"
files=()
for i in 1 2 3 4; do
	head -c $((3 * 1024 * 1024 + i * 4096)) /dev/urandom >"$src/big$i"    # streamed: over 1 MiB
	files+=("$src/big$i")
done
head -c 200000 /dev/urandom >"$src/mid"                                   # read whole
files+=("$src/mid")
check "init" st init --verity=off

"$REWRITE" 600 "${files[@]}" &
writer=$!
trap 'kill $writer 2>/dev/null || true; cleanup_test_tmp' EXIT
sleep 0.2

ok_commits=0 changed=0 other=0
for r in $(seq 1 "$ROUNDS"); do
	for how in --no-cache "" mkcomposefs; do
		rc=0
		if [ "$how" = mkcomposefs ]; then
			"$MKCOMPOSEFS" --digest-store="$store" "$src" "$TEST_TMP/img" >"$TEST_TMP/out" 2>&1 || rc=$?
		else
			st commit -b main --tree "$src" $how >"$TEST_TMP/out" 2>&1 || rc=$?
		fi
		if [ $rc = 0 ]; then
			ok_commits=$((ok_commits + 1))
		elif grep -q "changed during" "$TEST_TMP/out"; then
			changed=$((changed + 1))
		else
			other=$((other + 1))
			echo "# round $r ${how:-cached}: exit $rc: $(cat "$TEST_TMP/out")"
		fi
	done
done
kill $writer 2>/dev/null || true
wait $writer 2>/dev/null || true
echo "# $ok_commits runs succeeded, $changed said the files changed, $other failed otherwise"
[ $other = 0 ] && ok "every run succeeded or said a file changed" || fail "runs" "$other failed otherwise"
[ $ok_commits -gt 0 ] && ok "runs succeed while the files are rewritten ($ok_commits of $((ROUNDS * 3)))" ||
	fail "no run succeeded"

out=$(st fsck 2>&1) && ok "fsck is clean" || fail "fsck" "$out"
bad=0 n=0
while read -r obj; do
	n=$((n + 1))
	d=$("$DIGEST" "$obj" | cut -d' ' -f1)
	d=${d#sha256:}
	want=${obj#"$store"/}
	[ "$d" = "${want%%/*}${want#*/}" ] || { bad=$((bad + 1)); echo "# $want holds digest $d"; }
done < <(find "$store" -type f ! -name '.*')
[ $bad = 0 ] && [ $n -gt 0 ] && ok "every digest-store object matches its name ($n objects)" ||
	fail "digest store" "$bad of $n objects do not match their name"

done_testing
