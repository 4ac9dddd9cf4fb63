#!/bin/bash
# SPDX-License-Identifier: MIT
# `summary --packs` killed with -9 at each step of its publishing (strace
# delivers SIGKILL at the Nth rename or unlink: before each pack's body and
# index, the summary, and each removal), and at a few instants while it
# writes packs: after each kill what is published still serves, a client
# with nothing and a client at the old commit both pull (the old commit or
# the new one) with no warning, so the summary never names a pack that is
# gone nor one half written; the next complete run leaves exactly the new
# commit's two packs, no stale mark.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/remote-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"

mkdir -p "$T/tree"
for i in $(seq 1 24); do head -c 100000 /dev/urandom >"$T/tree/f$i"; done
S init --verity=off >/dev/null
v1=$(S commit -b main --tree "$T/tree")
S summary --packs >/dev/null
C init --verity=off >/dev/null
C remote add origin "file://$srv" --no-sign-verify
C pull origin >/dev/null 2>"$T/err" || fail "v1" "$(cat "$T/err")"
cp -a "$cl" "$T/at-v1"
for i in $(seq 1 8); do head -c 100000 /dev/urandom >"$T/tree/f$i"; done
v2=$(S commit -b main --tree "$T/tree")

# pulls_clean NAME: a client with nothing and a client at v1 each pull what is published: v1 or v2, no warning.
pulls_clean() {
	local c ref
	for c in empty at-v1; do
		rm -rf "$T/c"
		if [ $c = empty ]; then
			"$SEALTREE" --repo "$T/c" init --verity=off >/dev/null &&
				"$SEALTREE" --repo "$T/c" remote add origin "file://$srv" --no-sign-verify
		else
			cp -a "$T/at-v1" "$T/c"
		fi
		if ! "$SEALTREE" --repo "$T/c" pull origin >"$T/out" 2>"$T/err" || grep -q . "$T/err"; then
			echo "$c: $(cat "$T/err")"
			return 1
		fi
		ref=$("$SEALTREE" --repo "$T/c" refs --all | awk '$2 == "refs/remotes/origin/main" { print $1 }')
		[ "$ref" = "$v1" ] || [ "$ref" = "$v2" ] || { echo "$c: ref $ref"; return 1; }
	done
}

# killed_at WHAT CMD...: run summary --packs under CMD (it is killed), then check what is published.
kills=0 bad=0 stale_seen=0
killed_at() {
	local what=$1 rc=0 why
	shift
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 "$@" "$SEALTREE" --repo "$srv" summary --packs >/dev/null 2>&1 || rc=$?
	[ $rc = 0 ] && return 1     # not killed: past the last step
	kills=$((kills + 1))
	[ -n "$(find "$srv/packs" -name '*.stale')" ] && stale_seen=$((stale_seen + 1))
	why=$(pulls_clean) || { bad=1; fail "killed $what" "$why"; }
	S summary >/dev/null        # as a publisher would: a summary of what is there
	why=$(pulls_clean) || { bad=1; fail "killed $what, then a summary" "$why"; }
	# Back to v1's state for the next kill: v2's packs gone, v1's full pack there.
	S ref main "$v1" && S summary --packs >/dev/null && S ref main "$v2"
	return 0
}
steps=0
if strace -f -o /dev/null true 2>/dev/null; then
	for call in renameat unlinkat; do
		for n in $(seq 1 8); do
			killed_at "at $call #$n" strace -f -o /dev/null -e trace=$call -e inject=$call:signal=SIGKILL:when=$n || break
			steps=$((steps + 1))
		done
	done
	[ $steps -ge 8 ] && ok "killed at each of $steps renames and unlinks of summary --packs" || fail "steps" "$steps"
else
	echo "# strace cannot trace here: only the kills at instants below"
fi
for d in 0.01 0.02 0.04; do
	"$SEALTREE" --repo "$srv" summary --packs >/dev/null 2>&1 &
	pid=$!
	sleep "$d"
	kill -9 $pid 2>/dev/null || true
	wait $pid 2>/dev/null || true
	kills=$((kills + 1))
	why=$(pulls_clean) || { bad=1; fail "after a kill at $d s" "$why"; }
	S summary >/dev/null
	S ref main "$v1" && S summary --packs >/dev/null && S ref main "$v2"
done
[ $bad = 0 ] && ok "after each of $kills kills ($stale_seen with a pack marked stale) what was published served both clients, no warning" ||
	fail "kills" "$kills kills"
S summary --packs >"$T/sum" && grep -q "^pack $v2 - " "$srv/summary" && grep -q "^pack $v2 $v1 " "$srv/summary" &&
	! grep -q "^pack $v1 " "$srv/summary" && [ -z "$(find "$srv/packs" -name '*.stale')" ] &&
	[ "$(find "$srv/packs" -name '*.index' | wc -l)" = 2 ] && pulls_clean >/dev/null &&
	ok "a complete run: v2's two packs, v1's removed, no stale mark" || fail "complete" "$(cat "$T/sum"; ls "$srv/packs")"

done_testing
