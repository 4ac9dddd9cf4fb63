#!/bin/bash
# SPDX-License-Identifier: MIT
# The /etc three-way merge of admin deploy, case by case (base = the old
# commit's usr/etc, local = the old deployment's etc/, new = the new
# commit's usr/etc): local changes win (contents, removal, mode, owner,
# xattrs, symlinks, directories, type changes), new defaults arrive where
# nothing changed locally, every conflict is reported by path with the new
# default kept beside as NAME.sealtree-new, and the deploy never fails for
# one. Also --no-merge, escaped conflict paths, and a stale .sealtree-new.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/admin-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
T=$TEST_TMP
new_sysroot debian
make_tree "$T/t"
E=$T/t/usr/etc
w() { mkdir -p "$(dirname "$E/$1")" && printf '%s\n' "$2" >"$E/$1"; }
# base (v1)
for f in same local-mod new-mod both-mod both-same local-rm local-rm-new-mod new-rm local-mod-new-rm \
	mode-local owner-local xattr-local type-local type-both type-new "sp ace" stale; do
	w "$f" "base $f"
done
ln -s target-a "$E/sym-local" && ln -s target-a "$E/sym-new"
mkdir -p "$E/dir-rm/x" "$E/dir-both" "$E/dir-mode" && w dir-rm/x/f "in dir-rm" && w dir-both/base "base"
chmod 0755 "$E/dir-mode"
w hl-a "hardlinked" && ln "$E/hl-a" "$E/hl-b"
c1=$(commit_tree "$T/t" os/main 1)
admin deploy --os debian --keys-dir "$KEYS" os/main >/dev/null
L=$SYS/sealtree/deploy/debian/$c1.0/etc
check "v1 deployed with hardlinked files" test -f "$L/hl-b"

# local changes
printf 'local\n' >"$L/local-mod"
printf 'mine\n' >"$L/both-mod"
printf 'same change\n' >"$L/both-same"
rm "$L/local-rm" "$L/local-rm-new-mod"
printf 'local\n' >"$L/local-mod-new-rm"
chmod 0600 "$L/mode-local"
chown 1234:4321 "$L/owner-local"
setfattr -n user.label -v local "$L/xattr-local"
rm "$L/type-local" && mkdir "$L/type-local" && printf 'x\n' >"$L/type-local/inside"
rm "$L/type-both" && mkdir "$L/type-both"
ln -sfn target-local "$L/sym-local"
mkdir -p "$L/added-dir/deep" && printf 'deep\n' >"$L/added-dir/deep/f"
printf 'added\n' >"$L/added-only"
printf 'added same\n' >"$L/added-both-same"
printf 'added mine\n' >"$L/added-both-diff"
rm -r "$L/dir-rm"
printf 'local\n' >"$L/dir-both/local"
chmod 0700 "$L/dir-mode"
printf 'mine\n' >"$L/sp ace"
printf 'old sibling\n' >"$L/stale.sealtree-new"
printf 'mine\n' >"$L/stale"

# new defaults (v2)
w new-mod "new"; w both-mod "theirs"; w both-same "same change"; w local-rm-new-mod "new"
rm "$E/new-rm" "$E/local-mod-new-rm"
w type-both "new content"
rm "$E/type-new" && mkdir "$E/type-new" && w type-new/f "now a dir"
ln -sfn target-new "$E/sym-new"
w added-both-same "added same"; w added-both-diff "added theirs"
w dir-both/new "new"; w dir-mode/new "new"
w "sp ace" "theirs"; w stale "theirs"
c2=$(commit_tree "$T/t" os/main 2)
admin deploy --keys-dir "$KEYS" os/main >"$T/out" 2>"$T/err" && ok "deploy with conflicts succeeds" || fail "deploy with conflicts succeeds" "$(cat "$T/err")"
N=$SYS/sealtree/deploy/debian/$c2.0/etc
C=$SYS/sealtree/deploy/debian/$c2.0/conflicts

is() { # NAME FILE CONTENT
	if [ "$(cat "$2" 2>/dev/null)" = "$3" ]; then ok "$1"; else fail "$1" "$2 holds '$(cat "$2" 2>&1)', expected '$3'"; fi
}
absent() { if [ ! -e "$2" ] && [ ! -L "$2" ]; then ok "$1"; else fail "$1" "$2 exists"; fi; }

is "unchanged on both sides" "$N/same" "base same"
is "changed locally: local" "$N/local-mod" "local"
is "changed in new: new" "$N/new-mod" "new"
is "changed on both: local kept" "$N/both-mod" "mine"
is "changed on both: new beside" "$N/both-mod.sealtree-new" "theirs"
is "same change on both: kept" "$N/both-same" "same change"
absent "same change on both: nothing beside" "$N/both-same.sealtree-new"
absent "removed locally: stays removed" "$N/local-rm"
absent "removed locally, changed in new: removed" "$N/local-rm-new-mod"
is "removed locally, changed in new: new beside" "$N/local-rm-new-mod.sealtree-new" "new"
absent "removed in new: removed" "$N/new-rm"
is "changed locally, removed in new: local kept" "$N/local-mod-new-rm" "local"
check "mode change kept" test "$(stat -c %a "$N/mode-local")" = 600
check "owner change kept" test "$(stat -c %u:%g "$N/owner-local")" = 1234:4321
check "xattr kept" test "$(getfattr --only-values -n user.label "$N/xattr-local" 2>/dev/null)" = local
is "file turned directory locally: kept" "$N/type-local/inside" "x"
check "type change on both: local directory kept" test -d "$N/type-both"
is "type change on both: new file beside" "$N/type-both.sealtree-new" "new content"
is "type change in new: new directory" "$N/type-new/f" "now a dir"
check "symlink retargeted locally: kept" test "$(readlink "$N/sym-local")" = target-local
check "symlink retargeted in new: new" test "$(readlink "$N/sym-new")" = target-new
is "directory added locally: whole" "$N/added-dir/deep/f" "deep"
is "file added locally" "$N/added-only" "added"
is "added on both, same: kept" "$N/added-both-same" "added same"
absent "added on both, same: nothing beside" "$N/added-both-same.sealtree-new"
is "added on both, different: local" "$N/added-both-diff" "added mine"
is "added on both, different: new beside" "$N/added-both-diff.sealtree-new" "added theirs"
absent "directory removed locally" "$N/dir-rm"
is "directory in both: local file" "$N/dir-both/local" "local"
is "directory in both: new file" "$N/dir-both/new" "new"
is "directory in both: base file" "$N/dir-both/base" "base"
check "directory mode change kept" test "$(stat -c %a "$N/dir-mode")" = 700
is "directory mode changed locally: new file arrives" "$N/dir-mode/new" "new"
is "stale sibling replaced by the newer default" "$N/stale.sealtree-new" "theirs"
is "hardlinked file" "$N/hl-b" "hardlinked"
is "path with a space: local" "$N/sp ace" "mine"

expected_conflicts=$(printf '%s\n' "added added-both-diff" "modified both-mod" "modified local-mod-new-rm" \
	"removed local-rm-new-mod" "modified sp\\x20ace" "modified stale" "type type-both" | sort)
if [ "$(sort "$C")" = "$expected_conflicts" ]; then ok "conflicts file"; else fail "conflicts file" "$(cat "$C")"; fi
check "deploy output names each conflict" test "$(grep -c '^conflict: ' "$T/out")" = 7
check "deploy output names a path" grep -q "^conflict: modified /etc/both-mod " "$T/out"
admin status >"$T/status"
check "status lists the conflicts" grep -q "/etc conflicts: 7" "$T/status"
check "status names a path" grep -q "type type-both" "$T/status"
check "old deployment untouched" test "$(cat "$L/both-mod")" = mine

# --no-merge: the defaults, local changes dropped.
admin deploy --no-merge --keys-dir "$KEYS" os/main >"$T/out"
M=$SYS/sealtree/deploy/debian/$c2.1/etc
is "--no-merge: defaults" "$M/both-mod" "theirs"
absent "--no-merge: no local files" "$M/added-only"
check "--no-merge: no conflicts" test ! -s "$SYS/sealtree/deploy/debian/$c2.1/conflicts"
done_testing
