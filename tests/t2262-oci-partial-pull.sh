#!/bin/bash
# SPDX-License-Identifier: MIT
# Partial pulls of zstd:chunked layers from Debian's docker-registry on
# loopback: two images pushed with oci push that differ by 1% of their
# files (1 of 100); once the first is in the store, the pull of the second
# through a counting proxy fetches the TOC, the tar headers frame and the
# changed file only (not the frames between files): the bytes on the wire
# (headers included) within 1.1x of the changed file's compressed size, in
# at most 10 requests; the same tree as the source. A registry that
# ignores Range gets the whole layer; TOCs that lie (a file's sha256, its
# fs-verity digest, its offset, its size, the TOC's own digest) and tar
# headers frames that lie (their digest, a byte, a run's length) are
# refused naming the entry or the frame, and nothing is published.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/oci-registry-lib.sh"

chunked_test_setup

mkdir -p "$T/tree/usr/lib" "$T/tree/etc"
for i in $(seq 1 100); do head -c 400000 /dev/urandom >"$T/tree/usr/lib/f$i"; done
echo conf >"$T/tree/etc/conf"
A init --verity=off >/dev/null
A commit -b v1 --tree "$T/tree" -s v1 >/dev/null
head -c 400000 /dev/urandom >"$T/tree/usr/lib/f50"
A commit -b v2 --tree "$T/tree" -s v2 >/dev/null

registry_start reg
A oci push --tls-verify=false v1 "$REG/test/os:v1" >/dev/null
A oci push --tls-verify=false v2 "$REG/test/os:v2" >/dev/null
B init --verity=off >/dev/null
check "the first image, whole" B oci pull --tls-verify=false "$REG/test/os:v1"

count_proxy p1
B oci pull --name test/os:v2 "http://$PROXY/test/os:v2" >"$T/pull2.out"
kill "${REG_PIDS[-1]}" 2>/dev/null || true
# etc/conf (5 bytes) is inline, not an object: fetched with the changed file.
check "the second image, partially" grep -q "1 zstd:chunked layers partially: 2 files fetched, 99 found in the store" \
	"$T/pull2.out"
A dump v2 >"$T/a.dump"
B dump oci/test/os:v2 >"$T/b.dump"
check "... the same tree as the source" cmp "$T/a.dump" "$T/b.dump"
changed=$(python3 - "$REG" <<'PY'
import json, struct, subprocess, sys, urllib.request
base = "http://%s/v2/test/os" % sys.argv[1]
rq = urllib.request.Request(base + "/manifests/v2", headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
m = json.loads(urllib.request.urlopen(rq).read())
blob = urllib.request.urlopen(base + "/blobs/" + m["layers"][0]["digest"]).read()
off, clen = struct.unpack("<QQ", blob[-64:-48])
toc = json.loads(subprocess.run(["zstd", "-dcq"], input=blob[off:off + clen], capture_output=True).stdout)
print(sum(e["endOffset"] - e["offset"] for e in toc["entries"] if e["name"] == "usr/lib/f50"))
PY
)
read -r requests body wire <"$T/p1.count"
echo "# partial pull: $requests requests, $body body bytes, $wire bytes on the wire; the changed file compressed: $changed bytes"
check "... bytes on the wire within 1.1x of the changed file's compressed size" \
	python3 -c "import sys; sys.exit(0 if $wire <= 1.1 * $changed else 1)"
check "... in at most 10 requests (the frames between files are not fetched)" test "$requests" -le 10

# A registry that ignores Range: the whole layer.
B oci rm test/os:v2 >/dev/null
count_proxy p2 --no-range
check "a registry that ignores Range" B oci pull --name test/os:v2b "http://$PROXY/test/os:v2" >"$T/pull3.out"
check "... gets the whole layer" sh -c "! grep -q partially '$T/pull3.out'"
B dump oci/test/os:v2b >"$T/b2.dump"
check "... the same tree" cmp "$T/a.dump" "$T/b2.dump"
kill "${REG_PIDS[-1]}" 2>/dev/null || true

# TOCs that lie, pulled into a store that has the first image only (so f50 is fetched).
C init --verity=off >/dev/null
C oci pull --tls-verify=false "$REG/test/os:v1" >/dev/null

for mode in digest verity offset size tocdigest hdrdigest hdrbyte hdrsplit; do
	python3 "$(dirname "$0")/chunked-lie.py" "$REG" test/os v2 "lie-$mode" "$mode" usr/lib/f50
	rc=0
	C oci pull --tls-verify=false --name "test/lie:$mode" "$REG/test/os:lie-$mode" >/dev/null 2>"$T/err" || rc=$?
	check "a TOC that lies ($mode) is refused" test $rc = 1
	if [ "$mode" = tocdigest ]; then
		check "... saying the TOC does not match" grep -q "its TOC does not match the manifest's digest" "$T/err"
	elif [ "$mode" = hdrdigest ]; then
		check "... saying the tar headers frame does not match" \
			grep -q "its tar headers frame does not match the manifest's digest" "$T/err"
	elif [ "$mode" = hdrbyte ]; then
		check "... saying the rebuilt tar is not the diff_id" grep -q "is not its diff_id" "$T/err"
	elif [ "$mode" = hdrsplit ]; then
		check "... saying the frame does not split" grep -q "tar headers frame" "$T/err"
	else
		check "... naming the entry" grep -q "usr/lib/f50" "$T/err"
	fi
	check "... nothing published" sh -c "! '$SEALTREE' --repo '$T/c' refs --all | grep -q 'lie'"
	cat "$T/err" | head -2 | sed 's/^/# /'
done
check "fsck is clean" B fsck
check "... here too" C fsck
done_testing
