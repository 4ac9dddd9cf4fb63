#!/bin/bash
# SPDX-License-Identifier: MIT
# make demo keeps working: each part runs to the end and proves what it
# says (its PROVED lines), against this build.
. "$(dirname "$0")/test-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
[ "$(id -u)" = 0 ] || skip_all "the demo mounts: needs root"
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=$(cd "$(dirname "$SEALTREE")/../.." && pwd)
# part and the number of its proofs
for part in "demo.sh 4" "demo-repo.sh 7" "demo-host.sh 5"; do
	set -- $part
	want=$2
	rc=0
	bash "$SRC/demo/$1" "$BUILD_DIR" >"$TEST_TMP/out" 2>&1 || rc=$?
	n=$(grep -c PROVED "$TEST_TMP/out" || true)
	if [ $rc = 0 ] && [ "$n" = "$want" ]; then
		ok "demo/$1 ran to the end with $n proofs"
	else
		fail "demo/$1" "rc=$rc, $n proofs (want $want): $(tail -n 20 "$TEST_TMP/out")"
	fi
done
done_testing
