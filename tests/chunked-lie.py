# SPDX-License-Identifier: MIT
# chunked-lie.py REG NAME SRC_TAG DST_TAG MODE ENTRY: copy the image
# REG/NAME:SRC_TAG (one zstd:chunked layer) to DST_TAG with a TOC that lies
# about ENTRY: MODE "digest" (a wrong sha256), "verity" (a wrong fs-verity
# digest), "offset" (its frame starts a byte late), "size" (one byte more),
# or "tocdigest" (the manifest's TOC digest annotation is wrong). The TOC
# is recompressed with zstd(1) and the blob rebuilt (frames, TOC frame,
# footer); config as it was. Uploaded with the distribution spec. Our tar
# headers frame is left out, except for the modes that make it lie:
# "hdrdigest" (its digest annotation is wrong), "hdrbyte" (a byte of the
# run before ENTRY changed, its digest right), "hdrsplit" (the first run's
# length one byte short). Modes for a layer with our TOC delta (docs/formats/oci.md,
# "TOC deltas"), the TOC left as it is: "delta-bytes" (a byte of the delta
# frame changed, its checksum annotation made to match: a new blob),
# "delta-checksum" (its checksum annotation wrong), "delta-base" (the base
# annotation is ENTRY, another pair's digest), "delta-pair" (the pair's
# checksum annotation wrong).
import hashlib, json, struct, subprocess, sys, urllib.request

reg, name, src, dst, mode, entry = sys.argv[1:7]
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

def put_manifest(m):
    urllib.request.urlopen(urllib.request.Request(base + "/manifests/" + dst, data=json.dumps(m).encode(),
                                                  method="PUT", headers={"Content-Type": MT}))

m = json.loads(get(base + "/manifests/" + src, MT))
layer = m["layers"][0]
ann = layer.get("annotations", {})
if mode.startswith("delta-"):
    # The TOC delta lies (ENTRY unused; "delta-base" names the pair ENTRY instead): the rest as it was.
    if mode == "delta-bytes":
        blob = bytearray(get(base + "/blobs/" + layer["digest"]))
        off, length = map(int, ann["io.sealtree.toc-delta-position"].split(":"))
        blob[off + length // 2] ^= 0x55
        ann["io.sealtree.toc-delta-checksum"] = "sha256:" + hashlib.sha256(blob[off:off + length]).hexdigest()
        layer["digest"] = put_blob(bytes(blob))
    elif mode == "delta-checksum":
        ann["io.sealtree.toc-delta-checksum"] = "sha256:" + "3" * 64
    elif mode == "delta-base":
        ann["io.sealtree.toc-delta-base"] = entry
    elif mode == "delta-pair":
        ann["io.sealtree.toc-pair-checksum"] = "sha256:" + "4" * 64
    put_manifest(m)
    sys.exit(0)
blob = get(base + "/blobs/" + layer["digest"])
off, clen, ulen, typ = struct.unpack("<QQQQ", blob[-64:-32])
toc = json.loads(subprocess.run(["zstd", "-dcq"], input=blob[off:off + clen], capture_output=True,
                                check=True).stdout)
for e in toc["entries"]:
    if e["name"] != entry:
        continue
    if mode == "digest":
        e["digest"] = "sha256:" + "0" * 64
    elif mode == "verity":
        e["io.sealtree.fsverity"] = "f" * 64
    elif mode == "offset":
        e["offset"] += 1
    elif mode == "size":
        e["size"] += 1
raw = json.dumps(toc).encode()
z = subprocess.run(["zstd", "-cq", "-3"], input=raw, capture_output=True, check=True).stdout
hoff, hlen, hulen = map(int, layer["annotations"]["io.sealtree.tar-headers-position"].split(":"))
frames = blob[:hoff - 8]
hann = {}
if mode.startswith("hdr"):
    h = bytearray(subprocess.run(["zstd", "-dcq"], input=blob[hoff:hoff + hlen], capture_output=True,
                                 check=True).stdout)
    if mode == "hdrsplit":
        n, = struct.unpack("<I", h[:4])
        h[:4] = struct.pack("<I", n - 1)
    elif mode == "hdrbyte":
        files = sorted((e for e in toc["entries"] if e.get("endOffset")), key=lambda e: e["offset"])
        k = [e["name"] for e in files].index(entry)
        pos = 0
        for _ in range(k):
            pos += 4 + struct.unpack("<I", h[pos:pos + 4])[0]
        h[pos + 4 + 100] ^= 1  # in the run before ENTRY: a byte of its header's mode field
    hz = subprocess.run(["zstd", "-cq", "-3"], input=bytes(h), capture_output=True, check=True).stdout
    hd = "sha256:" + hashlib.sha256(hz).hexdigest()
    if mode == "hdrdigest":
        hd = "sha256:" + "2" * 64
    hann = {"io.sealtree.tar-headers-checksum": hd,
            "io.sealtree.tar-headers-position": "%d:%d:%d" % (len(frames) + 8, len(hz), len(h))}
    frames += b"\x50\x2a\x4d\x18" + struct.pack("<I", len(hz)) + hz
new_off = len(frames) + 8
foot = struct.pack("<QQQQQQQ", new_off, len(z), len(raw), 1, 0, 0, 0) + b"GNUlInUx"
out = frames + b"\x50\x2a\x4d\x18" + struct.pack("<I", len(z)) + z + \
    b"\x50\x2a\x4d\x18" + struct.pack("<I", 64) + foot
tocd = "sha256:" + hashlib.sha256(z).hexdigest()
if mode == "tocdigest":
    tocd = "sha256:" + "1" * 64
layer["digest"] = put_blob(out)
layer["size"] = len(out)
layer["annotations"] = {"io.github.containers.zstd-chunked.manifest-checksum": tocd,
                        "io.github.containers.zstd-chunked.manifest-position":
                            "%d:%d:%d:1" % (new_off, len(z), len(raw)), **hann}
put_manifest(m)
