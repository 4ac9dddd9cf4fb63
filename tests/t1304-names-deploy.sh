#!/bin/bash
# SPDX-License-Identifier: MIT
# admin deploy takes its ref like verify and mount: by its canonical name
# (refs/heads/os/main deploys os/main, records "ref os/main" in the
# origin, keeps one anti-rollback record), and a full commit id is that
# commit even where a ref file of that name exists.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/admin-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
T=$TEST_TMP

new_sysroot debian
make_tree "$T/t1"
c1=$(commit_tree "$T/t1" os/main 1.0)
echo more >"$T/t1/usr/etc/more"
c2=$(commit_tree "$T/t1" os/main 2.0)

admin deploy --os debian --keys-dir "$KEYS" refs/heads/os/main >"$T/out"
d=$SYS/sealtree/deploy/debian/$c2.0
check "refs/heads/os/main deploys os/main" grep -q "^deployed debian/$c2.0" "$T/out"
check "the origin names the canonical ref" grep -qx "ref os/main" "$d/origin"
check "one record, under the canonical name" test -f "$REPO/state/accepted/os/main" -a ! -e "$REPO/state/accepted/refs"

# A ref file named like c1 that holds c2 (made behind sealtree's back).
# A commit given by id needs a signature (no ref, no policy rule).
"$SEALTREE" keygen -o "$T/k" >/dev/null
mkdir -p "$KEYS/trusted.d" && cp "$T/k.pub" "$KEYS/trusted.d/"
st sign "$c1" --key "$T/k" >/dev/null
echo "$c2" >"$REPO/refs/heads/$c1"
admin deploy --os debian --keys-dir "$KEYS" "$c1" >"$T/out"
check "a full id deploys that commit" grep -q "^deployed debian/$c1.0" "$T/out"
! grep -q "^ref " "$SYS/sealtree/deploy/debian/$c1.0/origin" && ok "and records no ref" ||
	fail "origin" "$(cat "$SYS/sealtree/deploy/debian/$c1.0/origin")"

done_testing
