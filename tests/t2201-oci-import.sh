#!/bin/bash
# SPDX-License-Identifier: MIT
# sealtree oci import/images/inspect/rm: an image built with umoci in three
# layers (files, symlinks, hardlinks, whiteouts of files and directories)
# imported from an OCI layout, an oci-archive and a docker-archive (made by
# skopeo) gives the same composefs image each time, and its merged tree is
# umoci's own unpack of it; the records allow re-checking every diff_id;
# gc keeps what an image ref reaches; rm leaves the others alone.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/oci-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
export LC_ALL=C
repo=$TEST_TMP/repo
st() { "$SEALTREE" --repo "$repo" "$@"; }
st init --verity=off >/dev/null || { fail "init" ""; done_testing; exit; }
L=$TEST_TMP/layout

oci_new "$L" 1 &&
oci_layer "$L" 1 'mkdir -p etc d/sub keep; echo hello >etc/greeting; echo x >d/sub/f; head -c 70000 /dev/urandom >big
	echo z >hl1; ln hl1 hl2; ln -s /etc/greeting abs; ln -s ../etc rel; chmod 0750 keep; echo k >keep/k' &&
oci_layer "$L" 1 'rm -rf d etc/greeting hl1; echo new >etc/new; chmod 0700 etc' &&
oci_layer "$L" 1 'mkdir d; echo again >d/back; rm keep/k' ||
	{ fail "umoci builds the image" ""; done_testing; exit; }

check "import from an OCI layout" st oci import "oci:$L:1" --name test/app:1
oci_unpack "$L" 1 "$TEST_TMP/unpacked"
rm -rf "$TEST_TMP/co"
st checkout oci/test/app:1 "$TEST_TMP/co" >/dev/null
if [ "$(id -u)" = 0 ]; then
	check "the merged tree is umoci's unpack" env COMPARE_WHITEOUTS=plain \
		bash "$SOURCE_DIR/tests/compare-trees.sh" "$TEST_TMP/unpacked/rootfs" "$TEST_TMP/co"
else
	check "the merged tree has umoci's names" diff <(cd "$TEST_TMP/unpacked/rootfs" && find . | sort) \
		<(cd "$TEST_TMP/co" && find . | sort)
fi
check "whiteouts applied" test ! -e "$TEST_TMP/co/etc/greeting" -a ! -e "$TEST_TMP/co/d/sub" -a ! -e "$TEST_TMP/co/keep/k"
check "a directory re-created after its whiteout" test "$(cat "$TEST_TMP/co/d/back")" = again
check "an absolute symlink kept as a symlink" test "$(readlink "$TEST_TMP/co/abs")" = /etc/greeting
check "the upper layer's directory mode" test "$(stat -c %a "$TEST_TMP/co/etc")" = 700

img=$(commit_image "$repo" oci/test/app:1)
skopeo copy --quiet "oci:$L:1" "oci-archive:$TEST_TMP/o.tar:1" &&
	skopeo copy --quiet "oci:$L:1" "docker-archive:$TEST_TMP/d.tar:test/app:1" ||
	fail "skopeo makes the archives" ""
check "import an oci-archive" st -q oci import "oci-archive:$TEST_TMP/o.tar:1" --name arch/oci:1
check "import a docker-archive" st -q oci import "docker-archive:$TEST_TMP/d.tar" --name arch/docker:1
check "oci-archive: the same image" test "$(commit_image "$repo" oci/arch/oci:1)" = "$img"
check "docker-archive: the same image" test "$(commit_image "$repo" oci/arch/docker:1)" = "$img"
check "no temporary directory left" test -z "$(ls "$repo/tmp")"

# images, inspect: the records hold every layer's digest and diff_id.
check "images lists the three" test "$(st oci images | cut -d' ' -f1 | tr '\n' ' ')" = "arch/docker:1 arch/oci:1 test/app:1 "
st oci inspect --json test/app:1 >"$TEST_TMP/inspect.json"
check "inspect --json is JSON with 3 layers" python3 -c '
import json, sys; d = json.load(open(sys.argv[1])); assert len(d["layers"]) == 3 and d["os"] == "linux", d' "$TEST_TMP/inspect.json"
check "the diff_ids are the config's and re-verify" python3 - "$TEST_TMP/inspect.json" "$repo" <<'PY'
import gzip, hashlib, json, os, sys
d = json.load(open(sys.argv[1]))
cfg = json.load(open(os.path.join(sys.argv[2], "oci/blobs/sha256", d["config"][7:])))
assert [l["diffId"] for l in d["layers"]] == cfg["rootfs"]["diff_ids"]
man = open(os.path.join(sys.argv[2], "oci/blobs/sha256", d["manifest"][7:]), "rb").read()
assert "sha256:" + hashlib.sha256(man).hexdigest() == d["manifest"]
PY
check "oci/NAME:TAG resolves like any ref" st ls oci/test/app:1 /d
check "the ref lives under refs/oci" grep -q ' refs/oci/test/app/+1$' <(st refs --all)

# gc keeps what image refs reach; rm drops one image, not the others.
check "gc" st -q gc
check "the image survives gc" st cat oci/test/app:1 /big >/dev/null
check "rm" st oci rm arch/oci:1
check "rm: gone from the list" test "$(st oci images | wc -l)" = 2
check "rm: the manifest still used by another image is kept" st oci inspect test/app:1
check "rm: an unknown image" bash -c "! '$SEALTREE' --repo '$repo' oci rm nosuch:1 2>/dev/null"
# Names: the distribution grammar, a registry port kept apart from the tag.
check "a registry host with a port" st -q oci import "oci:$L:1" --name localhost:5000/x/y:2
check "its ref" grep -q ' refs/oci/localhost+5000/x/y/+2$' <(st refs --all)
check "listed by its name" grep -q '^localhost:5000/x/y:2 ' <(st oci images)
for bad in UPPER:1 'a//b:1' 'a/:1' 'a:' '-a:1' 'a:.b' 'a@sha256:00' 'a_-b:1'; do
	check "name '$bad' refused" bash -c "! '$SEALTREE' --repo '$repo' oci import 'oci:$L:1' --name '$bad' 2>/dev/null"
done
check "importing a new image under a tag replaces it" st -q oci import "oci:$L:1" --name arch/docker:1
done_testing
