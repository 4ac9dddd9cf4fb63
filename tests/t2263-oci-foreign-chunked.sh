#!/bin/bash
# SPDX-License-Identifier: MIT
# Partial pulls of zstd:chunked layers whose TOC names files by SHA-256
# only (containers/storage's format without our io.sealtree.fsverity key
# and tar headers frame, made by oci push --plain-chunked), through the repository's SHA-256
# index (cache/sha256, docs/formats/repository.md):
# - a first pull into an empty store fetches the layer whole, not its TOC
#   first (the bytes: exactly manifest + config + layer);
# - that pull's import fills the index; the pull of an image that differs
#   by one file fetches only that file: bytes within 1.2x of its frame;
# - a store whose files came from a host commit gets its index from
#   fsck --repair and pulls partially as well;
# - an index entry that lies (a SHA-256 mapped to another object of the
#   same size, or to a missing one) is caught and the file fetched;
# - fsck warns about a damaged index, fsck --repair writes a deleted or
#   damaged one again, gc drops the entries of the objects it removes.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/oci-registry-lib.sh"

chunked_test_setup

stop_proxy() { kill "${REG_PIDS[-1]}" 2>/dev/null || true; wait "${REG_PIDS[-1]}" 2>/dev/null || true; }

# index_entries REPO: the entry count of REPO/cache/sha256 (checks its length too).
index_entries() {
	python3 - "$1/cache/sha256" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
n, = struct.unpack("<Q", d[8:16])
assert d[:8] == b"STSHAIX1" and len(d) == 16 + 64 * n, "bad index"
print(n)
PY
}

mkdir -p "$T/tree/usr/lib" "$T/tree/etc"
for i in $(seq 1 100); do head -c 400000 /dev/urandom >"$T/tree/usr/lib/f$i"; done
echo conf >"$T/tree/etc/conf"
A init --verity=off >/dev/null
A commit -b v1 --tree "$T/tree" -s v1 >/dev/null
head -c 400000 /dev/urandom >"$T/tree/usr/lib/f50"
A commit -b v2 --tree "$T/tree" -s v2 >/dev/null

registry_start reg
A oci push --plain-chunked --tls-verify=false v1 "$REG/test/os:v1" >/dev/null
A oci push --plain-chunked --tls-verify=false v2 "$REG/test/os:v2" >/dev/null
# sizes MANIFEST_TAG: manifest, config and layer bytes; the layer's TOC length; f50's frame.
sizes() {
	python3 - "$REG" "$1" <<'PY'
import json, struct, subprocess, sys, urllib.request
base = "http://%s/v2/test/os" % sys.argv[1]
rq = urllib.request.Request(base + "/manifests/" + sys.argv[2], headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
raw = urllib.request.urlopen(rq).read()
m = json.loads(raw)
blob = urllib.request.urlopen(base + "/blobs/" + m["layers"][0]["digest"]).read()
off, clen = struct.unpack("<QQ", blob[-64:-48])
toc = json.loads(subprocess.run(["zstd", "-dcq"], input=blob[off:off + clen], capture_output=True).stdout)
assert not any("io.sealtree.fsverity" in e for e in toc["entries"]), "the TOC has our key"
f50 = sum(e["endOffset"] - e["offset"] for e in toc["entries"] if e["name"] == "usr/lib/f50")
print(len(raw) + m["config"]["size"] + m["layers"][0]["size"], clen, f50)
PY
}
read -r whole1 toclen1 _ < <(sizes v1)
read -r _ _ changed < <(sizes v2)
check "the TOCs carry no fs-verity digest" test -n "$changed"

# 1. Into an empty store: the layer whole, directly.
B init --verity=off >/dev/null
count_proxy p1
check "the first image into an empty store" B oci pull --name test/os:v1 "http://$PROXY/test/os:v1" >"$T/pull1.out"
stop_proxy
read -r requests body wire <"$T/p1.count"
echo "# first pull: $requests requests, $body body bytes; manifest + config + layer = $whole1, TOC $toclen1"
# The only other body is the 2-byte "{}" of the registry's /v2/ check.
check "... fetches manifest, config and layer, not the TOC first" test "$body" -eq "$((whole1 + 2))"
check "... its import fills the SHA-256 index" test "$(index_entries "$T/b")" = 100

# 2. The second image: only the changed file.
count_proxy p2
B oci pull --name test/os:v2 "http://$PROXY/test/os:v2" >"$T/pull2.out"
stop_proxy
cat "$T/pull2.out" | sed 's/^/# /'
check "the second image, partially, by SHA-256" \
	grep -q "1 zstd:chunked layers partially: 2 files fetched, 99 found in the store" "$T/pull2.out"
read -r requests body wire <"$T/p2.count"
echo "# partial pull: $requests requests, $body body bytes, $wire on the wire; the changed file compressed: $changed"
check "... bytes on the wire within 1.2x of the changed file's compressed size" \
	python3 -c "import sys; sys.exit(0 if $wire <= 1.2 * $changed else 1)"
A dump v2 >"$T/a.dump"
B dump oci/test/os:v2 >"$T/b.dump"
check "... the same tree as the source" cmp "$T/a.dump" "$T/b.dump"
check "... the index learned the new file" test "$(index_entries "$T/b")" = 101

# 3. Files from a host commit: fsck --repair builds the index, the pull is partial.
C init --verity=off >/dev/null
A checkout v1 "$T/v1tree" >/dev/null
C commit -b host --tree "$T/v1tree" -s host >/dev/null
check "a host commit alone leaves no index" test ! -e "$T/c/cache/sha256"
check "fsck --repair writes the index" C fsck --repair
check "... one entry per object" test "$(index_entries "$T/c")" = 100
C oci pull --tls-verify=false --name test/os:v2 "$REG/test/os:v2" >"$T/pull3.out"
check "... then the pull is partial" \
	grep -q "1 zstd:chunked layers partially: 2 files fetched, 99 found in the store" "$T/pull3.out"

# 4. Lying entries: f10's SHA-256 mapped to f11's object (same size), f20's to a missing object.
cp "$T/b/cache/sha256" "$T/good-index"
B oci rm test/os:v2 >/dev/null
python3 - "$T/b/cache/sha256" "$T/tree/usr/lib" <<'PY'
import hashlib, struct, sys
p, d = sys.argv[1:3]
b = bytearray(open(p, "rb").read())
n, = struct.unpack("<Q", b[8:16])
ent = {bytes(b[16 + 64 * i:16 + 64 * i + 32]): 16 + 64 * i for i in range(n)}
sha = lambda f: hashlib.sha256(open(d + "/" + f, "rb").read()).digest()
o10, o11, o20 = ent[sha("f10")], ent[sha("f11")], ent[sha("f20")]
b[o10 + 32:o10 + 64] = b[o11 + 32:o11 + 64]
b[o20 + 32:o20 + 64] = bytes(32)
open(p, "wb").write(b)
PY
B oci pull --tls-verify=false --name test/os:v2 "$REG/test/os:v2" >"$T/pull4.out"
cat "$T/pull4.out" | sed 's/^/# /'
check "lying index entries are caught" grep -q "2 entries of the SHA-256 index did not hold" "$T/pull4.out"
# f10, f20 and etc/conf (inline: never an object); the new f50 is still stored.
check "... and those files fetched" \
	grep -q "1 zstd:chunked layers partially: 3 files fetched, 98 found in the store" "$T/pull4.out"
B dump oci/test/os:v2 >"$T/b4.dump"
check "... the same tree as the source" cmp "$T/a.dump" "$T/b4.dump"
check "... the import put the true entries back" cmp "$T/b/cache/sha256" "$T/good-index"

# 5. fsck: a deleted and a damaged index.
rm "$T/b/cache/sha256"
check "fsck --repair writes a deleted index again" B fsck --repair
check "... the same as before" cmp "$T/b/cache/sha256" "$T/good-index"
truncate -s -1 "$T/b/cache/sha256"
B fsck >"$T/fsck.out" 2>&1 || true
check "fsck reports a damaged index" grep -q "cache/sha256" "$T/fsck.out"
B fsck --repair >"$T/fsck2.out" 2>&1 || true
check "fsck --repair writes it again" cmp "$T/b/cache/sha256" "$T/good-index"
check "... and fsck is clean" B fsck

# 6. gc: the old f50 goes, and its entry with it.
B oci rm test/os:v1 >/dev/null
B gc >/dev/null
check "gc drops the entries of removed objects" test "$(index_entries "$T/b")" = 100
check "... fsck is clean" B fsck
done_testing
