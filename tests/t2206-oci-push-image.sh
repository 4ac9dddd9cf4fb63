#!/bin/bash
# SPDX-License-Identifier: MIT
# sealtree oci push of an imported image: its original layers, rebuilt
# from their tar-split records and the objects, go to Debian's
# docker-registry on loopback with the image's own config; pulled back (by
# skopeo and by oci pull into an empty repository) the diff_ids are the
# original config's, the tree is the same and verify passes. Pushed to a
# registry repository that has the original layers, the original manifest
# goes unchanged (same digest). A damaged object stops the push before
# anything is tagged; --flatten pushes the merged tree as one layer instead.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/oci-registry-lib.sh"
. "$(dirname "$0")/oci-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
need_registry_tools
export LC_ALL=C
T=$TEST_TMP
trap 'registry_stop_all; cleanup_test_tmp' EXIT
A() { "$SEALTREE" --repo "$T/a" "$@"; }
B() { "$SEALTREE" --repo "$T/b" "$@"; }
A init --verity=off >/dev/null
B init --verity=off >/dev/null
L=$T/layout

oci_new "$L" 1 &&
oci_layer "$L" 1 'mkdir -p etc usr/lib; echo a >etc/a; printf "only-in-layer-one-%0100d" 1 >etc/gone
	head -c 300000 /dev/urandom >usr/lib/big; echo h >hl; ln hl hl2; ln -s usr/lib lib' &&
oci_layer "$L" 1 'rm etc/gone; echo b >etc/b; head -c 100000 /dev/urandom >usr/lib/big' ||
	{ fail "umoci builds the image" ""; done_testing; exit; }
cfg_diff_ids() { python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["rootfs"]["diff_ids"]))' "$1"; }
man=$(oci_manifest "$L" 1)
orig_cfg=$L/blobs/sha256/$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["config"]["digest"][7:])' "$man")

check "import" A -q oci import "oci:$L:1" --name app:1
A -q gc
registry_start reg
check "push the imported image" A oci push --tls-verify=false oci/app:1 "$REG/test/app:1" >"$T/push.out"
check "it says the original layers went" grep -q "oci push: 2 original layers rebuilt" "$T/push.out"
skopeo inspect --tls-verify=false --raw "docker://$REG/test/app:1" >"$T/m.json"
skopeo inspect --tls-verify=false --config --raw "docker://$REG/test/app:1" >"$T/c.json"
check "two tar+zstd layers" python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))
assert [l["mediaType"] for l in m["layers"]] == ["application/vnd.oci.image.layer.v1.tar+zstd"] * 2, m' "$T/m.json"
check "the config is the original, byte for byte" cmp "$T/c.json" "$orig_cfg"
check "skopeo copies it out" skopeo copy -q --src-tls-verify=false "docker://$REG/test/app:1" "oci:$T/back:1"
check "each layer decompresses to its diff_id" python3 - "$T/back" "$(cfg_diff_ids "$orig_cfg")" <<'PY'
import hashlib, json, subprocess, sys
d, want = sys.argv[1], sys.argv[2].split()
idx = json.load(open(d + "/index.json"))
m = json.load(open(d + "/blobs/sha256/" + idx["manifests"][0]["digest"][7:]))
got = []
for l in m["layers"]:
    tar = subprocess.run(["zstd", "-dcq", d + "/blobs/sha256/" + l["digest"][7:]], stdout=subprocess.PIPE, check=True).stdout
    got.append("sha256:" + hashlib.sha256(tar).hexdigest())
assert got == want, (got, want)
PY
check "oci pull into an empty repository" B -q oci pull --tls-verify=false "$REG/test/app:1" --name app:1
check "pulled: same diff_ids" test "$(B oci inspect app:1 | grep -o 'diff_id sha256:[0-9a-f]*' | tr '\n' ' ')" = \
	"$(A oci inspect app:1 | grep -o 'diff_id sha256:[0-9a-f]*' | tr '\n' ' ')"
check "pulled: same tree" test "$(commit_image "$T/b" oci/app:1)" = "$(commit_image "$T/a" oci/app:1)"
check "pulled: verify passes" B oci verify app:1
A oci push --tls-verify=false oci/app:1 "$REG/test/app:1" >"$T/push2.out"
check "a second push uploads nothing" grep -q "0 blobs uploaded (0 bytes), 3 already there" "$T/push2.out"

# A registry repository that holds the original layers (the image copied
# there by skopeo, as a pull would find it): the push sends the original
# manifest, unchanged, nothing rebuilt; the image keeps its digest.
push "$L:1" test/orig:1
orig_digest=sha256:$(sha256sum "$man" | cut -d' ' -f1)
check "push back to where the original layers are" A oci push --tls-verify=false oci/app:1 "$REG/test/orig:2" >"$T/push3.out"
check "... says the original manifest went unchanged" grep -q "the registry has the 2 original layers: the original manifest, unchanged" "$T/push3.out"
check "... nothing uploaded" grep -q "0 blobs uploaded (0 bytes), 3 already there" "$T/push3.out"
check "... the tag names the original manifest digest" test "$(skopeo inspect --tls-verify=false --raw "docker://$REG/test/orig:2" | sha256sum | cut -d' ' -f1)" = "${orig_digest#sha256:}"
check "... which the output says" grep -q ": manifest $orig_digest\$" "$T/push3.out"

# A damaged object: the push stops, naming the layer and the member; no tag.
gone=$(grep -rl 'only-in-layer-one-' "$T/a/objects")
chmod u+w "$gone"; printf 'X' | dd of="$gone" bs=1 seek=30 conv=notrunc 2>/dev/null
rc=0; A oci push --tls-verify=false oci/app:1 "$REG/test/app:2" 2>"$T/err" || rc=$?
check "push of a damaged image fails" test "$rc" = 1
check "it names the layer and the member" grep -q "layer 1/2 .*member 'etc/gone'.*does not match its fs-verity digest" "$T/err"
check "no tag app:2" bash -c "! skopeo inspect --tls-verify=false 'docker://$REG/test/app:2' >/dev/null 2>&1"
check "--flatten pushes the merged tree" A oci push --tls-verify=false --flatten oci/app:1 "$REG/test/flat:1"
check "... as one zstd:chunked layer" test "$(skopeo inspect --tls-verify=false --raw "docker://$REG/test/flat:1" |
	python3 -c 'import json,sys; print(len(json.load(sys.stdin)["layers"]))')" = 1
done_testing
