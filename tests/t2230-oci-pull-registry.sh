#!/bin/bash
# SPDX-License-Identifier: MIT
# sealtree oci pull from Debian's docker-registry (distribution 2.8) on
# loopback, no authentication: images made with umoci from small trees
# (layers with a whiteout), pushed with skopeo, pulled by tag and by
# digest, with OCI and Docker schema 2 manifests; the pulled tree is the
# image's tree (umoci's unpack of the same image), blobs are hashed as
# they come and fetched once (several at once), a second pull of an
# unchanged tag fetches no blob, a plain-http registry is reached with
# --tls-verify=false, and a tag that does not exist is a clear error.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/oci-registry-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
need_registry_tools
export LC_ALL=C
T=$TEST_TMP
cl=$T/cl
C() { "$SEALTREE" --repo "$cl" "$@"; }
trap 'registry_stop_all; cleanup_test_tmp' EXIT

# same_tree A B: the same paths, types, modes, symlink targets and contents.
same_tree() {
	python3 - "$1" "$2" <<'PY'
import os, stat, sys
def walk(root):
    out = {}
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(d, n)
            st = os.lstat(p)
            rel = os.path.relpath(p, root)
            if stat.S_ISLNK(st.st_mode):
                v = ("l", os.readlink(p))
            elif stat.S_ISREG(st.st_mode):
                v = ("f", stat.S_IMODE(st.st_mode), open(p, "rb").read())
            else:
                v = ("d" if stat.S_ISDIR(st.st_mode) else "o", stat.S_IMODE(st.st_mode))
            out[rel] = v
    return out
a, b = walk(sys.argv[1]), walk(sys.argv[2])
bad = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
for k in bad[:20]:
    print("differs:", k, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
}

# ---- two images: a base, and one more layer that deletes and adds ----
mkdir -p "$T/l1/etc/dir" "$T/l1/usr/lib" "$T/l2/etc" "$T/l3/srv"
for i in $(seq 1 40); do echo "file $i" >"$T/l1/usr/lib/f$i"; done
head -c 300000 /dev/urandom >"$T/l1/usr/lib/random.bin"
echo keep >"$T/l1/etc/keep"
echo gone >"$T/l1/etc/gone"
echo inside >"$T/l1/etc/dir/inside"
chmod 0600 "$T/l1/etc/keep"
ln -s usr/lib "$T/l1/lib"
echo added >"$T/l2/etc/added"
printf 'etc/gone\netc/dir\n' >"$T/l2/.delete"
echo srv >"$T/l3/srv/data"
oci_image "$T/layout" base "$T/l1"
oci_image "$T/layout" app "$T/l1" "$T/l2" "$T/l3"
umoci unpack --rootless --image "$T/layout:base" "$T/ref-base" >/dev/null
umoci unpack --rootless --image "$T/layout:app" "$T/ref-app" >/dev/null

registry_start reg
push "$T/layout:base" test/base:1
push "$T/layout:app" test/app:1
C init --verity=off >/dev/null

# ---- by tag ----
check "a pull by tag over plain http (--tls-verify=false)" \
	C oci pull --tls-verify=false "$REG/test/app:1"
C oci pull --tls-verify=false "$REG/test/app:1" >"$T/again.out"
check "oci/$REG/test/app:1 is a commit" C checkout "oci/$REG/test/app:1" "$T/co-app"
check "... whose tree is the image's (whiteouts applied)" same_tree "$T/ref-app/rootfs" "$T/co-app"
check "... without the deleted file and directory" test ! -e "$T/co-app/etc/gone" -a ! -e "$T/co-app/etc/dir"
check "a second pull of the same tag fetches no blob" grep -q "up to date" "$T/again.out"
check "... and says 0 blobs fetched" grep -q "0 blobs fetched" "$T/again.out"
check "the pull cache is empty after the import" test -z "$(ls "$cl/cache/oci-pull/blobs/sha256/")"
check "tmp/ holds nothing after the pull" test -z "$(ls "$cl/tmp/")"

# ---- by digest, with --name ----
digest=$(skopeo inspect --tls-verify=false --raw "docker://$REG/test/base:1" | sha256sum | cut -d' ' -f1)
check "a pull by digest" C oci pull --tls-verify=false --name local/base:pinned "$REG/test/base@sha256:$digest"
C oci pull --tls-verify=false "$REG/test/base@sha256:$digest" >"$T/bydigest.out"
check "... named REGISTRY/NAME:sha256-HEX without --name" \
	C checkout "oci/$REG/test/base:sha256-$digest" "$T/co-base-digest"
check "... the base image's tree" same_tree "$T/ref-base/rootfs" "$T/co-base-digest"
check "... and under --name" C checkout oci/local/base:pinned "$T/co-base"
check "... the same commit" test "$(C show --json oci/local/base:pinned | grep '"image"')" = \
	"$(C show --json "oci/$REG/test/base:sha256-$digest" | grep '"image"')"

# ---- a Docker schema 2 manifest (skopeo --format v2s2): the same tree ----
push "$T/layout:app" test/docker:1 --format v2s2
check "the registry holds a Docker schema 2 manifest" grep -q 'application/vnd.docker.distribution.manifest.v2+json' \
	<(skopeo inspect --tls-verify=false --raw "docker://$REG/test/docker:1")
check "a pull of a Docker schema 2 manifest" C oci pull --tls-verify=false "$REG/test/docker:1"
C checkout "oci/$REG/test/docker:1" "$T/co-docker" >/dev/null
check "... whose tree is the image's" same_tree "$T/ref-app/rootfs" "$T/co-docker"
check "... and whose record keeps the Docker media types" grep -q 'application/vnd.docker.image.rootfs.diff.tar.gzip' \
	<(C oci inspect "$REG/test/docker:1")

# ---- errors ----
rc=0
C oci pull --tls-verify=false "$REG/test/app:nosuchtag" 2>"$T/err" || rc=$?
check "a missing tag fails" test $rc = 1
check "... naming the manifest and the registry" grep -q "manifest nosuchtag: not in http://$REG/test/app" "$T/err"
rc=0
C oci pull "$REG/test/app:1" 2>"$T/err" || rc=$?
check "https is the default: a plain-http registry fails without --tls-verify=false" test $rc = 1
check "... naming the URL" grep -q "https://$REG/v2/" "$T/err"
rc=0
C oci pull --tls-verify=false "$REG/Test/App:1" 2>"$T/err" || rc=$?
check "an uppercase repository name is refused before any request" test $rc = 1
check "... saying why" grep -q "not a repository name" "$T/err"
check "oci pull --help" C oci pull --help

# ---- several blobs at once ----
mkdir -p "$T/many"
oci_image "$T/layout" many "$T/l1" "$T/l2" "$T/l3" "$T/l1" "$T/l2" "$T/l3"
push "$T/layout:many" test/many:1
check "an image of six layers" C oci pull --tls-verify=false "$REG/test/many:1"
check "fsck is clean" C fsck

done_testing
