#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Write an OCI image layout by hand, for the tests that need what umoci
# never makes (opaque directories, hostile members, lying digests):
#   oci-make-layout.py OUT TAG LAYER.tar... [options]
# Each LAYER.tar is a plain tar (made by tests with Python's tarfile or GNU
# tar); it is stored gzip-compressed (--zstd: zstd, --plain: as is). Options:
#   --bad-manifest   the index names the manifest by a digest its bytes do not have
#   --bad-layer N    flip one byte of layer N's blob after its digest was taken
#   --bad-diff-id N  the config gives layer N a diff_id its tar does not have
#   --platform OS/ARCH  wrap the manifest in an image index for that platform
import gzip, hashlib, json, os, subprocess, sys

args = sys.argv[1:]
out, tag = args[0], args[1]
layers, opts = [], {}
i = 2
while i < len(args):
    a = args[i]
    if a in ("--bad-layer", "--bad-diff-id", "--platform"):
        opts[a] = args[i + 1]
        i += 2
    elif a.startswith("--"):
        opts[a] = True
        i += 1
    else:
        layers.append(a)
        i += 1

blobs = os.path.join(out, "blobs", "sha256")
os.makedirs(blobs, exist_ok=True)

def put(data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, d), "wb") as f:
        f.write(data)
    return "sha256:" + d

descs, diff_ids = [], []
for n, path in enumerate(layers):
    raw = open(path, "rb").read()
    diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
    if opts.get("--plain"):
        blob, mt = raw, "application/vnd.oci.image.layer.v1.tar"
    elif opts.get("--zstd"):
        blob = subprocess.run(["zstd", "-q", "-c"], input=raw, stdout=subprocess.PIPE, check=True).stdout
        mt = "application/vnd.oci.image.layer.v1.tar+zstd"
    else:
        blob, mt = gzip.compress(raw, mtime=0), "application/vnd.oci.image.layer.v1.tar+gzip"
    digest = put(blob)
    if opts.get("--bad-layer") == str(n):
        p = os.path.join(blobs, digest[7:])
        b = bytearray(open(p, "rb").read())
        b[len(b) // 2] ^= 1
        open(p, "wb").write(bytes(b))
    if opts.get("--bad-diff-id") == str(n):
        diff_ids[n] = "sha256:" + "0" * 64
    descs.append({"mediaType": mt, "digest": digest, "size": len(blob)})

config = json.dumps({"architecture": "amd64", "os": "linux",
                     "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
cdigest = put(config)
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cdigest,
                                  "size": len(config)},
                       "layers": descs}).encode()
mdigest = put(manifest)
entry = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": mdigest, "size": len(manifest)}
if opts.get("--bad-manifest"):
    p = os.path.join(blobs, mdigest[7:])
    open(p, "wb").write(manifest.replace(b'"schemaVersion": 2', b'"schemaVersion":  2'))
    entry["size"] = len(manifest) + 1
if opts.get("--platform"):
    os_, arch = opts["--platform"].split("/")
    entry["platform"] = {"os": os_, "architecture": arch}
    index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": [entry]}).encode()
    entry = {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": put(index), "size": len(index)}
entry["annotations"] = {"org.opencontainers.image.ref.name": tag}
idx_path = os.path.join(out, "index.json")
idx = json.load(open(idx_path)) if os.path.exists(idx_path) else {"schemaVersion": 2, "manifests": []}
idx["manifests"] = [m for m in idx["manifests"]
                    if m.get("annotations", {}).get("org.opencontainers.image.ref.name") != tag] + [entry]
json.dump(idx, open(idx_path, "w"))
json.dump({"imageLayoutVersion": "1.0.0"}, open(os.path.join(out, "oci-layout"), "w"))
