#!/bin/bash
# SPDX-License-Identifier: MIT
# sealtree commit --tar with archives cut short: at a member boundary with no
# end-of-archive block (plain, gzip, xz, zstd: libarchive takes that as the
# end, and a partial tree was committed with exit 0), compressed streams cut
# inside a member, and plain archives cut inside a member, a header and a pax
# header. Each must fail naming the member and the cause, and commit nothing.
# An archive with only one of the two end blocks is complete.
. "$(dirname "$0")/test-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
export LC_ALL=C
repo=$TEST_TMP/repo
st() { "$SEALTREE" --repo "$repo" "$@"; }

st init --verity=off >/dev/null || { fail "init" ""; done_testing; exit; }
python3 "$SOURCE_DIR/tests/gen-hostile-tar.py" "$TEST_TMP/h" cut >"$TEST_TMP/cases" ||
	{ fail "generate" ""; done_testing; exit; }
grep -q 'zst ' "$TEST_TMP/cases" || echo "# no zstd compressor here: zstd cases not generated"

refs0=$(cd "$repo" && find refs commits images -type f | sort)
while read -r name member why; do
	st commit -b main --tar "$TEST_TMP/h/$name" >"$TEST_TMP/out" 2>"$TEST_TMP/err" && rc=0 || rc=$?
	if [ $rc != 1 ]; then
		fail "$name" "exit $rc: $(cat "$TEST_TMP/err")"
	elif ! grep -qF "'$member'" "$TEST_TMP/err" || ! grep -qi -- "$why" "$TEST_TMP/err"; then
		fail "$name" "message lacks '$member' / '$why': $(cat "$TEST_TMP/err")"
	else
		ok "$name: refused ($(sed 's/^sealtree: cannot import tar archive [^:]*: //' "$TEST_TMP/err" | head -c 150))"
	fi
done <"$TEST_TMP/cases"
[ "$refs0" = "$(cd "$repo" && find refs commits images -type f | sort)" ] &&
	ok "no ref, commit or image was written" || fail "state" "the repository changed"

id=$(st commit -b main --tar "$TEST_TMP/h/one-end-block.tar" 2>"$TEST_TMP/err") && [ -n "$id" ] &&
	ok "one end-of-archive block is enough" || fail "one end block" "$(cat "$TEST_TMP/err")"
done_testing
