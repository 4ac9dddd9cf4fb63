#!/bin/bash
# SPDX-License-Identifier: MIT
# The entry switch on a vfat /boot (an ESP), killed with -9 at random
# instants of deploy and rollback: with RENAME_EXCHANGE (vfat has it since
# Linux 6.0) and with the in-place fallback for filesystems without it
# (forced by SEALTREE_NO_RENAME_EXCHANGE=1). After every kill the entries
# name only whole deployments with their boot files, the default is the
# old or the new one and nothing else, status is clean, and the next
# command removes every leftover. A kernel without vfat (as on the build
# machine) runs the fallback on a small ext4 /boot instead, and says so.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/admin-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
need_root
T=$TEST_TMP
ROUNDS=${ADMIN_CRASH_ROUNDS:-10}
"$SEALTREE" admin init-fs --verity=off "$SYS" >/dev/null
truncate -s 64M "$T/esp.img"
grep -qw vfat /proc/filesystems || modprobe vfat 2>/dev/null || true
if command -v mkfs.vfat >/dev/null && grep -qw vfat /proc/filesystems; then
	mkfs.vfat -n ESP "$T/esp.img" >/dev/null
	MODES="exchange fallback"
	echo "# /boot is vfat"
else
	command -v mkfs.ext4 >/dev/null || skip_all "needs mkfs.vfat or mkfs.ext4"
	echo "# NOTE: no vfat in this kernel (or no mkfs.vfat): /boot is a small ext4, only the fallback is tested"
	echo "# NOTE: (the RENAME_EXCHANGE switch on ext4 is t2005's)"
	mkfs.ext4 -q -F "$T/esp.img"
	MODES="fallback"
fi
mount -o loop "$T/esp.img" "$SYS/boot" || skip_all "cannot loop-mount a filesystem image here"
cleanup_mnt() { umount -l "$SYS/boot" 2>/dev/null; rm -rf "$TEST_TMP"; }
trap cleanup_mnt EXIT
mkdir -p "$SYS/boot/loader/entries" "$SYS/boot/sealtree"
admin os-init debian >/dev/null
CHECK=$(dirname "$0")/admin-check.py
ENTRIES=$SYS/boot/loader/entries
# A foreign entry, left alone by every switch.
printf 'title Other OS\nlinux /other/vmlinuz\n' >"$ENTRIES/other.conf"

make_tree "$T/a" && ca=$(commit_tree "$T/a" os/a 1)
make_tree "$T/b" && cb=$(commit_tree "$T/b" os/b 2)
make_tree "$T/c" 6.3.0-c && cc=$(commit_tree "$T/c" os/c 3)
admin deploy --os debian --keys-dir "$KEYS" os/a >/dev/null
admin deploy --keys-dir "$KEYS" os/b >/dev/null

default_id() { admin status --json | python3 -c 'import json,sys; d=json.load(sys.stdin)["deployments"]; print(d[0]["id"] if d else "")'; }
duration_ms() {
	local s e
	s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N)
	echo $(( (e - s) / 1000000 > 20 ? (e - s) / 1000000 : 20 ))
}

killed=0
# crash_round NAME NEW_DEFAULT_PREFIX CMD...: kill -9 CMD at a random instant, check.
crash_round() {
	local name=$1 want=$2 old_default new_default delay pid problems
	shift 2
	old_default=$(default_id)
	delay=$((RANDOM % (MAX_MS + 1)))
	"$SEALTREE" admin --sysroot "$SYS" "$@" >/dev/null 2>&1 &
	pid=$!
	sleep "$(printf '0.%03d' "$delay")"
	kill -9 "$pid" 2>/dev/null && killed=$((killed + 1))
	wait "$pid" 2>/dev/null || true
	problems=$(python3 "$CHECK" "$SEALTREE" "$SYS") || { fail "$name: entries whole after kill at ${delay}ms" "$problems"; return; }
	new_default=$(default_id)
	if [ "$new_default" != "$old_default" ] && [[ "$new_default" != $want ]]; then
		fail "$name: default is the old or the new one (kill at ${delay}ms)" "$old_default -> $new_default"; return
	fi
	if admin status | grep -q BROKEN; then fail "$name: status clean (kill at ${delay}ms)"; return; fi
	[ -f "$ENTRIES/other.conf" ] || { fail "$name: the foreign entry is kept"; return; }
	admin kargs --append "probe=$RANDOM" >/dev/null 2>&1 && admin kargs --delete probe >/dev/null 2>&1
	problems=$(python3 "$CHECK" "$SEALTREE" "$SYS" --clean) || { fail "$name: leftovers removed by the next command" "$problems"; return; }
	ok "$name (kill at ${delay}ms, default $old_default -> $new_default)"
}

for mode in $MODES; do
	if [ $mode = fallback ]; then export SEALTREE_NO_RENAME_EXCHANGE=1; else unset SEALTREE_NO_RENAME_EXCHANGE; fi
	MAX_MS=$(duration_ms admin deploy --keys-dir "$KEYS" os/c)
	echo "# $mode: deploy takes ~${MAX_MS}ms"
	for i in $(seq "$ROUNDS"); do
		refs=(os/a os/b os/c) ids=("$ca" "$cb" "$cc")
		crash_round "$mode: deploy $i" "${ids[$((i % 3))]}.*" deploy --keys-dir "$KEYS" "${refs[$((i % 3))]}"
		[ $((i % 4)) = 0 ] && admin cleanup --no-gc >/dev/null
	done
	MAX_MS=$(duration_ms admin rollback)
	echo "# $mode: rollback takes ~${MAX_MS}ms"
	for i in $(seq "$ROUNDS"); do
		# The rollback target: the second deployment in boot order.
		second=$(admin status --json | python3 -c 'import json,sys; d=json.load(sys.stdin)["deployments"]; print(d[1]["id"] if len(d) > 1 else "")')
		crash_round "$mode: rollback $i" "$second" rollback
	done
	# Without a kill: the switch works and the order is what the command said.
	ino=$(stat -c %i "$ENTRIES")
	admin deploy --keys-dir "$KEYS" os/a >/dev/null 2>"$T/err" || fail "$mode: deploy" "$(cat "$T/err")"
	if [ $mode = fallback ]; then
		# In place: entries/ itself is never renamed, so a loader never finds it missing.
		check "$mode: entries/ is the same directory" test "$(stat -c %i "$ENTRIES")" = "$ino"
	fi
	check "$mode: the deployed commit is the default" test "$(admin status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["deployments"][0]["commit"])')" = "$ca"
	d0=$(default_id)
	admin rollback >/dev/null 2>"$T/err" || fail "$mode: rollback" "$(cat "$T/err")"
	admin rollback >/dev/null 2>"$T/err" || fail "$mode: rollback back" "$(cat "$T/err")"
	check "$mode: two rollbacks give the default back" test "$(default_id)" = "$d0"
done
echo "# $killed of $((2 * ROUNDS * $(echo $MODES | wc -w))) runs were killed before they finished"
check "the foreign entry is byte for byte as written" test "$(cat "$ENTRIES/other.conf")" = "$(printf 'title Other OS\nlinux /other/vmlinuz')"
admin cleanup >/dev/null
st fsck >"$T/fsck" 2>&1 && ok "fsck clean" || fail "fsck clean" "$(cat "$T/fsck")"
python3 "$CHECK" "$SEALTREE" "$SYS" --clean >"$T/check" && ok "final sysroot whole" || fail "final sysroot whole" "$(cat "$T/check")"
done_testing
