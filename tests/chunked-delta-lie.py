# SPDX-License-Identifier: MIT
# chunked-delta-lie.py REG NAME SRC_TAG DST_TAG MODE [DIGEST]: copy the image
# REG/NAME:SRC_TAG (one zstd:chunked layer of ours with a TOC delta) to
# DST_TAG with a delta that lies: MODE "bytes" (a byte of the delta frame
# changed, its checksum annotation made to match: a new blob), "checksum"
# (the delta's checksum annotation wrong), "base" (the base annotation is
# DIGEST, another pair) or "pair" (the pair's checksum annotation wrong).
# Config as it was; uploaded with the distribution spec.
import hashlib, json, sys, urllib.request

reg, name, src, dst, mode = sys.argv[1:6]
other = sys.argv[6] if len(sys.argv) > 6 else None
base = "http://%s/v2/%s" % (reg, name)
MT = "application/vnd.oci.image.manifest.v1+json"

def get(url, accept=None):
    rq = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    return urllib.request.urlopen(rq).read()

def put_blob(data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    rq = urllib.request.Request(base + "/blobs/uploads/", data=b"", method="POST")
    loc = urllib.request.urlopen(rq).headers["Location"]
    if loc.startswith("/"):
        loc = "http://" + reg + loc
    loc += ("&" if "?" in loc else "?") + "digest=" + d
    urllib.request.urlopen(urllib.request.Request(loc, data=data, method="PUT",
                                                  headers={"Content-Type": "application/octet-stream"}))
    return d

m = json.loads(get(base + "/manifests/" + src, MT))
layer = m["layers"][0]
ann = layer["annotations"]
if mode == "bytes":
    blob = bytearray(get(base + "/blobs/" + layer["digest"]))
    off, length = map(int, ann["io.sealtree.toc-delta-position"].split(":"))
    blob[off + length // 2] ^= 0x55
    ann["io.sealtree.toc-delta-checksum"] = "sha256:" + hashlib.sha256(blob[off:off + length]).hexdigest()
    layer["digest"] = put_blob(bytes(blob))
elif mode == "checksum":
    ann["io.sealtree.toc-delta-checksum"] = "sha256:" + "3" * 64
elif mode == "base":
    ann["io.sealtree.toc-delta-base"] = other
elif mode == "pair":
    ann["io.sealtree.toc-pair-checksum"] = "sha256:" + "4" * 64
body = json.dumps(m).encode()
urllib.request.urlopen(urllib.request.Request(base + "/manifests/" + dst, data=body, method="PUT",
                                              headers={"Content-Type": MT}))
