#!/bin/bash
# SPDX-License-Identifier: MIT
# sealtree commit --tar with hostile or broken archives: '..' names,
# absolute names, hardlinks that escape or point at nothing, duplicate
# members, a member replacing a directory, a path through a symlink,
# truncated data (plain and gzip), lying sizes. Each must fail (exit 1) with
# a message naming the member and leave the repository as it was: the same
# refs, commits and images; objects written before the failure are complete
# and unreferenced, and fsck finds nothing wrong. A good commit works after.
. "$(dirname "$0")/test-lib.sh"

DIGEST=$BUILD_DIR/lib/verity/st-verity-digest
[ -x "$SEALTREE" ] || skip_all "sealtree not built"
export LC_ALL=C
unset SOURCE_DATE_EPOCH
repo=$TEST_TMP/repo
st() { "$SEALTREE" --repo "$repo" "$@"; }

st init --verity=off >/dev/null || { fail "init" ""; done_testing; exit; }
mkdir -p "$TEST_TMP/good"
printf 'a good file of more than sixty-four bytes, so it is an object .....\n' >"$TEST_TMP/good/f"
st commit -b main --tree "$TEST_TMP/good" --timestamp 1 >/dev/null || fail "first commit" ""

# Every bad archive starts with a 100 kB file, so that one object is written before the failure.
python3 - "$TEST_TMP" <<'EOF'
import io, os, sys, tarfile
out = sys.argv[1]
big = os.urandom(100000)

def make(name, members, fmt=tarfile.PAX_FORMAT):
    t = tarfile.open(os.path.join(out, name + ".tar"), "w", format=fmt)
    i = tarfile.TarInfo("first-big"); i.size = len(big); t.addfile(i, io.BytesIO(big))
    for m in members:
        i = tarfile.TarInfo(m["name"])
        data = m.get("data", b"")
        i.type = m.get("type", tarfile.REGTYPE)
        i.linkname = m.get("link", "")
        i.size = len(data) if i.type == tarfile.REGTYPE else 0
        t.addfile(i, io.BytesIO(data))
    t.close()

make("dotdot", [{"name": "a/../../escape", "data": b"x"}])
make("absolute", [{"name": "/etc/cron.d/evil", "data": b"x"}])
make("link-escape", [{"name": "passwd", "type": tarfile.LNKTYPE, "link": "../../etc/passwd"}])
make("link-absolute", [{"name": "shadow", "type": tarfile.LNKTYPE, "link": "/etc/shadow"}])
make("link-unknown", [{"name": "l", "type": tarfile.LNKTYPE, "link": "later"}, {"name": "later", "data": b"x"}])
make("duplicate", [{"name": "dup", "data": b"1"}, {"name": "./dup", "data": b"2"}])
make("replace-dir", [{"name": "d/inner", "data": b"1"}, {"name": "d", "data": b"2"}])
make("through-symlink", [{"name": "s", "type": tarfile.SYMTYPE, "link": "/etc"}, {"name": "s/passwd", "data": b"x"}])

# Truncated inside the data of a member.
data = os.urandom(50000)
buf = io.BytesIO()
t = tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT)
i = tarfile.TarInfo("first-big"); i.size = len(big); t.addfile(i, io.BytesIO(big))
i = tarfile.TarInfo("cut-here"); i.size = len(data); t.addfile(i, io.BytesIO(data))
t.close()
raw = buf.getvalue()
cut = 512 + ((len(big) + 511) // 512) * 512 + 512 + 20000
open(os.path.join(out, "truncated.tar"), "wb").write(raw[:cut])
import gzip
open(os.path.join(out, "truncated-gz.tar"), "wb").write(gzip.compress(raw)[:-4000])

def patch_size(raw, off, size):
    h = bytearray(raw[off:off + 512])
    h[124:136] = b"%011o\0" % size
    h[148:156] = b" " * 8
    h[148:156] = b"%06o\0 " % sum(h)
    return raw[:off] + bytes(h) + raw[off + 512:]

second = 512 + ((len(big) + 511) // 512) * 512
open(os.path.join(out, "size-too-big.tar"), "wb").write(patch_size(raw, second, 10 ** 7))
open(os.path.join(out, "size-too-small.tar"), "wb").write(patch_size(raw, second, 20000))
EOF

# The state a failed commit must not change: refs (names and contents), commits, images.
state() {
	(cd "$repo" && find refs commits images -type f | sort && cat refs/heads/*)
}
state >"$TEST_TMP/state0"

while read -r name member why; do
	f=$TEST_TMP/$name.tar
	st commit -b main --tar "$f" >"$TEST_TMP/out" 2>"$TEST_TMP/err" && rc=0 || rc=$?
	if [ $rc != 1 ]; then
		fail "$name" "exit $rc: $(cat "$TEST_TMP/err")"
	elif ! grep -qF "'$member'" "$TEST_TMP/err" || ! grep -qi -- "$why" "$TEST_TMP/err"; then
		fail "$name" "message lacks '$member' / '$why': $(cat "$TEST_TMP/err")"
	elif [ -s "$TEST_TMP/out" ]; then
		fail "$name" "printed a commit id"
	else
		ok "$name: refused, '$member' named ($(sed 's/^sealtree: //' "$TEST_TMP/err" | head -c 140))"
	fi
	state >"$TEST_TMP/state1"
	cmp -s "$TEST_TMP/state0" "$TEST_TMP/state1" && ok "$name: refs, commits and images unchanged" ||
		fail "$name" "repository changed: $(diff "$TEST_TMP/state0" "$TEST_TMP/state1" | head -n 5)"
done <<'EOF'
dotdot a/../../escape ..
absolute /etc/cron.d/evil absolute
link-escape passwd ..
link-absolute shadow absolute
link-unknown l no earlier member
duplicate ./dup duplicate
replace-dir d replaces a directory
through-symlink s/passwd not a directory
truncated cut-here truncated
truncated-gz cut-here gzip stream
size-too-big cut-here cut short
size-too-small cut-here size
EOF

# What was written before the failures: complete objects only, named by their digest.
bad=0
while read -r obj; do
	rel=${obj#"$repo/objects/"}
	d=$("$DIGEST" "$obj" | cut -d' ' -f1)
	[ "$d" = "sha256:${rel%%/*}${rel#*/}" ] || { bad=1; echo "# $rel: digest $d" >&2; }
done < <(find "$repo/objects" -type f)
[ $bad = 0 ] && ok "every object is complete and named by its digest" || fail "objects" "partial or misnamed"
[ -z "$(find "$repo/objects" "$repo/tmp" -name '.*' ! -name . | head -n1)" ] && ok "no temporary files left" ||
	fail "temporaries" "$(find "$repo/objects" "$repo/tmp" -name '.*' ! -name .)"
st fsck -q >"$TEST_TMP/fsck" 2>&1 && ok "fsck is clean" || fail "fsck" "$(cat "$TEST_TMP/fsck")"

id=$(st commit -b main --tree "$TEST_TMP/good" --timestamp 2 -s after) && [ -n "$id" ] &&
	ok "a good commit works after all that" || fail "good commit" ""
if st gc --help >/dev/null 2>&1; then
	n0=$(find "$repo/objects" -type f | wc -l)
	st gc >/dev/null 2>&1
	n1=$(find "$repo/objects" -type f | wc -l)
	# Only the good file's object is referenced; which of the failed imports'
	# objects were published depends on the writer threads' timing.
	[ "$n1" = 1 ] && ok "gc leaves only the referenced object ($n0 -> $n1)" ||
		fail "gc" "$n0 -> $n1 objects"
fi

done_testing
