#!/bin/bash
# SPDX-License-Identifier: MIT
# sealtree prune --keep=N REF: keeps the newest N commits of REF, drops the
# older ones no other ref reaches (and their unique objects and images),
# keeps those another branch or a pin still reaches; log stops at the
# oldest kept commit; --dry-run deletes nothing; bad arguments are refused.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/maint-lib.sh"

REPO=$TEST_TMP/repo
check "init" st init --verity=off
head -c 20000 /dev/urandom >"$TEST_TMP/common"
c=()
for i in 1 2 3 4 5 6; do
	mkdir -p "$TEST_TMP/v$i"
	cp "$TEST_TMP/common" "$TEST_TMP/v$i/common"
	head -c $((4000 + i)) /dev/urandom >"$TEST_TMP/v$i/unique"
	c[i]=$(commit_tree main "$TEST_TMP/v$i" -s "version $i") || fail "commit v$i"
done
check "a branch 'feature' at v2" write_ref refs/heads/feature "${c[2]}"
check "a pin at v4" write_ref refs/mounts/pin-v4 "${c[4]}"
uniq_obj() { object_of "$TEST_TMP/v$1/unique"; }

rc=0; st prune --keep=0 main 2>/dev/null || rc=$?
check "--keep=0 is a usage error" [ $rc = 2 ]
rc=0; st prune main 2>/dev/null || rc=$?
check "no --keep is a usage error" [ $rc = 2 ]
rc=0; st prune --keep=2 no-such-ref 2>"$TEST_TMP/err" || rc=$?
[ $rc = 1 ] && grep -q no-such-ref "$TEST_TMP/err" && ok "a missing ref fails, named: $(cat "$TEST_TMP/err")" ||
	fail "missing ref" "exit $rc: $(cat "$TEST_TMP/err")"

before=$(repo_files)
out=$(st prune --keep=2 --dry-run main) && ok "prune --dry-run" || fail "prune --dry-run" "$out"
check "prune --dry-run deletes nothing" [ "$before" = "$(repo_files)" ]
check "prune --dry-run counts 2 kept, 1 to drop (v3), 3 shared (v4 pinned, v2, v1 on feature)" \
	grep -q '^main: 2 commits kept, 1 to drop, 3 older ones still reached' <<<"$out"

out=$(st prune --keep=2 main) && ok "prune --keep=2 main" || fail "prune" "$out"
printf '%s\n' "$out" | sed 's/^/# /'
check "v3 dropped with its unique object and image" \
	hasnt "commits/${c[3]}" "$(uniq_obj 3)" "$(image_of "$TEST_TMP/v3")"
check "v6, v5 kept" has "commits/${c[6]}" "commits/${c[5]}" "$(uniq_obj 6)" "$(uniq_obj 5)"
check "v4 kept by its pin, v2 and v1 by feature" \
	has "commits/${c[4]}" "commits/${c[2]}" "commits/${c[1]}" "$(uniq_obj 4)" "$(uniq_obj 2)" "$(uniq_obj 1)"
check "the shared object stays" has "$(object_of "$TEST_TMP/common")"
check "fsck after prune: no errors" st fsck -q

# Drop the pin and the branch: prune again leaves exactly v6 and v5.
rm "$REPO/refs/mounts/pin-v4"
check "delete feature" st ref --delete feature
out=$(st prune --keep=2 main) && ok "prune again" || fail "prune again" "$out"
check "only v6 and v5 are left" [ "$(ls "$REPO/commits" | sort)" = "$(printf '%s\n' "${c[6]}" "${c[5]}" | sort)" ]
for i in 1 2 3 4; do
	hasnt "$(uniq_obj $i)" || fail "object of v$i still there"
done
ok "objects of v1..v4 gone"
check "objects of v5, v6 and the shared one stay" has "$(uniq_obj 5)" "$(uniq_obj 6)" "$(object_of "$TEST_TMP/common")"

log=$(st log main 2>&1) && ok "log main still works" || fail "log" "$log"
printf '%s\n' "$log" | sed 's/^/# /'
check "log shows v6 and v5" grep -q "version 5" <<<"$log"
check "log does not go past v5" bash -c '! grep -q "version 4" <<<"$1"' _ "$log"
check "log says the history was pruned" grep -qi "prune" <<<"$log"

out=$(st fsck) && ok "fsck clean after pruning" || fail "fsck" "$out"
check "fsck notes the pruned parent, not as an error" grep -q "^note: commits/${c[5]}: parent ${c[4]} is not present" <<<"$out"

out=$(st prune --keep=1 main) && ok "prune --keep=1" || fail "prune --keep=1" "$out"
check "only v6 left" [ "$(ls "$REPO/commits")" = "${c[6]}" ]
check "v6 still reads" st show main
done_testing
