#!/bin/bash
# SPDX-License-Identifier: MIT
# kill -9 at random instants of admin deploy, cleanup, rollback and
# finalize-staged (20 each)
# on a loop-mounted ext4 sysroot: after every kill the entries name only
# whole deployments (etc/, origin, pin, boot files with the commit's bytes),
# the default is the old or the new one, the previous default's /etc is
# untouched, status shows nothing broken, the next command removes every
# leftover, and the repository's fsck is clean.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/admin-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
need_root
command -v mkfs.ext4 >/dev/null || skip_all "needs mkfs.ext4"
T=$TEST_TMP
ROUNDS=${ADMIN_CRASH_ROUNDS:-20}
mnt=$T/mnt
mkdir -p "$mnt"
truncate -s 400M "$T/fs.img"
mkfs.ext4 -q -F "$T/fs.img"
mount -o loop "$T/fs.img" "$mnt" || skip_all "cannot loop-mount an ext4 image here"
cleanup_mnt() { umount -l "$mnt" 2>/dev/null; rm -rf "$TEST_TMP"; }
trap cleanup_mnt EXIT
SYS=$mnt/sys
REPO=$SYS/sealtree/repo
CHECK=$(dirname "$0")/admin-check.py
new_sysroot debian

# Three commits with different kernels, so boot files are new on each switch.
make_tree "$T/a" && ca=$(commit_tree "$T/a" os/a 1)
make_tree "$T/b" && echo b >"$T/b/usr/etc/b-only" && cb=$(commit_tree "$T/b" os/b 2)
make_tree "$T/c" 6.3.0-c && for i in $(seq 200); do echo "$i" >"$T/c/usr/etc/f$i"; done && cc=$(commit_tree "$T/c" os/c 3)
admin deploy --os debian --keys-dir "$KEYS" os/a >/dev/null
echo "local" >"$SYS/sealtree/deploy/debian/$ca.0/etc/local"

default_id() { admin status --json | python3 -c 'import json,sys; d=json.load(sys.stdin)["deployments"]; print(d[0]["id"] if d else "")'; }
etc_sum() { (cd "$1" && find . -printf '%p %m %u %y %l\n' | sort && find . -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum; }
# duration_ms CMD...: how long one uninterrupted run takes (ms), at least 20.
duration_ms() {
	local s e
	s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N)
	echo $(( (e - s) / 1000000 > 20 ? (e - s) / 1000000 : 20 ))
}

killed=0
# crash_round NAME CMD...: run CMD, kill -9 it at a random instant, check.
crash_round() {
	local name=$1 old_default old_dir old_sum new_default delay pid problems
	shift
	old_default=$(default_id)
	old_dir=$SYS/sealtree/deploy/debian/$old_default
	old_sum=$(etc_sum "$old_dir/etc")
	delay=$((RANDOM % (MAX_MS + 1)))
	# The binary itself in the background, not the admin() shell function:
	# kill -9 of a subshell would leave sealtree running while we check.
	if [ "$1" = admin ]; then shift; set -- "$SEALTREE" admin --sysroot "$SYS" "$@"; fi
	"$@" >/dev/null 2>&1 &
	pid=$!
	sleep "$(printf '0.%03d' "$delay")"
	kill -9 "$pid" 2>/dev/null && killed=$((killed + 1))
	wait "$pid" 2>/dev/null || true
	problems=$(python3 "$CHECK" "$SEALTREE" "$SYS") || { fail "$name: entries whole after kill at ${delay}ms" "$problems"; return; }
	new_default=$(default_id)
	if [ -d "$old_dir" ] && [ "$(etc_sum "$old_dir/etc")" != "$old_sum" ]; then
		fail "$name: previous default's /etc whole (kill at ${delay}ms)"; return
	fi
	if admin status | grep -q BROKEN; then fail "$name: status clean (kill at ${delay}ms)"; admin status; return; fi
	# The next command recovers: no leftovers afterwards.
	admin kargs --append "probe=$RANDOM" >/dev/null 2>&1 && admin kargs --delete probe >/dev/null 2>&1
	problems=$(python3 "$CHECK" "$SEALTREE" "$SYS" --clean) || { fail "$name: leftovers removed by the next command" "$problems"; return; }
	ok "$name (kill at ${delay}ms, default $old_default -> $new_default)"
}

# deploy
MAX_MS=$(duration_ms admin deploy --keys-dir "$KEYS" os/c)
echo "# deploy takes ~${MAX_MS}ms"
for i in $(seq "$ROUNDS"); do
	refs=(os/a os/b os/c)
	crash_round "deploy $i" admin deploy --keys-dir "$KEYS" "${refs[$((i % 3))]}"
	[ $((i % 5)) = 0 ] && admin cleanup --no-gc >/dev/null
done

# cleanup (each round first adds deployments to remove)
admin deploy --keys-dir "$KEYS" os/b >/dev/null && admin deploy --keys-dir "$KEYS" os/c >/dev/null
MAX_MS=$(duration_ms admin cleanup)
echo "# cleanup takes ~${MAX_MS}ms"
for i in $(seq "$ROUNDS"); do
	admin deploy --keys-dir "$KEYS" os/a >/dev/null && admin deploy --keys-dir "$KEYS" os/c >/dev/null &&
		admin deploy --keys-dir "$KEYS" os/b >/dev/null
	crash_round "cleanup $i" admin cleanup
done

# rollback
MAX_MS=$(duration_ms admin rollback)
echo "# rollback takes ~${MAX_MS}ms"
for i in $(seq "$ROUNDS"); do
	crash_round "rollback $i" admin rollback
done
# finalize-staged (each round stages first, with a local /etc change after staging)
admin deploy --keys-dir "$KEYS" --stage os/b >/dev/null
MAX_MS=$(duration_ms admin finalize-staged)
echo "# finalize-staged takes ~${MAX_MS}ms"
for i in $(seq "$ROUNDS"); do
	refs=(os/a os/b os/c)
	admin deploy --keys-dir "$KEYS" --stage "${refs[$((i % 3))]}" >/dev/null
	echo "$i" >"$SYS/sealtree/deploy/debian/$(default_id)/etc/after-stage"
	crash_round "finalize-staged $i" admin finalize-staged
	# Whether killed or not, a finalize-staged afterwards completes the switch.
	admin finalize-staged >/dev/null 2>"$T/err" || fail "finalize-staged $i: rerun completes" "$(cat "$T/err")"
	[ $((i % 5)) = 0 ] && admin cleanup --no-gc >/dev/null
done
echo "# $killed of $((4 * ROUNDS)) runs were killed before they finished"
admin cleanup >/dev/null
st fsck >"$T/fsck" 2>&1 && ok "fsck clean" || fail "fsck clean" "$(cat "$T/fsck")"
python3 "$CHECK" "$SEALTREE" "$SYS" --clean >"$T/check" && ok "final sysroot whole" || fail "final sysroot whole" "$(cat "$T/check")"
done_testing
