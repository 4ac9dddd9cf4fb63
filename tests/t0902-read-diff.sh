#!/bin/bash
# SPDX-License-Identifier: MIT
# sealtree diff: a known set of changes between two commits (add, remove,
# content, chmod, chown, xattr, symlink retarget, file->dir, dir->file,
# mtime, hardlink) gives exactly the expected lines, in order, and the
# mirror image reversed; --stat counts and bytes; --ignore-mtime and
# --no-recurse; identical trees give nothing.
. "$(dirname "$0")/test-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
need_root # chown and trusted.* xattrs
export LC_ALL=C
R=$TEST_TMP/repo
st() { "$SEALTREE" --repo "$R" "$@"; }
commit_tree() { st commit -b "$1" -s "test" --tree "$2" | tail -n1; }
st init --verity=off >/dev/null || { fail "init" "sealtree init failed"; done_testing; exit; }

S=$TEST_TMP/src
mkdir -p "$S/etc/conf.d" "$S/usr/bin" "$S/var/old/deep" "$S/data"
printf 'root:x:0:0\n' >"$S/etc/passwd"
head -c 10000 /dev/urandom >"$S/usr/bin/tool"
head -c 5000 /dev/urandom >"$S/usr/bin/gone"
echo a >"$S/var/old/deep/a"
echo b >"$S/var/old/b"
echo keep >"$S/etc/conf.d/keep"
echo m >"$S/etc/mode"
echo o >"$S/etc/owner"
echo x >"$S/etc/xattr"
setfattr -n user.k -v 1 "$S/etc/xattr"
ln -s passwd "$S/etc/link"
echo file >"$S/data/becomes-dir"
mkdir "$S/data/becomes-file"
echo inner >"$S/data/becomes-file/inner"
echo t >"$S/etc/touched"
head -c 3000 /dev/urandom >"$S/data/shared"
cp "$S/data/shared" "$S/data/copy"
find "$S" -exec touch -h -d '2020-01-01 00:00:00' {} +
a=$(commit_tree base "$S")

# The changes.
echo added >"$S/etc/added"
mkdir "$S/new-dir" && echo n >"$S/new-dir/n"
rm "$S/usr/bin/gone"
rm -r "$S/var/old"
head -c 12000 /dev/urandom >"$S/usr/bin/tool"
chmod 4755 "$S/etc/mode"
chown 123:456 "$S/etc/owner"
setfattr -n user.k -v 2 "$S/etc/xattr"
setfattr -n trusted.t -v t "$S/etc/xattr"
ln -sfn group "$S/etc/link"
rm "$S/data/becomes-dir" && mkdir "$S/data/becomes-dir" && echo c >"$S/data/becomes-dir/child"
rm -r "$S/data/becomes-file" && echo now-a-file >"$S/data/becomes-file"
rm "$S/data/copy" && ln "$S/data/shared" "$S/data/copy"   # same bytes, now a hardlink: no change
find "$S" -exec touch -h -d '2020-01-01 00:00:00' {} +
touch -d '2022-02-02 02:02:02.5' "$S/etc/touched"
b=$(commit_tree changed "$S")

cat >"$TEST_TMP/want" <<'EOF2'
T file->dir /data/becomes-dir
A file /data/becomes-dir/child
T dir->file /data/becomes-file
D file /data/becomes-file/inner
A file /etc/added
P target /etc/link
P mode /etc/mode
P owner /etc/owner
P mtime /etc/touched
P xattrs /etc/xattr
A dir /new-dir
A file /new-dir/n
D file /usr/bin/gone
M content /usr/bin/tool
D dir /var/old
D file /var/old/b
D dir /var/old/deep
D file /var/old/deep/a
EOF2
st diff base changed >"$TEST_TMP/got" 2>"$TEST_TMP/err" || fail "diff" "$(cat "$TEST_TMP/err")"
check "diff A B: every kind of change, one line each, sorted" diff -u "$TEST_TMP/want" "$TEST_TMP/got"

sed -e 's/^A /X /; s/^D /A /; s/^X /D /' -e 's/^T file->dir/T X/; s/^T dir->file/T file->dir/; s/^T X/T dir->file/' \
	"$TEST_TMP/want" >"$TEST_TMP/want-rev"
st diff changed base >"$TEST_TMP/got-rev"
check "diff B A: the mirror image" diff -u "$TEST_TMP/want-rev" "$TEST_TMP/got-rev"

check "diff by commit ids gives the same" diff -u "$TEST_TMP/want" <(st diff "$a" "$b")
check "diff of a commit with itself is empty" test -z "$(st diff base "$a")"
grep -v '^P mtime' "$TEST_TMP/want" >"$TEST_TMP/want-nomtime"
check "--ignore-mtime" diff -u "$TEST_TMP/want-nomtime" <(st diff --ignore-mtime base changed)
grep -v -e '^A file /new-dir/n' -e '^D .* /var/old/' -e '^A file /data/becomes-dir/child' -e '^D file /data/becomes-file/inner' \
	"$TEST_TMP/want" >"$TEST_TMP/want-norec"
check "--no-recurse: a directory is one line" diff -u "$TEST_TMP/want-norec" <(st diff --no-recurse base changed)

# Added: child, added, /new-dir, n: 2 + 6 + 0 + 2 bytes of files; deleted:
# inner, gone, /var/old, b, deep, a: 6 + 5000 + 2 + 2; modified: tool.
cat >"$TEST_TMP/want-stat" <<'EOF2'
added:            4 paths, 10 bytes
deleted:          6 paths, 5010 bytes
content modified: 1 paths, 10000 -> 12000 bytes
properties only:  5 paths
type changed:     2 paths
EOF2
check "--stat: counts and byte totals" diff -u "$TEST_TMP/want-stat" <(st diff --stat base changed)

rc=0; st diff base 2>/dev/null || rc=$?
[ $rc = 2 ] && ok "one commit is a usage error" || fail "usage" "rc=$rc"
rc=0; st diff base nope 2>"$TEST_TMP/err" || rc=$?
[ $rc = 1 ] && grep -q nope "$TEST_TMP/err" && ok "an unknown commit: exit 1 naming it" || fail "unknown" "rc=$rc $(cat "$TEST_TMP/err")"

# A gentree tree against itself with one change of each kind in it.
G=$TEST_TMP/g
gentree tree 2 "$G"
commit_tree g1 "$G" >/dev/null
commit_tree g1b "$G" >/dev/null
check "gentree: two commits of one tree do not differ" test -z "$(st diff g1 g1b)"
f=$(find "$G" -type f -links 1 -size +100c | grep -aE "^[A-Za-z0-9/._-]+\$" | sort | sed -n 1p)
echo more >>"$f"
commit_tree g2 "$G" >/dev/null
[ "$(st diff g1 g2)" = "M content,mtime ${f#"$G"}" ] && ok "gentree: one appended file is one M line" ||
	fail "gentree one change" "$(st diff g1 g2 | head)"

done_testing
