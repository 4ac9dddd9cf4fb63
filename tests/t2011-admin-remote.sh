#!/bin/bash
# SPDX-License-Identifier: MIT
# admin deploy/switch REMOTE:REF pull the ref first (file:// remote) and
# the deployment tracks refs/remotes/REMOTE/REF; upgrade of such a
# deployment pulls first, upgrade --check fetches and says, deploying and
# publishing nothing. switch resolves its REF with the repository's one
# resolver: any spelling of a ref, never a commit id or NAME^.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/admin-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
T=$TEST_TMP
SRV=$T/server
srv() { "$SEALTREE" --repo "$SRV" "$@"; }
remote_ref() { st refs --all | awk -v r="refs/remotes/origin/$1" '$2 == r { print $1 }'; }

srv init --verity=off >/dev/null
make_tree "$T/t"
v1=$(srv commit -b os/main --tree "$T/t" -s v1 --version 1)
echo other >"$T/t/usr/etc/other"
o1=$(srv commit -b os/other --tree "$T/t" -s o1 --version 1)
srv summary >/dev/null

new_sysroot debian
st remote add origin "file://$SRV" --no-sign-verify >/dev/null

admin deploy --os debian --keys-dir "$KEYS" origin:os/main >"$T/out" 2>"$T/err" && ok "deploy origin:os/main" ||
	fail "deploy origin:os/main" "$(cat "$T/err")"
check "it said it pulled" grep -q "^pulled origin:os/main" "$T/out"
check "the remote ref is there" test "$(remote_ref os/main)" = "$v1"
check "the deployment is v1" test "$(json_get 0 commit)" = "$v1"
check "it tracks the remote ref" test "$(json_get 0 ref)" = "refs/remotes/origin/os/main"

admin upgrade --check --keys-dir "$KEYS" >"$T/out" 2>"$T/err" || fail "upgrade --check" "$(cat "$T/err")"
check "check: nothing new" grep -q "^no upgrade" "$T/out"

# v2 on the server: --check says so and changes nothing; upgrade pulls and deploys it.
echo v2 >"$T/t/usr/etc/v"
v2=$(srv commit -b os/main --tree "$T/t" -s v2 --version 2)
srv summary >/dev/null
n_obj=$(find "$REPO/objects" -type f | wc -l)
admin upgrade --check --keys-dir "$KEYS" >"$T/out" 2>"$T/err" || fail "upgrade --check (v2)" "$(cat "$T/err")"
check "check: v2 is available" grep -q "^upgrade available for 'refs/remotes/origin/os/main': ${v1:0:12} -> ${v2:0:12}" "$T/out"
check "check: the remote ref did not move" test "$(remote_ref os/main)" = "$v1"
check "check: nothing deployed" test "$(n_deployments)" = 1
check "check: no object published" test "$(find "$REPO/objects" -type f | wc -l)" = "$n_obj"
admin upgrade --keys-dir "$KEYS" >"$T/out" 2>"$T/err" && ok "upgrade pulls and deploys" || fail "upgrade" "$(cat "$T/err")"
check "upgrade: pulled" grep -q "^pulled origin:os/main" "$T/out"
check "upgrade: default is v2" test "$(json_get 0 commit)" = "$v2"
check "upgrade: v1 is the rollback" test "$(json_get 1 commit)" = "$v1"
check "upgrade: the remote ref moved" test "$(remote_ref os/main)" = "$v2"
admin upgrade --keys-dir "$KEYS" >"$T/out" 2>"$T/err" || fail "upgrade again" "$(cat "$T/err")"
check "upgrade again: nothing new" grep -q "^no upgrade" "$T/out"

admin switch --keys-dir "$KEYS" origin:os/other >"$T/out" 2>"$T/err" && ok "switch origin:os/other" ||
	fail "switch origin:os/other" "$(cat "$T/err")"
check "switch: tracks the other remote ref" test "$(json_get 0 ref)" = "refs/remotes/origin/os/other"
check "switch: its commit" test "$(json_get 0 commit)" = "$o1"

# switch goes through the one resolver: every spelling of a ref, never a commit.
c_local=$(commit_tree "$T/t" os/local 3)
admin switch --keys-dir "$KEYS" refs/heads/os/local >/dev/null 2>"$T/err" && ok "switch refs/heads/os/local" ||
	fail "switch refs/heads/os/local" "$(cat "$T/err")"
check "switch: tracks the canonical name" test "$(json_get 0 ref)" = "os/local"
check "switch: its commit" test "$(json_get 0 commit)" = "$c_local"
n=$(n_deployments)
for bad in "$v1" "${v1:0:8}" "os/local^" "os/nosuch" "nosuch:os/main" "origin:os/nosuch" "bad name:x" ":os/main" "origin:../x"; do
	if admin switch --keys-dir "$KEYS" "$bad" >/dev/null 2>"$T/err"; then
		fail "switch '$bad' is refused" "it succeeded"
	else
		ok "switch '$bad' is refused: $(head -1 "$T/err")"
	fi
done
check "nothing deployed by the refused switches" test "$(n_deployments)" = "$n"
if admin deploy --keys-dir "$KEYS" origin:os/nosuch >/dev/null 2>"$T/err"; then
	fail "deploy of a ref the remote lacks is refused" "it succeeded"
else
	check "deploy of a ref the remote lacks names it" grep -q "os/nosuch" "$T/err"
fi
check "nothing deployed" test "$(n_deployments)" = "$n"
done_testing
