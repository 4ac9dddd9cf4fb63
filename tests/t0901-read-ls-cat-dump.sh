#!/bin/bash
# SPDX-License-Identifier: MIT
# sealtree ls, cat and dump: exact ls lines for a handmade tree, ls -R of
# gentree trees against the source (python's view of it), cat of every file
# byte for byte (one `cat REF PATH...` per tree), the refusals of cat (directory, symlink, missing or corrupt
# object), and dump: equal to composefs-info dump of the commit's image and
# committed back with --dumpfile to the same image.
. "$(dirname "$0")/test-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
need_root # gentree trees hold devices and trusted.* xattrs
export LC_ALL=C TZ=UTC
R=$TEST_TMP/repo
st() { "$SEALTREE" --repo "$R" "$@"; }
# commit_tree REF DIR: commit, print the commit id.
commit_tree() { st commit -b "$1" -s "test" --tree "$2" | tail -n1; }

st init --verity=off >/dev/null || { fail "init" "sealtree init failed"; done_testing; exit; }

# ---- a handmade tree ---------------------------------------------------------
S=$TEST_TMP/src
mkdir -p "$S/dir/sub" "$S/odd"
printf 'hello\n' >"$S/small"
head -c 70000 /dev/urandom >"$S/big"
: >"$S/empty"
ln "$S/big" "$S/dir/big-link"
ln -s ../small "$S/dir/to-small"
mkfifo "$S/fifo"
mknod "$S/dir/null" c 1 3
mknod "$S/dir/loop7" b 7 7
printf 'x' >"$S/odd/with space"
printf 'y' >"$S/odd/back\\slash"
printf 'z' >"$S/odd/new"$'\n'"line"
chown 1000:2000 "$S/small"
chmod 4755 "$S/small"
chmod 2750 "$S/dir/sub"
chmod 1777 "$S/odd"
setfattr -n user.note -v hi "$S/small"
find "$S" -exec touch -h -d '2021-03-04 05:06:07.123456789' {} +
c1=$(commit_tree hand "$S")
[ ${#c1} = 64 ] && ok "commit of the handmade tree: $c1" || fail "commit" "got '$c1'"

ts=2021-03-04T05:06:07.123456789Z
cat >"$TEST_TMP/want-root" <<EOF2
-rw-r--r-- 2 0 0 70000 $ts big
drwxr-xr-x 3 0 0 SIZE $ts dir
-rw-r--r-- 1 0 0 0 $ts empty
prw-r--r-- 1 0 0 0 $ts fifo
drwxrwxrwt 2 0 0 SIZE $ts odd
-rwsr-xr-x 1 1000 2000 6 $ts small
EOF2
st ls hand | sed -E 's/^(d\S+ [0-9]+ [0-9]+ [0-9]+) [0-9]+/\1 SIZE/' >"$TEST_TMP/got-root"
check "ls REF: one exact line per entry" diff -u "$TEST_TMP/want-root" "$TEST_TMP/got-root"
st ls hand / | sed -E 's/^(d\S+ [0-9]+ [0-9]+ [0-9]+) [0-9]+/\1 SIZE/' >"$TEST_TMP/got-root2"
check "ls REF / is the same" diff -u "$TEST_TMP/want-root" "$TEST_TMP/got-root2"

cat >"$TEST_TMP/want-dir" <<EOF2
-rw-r--r-- 2 0 0 70000 $ts big-link
brw-r--r-- 1 0 0 7,7 $ts loop7
crw-r--r-- 1 0 0 1,3 $ts null
drwxr-s--- 2 0 0 SIZE $ts sub
lrwxrwxrwx 1 0 0 8 $ts to-small -> ../small
EOF2
st ls hand /dir | sed -E 's/^(d\S+ [0-9]+ [0-9]+ [0-9]+) [0-9]+/\1 SIZE/' >"$TEST_TMP/got-dir"
check "ls of a subdirectory: devices, symlink, setgid dir, hardlink" diff -u "$TEST_TMP/want-dir" "$TEST_TMP/got-dir"

cat >"$TEST_TMP/want-odd" <<EOF2
-rw-r--r-- 1 0 0 1 $ts back\\\\slash
-rw-r--r-- 1 0 0 1 $ts new\\x0aline
-rw-r--r-- 1 0 0 1 $ts with space
EOF2
st ls hand odd >"$TEST_TMP/got-odd"
check "ls escapes backslashes and control bytes, one line per entry" diff -u "$TEST_TMP/want-odd" "$TEST_TMP/got-odd"

[ "$(st ls hand /dir/to-small)" = "lrwxrwxrwx 1 0 0 8 $ts /dir/to-small -> ../small" ] &&
	ok "ls of a file lists that file under its path" || fail "ls file" "$(st ls hand /dir/to-small)"
st ls -d hand /dir | grep -qE "^drwxr-xr-x 3 0 0 [0-9]+ $ts /dir\$" && ok "ls -d lists the directory itself" ||
	fail "ls -d" "$(st ls -d hand /dir)"
st ls -R hand / | cut -d' ' -f7- >"$TEST_TMP/got-R"
cat >"$TEST_TMP/want-R" <<'EOF2'
/big
/dir
/dir/big-link
/dir/loop7
/dir/null
/dir/sub
/dir/to-small -> ../small
/empty
/fifo
/odd
/odd/back\\slash
/odd/new\x0aline
/odd/with space
/small
EOF2
check "ls -R: full paths, parents before children" diff -u "$TEST_TMP/want-R" "$TEST_TMP/got-R"

rc=0; st ls hand /nope 2>"$TEST_TMP/err" || rc=$?
[ $rc = 1 ] && grep -q "nope" "$TEST_TMP/err" && ok "ls of a missing path: exit 1 naming it" || fail "ls missing" "rc=$rc $(cat "$TEST_TMP/err")"
rc=0; st ls no-such-ref 2>"$TEST_TMP/err" || rc=$?
[ $rc = 1 ] && grep -q "no-such-ref" "$TEST_TMP/err" && ok "ls of a missing ref: exit 1 naming it" || fail "ls bad ref" "rc=$rc $(cat "$TEST_TMP/err")"
rc=0; st ls 2>/dev/null || rc=$?
[ $rc = 2 ] && ok "ls without arguments is a usage error" || fail "ls usage" "rc=$rc"

# ---- cat ---------------------------------------------------------------------
for f in small big empty dir/big-link "odd/with space" "odd/back\\slash"; do
	check "cat $f equals the source" cmp <(st cat hand "/$f") "$S/$f"
done
check "cat of several paths writes them one after the other" \
	cmp <(st cat hand /small /big "/odd/with space" /small) <(cat "$S/small" "$S/big" "$S/odd/with space" "$S/small")
rc=0; st cat hand /small /dir /big >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
[ $rc = 1 ] && grep -q "'/dir' is a directory" "$TEST_TMP/err" && cmp -s "$TEST_TMP/out" "$S/small" &&
	ok "cat of several paths stops at the first bad one, exit 1" || fail "cat stops" "rc=$rc $(cat "$TEST_TMP/err")"
check "cat by commit id" cmp <(st cat "$c1" small) "$S/small"
check "cat by commit id prefix" cmp <(st cat "${c1:0:12}" /big) "$S/big"
expect_fail() { # NAME REGEX CMD...
	local name=$1 re=$2 rc=0
	shift 2
	"$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
	if [ $rc = 1 ] && grep -qE "$re" "$TEST_TMP/err"; then ok "$name: $(cat "$TEST_TMP/err")"
	else fail "$name" "rc=$rc stderr: $(cat "$TEST_TMP/err")"; fi
}
expect_fail "cat of a directory" "'/dir' is a directory" st cat hand /dir
expect_fail "cat of a symlink" "symlink \(to '../small'\)" st cat hand /dir/to-small
expect_fail "cat of a fifo" "is a fifo" st cat hand /fifo
expect_fail "cat of a missing path" "missing" st cat hand /missing

obj=$("$BUILD_DIR/lib/verity/st-verity-digest" "$S/big" | cut -d' ' -f1 | sed 's/^sha256://')
objpath=objects/${obj:0:2}/${obj:2}
[ -f "$R/$objpath" ] || fail "object layout" "$R/$objpath is not there"
cp -a "$R" "$TEST_TMP/repo-bad"
printf 'X' | dd of="$TEST_TMP/repo-bad/$objpath" bs=1 seek=100 conv=notrunc status=none
expect_fail "cat of a corrupt object names it" "$objpath.*corrupt" "$SEALTREE" --repo "$TEST_TMP/repo-bad" cat hand /big
rm "$TEST_TMP/repo-bad/$objpath"
expect_fail "cat of a missing object names it" "${obj:2:20}" "$SEALTREE" --repo "$TEST_TMP/repo-bad" cat hand /big

# ---- dump --------------------------------------------------------------------
img=$(ls "$R/images")
[ "$(echo "$img" | wc -l)" = 1 ] || fail "one image" "$img"
st dump hand >"$TEST_TMP/hand.dump" && ok "dump" || fail "dump" "failed"
if [ -x "$COMPOSEFS_INFO" ]; then
	"$COMPOSEFS_INFO" dump "$R/images/$img" >"$TEST_TMP/info.dump"
	check "dump equals composefs-info dump of the commit's image" cmp "$TEST_TMP/hand.dump" "$TEST_TMP/info.dump"
fi
c2=$(st commit -b from-dump -s again --dumpfile "$TEST_TMP/hand.dump" | tail -n1)
[ ${#c2} = 64 ] && [ "$(ls "$R/images")" = "$img" ] && ok "dump -> commit --dumpfile: the same image digest" ||
	fail "dump round trip" "commit '$c2', images: $(ls "$R/images" | tr '\n' ' ')"
check "the dump of that commit is the same" cmp <(st dump from-dump) "$TEST_TMP/hand.dump"

# ---- gentree trees: ls -R against the source, cat of every file -------------
# Expected ls -R lines from the source tree, in our format (directory sizes
# are the image's, not the source filesystem's: masked).
expect_ls() {
	python3 - "$1" <<'PY'
import os, stat, sys, time
root = os.fsencode(sys.argv[1])
def esc(b):
    # sealtree(1), OUTPUT: valid UTF-8 as is, but controls (C0, DEL, C1),
    # bidi and line controls and invalid bytes as \xHH, a backslash as \\.
    out, i = [], 0
    while i < len(b):
        c = b[i]
        n = 1 if c < 0x80 else 2 if 0xc0 <= c < 0xe0 else 3 if 0xe0 <= c < 0xf0 else 4 if 0xf0 <= c < 0xf8 else 0
        try:
            ch = b[i:i + n].decode("utf-8") if n else None
        except UnicodeDecodeError:
            ch = None
        if ch is None or len(ch) != 1:
            out.append(b"\\x%02x" % c); i += 1; continue
        cp = ord(ch)
        if cp == 0x5c: out.append(b"\\\\")
        elif cp < 0x20 or 0x7f <= cp <= 0x9f or cp in (0x61c, 0x200e, 0x200f) or 0x2028 <= cp <= 0x202e or 0x2066 <= cp <= 0x2069:
            out.append(b"".join(b"\\x%02x" % x for x in b[i:i + n]))
        else: out.append(b[i:i + n])
        i += n
    return b"".join(out)
def walk(d, rel):
    for n in sorted(os.listdir(d)):
        p = os.path.join(d, n); r = rel + b"/" + n
        st = os.lstat(p)
        if stat.S_ISDIR(st.st_mode): size = "SIZE"
        elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode): size = "%d,%d" % (os.major(st.st_rdev), os.minor(st.st_rdev))
        else: size = str(st.st_size)
        t = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(st.st_mtime_ns // 10**9)) + ".%09dZ" % (st.st_mtime_ns % 10**9)
        line = ("%s %d %d %d %s %s " % (stat.filemode(st.st_mode), st.st_nlink, st.st_uid, st.st_gid, size, t)).encode() + esc(r)
        if stat.S_ISLNK(st.st_mode): line += b" -> " + esc(os.readlink(p))
        sys.stdout.buffer.write(line + b"\n")
        if stat.S_ISDIR(st.st_mode): walk(p, r)
walk(root, b"")
PY
}
for seed in ${GENTREE_SEEDS:-1 2 3}; do
	G=$TEST_TMP/g$seed
	gentree tree $seed "$G"
	commit_tree g$seed "$G" >/dev/null || { fail "gentree $seed: commit" "failed"; continue; }
	img=$(st show g$seed | awk '$1 == "image" {print $2}')
	if [ -x "$COMPOSEFS_INFO" ] && [ -f "$R/images/$img" ]; then
		check "gentree $seed: dump equals composefs-info dump of the image" \
			cmp <(st dump g$seed) <("$COMPOSEFS_INFO" dump "$R/images/$img")
		c=$(st commit -b g$seed-again -s again --dumpfile <(st dump g$seed) | tail -n1)
		[ "$(st show "$c" | awk '$1 == "image" {print $2}')" = "$img" ] &&
			ok "gentree $seed: dump -> commit --dumpfile: the same image digest" || fail "gentree $seed dump round trip" "$c"
	else
		fail "gentree $seed: image" "'$img' not found with sealtree show"
	fi
	expect_ls "$G" >"$TEST_TMP/want-g"
	st ls -R g$seed | sed -E 's/^(d\S+ [0-9]+ [0-9]+ [0-9]+) [0-9]+/\1 SIZE/' >"$TEST_TMP/got-g"
	check "gentree $seed: ls -R equals the source ($(wc -l <"$TEST_TMP/want-g") entries)" diff -u "$TEST_TMP/want-g" "$TEST_TMP/got-g"
	# cat of every regular file, all in one `cat REF PATH...` (one read of the
	# commit), against the source's files in the same order. The ls -R check
	# above has every size equal, so equal streams mean every file is equal.
	(cd "$G" && find . -type f -printf '/%P\0' | sort -z) >"$TEST_TMP/files"
	n=$(tr -cd '\0' <"$TEST_TMP/files" | wc -c)
	sed -z "s|^|$G|" "$TEST_TMP/files" | xargs -0 cat >"$TEST_TMP/want-cat"
	rc=0
	xargs -0 "$SEALTREE" --repo "$R" cat g$seed <"$TEST_TMP/files" >"$TEST_TMP/got-cat" 2>"$TEST_TMP/err" || rc=$?
	[ $rc = 0 ] && cmp -s "$TEST_TMP/want-cat" "$TEST_TMP/got-cat" || rc=1
	rm -f "$TEST_TMP/want-cat" "$TEST_TMP/got-cat"
	if [ $rc = 0 ]; then
		ok "gentree $seed: cat of all $n regular files equals the source"
	else
		# Name the files that differ, one cat each.
		bad=0
		while IFS= read -r -d '' f; do
			cmp -s <(st cat g$seed "$f") "$G$f" || { bad=$((bad + 1)); echo "# cat differs: $f" >&2; }
		done <"$TEST_TMP/files"
		fail "gentree $seed cat" "the $n files cat prints differ from the source ($bad one by one): $(head -c 300 "$TEST_TMP/err")"
	fi
	rm -rf "$G"
done

done_testing
