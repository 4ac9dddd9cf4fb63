#!/bin/bash
# SPDX-License-Identifier: MIT
# sealtree commit --tar with members our model cannot hold exactly: device
# numbers over 12:20 bits (they were truncated: a chardev could become the
# whiteout 0:0 and vanish), GNU volume and multi-volume headers, NUL bytes in
# pax or GNU long names, xattrs with an empty or NUL-holding name, numbers out
# of range, mode bits beyond type and permissions, pax global headers that
# set anything (libarchive ignores them), unknown member types and
# SCHILY.filetype values. Each must be refused with the member and the cause
# named, never read as something else. A pax global header holding only a
# comment (git archive) is accepted.
. "$(dirname "$0")/test-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
export LC_ALL=C
repo=$TEST_TMP/repo
st() { "$SEALTREE" --repo "$repo" "$@"; }

st init --verity=off >/dev/null || { fail "init" ""; done_testing; exit; }
python3 "$SOURCE_DIR/tests/gen-hostile-tar.py" "$TEST_TMP/h" fields >"$TEST_TMP/cases" ||
	{ fail "generate" ""; done_testing; exit; }

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

# The same class in dumpfiles: a device number the image would cut, mode bits it would drop.
for line in "/dev 0 20600 1 0 0 4294967296 0.0 - - -:RDEV 4294967296 does not fit" \
	"/dev 0 60600 1 0 0 17592186044416 0.0 - - -:does not fit" \
	"/f 0 1100644 1 0 0 0 0.0 - - -:bits beyond"; do
	printf '/ 0 40755 2 0 0 0 0.0 - - -\n%s\n' "${line%%:*}" >"$TEST_TMP/bad.dump"
	st commit -b main --dumpfile "$TEST_TMP/bad.dump" >/dev/null 2>"$TEST_TMP/err" && rc=0 || rc=$?
	[ $rc = 1 ] && grep -q "${line#*:}" "$TEST_TMP/err" && ok "dumpfile '${line%%:*}' refused" ||
		fail "dumpfile '${line%%:*}'" "exit $rc: $(cat "$TEST_TMP/err")"
done

id=$(st commit -b main --tar "$TEST_TMP/h/ok-global-comment.tar" 2>"$TEST_TMP/err") && [ -n "$id" ] &&
	ok "a pax global header with a comment only is accepted" || fail "global comment" "$(cat "$TEST_TMP/err")"
done_testing
