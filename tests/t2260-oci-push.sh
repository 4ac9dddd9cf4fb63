#!/bin/bash
# SPDX-License-Identifier: MIT
# sealtree oci push to Debian's docker-registry on loopback: a host commit
# (regular files, an empty one, a symlink, a hardlink, an empty directory)
# becomes an image of one zstd:chunked layer; skopeo reads it, its layer
# is a plain tar for zstd and tar, its TOC points at one frame per file
# (checked frame by frame), and oci pull of it into an empty repository
# gives the same tree (same dump). A second push uploads no blob again. A
# tree with a device node is refused, naming it.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/oci-registry-lib.sh"

chunked_test_setup

mkdir -p "$T/tree/usr/lib" "$T/tree/etc" "$T/tree/emptydir" "$T/tree/usr/bin"
for i in $(seq 1 30); do head -c $((i * 997)) /dev/urandom >"$T/tree/usr/lib/f$i"; done
head -c 2000000 /dev/zero >"$T/tree/usr/lib/zeros"
echo hello >"$T/tree/etc/x"
ln "$T/tree/etc/x" "$T/tree/etc/hardlink"
ln -s usr/lib "$T/tree/lib"
: >"$T/tree/empty"
printf '#!/bin/sh\necho hi\n' >"$T/tree/usr/bin/hi"
chmod 0755 "$T/tree/usr/bin/hi"
chmod 0600 "$T/tree/etc/x"
long=$(printf 'd%.0s' $(seq 1 120))
mkdir -p "$T/tree/$long/$long"
echo deep >"$T/tree/$long/$long/file with spaces \"q\""

registry_start reg
A init --verity=off >/dev/null
B init --verity=off >/dev/null
A commit -b os/main --tree "$T/tree" -s os >/dev/null

check "oci push of a host commit" A oci push --tls-verify=false os/main "$REG/test/os:1"
A oci push --tls-verify=false os/main "$REG/test/os:1" >"$T/push2.out"
check "a second push uploads no blob" grep -q "0 blobs uploaded (0 bytes), 2 already there" "$T/push2.out"
check "skopeo inspect reads it" skopeo inspect --tls-verify=false "docker://$REG/test/os:1"
skopeo inspect --tls-verify=false --raw "docker://$REG/test/os:1" >"$T/manifest.json"
check "the layer is tar+zstd with the zstd:chunked annotations" python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))
l = m["layers"][0]
a = l["annotations"]
assert l["mediaType"] == "application/vnd.oci.image.layer.v1.tar+zstd"
assert a["io.github.containers.zstd-chunked.manifest-checksum"].startswith("sha256:")
assert len(a["io.github.containers.zstd-chunked.manifest-position"].split(":")) == 4
' "$T/manifest.json"
check "skopeo copy takes it out" skopeo copy -q --src-tls-verify=false "docker://$REG/test/os:1" "oci:$T/lay:x"
layer=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["layers"][0]["digest"][7:])' "$T/manifest.json")
blob=$T/lay/blobs/sha256/$layer
check "zstd -d | tar t lists every entry" sh -c "zstd -dcq '$blob' | tar tf - >'$T/list'"
check "... the deep name with spaces among them" grep -q 'file with spaces "q"' "$T/list"
mkdir -p "$T/x"
check "tar extracts it" sh -c "zstd -dcq '$blob' | tar -C '$T/x' -xf -"
check "... the same file contents" cmp "$T/tree/usr/lib/f17" "$T/x/usr/lib/f17"
check "the TOC: one frame per file, sha256 and fs-verity digests" python3 "$(dirname "$0")/chunked-check.py" "$blob"

check "oci pull of it into an empty repository" B oci pull --tls-verify=false "$REG/test/os:1"
A dump os/main >"$T/a.dump"
B dump "oci/$REG/test/os:1" >"$T/b.dump"
check "... the same tree (same dump)" cmp "$T/a.dump" "$T/b.dump"
check "pushing the pulled image again" B oci push --tls-verify=false "oci/$REG/test/os:1" "$REG/test/again:1"

rc=0
A oci push --tls-verify=false os/main "$REG/test/os@sha256:$(printf '0%.0s' $(seq 64))" 2>"$T/err" || rc=$?
check "a destination without a tag is refused" test $rc = 1
rc=0
A oci push --tls-verify=false no/such "$REG/test/os:2" 2>"$T/err" || rc=$?
check "an unknown ref is refused" test $rc = 1
# A tree with a device node (a debootstrap'd /dev): refused before any
# upload, naming the entry; our import would refuse such a layer.
printf '/ 4096 40755 2 0 0 0 0.0 - - -\n/dev 4096 40755 2 0 0 0 0.0 - - -\n/dev/null 0 20666 1 0 0 259 0.0 - - -\n' >"$T/dev.dump"
A commit -b withdev --dumpfile "$T/dev.dump" >/dev/null
rc=0
A oci push --tls-verify=false withdev "$REG/test/dev:1" 2>"$T/err" || rc=$?
check "a tree with a device node is refused" test $rc = 1
check "... naming the entry" grep -q "withdev: entry '/dev/null': a character device node" "$T/err"
check "... and no tag pushed" sh -c "! skopeo inspect --tls-verify=false 'docker://$REG/test/dev:1' >/dev/null 2>&1"
check "oci push --help" A oci push --help
done_testing
