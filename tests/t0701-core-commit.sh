#!/bin/bash
# SPDX-License-Identifier: MIT
# sealtree init/commit/log/show/refs/ref: init modes; a commit from a
# directory has the image digest of `mkcomposefs --hardlinks
# --digest-store=REPO/objects`, and committing its dumpfile gives the same
# image; history, refs, resolve (ids, prefixes, ^, ~N); owner and permission
# transforms; clear errors.
. "$(dirname "$0")/test-lib.sh"

DIGEST=$BUILD_DIR/lib/verity/st-verity-digest
[ -x "$SEALTREE" ] || skip_all "sealtree not built"
export LC_ALL=C
unset SOURCE_DATE_EPOCH
st() { "$SEALTREE" --repo "$repo" "$@"; }

# ---- init ----
repo=$TEST_TMP/repo
for cmd in init commit log show refs ref; do
	check "$cmd --help" "$SEALTREE" "$cmd" --help >/dev/null
done
check "init" st init >/dev/null
if "$SEALTREE" --repo "$TEST_TMP/req" init --verity=require 2>"$TEST_TMP/err"; then
	grep -qx "verity=yes" "$TEST_TMP/req/config" && ok "require: verity=yes" || fail "require" "config"
	want=yes
else
	rc=$?
	[ $rc = 1 ] && grep -q "fs-verity" "$TEST_TMP/err" && ok "require refused here with a clear message (exit 1)" ||
		fail "require" "rc=$rc: $(cat "$TEST_TMP/err")"
	[ ! -e "$TEST_TMP/req/config" ] && ok "require left no repository" || fail "require" "config written"
	want=no
fi
grep -qx "verity=$want" "$repo/config" && ok "auto records verity=$want" || fail "auto" "$(cat "$repo/config")"
"$SEALTREE" --repo "$TEST_TMP/off" init --verity=off >/dev/null && grep -qx "verity=no" "$TEST_TMP/off/config" &&
	ok "off records verity=no" || fail "off" "config"
grep -qx "format-version=1" "$repo/config" && ok "format-version=1" || fail "config" "no format-version"
for d in objects images commits refs/heads refs/mounts cache tmp; do
	[ -d "$repo/$d" ] || fail "layout" "no $d"
done
ok "layout"
st init 2>"$TEST_TMP/err" && fail "init twice" "succeeded" || { [ $? = 1 ] && ok "init twice refused" || fail "init twice" "exit code"; }
mkdir "$TEST_TMP/full" && touch "$TEST_TMP/full/x"
"$SEALTREE" init "$TEST_TMP/full" 2>"$TEST_TMP/err" && fail "init non-empty" "succeeded" ||
	{ grep -q "not empty" "$TEST_TMP/err" && ok "init of a non-empty directory refused" || fail "init of a non-empty directory refused" "$(cat "$TEST_TMP/err")"; }
"$SEALTREE" --repo "$TEST_TMP/nope" refs 2>"$TEST_TMP/err" && fail "open missing" "succeeded" ||
	{ grep -q "nope" "$TEST_TMP/err" && ok "a missing repository is named" || fail "a missing repository is named" "$(cat "$TEST_TMP/err")"; }
echo "format-version=9" >"$TEST_TMP/off/config"
echo "verity=no" >>"$TEST_TMP/off/config"
"$SEALTREE" --repo "$TEST_TMP/off" refs 2>"$TEST_TMP/err" && fail "format 9" "opened" ||
	{ grep -q "format-version 9" "$TEST_TMP/err" && ok "unknown format version refused" || fail "unknown format version refused" "$(cat "$TEST_TMP/err")"; }

# ---- a tree with hardlinks, xattrs, a symlink, odd modes ----
src=$TEST_TMP/src
mkdir -p "$src/sub/deep" "$src/empty"
for size in 0 1 64 65 4096 70000 1048577; do head -c $size /dev/urandom >"$src/f$size"; done
cp "$src/f4096" "$src/sub/same-as-4096"
ln "$src/f70000" "$src/sub/deep/hardlink"
ln -s f65 "$src/link"
mkfifo "$src/fifo"
echo exec >"$src/tool" && chmod 4750 "$src/tool"
setfattr -n user.test -v value "$src/f65" 2>/dev/null || true
chmod 0700 "$src/sub"
chown 1234:5678 "$src/f65"

id1=$(st commit -b main -s "first commit" --version 1.0 --tree "$src" --timestamp 1000) &&
	ok "commit --tree" || fail "commit --tree" ""
[ ${#id1} = 64 ] && ok "prints a commit id" || fail "commit id" "'$id1'"
image=$(commit_image "$repo" main)
"$MKCOMPOSEFS" --hardlinks --digest-store="$TEST_TMP/store" "$src" "$TEST_TMP/mk.img"
want=$("$DIGEST" "$TEST_TMP/mk.img" | cut -d' ' -f1 | sed 's/^sha256://')
[ "$image" = "$want" ] && ok "image digest = mkcomposefs --hardlinks --digest-store" || fail "image digest" "$image != $want"
cmp -s "$TEST_TMP/mk.img" "$repo/images/$image" && ok "image bytes equal mkcomposefs's" || fail "image bytes" "differ"
(cd "$TEST_TMP/store" && find . -type f | sort) >"$TEST_TMP/want-objects"
(cd "$repo/objects" && find . -type f | sort) >"$TEST_TMP/got-objects"
diff -q "$TEST_TMP/want-objects" "$TEST_TMP/got-objects" >/dev/null && ok "same objects as the digest store" ||
	fail "objects" "differ"
[ -z "$(ls -A "$repo/tmp")" ] && ok "tmp/ is empty after a commit" || fail "tmp" "$(ls "$repo/tmp")"
[ "$(cat "$repo/refs/heads/main")" = "$id1" ] && ok "ref file holds the id" || fail "ref file" ""
[ "$(sha256sum <"$repo/commits/$id1" | cut -d' ' -f1)" = "$id1" ] && ok "commit id = sha256 of its file" ||
	fail "commit id" "not the sha256"

# ---- the same tree from its dumpfile ----
"$COMPOSEFS_INFO" dump "$repo/images/$image" >"$TEST_TMP/tree.dump"
id2=$(st commit -b fromdump --dumpfile "$TEST_TMP/tree.dump" --timestamp 1000 -s "first commit" --version 1.0)
image2=$(commit_image "$repo" fromdump)
[ "$image2" = "$image" ] && ok "dumpfile commit has the same image digest" || fail "dumpfile image" "$image2"
[ "$id2" = "$id1" ] && ok "same fields, same tree: the same commit id" || fail "dumpfile commit id" "$id2 != $id1"
id2b=$(st commit -b fromdump2 --dumpfile - <"$TEST_TMP/tree.dump" --timestamp 1000)
[ -n "$id2b" ] && ok "dumpfile from stdin" || fail "dumpfile stdin" ""
obj=$(cd "$repo/objects" && find . -type f | head -n1 | sed 's|^\./||; s|/||')
sed "s/$obj/$(printf '%064d' 0)/" "$TEST_TMP/tree.dump" >"$TEST_TMP/missing.dump"
st commit -b bad --dumpfile "$TEST_TMP/missing.dump" 2>"$TEST_TMP/err" && fail "missing object" "accepted" ||
	{ grep -q "00/0000" "$TEST_TMP/err" && ok "dumpfile with a missing object refused, object named" || fail "dumpfile with a missing object refused, object named" "$(cat "$TEST_TMP/err")"; }
st refs | grep -q " bad$" && fail "failed commit" "moved a ref" || ok "failed commit moved no ref"
sed 's|^/f70000 70000 |/f70000 70001 |' "$TEST_TMP/tree.dump" >"$TEST_TMP/size.dump"
cmp -s "$TEST_TMP/size.dump" "$TEST_TMP/tree.dump" && fail "size.dump" "sed changed nothing"
st commit -b bad --dumpfile "$TEST_TMP/size.dump" 2>"$TEST_TMP/err" && fail "wrong size" "accepted" ||
	{ grep -q "/f70000' has size 70001" "$TEST_TMP/err" && ok "dumpfile size differing from its object refused" || fail "dumpfile size differing from its object refused" "$(cat "$TEST_TMP/err")"; }

# ---- history ----
echo changed >"$src/f1"
id3=$(st commit -b main -s "second" -m "a body
with two lines" --version 2.0 --add-metadata distro=test --add-metadata arch=x86_64 --tree "$src" --timestamp 2000)
st show main >"$TEST_TMP/show"
grep -q "^parent *$id1" "$TEST_TMP/show" && ok "second commit's parent is the first" || fail "parent" "$(cat "$TEST_TMP/show")"
grep -q "^meta *arch=x86_64" "$TEST_TMP/show" && grep -q "^meta *distro=test" "$TEST_TMP/show" &&
	ok "show prints metadata" || fail "show metadata" ""
grep -q "^    with two lines" "$TEST_TMP/show" && ok "show prints the body, indented" || fail "show body" ""
grep -q "^date *1970-01-01T00:33:20Z" "$TEST_TMP/show" && ok "show prints the date" || fail "show date" ""
st show --json main | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["version"]=="2.0" and d["metadata"]["arch"]=="x86_64" and d["body"].endswith("two lines")' &&
	ok "show --json parses" || fail "show --json" ""
st log main >"$TEST_TMP/log"
[ "$(grep -c '^commit ' "$TEST_TMP/log")" = 2 ] && grep -q "second" "$TEST_TMP/log" && grep -q "first commit" "$TEST_TMP/log" &&
	ok "log walks two commits" || fail "log" "$(cat "$TEST_TMP/log")"
[ "$(st log --oneline -n 1 main | wc -l)" = 1 ] && ok "log -n 1" || fail "log -n" ""

# resolve: ~N, ^, prefixes, full ids
[ "$(st show --json main~1 | sed -n 's/.*"id": "\([0-9a-f]*\)".*/\1/p')" = "$id1" ] && ok "main~1" || fail "main~1" ""
[ "$(st show --json main^ | sed -n 's/.*"id": "\([0-9a-f]*\)".*/\1/p')" = "$id1" ] && ok "main^" || fail "main^" ""
[ "$(st show --json "${id3:0:8}" | sed -n 's/.*"id": "\([0-9a-f]*\)".*/\1/p')" = "$id3" ] && ok "8-digit prefix" || fail "prefix" ""
[ "$(st show --json "$id3~1" | sed -n 's/.*"id": "\([0-9a-f]*\)".*/\1/p')" = "$id1" ] && ok "ID~1" || fail "ID~1" ""
st show main~2 2>"$TEST_TMP/err" && fail "main~2" "resolved" || { grep -q "no parent" "$TEST_TMP/err" && ok "main~2: no parent, said so" || fail "main~2: no parent, said so" "$(cat "$TEST_TMP/err")"; }
st show "${id3:0:3}" 2>/dev/null && fail "3-digit prefix" "accepted" || ok "3-digit prefix refused"

# --parent / --orphan
id4=$(st commit -b other --orphan --tree "$src" --timestamp 3000)
st show other | grep -q "^parent" && fail "orphan" "has a parent" || ok "--orphan has no parent"
id5=$(st commit -b other --parent "$id1" --tree "$src" --timestamp 3001)
st show other | grep -q "^parent *$id1" && ok "--parent" || fail "--parent" ""

# ---- refs ----
check "ref NAME COMMIT" st ref release/1 main~1
[ "$(st refs | awk '$2=="release/1"{print $1}')" = "$id1" ] && ok "refs lists it" || fail "refs" "$(st refs)"
st refs | awk '{print $2}' >"$TEST_TMP/names"
sort -c "$TEST_TMP/names" && ok "refs sorted" || fail "refs sorted" ""
mkdir -p "$repo/refs/mounts/x" && cp "$repo/refs/heads/main" "$repo/refs/mounts/x/m"
st refs | grep -q "refs/mounts" && fail "refs" "shows mounts without --all" || ok "refs: heads only"
st refs --all | grep -q " refs/mounts/x/m$" && ok "refs --all: mount pins by full name" || fail "refs --all" ""
check "ref --delete" st ref --delete release/1
st refs | grep -q release && fail "ref --delete" "still listed" || ok "deleted ref gone"
st ref --delete release/1 2>/dev/null && fail "delete twice" "succeeded" || ok "deleting a missing ref fails"
rc=0; st ref "bad name" main 2>/dev/null || rc=$?; [ $rc = 2 ] && ok "bad ref name: usage error" || fail "bad ref name" ""
st ref x nosuch 2>"$TEST_TMP/err" && fail "ref to nothing" "succeeded" || { grep -q nosuch "$TEST_TMP/err" && ok "ref to an unknown commit names it" || fail "ref to an unknown commit names it" "$(cat "$TEST_TMP/err")"; }

# ---- owner and permission transforms ----
st commit -b canon --canonical-permissions --tree "$src" >/dev/null
img=$(commit_image "$repo" canon)
"$COMPOSEFS_INFO" dump "$repo/images/$img" >"$TEST_TMP/canon.dump"
awk '$3 !~ /^@/ && $3 !~ /^120/ { if ($5 != 0 || $6 != 0) bad = 1 } END { exit bad }' "$TEST_TMP/canon.dump" &&
	ok "canonical: every owner 0" || fail "canonical owner" ""
grep -q "^/tool .* 100755 " "$TEST_TMP/canon.dump" && ok "canonical: setuid exec file -> 0755" || fail "canonical tool" "$(grep ^/tool "$TEST_TMP/canon.dump")"
grep -q "^/sub .* 40755 " "$TEST_TMP/canon.dump" && ok "canonical: dir 0700 -> 0755" || fail "canonical dir" ""
grep -q "^/f65 .* 100644 " "$TEST_TMP/canon.dump" && ok "canonical: file -> 0644" || fail "canonical file" ""
st commit -b owned --owner-uid 42 --owner-gid 43 --tree "$src" >/dev/null
img=$(commit_image "$repo" owned)
"$COMPOSEFS_INFO" dump "$repo/images/$img" | awk '$3 !~ /^@/ { if ($5 != 42 || $6 != 43) bad = 1 } END { exit bad }' &&
	ok "--owner-uid/--owner-gid on every inode" || fail "owner" ""
st commit -b canon-dump --canonical-permissions --dumpfile "$TEST_TMP/tree.dump" >/dev/null
img2=$(commit_image "$repo" canon-dump)
img1=$(commit_image "$repo" canon)
"$COMPOSEFS_INFO" dump "$repo/images/$img2" | grep -q "^/tool [0-9]* 100755 1 0 0 " && ok "transforms apply to dumpfiles" ||
	fail "dumpfile transforms" ""

# ---- history with a pruned parent, corrupt commits ----
repo2=$TEST_TMP/repo2
"$SEALTREE" --repo "$repo2" init >/dev/null
c1=$("$SEALTREE" --repo "$repo2" commit -b h --tree "$src" --timestamp 1 -s one)
c2=$("$SEALTREE" --repo "$repo2" commit -b h --tree "$src" --timestamp 2 -s two)
c3=$("$SEALTREE" --repo "$repo2" commit -b h --tree "$src" --timestamp 3 -s three)
rm "$repo2/commits/$c1"
"$SEALTREE" --repo "$repo2" log h >"$TEST_TMP/log2" && ok "log with a pruned parent succeeds" || fail "log pruned" ""
[ "$(grep -c '^commit ' "$TEST_TMP/log2")" = 2 ] && grep -q "parent $c1 is not in the repository" "$TEST_TMP/log2" &&
	ok "log stops at the pruned parent and says so" || fail "log pruned" "$(cat "$TEST_TMP/log2")"
sed -i 's/subject two/subject tw0/' "$repo2/commits/$c2"
"$SEALTREE" --repo "$repo2" show "$c2" 2>"$TEST_TMP/err" && fail "corrupt commit" "shown" ||
	{ grep -q "do not match its id" "$TEST_TMP/err" && ok "a commit whose bytes do not match its id is refused" || fail "a commit whose bytes do not match its id is refused" "$(cat "$TEST_TMP/err")"; }
"$SEALTREE" --repo "$repo2" log h >/dev/null 2>&1 && fail "log over a corrupt commit" "succeeded" ||
	ok "log fails on a corrupt commit"

# ---- usage errors ----
rc=0; st commit --tree "$src" 2>/dev/null || rc=$?; [ $rc = 2 ] && ok "commit without -b: exit 2" || fail "commit -b" ""
rc=0; st commit -b x 2>/dev/null || rc=$?; [ $rc = 2 ] && ok "commit without input: exit 2" || fail "commit input" ""
rc=0; st commit -b x --tree "$src" --orphan --parent main 2>/dev/null || rc=$?; [ $rc = 2 ] && ok "--orphan --parent: exit 2" || fail "orphan parent" ""
rc=0; st commit -b x --tree "$TEST_TMP/nonexistent" 2>"$TEST_TMP/err" || rc=$?; [ $rc = 1 ] && grep -q nonexistent "$TEST_TMP/err" &&
	ok "missing tree named, exit 1" || fail "missing tree" ""
rc=0; st commit -b x --tree "$src" --add-metadata "bad key=v" 2>"$TEST_TMP/err" || rc=$?; [ $rc = 1 ] && grep -q "bad key" "$TEST_TMP/err" &&
	ok "bad metadata key refused" || fail "metadata key" "$(cat "$TEST_TMP/err")"
SOURCE_DATE_EPOCH=12345 st commit -b sde --tree "$src" >/dev/null
st show sde | grep -q "(12345)" && ok "SOURCE_DATE_EPOCH" || fail "SOURCE_DATE_EPOCH" ""
[ -z "$(ls -A "$repo/tmp")" ] && ok "tmp/ empty at the end" || fail "tmp" "$(ls "$repo/tmp")"

done_testing
