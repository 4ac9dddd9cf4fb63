#!/bin/bash
# SPDX-License-Identifier: MIT
# TOC deltas (docs/formats/oci.md, "TOC deltas") through Debian's
# docker-registry on loopback: the second of two images pushed with
# --delta-from the first carries a delta of its TOC and tar headers frame;
# a store that holds the first (pulled whole: it kept the pair) pulls the
# second fetching the delta instead of the TOC and headers frame (counted
# by the proxy: at least the TOC's length less on the wire than a store
# without the base, which fetches the full TOC), the same tree. Deltas that
# lie (a changed byte, a wrong checksum, a wrong base, a wrong pair digest)
# are refused, saying why: the TOC is fetched and checked as before and the
# pulled tree is the source's. Every kept pair holds the bytes its name says.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/oci-registry-lib.sh"

chunked_test_setup

# 400 files of 4000 bytes; the second image changes 4 of them (1%), to 100 kB each.
mkdir -p "$T/tree/usr/share/doc"
for i in $(seq 1 400); do head -c 4000 /dev/urandom >"$T/tree/usr/share/doc/f$i"; done
A init --verity=off >/dev/null
A commit -b v1 --tree "$T/tree" -s v1 >/dev/null
for i in 100 200 300 400; do head -c 100000 /dev/urandom >"$T/tree/usr/share/doc/f$i"; done
A commit -b v2 --tree "$T/tree" -s v2 >/dev/null

registry_start reg
A oci push --tls-verify=false v1 "$REG/test/os:v1" >/dev/null
A oci push --tls-verify=false --delta-from v1 v2 "$REG/test/os:v2" >"$T/push2.out"
check "the push writes a TOC delta against v1" grep -q "a TOC delta of [0-9]* bytes against v1" "$T/push2.out"
A oci push --tls-verify=false v2 "$REG/test/os:v2-nodelta" >"$T/push3.out"
check "... and none without --delta-from" sh -c "! grep -q 'TOC delta' '$T/push3.out'"
check "zstd -d | tar reads the layer with the delta frame" python3 - "$REG" <<'PY'
import json, subprocess, sys, urllib.request
base = "http://%s/v2/test/os" % sys.argv[1]
rq = urllib.request.Request(base + "/manifests/v2", headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
m = json.loads(urllib.request.urlopen(rq).read())
blob = urllib.request.urlopen(base + "/blobs/" + m["layers"][0]["digest"]).read()
tar = subprocess.run(["zstd", "-dcq"], input=blob, capture_output=True, check=True).stdout
names = subprocess.run(["tar", "-t"], input=tar, capture_output=True, check=True).stdout.split()
sys.exit(0 if b"usr/share/doc/f400" in names and len(names) >= 400 else 1)
PY

# B: the first image whole (an empty store), which keeps its pair; then the second through the proxy.
B init --verity=off >/dev/null
B oci pull --tls-verify=false "$REG/test/os:v1" >/dev/null
count_proxy p1
check "the second image, partially" B oci pull --name test/os:v2 "http://$PROXY/test/os:v2" >"$T/pullb.out"
kill "${REG_PIDS[-1]}" 2>/dev/null || true
check "... its TOC rebuilt from the delta" grep -q "1 TOCs rebuilt from a delta" "$T/pullb.out"
check "... 4 files fetched" grep -q "partially: 4 files fetched, 396 found in the store" "$T/pullb.out"
A dump v2 >"$T/a.dump"
B dump oci/test/os:v2 >"$T/b.dump"
check "... the same tree as the source" cmp "$T/a.dump" "$T/b.dump"

# C: the first image too, but without its pair (as a store before TOC deltas): the full TOC.
C init --verity=off >/dev/null
C oci pull --tls-verify=false "$REG/test/os:v1" >/dev/null
rm -rf "$T/c/cache/chunked-pairs"
count_proxy p2
check "a store without the base" C oci pull --name test/os:v2 "http://$PROXY/test/os:v2" >"$T/pullc.out"
kill "${REG_PIDS[-1]}" 2>/dev/null || true
check "... fetches the full TOC" sh -c "! grep -q 'delta' '$T/pullc.out'"
C dump oci/test/os:v2 >"$T/c.dump"
check "... the same tree" cmp "$T/a.dump" "$T/c.dump"
read -r _ _ wire_b <"$T/p1.count"
read -r _ _ wire_c <"$T/p2.count"
sizes=$(python3 - "$REG" <<'PY'
import json, sys, urllib.request
base = "http://%s/v2/test/os" % sys.argv[1]
rq = urllib.request.Request(base + "/manifests/v2", headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
a = json.loads(urllib.request.urlopen(rq).read())["layers"][0]["annotations"]
toc = int(a["io.github.containers.zstd-chunked.manifest-position"].split(":")[1])
hdr = int(a["io.sealtree.tar-headers-position"].split(":")[1])
delta = int(a["io.sealtree.toc-delta-position"].split(":")[1])
print(toc, hdr, delta)
PY
)
read -r toc_len hdr_len delta_len <<<"$sizes"
echo "# on the wire: $wire_b bytes with the delta ($delta_len bytes), $wire_c without (TOC $toc_len, headers frame $hdr_len)"
check "... the delta saved at least the TOC's and headers frame's length less the delta's" \
	test $((wire_b + toc_len + hdr_len - delta_len)) -le "$wire_c"

# Deltas that lie: refused, saying why, the TOC fetched and checked; the tree is still the source's.
pair_v1=$(python3 -c "
import json, sys, urllib.request
rq = urllib.request.Request('http://$REG/v2/test/os/manifests/v1', headers={'Accept': 'application/vnd.oci.image.manifest.v1+json'})
print(json.loads(urllib.request.urlopen(rq).read())['layers'][0]['annotations']['io.sealtree.toc-pair-checksum'])")
pair_v2=$(python3 -c "
import json, sys, urllib.request
rq = urllib.request.Request('http://$REG/v2/test/os/manifests/v2', headers={'Accept': 'application/vnd.oci.image.manifest.v1+json'})
print(json.loads(urllib.request.urlopen(rq).read())['layers'][0]['annotations']['io.sealtree.toc-pair-checksum'])")
check "B keeps the pairs of both images" test -s "$T/b/cache/chunked-pairs/${pair_v1#sha256:}" -a \
	-s "$T/b/cache/chunked-pairs/${pair_v2#sha256:}"
"$SEALTREE" --repo "$T/d" init --verity=off >/dev/null
"$SEALTREE" --repo "$T/d" oci pull --tls-verify=false "$REG/test/os:v1" >/dev/null
for mode in bytes checksum base pair; do
	D() { "$SEALTREE" --repo "$T/d-$mode" "$@"; }
	cp -a "$T/d" "$T/d-$mode"
	[ $mode = base ] && cp "$T/b/cache/chunked-pairs/${pair_v2#sha256:}" "$T/d-$mode/cache/chunked-pairs/"
	python3 "$(dirname "$0")/chunked-lie.py" "$REG" test/os v2 "dlie-$mode" "delta-$mode" "$pair_v2"
	rc=0
	D oci pull --tls-verify=false --name "test/os:$mode" "$REG/test/os:dlie-$mode" >"$T/out" 2>"$T/err" || rc=$?
	check "a delta that lies ($mode): the pull still succeeds" test $rc = 0
	case $mode in
	bytes) why="does not decompress against its base\|does not match the manifest's io.sealtree.toc-pair-checksum" ;;
	checksum) why="does not match the manifest's io.sealtree.toc-delta-checksum" ;;
	base) why="does not decompress against its base\|does not match the manifest's io.sealtree.toc-pair-checksum" ;;
	pair) why="does not match the manifest's io.sealtree.toc-pair-checksum" ;;
	esac
	check "... the delta refused, saying why" grep -q "1 TOC deltas refused (.*\($why\).*): the TOC was fetched" "$T/out"
	check "... not used" sh -c "! grep -q 'rebuilt from a delta' '$T/out'"
	grep "refused" "$T/out" | sed 's/^/# /'
	D dump "oci/test/os:$mode" >"$T/d.dump"
	check "... the tree is the source's" cmp "$T/a.dump" "$T/d.dump"
	check "... fsck is clean" D fsck
done
check "every kept pair has the digest its name says" sh -c "
	for f in '$T'/b/cache/chunked-pairs/* '$T'/d-*/cache/chunked-pairs/*; do
		[ \"\$(sha256sum <\"\$f\" | cut -d' ' -f1)\" = \"\$(basename \"\$f\")\" ] || exit 1
	done"
check "fsck is clean" B fsck
# gc keeps the pair of every image it keeps (the base of the next delta), and only those.
pairs=$T/b/cache/chunked-pairs
B gc >/dev/null
check "gc keeps the pairs of kept images" test -s "$pairs/${pair_v1#sha256:}" -a -s "$pairs/${pair_v2#sha256:}"
B oci rm "oci/$REG/test/os:v1" >/dev/null
B gc >/dev/null
check "gc removes the pair of a removed image" test ! -e "$pairs/${pair_v1#sha256:}" -a -s "$pairs/${pair_v2#sha256:}"
check "fsck is clean after gc" B fsck
done_testing
