#!/bin/bash
# SPDX-License-Identifier: MIT
# Hardlinks of a layer to files of the layers below (real images have
# them): resolved against the merged tree as it stands at that layer, after
# its whiteouts. A link to a file, a link to such a link, a lower file
# then replaced (the links keep its old inode) and removed give umoci
# unpack's tree, and verify passes. Refused with the layer and the entry
# named: links to a directory, a symlink, through a symlink, with '..',
# absolute, to nothing, to the root, to a file this layer's or an earlier
# layer's whiteout removed.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/oci-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
export LC_ALL=C
repo=$TEST_TMP/repo
st() { "$SEALTREE" --repo "$repo" "$@"; }
st init --verity=off >/dev/null || { fail "init" ""; done_testing; exit; }
T=$TEST_TMP
mk() { python3 "$SOURCE_DIR/tests/oci-make-layout.py" "$@"; }
python3 "$SOURCE_DIR/tests/oci-lower-links.py" "$T/tars" || fail "make the layers" ""

mk "$T/good" 1 "$T/tars/l1.tar" "$T/tars/l2.tar" "$T/tars/l3.tar"
check "import layers with hardlinks to lower files" st oci import "oci:$T/good:1" --name links:1
rm -rf "$T/co"
st checkout oci/links:1 "$T/co" >/dev/null
ino() { stat -c %i "$T/co/$1"; }
check "c and k share the old etc/a's inode" test "$(ino c)" = "$(ino k)"
check "... and its old contents" test "$(cat "$T/co/k")" = "$(python3 -c 'print("alpha " * 30, end="")')"
check "etc/a has the new contents, its own inode" test "$(head -c 5 "$T/co/etc/a")" = "new a" -a "$(ino etc/a)" != "$(ino c)"
check "b was removed" test ! -e "$T/co/b"
check "sub/deep/l is a link of sub/deep/file" test "$(ino sub/deep/l)" = "$(ino sub/deep/file)"
check "nlink counts the live names" test "$(stat -c %h "$T/co/c")" = 2
check "verify rebuilds every layer" st -q oci verify links:1
if umoci --help >/dev/null 2>&1; then
	oci_unpack "$T/good" 1 "$T/unpacked"
	if [ "$(id -u)" = 0 ]; then
		check "the merged tree is umoci's unpack (hardlinks included)" env COMPARE_WHITEOUTS=plain \
			bash "$SOURCE_DIR/tests/compare-trees.sh" "$T/unpacked/rootfs" "$T/co"
	else
		check "the merged tree has umoci's names" diff <(cd "$T/unpacked/rootfs" && find . | sort) \
			<(cd "$T/co" && find . | sort)
	fi
fi
check "gc keeps it whole" st -q gc
check "verify after gc" st -q oci verify links:1

refuse() {
	local name=$1 want=$2 out rc=0
	shift 2
	mk "$T/$name" 1 "$@" || { fail "$name: layout" ""; return; }
	out=$(st oci import "oci:$T/$name:1" --name "bad/$name:1" 2>&1) || rc=$?
	if [ "$rc" = 0 ]; then fail "$name refused" "imported"; return; fi
	if grep -q "layer sha256:[0-9a-f]*.*'y'.*$want" <<<"$out" || grep -q "layer sha256:[0-9a-f]*.*member 'y'.*$want" <<<"$out"; then
		ok "$name refused, the layer and entry named"
	else
		fail "$name refused, the layer and entry named" "$out"
	fi
	if st refs --all | grep -q "bad/$name"; then fail "$name: no ref" "a ref was made"; fi
}
L1=$T/tars/l1.tar
refuse bad-own-whiteout "not in the layers below" "$L1" "$T/tars/bad-own-whiteout.tar"
refuse bad-dir "a directory" "$L1" "$T/tars/bad-dir.tar"
refuse bad-symlink "not a regular file" "$L1" "$T/tars/bad-symlink.tar"
refuse bad-through-symlink "not a directory" "$L1" "$T/tars/bad-through-symlink.tar"
refuse bad-dotdot "'\.\.'" "$L1" "$T/tars/bad-dotdot.tar"
refuse bad-absolute "absolute" "$L1" "$T/tars/bad-absolute.tar"
refuse bad-absent "not in the layers below" "$L1" "$T/tars/bad-absent.tar"
refuse bad-removed "not in the layers below" "$L1" "$T/tars/l2.tar" "$T/tars/bad-removed.tar"
refuse bad-root "directory" "$L1" "$T/tars/bad-root.tar"
check "a link out of a single layer is still refused" bash -c "! python3 '$SOURCE_DIR/tests/oci-make-layout.py' '$T/one' 1 '$T/tars/bad-absent.tar' ||
	! '$SEALTREE' --repo '$repo' oci import 'oci:$T/one:1' --name one:1 2>/dev/null"
check "commit --tar still refuses links to members not in the archive" bash -c "! '$SEALTREE' --repo '$repo' commit -b t --tar '$T/tars/bad-absent.tar' 2>/dev/null"
done_testing
