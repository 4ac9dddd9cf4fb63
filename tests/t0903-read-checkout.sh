#!/bin/bash
# SPDX-License-Identifier: MIT
# sealtree checkout: gentree trees and a handmade one checked out as root
# equal their source (tests/compare-trees.sh: types, modes, owners, mtimes,
# xattrs, contents, hardlink groups) and scan back to the same image; as
# nobody (setpriv), a tree of nobody's files with user.* xattrs checks out
# identically and a root tree reports exactly what it could not restore;
# a missing object, a corrupt object (unless --no-verify) or a non-empty DIR
# fails and leaves nothing behind.
. "$(dirname "$0")/test-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
need_root
export LC_ALL=C
COMPARE=$SOURCE_DIR/tests/compare-trees.sh
chmod 755 "$TEST_TMP"
R=$TEST_TMP/repo
st() { "$SEALTREE" --repo "$R" "$@"; }
commit_tree() { st commit -b "$1" -s "test" --tree "$2" | tail -n1; }
st init --verity=off >/dev/null || { fail "init" "sealtree init failed"; done_testing; exit; }

compare() { # NAME SRC DEST
	if COMPARE_WHITEOUTS=plain COMPARE_HARDLINKS=keep "$COMPARE" "$2" "$3" >"$TEST_TMP/diff" 2>&1; then ok "$1"
	else fail "$1" "$(head -20 "$TEST_TMP/diff")"; fi
}
# The same image from both trees: every byte of metadata the image keeps.
same_image() { # NAME SRC DEST
	"$MKCOMPOSEFS" --hardlinks "$2" "$TEST_TMP/a.img" && "$MKCOMPOSEFS" --hardlinks "$3" "$TEST_TMP/b.img" || {
		fail "$1" "mkcomposefs failed"; return; }
	if cmp -s "$TEST_TMP/a.img" "$TEST_TMP/b.img"; then ok "$1"; else
		fail "$1" "$(diff <("$COMPOSEFS_INFO" dump "$TEST_TMP/a.img") <("$COMPOSEFS_INFO" dump "$TEST_TMP/b.img") | head)"
	fi
}

# ---- as root --------------------------------------------------------------------
for seed in ${GENTREE_SEEDS:-1 2 3 4}; do
	G=$TEST_TMP/g$seed
	gentree tree $seed "$G"
	commit_tree g$seed "$G" >/dev/null || { fail "gentree $seed: commit" "failed"; continue; }
	if st checkout g$seed "$TEST_TMP/co$seed" 2>"$TEST_TMP/err"; then
		ok "gentree $seed: checkout"
		[ ! -s "$TEST_TMP/err" ] && ok "gentree $seed: root restores everything (no message)" || fail "gentree $seed: message" "$(cat "$TEST_TMP/err")"
		compare "gentree $seed: the checkout equals the source" "$G" "$TEST_TMP/co$seed"
		same_image "gentree $seed: the checkout scans to the source's image" "$G" "$TEST_TMP/co$seed"
	else
		fail "gentree $seed: checkout" "$(cat "$TEST_TMP/err")"
	fi
	[ $seed = 1 ] || rm -rf "$G" "$TEST_TMP/co$seed"
done

H=$TEST_TMP/hand
mkdir -p "$H/d/e" "$H/ro"
head -c 300000 /dev/urandom >"$H/big"
ln "$H/big" "$H/d/e/hard"
echo small >"$H/small"
: >"$H/empty"
ln -s ../big "$H/d/link"
mkfifo "$H/fifo"
mknod "$H/d/null" c 1 3
echo r >"$H/ro/f"
chown 1234:5678 "$H/small" "$H/d/e"
chmod 6755 "$H/small"          # setuid and setgid survive the chown
chmod 0444 "$H/ro/f"
chmod 0555 "$H/ro"
setfattr -n user.u -v 1 "$H/small"
setfattr -n trusted.t -v 2 "$H/big"
setfattr -n security.s -v 3 "$H/d"
chown -h 7:8 "$H/d/link"
find "$H" -depth -exec touch -h -d '2003-04-05 06:07:08.9' {} +
commit_tree hand "$H" >/dev/null
mkdir "$TEST_TMP/empty-dest"
if st checkout -v hand "$TEST_TMP/empty-dest" >"$TEST_TMP/out" 2>"$TEST_TMP/err"; then
	ok "checkout into an existing empty directory: $(cat "$TEST_TMP/out")"
	compare "handmade tree: the checkout equals the source" "$H" "$TEST_TMP/empty-dest"
	[ "$(stat -c %a "$TEST_TMP/empty-dest/small")" = 6755 ] && ok "setuid/setgid kept after chown" ||
		fail "setuid" "$(stat -c %a "$TEST_TMP/empty-dest/small")"
	grep -q '^4 files (300008 bytes' "$TEST_TMP/out" && grep -q ' 1 hardlinks' "$TEST_TMP/out" && ok "-v counts" ||
		fail "-v counts" "$(cat "$TEST_TMP/out")"
else
	fail "checkout into an empty directory" "$(cat "$TEST_TMP/err")"
fi

# ---- a tree 2000 directories deep, with a low soft fd limit -------------------------
python3 - >"$TEST_TMP/deep.dump" <<'PY'
print("/ 4096 40755 2 0 0 0 0.0 - - -")
p = ""
for i in range(2000):
    p += "/d"
    print(f"{p} 4096 40755 2 0 0 0 0.0 - - -")
print(f"{p}/leaf 5 100644 1 0 0 0 0.0 - deep! -")
PY
st commit -b deep -s deep --dumpfile "$TEST_TMP/deep.dump" >/dev/null
if (ulimit -S -n 1024 && st checkout deep "$TEST_TMP/deep") 2>"$TEST_TMP/err"; then
	[ "$(find "$TEST_TMP/deep" -name leaf -exec cat {} \;)" = "deep!" ] && ok "a 2000-level tree checks out under a 1024 fd soft limit" ||
		fail "deep tree" "leaf missing"
else
	fail "deep tree checkout" "$(cat "$TEST_TMP/err")"
fi
rm -rf "$TEST_TMP/deep"

# ---- failures leave nothing -------------------------------------------------------
leftovers() { find "$TEST_TMP" -maxdepth 1 -name '.*checkout-*'; }
mkdir -p "$TEST_TMP/full" && touch "$TEST_TMP/full/x"
rc=0; st checkout hand "$TEST_TMP/full" 2>"$TEST_TMP/err" || rc=$?
[ $rc = 1 ] && grep -q "not empty" "$TEST_TMP/err" && [ -z "$(leftovers)" ] && ok "a non-empty DIR is refused: $(cat "$TEST_TMP/err")" ||
	fail "non-empty DIR" "rc=$rc $(cat "$TEST_TMP/err")"
rc=0; st checkout hand "$TEST_TMP/full/x" 2>"$TEST_TMP/err" || rc=$?
[ $rc = 1 ] && grep -q "exists" "$TEST_TMP/err" && ok "a file as DIR is refused" || fail "file DIR" "rc=$rc $(cat "$TEST_TMP/err")"
cp -a "$R" "$TEST_TMP/repo-bad"
obj=$("$BUILD_DIR/lib/verity/st-verity-digest" "$H/big" | cut -d' ' -f1 | sed 's/^sha256://')
rm "$TEST_TMP/repo-bad/objects/${obj:0:2}/${obj:2}"
rc=0; "$SEALTREE" --repo "$TEST_TMP/repo-bad" checkout hand "$TEST_TMP/nope" 2>"$TEST_TMP/err" || rc=$?
if [ $rc = 1 ] && grep -q "${obj:0:2}/${obj:2}.*missing" "$TEST_TMP/err" && [ ! -e "$TEST_TMP/nope" ] && [ -z "$(leftovers)" ]; then
	ok "a missing object fails naming it and leaves nothing: $(cat "$TEST_TMP/err")"
else
	fail "missing object" "rc=$rc $(cat "$TEST_TMP/err"); left: $(ls -A "$TEST_TMP")"
fi
# A corrupt object (one byte flipped) is refused, naming the path and the
# object, and leaves nothing; --no-verify copies it as it is.
cp -a "$R" "$TEST_TMP/repo-flip"
o=$TEST_TMP/repo-flip/objects/${obj:0:2}/${obj:2}
chmod u+w "$o"
old=$(od -An -tx1 -j 150000 -N1 "$o" | tr -d ' ')
printf "\\x$(printf %02x $((0x$old ^ 0xff)))" | dd of="$o" bs=1 seek=150000 conv=notrunc status=none
cmp -s "$o" "$H/big" && fail "flip" "the object did not change"
for how in "" --no-reflink; do
	rc=0; "$SEALTREE" --repo "$TEST_TMP/repo-flip" checkout $how hand "$TEST_TMP/nope" 2>"$TEST_TMP/err" || rc=$?
	if [ $rc = 1 ] && grep -q "${obj:0:2}/${obj:2} (for '/big') is corrupt" "$TEST_TMP/err" && [ ! -e "$TEST_TMP/nope" ] &&
	   [ -z "$(leftovers)" ]; then
		ok "a corrupt object${how:+ ($how)} fails naming it and leaves nothing: $(cat "$TEST_TMP/err")"
	else
		fail "corrupt object $how" "rc=$rc $(cat "$TEST_TMP/err"); left: $(ls -A "$TEST_TMP")"
	fi
done
if "$SEALTREE" --repo "$TEST_TMP/repo-flip" checkout --no-verify hand "$TEST_TMP/unchecked" 2>"$TEST_TMP/err"; then
	cmp -s "$TEST_TMP/unchecked/big" "$o" && ! cmp -s "$TEST_TMP/unchecked/big" "$H/big" &&
		ok "--no-verify copies the corrupt object as it is" || fail "--no-verify" "contents"
else
	fail "--no-verify" "$(cat "$TEST_TMP/err")"
fi
rm -rf "$TEST_TMP/unchecked" "$TEST_TMP/repo-flip"
rc=0; st checkout 2>/dev/null || rc=$?
[ $rc = 2 ] && ok "no arguments: usage error" || fail "usage" "rc=$rc"

# ---- reflinks on a filesystem that has them ----------------------------------------
# XFS with reflink=1 on a loop device, when mkfs.xfs is installed.
if command -v mkfs.xfs >/dev/null && grep -qw xfs /proc/filesystems; then
	truncate -s 400M "$TEST_TMP/xfs.img"
	mkdir -p "$TEST_TMP/xfs"
	if mkfs.xfs -q -m reflink=1 "$TEST_TMP/xfs.img" && mount -o loop "$TEST_TMP/xfs.img" "$TEST_TMP/xfs"; then
		trap 'umount -l "$TEST_TMP/xfs" 2>/dev/null || true; cleanup_test_tmp' EXIT
		X=$TEST_TMP/xfs/repo
		"$SEALTREE" --repo "$X" init --verity=off >/dev/null
		"$SEALTREE" --repo "$X" commit -b hand -s x --tree "$H" >/dev/null
		if "$SEALTREE" --repo "$X" checkout -v hand "$TEST_TMP/xfs/co" >"$TEST_TMP/out" 2>"$TEST_TMP/err"; then
			grep -q '(300008 bytes, 1 cloned)' "$TEST_TMP/out" && ok "xfs: the large file is cloned (reflink): $(cat "$TEST_TMP/out")" ||
				fail "xfs reflink" "$(cat "$TEST_TMP/out")"
			compare "xfs: the reflinked checkout equals the source" "$H" "$TEST_TMP/xfs/co"
			"$SEALTREE" --repo "$X" checkout -v --no-reflink hand "$TEST_TMP/xfs/co2" >"$TEST_TMP/out" &&
				grep -q '(300008 bytes, 0 cloned)' "$TEST_TMP/out" && ok "xfs: --no-reflink copies" || fail "--no-reflink" "$(cat "$TEST_TMP/out")"
		else
			fail "xfs checkout" "$(cat "$TEST_TMP/err")"
		fi
		umount "$TEST_TMP/xfs"
	else
		echo "SKIP PART: cannot make or mount an XFS with reflink here: FICLONE not tested" >&2
	fi
else
	echo "SKIP PART: no mkfs.xfs: checkout by reflink (FICLONE) not tested" >&2
fi

# ---- as nobody ---------------------------------------------------------------------
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"; }
if ! as_nobody true 2>/dev/null; then
	echo "SKIP PART: setpriv to nobody does not work here: unprivileged checkout not tested" >&2
	done_testing
	exit
fi
mkdir "$TEST_TMP/nb"
chown nobody:nogroup "$TEST_TMP/nb"
N=$TEST_TMP/nobody-src
mkdir -p "$N/d/e"
head -c 100000 /dev/urandom >"$N/f"
ln "$N/f" "$N/d/hard"
echo tiny >"$N/d/e/tiny"
ln -s ../f "$N/d/link"
mkfifo "$N/fifo"
setfattr -n user.a -v 1 "$N/f"
setfattr -n user.b -v 2 "$N/d"
chmod 0700 "$N/d/e"
chown -hR nobody:nogroup "$N"
find "$N" -depth -exec touch -h -d '2010-10-10 10:10:10.1' {} +
commit_tree nobody-tree "$N" >/dev/null
if as_nobody "$SEALTREE" --repo "$R" checkout nobody-tree "$TEST_TMP/nb/co" 2>"$TEST_TMP/err"; then
	ok "checkout as nobody"
	[ ! -s "$TEST_TMP/err" ] && ok "nothing reported as not restored" || fail "nobody message" "$(cat "$TEST_TMP/err")"
	compare "as nobody: a tree of nobody's files with user.* xattrs equals the source" "$N" "$TEST_TMP/nb/co"
else
	fail "checkout as nobody" "$(cat "$TEST_TMP/err")"
fi

# A root tree as nobody: what is skipped is counted exactly.
G=$TEST_TMP/g1
[ -d "$G" ] || gentree tree 1 "$G"   # GENTREE_SEEDS without 1
read -r want_x want_o want_d < <(python3 - "$G" <<'PY'
import os, stat, sys
seen, x, o, d = set(), 0, 0, 0
nobody = (65534, 65534)
for dp, dirs, files in os.walk(sys.argv[1]):
    for p in [dp] + [os.path.join(dp, n) for n in dirs + files if not os.path.isdir(os.path.join(dp, n)) or os.path.islink(os.path.join(dp, n))]:
        st = os.lstat(p)
        if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            d += 1
            continue
        if st.st_ino in seen:
            continue
        seen.add(st.st_ino)
        if (st.st_uid, st.st_gid) != nobody:
            o += 1
        names = set(os.listxattr(p, follow_symlinks=False))
        if stat.S_ISDIR(st.st_mode) and any(stat.S_ISCHR(e.stat(follow_symlinks=False).st_mode) and
                                            e.stat(follow_symlinks=False).st_rdev == 0 for e in os.scandir(p)):
            names.add("trusted.overlay.opaque")  # the writer marks directories holding whiteouts
        x += sum(1 for n in names if not n.startswith("user."))
print(x, o, d)
PY
)
if as_nobody "$SEALTREE" --repo "$R" checkout g1 "$TEST_TMP/nb/g1" 2>"$TEST_TMP/err"; then
	want="$want_x xattrs, $want_o owners, $want_d device nodes not restored: not root"
	grep -qF "$want" "$TEST_TMP/err" && ok "as nobody, gentree 1: '$want'" || fail "nobody counts" "got '$(cat "$TEST_TMP/err")', want '$want'"
	# Everything else came out: contents and modes of the regular files,
	# one listing of each tree (sha256sum escapes odd names the same way).
	files_of() { (cd "$1" && find . -type f -printf '%m %p\0' | sort -z | tr '\0' '\n' &&
		find . -type f -print0 | sort -z | xargs -0 sha256sum); }
	if diff <(files_of "$G") <(files_of "$TEST_TMP/nb/g1") >"$TEST_TMP/diff"; then
		ok "as nobody, gentree 1: every regular file with its bytes and mode"
	else
		fail "nobody files" "$(head -20 "$TEST_TMP/diff")"
	fi
else
	fail "checkout of a root tree as nobody" "$(cat "$TEST_TMP/err")"
fi

done_testing
