#!/bin/bash
# SPDX-License-Identifier: MIT
# sealtree commit --verity-policy FILE: the image carries fs-verity digests
# only for files under the policy's prefixes (a hardlinked inode keeps its
# digest if any of its names is under one) and the policy itself in the
# root's trusted.sealtree.verity-policy xattr, so the image digest covers
# it. The repository still reads every file (cat, checkout, gc, fsck).
# Refused with a message naming the line: every malformed policy file, and
# nothing is committed. A tree claiming a policy is never committed unless
# given one; an image that claims a policy and lacks a digest under one of
# its prefixes is reported by fsck, naming the file and the prefix.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/maint-lib.sh"

REPO=$TEST_TMP/repo
src=$TEST_TMP/src
mkdir -p "$src/usr/bin" "$src/usr/lib/sub" "$src/usr/lib64" "$src/etc" "$src/var"
for f in usr/bin/tool usr/lib/libx usr/lib/sub/liby usr/lib64/other etc/conf data var/shared; do
	head -c 9000 /dev/urandom >"$src/$f"
done
echo tiny >"$src/usr/bin/inline"
ln "$src/var/shared" "$src/usr/bin/shared-link"
cat >"$TEST_TMP/policy" <<'P'
# code must be verified
/usr/bin

/usr/lib
P
check "init" st init --verity=off
c1=$(commit_tree main "$src" --verity-policy "$TEST_TMP/policy") || fail "commit --verity-policy" "$(st commit -b x --tree "$src" --verity-policy "$TEST_TMP/policy" 2>&1)"
img=$(st show --json main | grep -oE '"image": *"[0-9a-f]{64}"' | grep -oE '[0-9a-f]{64}')
[ -f "$REPO/images/$img" ] && ok "image $img" || fail "image of the commit" "$(st show --json main)"

# The image as the kernel sees it (composefs-info, not the repository's reader).
"$COMPOSEFS_INFO" dump "$REPO/images/$img" >"$TEST_TMP/dump" || fail "composefs-info dump"
digest_of() { awk -v p="$1" '$1 == p { print $11 }' "$TEST_TMP/dump"; }
for f in /usr/bin/tool /usr/lib/libx /usr/lib/sub/liby; do
	[[ $(digest_of "$f") =~ ^[0-9a-f]{64}$ ]] && ok "$f (under the policy) carries its digest" ||
		fail "$f has no digest" "$(grep "^$f " "$TEST_TMP/dump")"
done
for f in /usr/lib64/other /etc/conf /data; do
	[ "$(digest_of "$f")" = - ] && ok "$f (outside) carries no digest" ||
		fail "$f has a digest" "$(grep "^$f " "$TEST_TMP/dump")"
done
# The hardlinked inode: one name under /usr/bin, so its digest stays (on every name).
grep -E '^/(var/shared|usr/bin/shared-link) ' "$TEST_TMP/dump" | grep -qE ' [0-9a-f]{64}( |$)' &&
	ok "a hardlink with one name under the policy keeps its digest" ||
	fail "hardlink digest" "$(grep -E 'shared' "$TEST_TMP/dump")"
grep -q '^/ .* trusted.sealtree.verity-policy=sealtree-verity-policy\\x201\\n/usr/bin\\n/usr/lib\\n' "$TEST_TMP/dump" &&
	ok "the root carries the stored policy (sorted, no comments)" || fail "root xattr" "$(head -1 "$TEST_TMP/dump")"

# The repository still knows every file's object.
st cat main /etc/conf | cmp -s - "$src/etc/conf" && ok "cat of a file outside the policy" || fail "cat /etc/conf"
check "checkout" st checkout main "$TEST_TMP/co"
diff -r "$src" "$TEST_TMP/co" >/dev/null && ok "checkout gives the tree back" || fail "checkout differs"
check "gc" st gc
out=$(st fsck 2>&1) && ok "fsck clean after gc (objects of files without digests kept)" || fail "fsck" "$out"
st cat main /data | cmp -s - "$src/data" && ok "cat after gc" || fail "cat /data after gc"

# Reproducible; the policy changes the image; no policy gives the plain image.
c2=$(commit_tree again "$src" --verity-policy "$TEST_TMP/policy" --timestamp 1) || fail "commit again"
img2=$(st show --json again | grep -oE '"image": *"[0-9a-f]{64}"' | grep -oE '[0-9a-f]{64}')
[ "$img2" = "$img" ] && ok "same tree and policy: same image" || fail "image differs" "$img2 vs $img"
c3=$(commit_tree plain "$src") || fail "commit without policy"
img3=$(st show --json plain | grep -oE '"image": *"[0-9a-f]{64}"' | grep -oE '[0-9a-f]{64}')
[ "$img3" = "$("$MKCOMPOSEFS" --hardlinks --print-digest-only "$src")" ] &&
	ok "without --verity-policy: the image mkcomposefs makes" || fail "plain image $img3"

# A tree that claims a policy (a dumpfile with the xattr on its root) loses the claim without one.
st dump main >"$TEST_TMP/claim.dump"
grep -q '^/ .*verity-policy' "$TEST_TMP/claim.dump" && ok "sealtree dump shows the policy" || fail "dump" "$(head -1 "$TEST_TMP/claim.dump")"
st commit -b fromdump --dumpfile "$TEST_TMP/claim.dump" >/dev/null 2>"$TEST_TMP/err" &&
	! st dump fromdump | head -1 | grep -q verity-policy && ok "a dumpfile's own policy claim is dropped" ||
	fail "dumpfile commit" "$(cat "$TEST_TMP/err")"

# Malformed policy files: refused, naming the file and line, nothing committed.
before=$(st refs | sort)
bad_policy() {
	local name=$1 content=$2 want=$3
	printf "$content" >"$TEST_TMP/bad"
	if st commit -b bad --tree "$src" --verity-policy "$TEST_TMP/bad" >"$TEST_TMP/out" 2>&1; then
		fail "$name: accepted"
	elif grep -qF -- "$want" "$TEST_TMP/out"; then
		ok "$name: $(head -1 "$TEST_TMP/out" | cut -c1-150)"
	else
		fail "$name: wrong message" "$(cat "$TEST_TMP/out")"
	fi
}
bad_policy "relative path" '/usr/bin\nusr/lib\n' "line 2: 'usr/lib' is not an absolute path"
bad_policy "empty component" '/usr//lib\n' "has an empty component"
bad_policy "dot-dot" '/usr/../etc\n' "'.' or '..' component"
bad_policy "trailing slash" '/usr/lib/\n' "ends with '/'"
bad_policy "trailing space" '/usr/lib \n' "white space"
bad_policy "duplicate" '/usr/lib\n# again\n/usr/lib\n' "line 3: '/usr/lib' is given twice (line 1)"
bad_policy "nested" '/usr/lib/sub\n/usr/lib\n' "line 1: '/usr/lib/sub' lies inside '/usr/lib' (line 2)"
bad_policy "nothing listed" '# nothing\n\n' "lists no path prefix"
bad_policy "control byte" '/usr/l\033ib\n' "control character"
bad_policy "names the file" 'x\n' "$TEST_TMP/bad"
head -c 70000 /dev/zero | tr '\0' '#' >"$TEST_TMP/big"
st commit -b bad --tree "$src" --verity-policy "$TEST_TMP/big" >"$TEST_TMP/out" 2>&1 &&
	fail "a 70000-byte policy accepted" || { grep -q "larger than 65536 bytes" "$TEST_TMP/out" &&
	ok "too large: $(head -1 "$TEST_TMP/out")" || fail "too large" "$(cat "$TEST_TMP/out")"; }
st commit -b bad --tree "$src" --verity-policy "$TEST_TMP/missing" >"$TEST_TMP/out" 2>&1 &&
	fail "a missing policy file accepted" || ok "missing file: $(head -1 "$TEST_TMP/out")"
st commit -b bad --tree "$src" --verity-policy "$TEST_TMP" >"$TEST_TMP/out" 2>&1 &&
	fail "a directory accepted as policy" || ok "a directory: $(head -1 "$TEST_TMP/out")"
[ "$(st refs | sort)" = "$before" ] && ok "no refused policy moved a ref" || fail "refs changed"

# An image that claims a policy and lacks a digest under it: fsck names file and prefix.
for claim in '/usr/bin' '/usr/bin/tool' '/'; do
	"$COMPOSEFS_INFO" dump "$REPO/images/$img" |
		sed "1s|trusted.sealtree.verity-policy=[^ ]*|trusted.sealtree.verity-policy=sealtree-verity-policy\\\\x201\\\\n${claim//\//\\/}\\\\n|" |
		sed 's|^\(/usr/bin/tool [^ ]* [^ ]* [^ ]* [^ ]* [^ ]* [^ ]* [^ ]* [^ ]* [^ ]*\) [0-9a-f]\{64\}|\1 -|' >"$TEST_TMP/lie.dump"
	"$MKCOMPOSEFS" --from-file "$TEST_TMP/lie.dump" "$TEST_TMP/lie.img" || fail "mkcomposefs of the lying image"
	d=$("$DIGEST" "$TEST_TMP/lie.img" | cut -d' ' -f1)
	cp "$TEST_TMP/lie.img" "$REPO/images/${d#sha256:}"
	if st fsck >"$TEST_TMP/out" 2>&1; then
		fail "fsck passed an image that claims '$claim' and lacks a digest"
	elif grep -qE "file '(/usr/bin/tool|/data)' lies under '$claim' of the image's verity policy but carries no fs-verity digest" "$TEST_TMP/out"; then
		ok "fsck: image claiming '$claim' without the digest is bad"
	else
		fail "fsck did not name the file for '$claim'" "$(cat "$TEST_TMP/out")"
	fi
	rm -f "$REPO/images/${d#sha256:}"
done
done_testing
