#!/bin/bash
# SPDX-License-Identifier: MIT
# admin verity-errors / admin status: the verity errors of the kernel log
# (a saved log through SEALTREE_KMSG, in /dev/kmsg's record form) are
# counted and mapped onto the booted image: an fs-verity inode to the object
# and its paths (hardlinks and duplicates too), an overlayfs object name to
# the same, the image's own inode, a file of another filesystem left
# unmapped; --record appends each error once per boot.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/admin-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
T=$TEST_TMP
new_sysroot debian
make_tree "$T/t"
head -c 9000 /dev/urandom >"$T/t/usr/bin/big"
cp "$T/t/usr/bin/big" "$T/t/usr/bin/big-copy"
ln "$T/t/usr/bin/big" "$T/t/usr/bin/big-link"
c1=$(commit_tree "$T/t" os/main 1)
admin deploy --os debian --keys-dir "$KEYS" os/main >/dev/null
id=$(admin status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["deployments"][0]["id"])')
image=$(st show --json "$c1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["image"])')
payload=$(st dump "$c1" | awk '$1 == "/usr/bin/big" { print $9 }')
kpayload=$(st dump "$c1" | awk '$1 == "/usr/lib/modules/6.1.0-test/vmlinuz" { print $9 }')
obj=${payload/\//}
check "the object's payload is known" test ${#obj} = 64
ino=$(stat -c %i "$REPO/objects/$payload")
img_ino=$(stat -c %i "$REPO/images/$image")
dev=$(stat -c '%Hd:%Ld' "$REPO/objects")
devname=$(sed -n 's/^DEVNAME=//p' "/sys/dev/block/$dev/uevent" 2>/dev/null)
devname=${devname:-vdz9}

# Without booted.json, status says nothing about verity errors.
check "not booted: no verity line" test -z "$(admin status | grep 'verity errors')"
echo "{\"os\": \"debian\", \"deployment\": \"$id\", \"commit\": \"$c1\", \"image\": \"$image\", \"root\": \"composefs\", \"verity\": true}" \
	>"$SEALTREE_RUN_DIR/booted.json"
export SEALTREE_KMSG=$T/kmsg
: >"$SEALTREE_KMSG"
check "booted, empty log: 0 errors" grep -qx "verity errors this boot: 0" <(admin status)
check "status: the count line is the first" test "$(admin status | head -n1)" = "verity errors this boot: 0"

H=5f1c9e0c8d4b1a2e3f405162738495a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c
cat >"$SEALTREE_KMSG" <<-EOK
	6,100,1000,-;EXT4-fs ($devname): mounted filesystem with ordered data mode
	3,101,2000,-;fs-verity ($devname, inode $ino): FILE CORRUPTED! pos=4096, level=-1, want_hash=sha256:$H, real_hash=sha256:$H
	 SUBSYSTEM=block
	garbage line
	4,102,3000,-;fsverity_msg: 4 callbacks suppressed
	4,103,4000,-;overlayfs: lower file '${kpayload#*/}' has the wrong fs-verity digest
	3,104,5000,-;fs-verity (othr9, inode $ino): FILE CORRUPTED! pos=0, level=-1, want_hash=sha256:$H, real_hash=sha256:$H
	3,105,6000,-;fs-verity ($devname, inode $img_ino): FILE CORRUPTED! pos=0, level=0, want_hash=sha256:$H, real_hash=sha256:$H
	4,106,7000,-;overlayfs: metacopy file 'hostname' has no digest specified
EOK
admin status >"$T/status"
check "status counts 5 errors and the suppressed ones" grep -qx "verity errors this boot: 5 (and 4 the kernel did not print), the last:" "$T/status"
check "status shows the last three" test "$(sed -n '2,4p' "$T/status" | grep -c '^  ')" = 3
admin verity-errors >"$T/all"
check "fs-verity inode mapped to the object and a path" grep -q "^  corrupted /usr/bin/big (object ${obj:0:16}, 2 more paths)$" "$T/all"
check "overlayfs object name mapped" grep -q "^  wrong-digest /usr/lib/modules/6.1.0-test/vmlinuz (object " "$T/all"
check "another filesystem: not mapped" grep -q "^  corrupted inode $ino on othr9 (not in the booted image)$" "$T/all"
check "the image's own inode" grep -q "^  corrupted the booted image (image ${image:0:16})$" "$T/all"
admin verity-errors --json >"$T/json"
python3 - "$T/json" "$obj" "$image" <<-'EOP' && ok "--json: objects, paths, kinds" || fail "--json: objects, paths, kinds" "$(cat "$T/json")"
	import json, sys
	d = json.load(open(sys.argv[1]))
	assert d["count"] == 5 and d["suppressed"] == 4 and d["booted"], d
	e = d["errors"]
	assert [x["kind"] for x in e] == ["corrupted", "wrong-digest", "corrupted", "corrupted", "image-no-digest"], e
	assert e[0]["object"] == sys.argv[2] and sorted(e[0]["paths"]) == ["/usr/bin/big", "/usr/bin/big-copy", "/usr/bin/big-link"], e[0]
	assert e[0]["paths-total"] == 3 and e[0]["seq"] == 101 and e[0]["usec"] == 2000
	assert e[2]["object"] is None and e[2]["paths"] == []
	assert e[3]["image"] == sys.argv[3]
	assert e[4]["name"] == "hostname" and e[4]["paths"] == ["/usr/etc/hostname"], e[4]
EOP
admin status --json | python3 -c 'import json,sys; v=json.load(sys.stdin)["verity-errors"]; assert v["count"] == 5 and len(v["last"]) == 3, v' &&
	ok "status --json carries the count and the last three" || fail "status --json carries the count and the last three"

# --record: each error once per boot.
LOG=$T/var/verity-errors.log
check "record" grep -q "^recorded 5 verity errors in $LOG" <(admin verity-errors --record --log "$LOG")
check "5 lines recorded" test "$(wc -l <"$LOG")" = 5
check "record again: nothing new" grep -q "^recorded 0 verity errors" <(admin verity-errors --record --log "$LOG")
echo "3,107,8000,-;fs-verity ($devname, inode $ino): FILE CORRUPTED! pos=8192, level=-1, want_hash=sha256:$H, real_hash=sha256:$H" >>"$SEALTREE_KMSG"
check "record a new one" grep -q "^recorded 1 verity error in" <(admin verity-errors --record --log "$LOG")
check "6 lines recorded" test "$(wc -l <"$LOG")" = 6
python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]; l=json.loads(open(sys.argv[1]).readlines()[-1]); assert l["seq"] == 107 and "boot-id" in l' "$LOG" &&
	ok "the log is JSON lines with the boot id" || fail "the log is JSON lines with the boot id" "$(cat "$LOG")"
check "unit records at start and stop" test "$(grep -c '^Exec.*=/usr/bin/sealtree admin verity-errors --record$' "$SOURCE_DIR/data/systemd/sealtree-verity-errors.service")" = 2

# The booted image itself corrupted (its fs-verity error above): the errors
# are still listed, the image's own by inode, the objects' unmapped.
printf 'X' | dd of="$REPO/images/$image" bs=1 seek=300 conv=notrunc 2>/dev/null
admin verity-errors >"$T/all2" 2>&1
check "corrupted image: the image's error still mapped" grep -q "^  corrupted the booted image (image ${image:0:16})$" "$T/all2"
check "corrupted image: object errors listed unmapped" grep -q "^  corrupted inode $ino on $devname (not in the booted image)$" "$T/all2"

# A log that cannot be read: status says unknown, does not fail.
export SEALTREE_KMSG=$T/missing
check "unreadable log: unknown" grep -q "^verity errors this boot: unknown (" <(admin status)
if admin verity-errors 2>/dev/null; then fail "verity-errors fails without a log"; else ok "verity-errors fails without a log"; fi
done_testing
