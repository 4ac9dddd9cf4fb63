# SPDX-License-Identifier: MIT
# chunked-check.py BLOB: check a zstd:chunked layer as the 22xx push tests
# expect it: the footer (last 64 bytes, in a skippable frame) points at the
# TOC's skippable frame, the TOC is JSON with version 1 and entries, each
# regular file with contents has [offset, endOffset) that decompress alone
# (zstd -d) to size bytes of its sha256 digest, and carries the
# io.sealtree.fsverity key. Prints the TOC's entries count; exit 1 on a fault.
import hashlib, json, struct, subprocess, sys

blob = open(sys.argv[1], "rb").read()
def fail(msg):
    print("chunked-check:", msg, file=sys.stderr)
    sys.exit(1)
foot = blob[-64:]
if blob[-72:-68] != b"\x50\x2a\x4d\x18" or struct.unpack("<I", blob[-68:-64])[0] != 64:
    fail("no skippable frame around the footer")
off, clen, ulen, typ = struct.unpack("<QQQQ", foot[:32])
if foot[56:] != b"GNUlInUx" or typ != 1:
    fail("bad footer magic or type")
if blob[off - 8:off - 4] != b"\x50\x2a\x4d\x18":
    fail("the TOC is not in a skippable frame")
toc = subprocess.run(["zstd", "-dcq"], input=blob[off:off + clen], capture_output=True, check=True).stdout
if len(toc) != ulen:
    fail("TOC length")
doc = json.loads(toc)
if doc.get("version") != 1:
    fail("TOC version")
for e in doc["entries"]:
    if e["type"] != "reg":
        continue
    if "io.sealtree.fsverity" not in e or len(e["io.sealtree.fsverity"]) != 64:
        fail("no fs-verity digest for " + e["name"])
    if e["size"] == 0:
        continue
    data = subprocess.run(["zstd", "-dcq"], input=blob[e["offset"]:e["endOffset"]], capture_output=True,
                          check=True).stdout
    if len(data) != e["size"] or "sha256:" + hashlib.sha256(data).hexdigest() != e["digest"]:
        fail("frame of " + e["name"] + " is not its contents")
print(len(doc["entries"]))
