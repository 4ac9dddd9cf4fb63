#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write hostile tar archives for the tar import tests (t0805..t0809).

usage: gen-hostile-tar.py OUTDIR SET

Each archive is built block by block here (not with tarfile), so that every
field can hold what an attacker would put there. SET is one of:
  cut      archives cut short: at a member boundary (plain, gzip, xz, zstd
           when the zstd module or program is there), inside a member, a
           header, a pax header, and compressed streams cut inside
  fields   members our model cannot hold exactly (device numbers, volume
           headers, NULs in names, empty xattr names, numbers out of range)
  xattrs   many members sharing or varying one large xattr (memory)
  sparse   a GNU sparse member declaring a huge size with little data
  huge     a plain member declaring a huge size, its data cut short
Writes OUTDIR/NAME.tar[.gz|.xz|.zst] and prints "NAME MEMBER CAUSE" lines: what
the import must say when it refuses NAME (one per line).
"""
import gzip
import lzma
import os
import shutil
import subprocess
import sys

BLOCK = 512


def octal(v, n):
    return (b"%0*o" % (n - 1, v)) + b"\0"


def header(name, type_=b"0", size=0, mode=0o644, uid=0, gid=0, mtime=0, link=b"",
           devmajor=0, devminor=0, raw=None, gnu=False):
    """One ustar (or GNU) header block; raw = {offset: bytes} patched in before the checksum."""
    h = bytearray(BLOCK)
    name = name.encode() if isinstance(name, str) else name
    link = link.encode() if isinstance(link, str) else link
    h[0:len(name)] = name[:100]
    h[100:108] = octal(mode, 8)
    h[108:116] = octal(uid, 8)
    h[116:124] = octal(gid, 8)
    h[124:136] = octal(size, 12)
    h[136:148] = octal(mtime, 12)
    h[156:157] = type_
    h[157:157 + len(link)] = link[:100]
    h[257:265] = b"ustar  \0" if gnu else b"ustar\x0000"
    h[329:337] = octal(devmajor, 8)
    h[337:345] = octal(devminor, 8)
    for off, b in (raw or {}).items():
        h[off:off + len(b)] = b
    h[148:156] = b" " * 8
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def pad(data):
    return data + b"\0" * (-len(data) % BLOCK)


def member(name, data=b"", **kw):
    return header(name, size=len(data), **kw) + pad(data)


def pax_record(key, value):
    key = key.encode() if isinstance(key, str) else key
    value = value.encode() if isinstance(value, str) else value
    body = b" " + key + b"=" + value + b"\n"
    n = len(body) + 1
    while len(str(n).encode()) + len(body) != n:
        n += 1
    return str(n).encode() + body


def pax(records, type_=b"x", name="PaxHeaders/x"):
    body = b"".join(pax_record(k, v) for k, v in records)
    return header(name, type_=type_, size=len(body)) + pad(body)


END = b"\0" * (2 * BLOCK)


def write(out, name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


def zstd_compress(data):
    try:
        import zstandard
        return zstandard.ZstdCompressor().compress(data)
    except ImportError:
        pass
    if shutil.which("zstd"):
        return subprocess.run(["zstd", "-q", "-c"], input=data, stdout=subprocess.PIPE, check=True).stdout
    return None


def gen_cut(out):
    first = member("first", os.urandom(3000))
    second = member("second", os.urandom(70000))
    whole = first + second + END
    cut = first + second                          # no end-of-archive block
    write(out, "cut-boundary.tar", cut)
    print("cut-boundary.tar second end-of-archive")
    write(out, "cut-boundary.tar.gz", gzip.compress(cut))
    print("cut-boundary.tar.gz second end-of-archive")
    write(out, "cut-boundary.tar.xz", lzma.compress(cut))
    print("cut-boundary.tar.xz second end-of-archive")
    z = zstd_compress(cut)
    if z:
        write(out, "cut-boundary.tar.zst", z)
        print("cut-boundary.tar.zst second end-of-archive")
    # The compressed stream itself cut short, inside the second member (large enough to be read in pieces).
    whole = first + member("second", os.urandom(3 << 20)) + END
    gz = gzip.compress(whole)
    write(out, "cut-stream.tar.gz", gz[:len(gz) * 2 // 3])
    print("cut-stream.tar.gz second gzip")
    xz = lzma.compress(whole)
    write(out, "cut-stream.tar.xz", xz[:len(xz) * 2 // 3])
    print("cut-stream.tar.xz second xz")
    z = zstd_compress(whole)
    if z:
        write(out, "cut-stream.tar.zst", z[:len(z) * 2 // 3])
        print("cut-stream.tar.zst second zstd")
    # Cut inside the second member's data, inside its header, inside a pax header.
    write(out, "cut-data.tar", (first + second)[:len(first) + BLOCK + 1000])
    print("cut-data.tar second cut")
    write(out, "cut-header.tar", (first + second)[:len(first) + 100])
    print("cut-header.tar first cut")
    p = pax([("path", "third-with-a-pax-name"), ("SCHILY.xattr.user.a", "v" * 900)])
    write(out, "cut-pax.tar", first + p[:BLOCK + 300])
    print("cut-pax.tar first cut")
    # Only one of the two end blocks is there: an end marker all the same (GNU tar and libarchive agree).
    write(out, "one-end-block.tar", first + second + b"\0" * BLOCK)


def gen_fields(out):
    first = member("first", b"x" * 100)
    cases = [
        # Device numbers the image cannot hold: they were truncated, a chardev could become 0:0.
        ("dev-major-big", member("dev", type_=b"3", devmajor=4096), "dev", "device number"),
        ("dev-minor-big", member("dev", type_=b"3", devminor=1 << 20), "dev", "device number"),
        ("dev-minor-whiteout", member("dev", type_=b"3", devmajor=0, devminor=1 << 20), "dev", "device number"),
        ("dev-pax-huge", pax([("SCHILY.devmajor", str(1 << 32)), ("SCHILY.devminor", "0")]) +
         member("dev", type_=b"4"), "dev", "device number"),
        ("dev-pax-overflow", pax([("SCHILY.devminor", "9" * 30)]) + member("dev", type_=b"3"),
         "dev", "not a number in range"),
        # GNU volume header (libarchive skips it).
        ("gnu-volume", header("VOLUME-LABEL", type_=b"V", gnu=True) + member("after", b"a"), "after",
         "volume header"),
        ("gnu-multivolume", member("cont", type_=b"M", gnu=True), "cont", "multi-volume"),
        # NUL bytes inside names (libarchive cuts the name there).
        ("pax-path-nul", pax([("path", b"good\0evil")]) + member("short"), "good", "NUL"),
        ("pax-linkpath-nul", pax([("linkpath", b"target\0evil")]) + member("sym", type_=b"2", link="x"),
         "sym", "NUL"),
        ("gnu-longname-nul", header("././@LongLink", type_=b"L", size=10, gnu=True) + pad(b"long\0evil\0") +
         member("x", gnu=True), "long", "NUL"),
        # xattrs whose name is empty or holds a NUL (libarchive drops or cuts them).
        ("xattr-empty-name", pax([("SCHILY.xattr.", "v")]) + member("f"), "f", "empty name"),
        ("xattr-empty-name-la", pax([("LIBARCHIVE.xattr.", "dg==")]) + member("f"), "f", "empty name"),
        ("xattr-nul-name-la", pax([("LIBARCHIVE.xattr.user.a%00b", "dg==")]) + member("f"), "f", "NUL"),
        # Numbers our model cannot hold.
        ("uid-big", pax([("uid", str(1 << 32))]) + member("f"), "f", "out of range"),
        ("gid-big", pax([("gid", str(1 << 32))]) + member("f"), "f", "out of range"),
        ("mtime-overflow", pax([("mtime", "9" * 25)]) + member("f"), "f", "not a number in range"),
        ("mtime-base256-overflow", member("f", raw={136: b"\x80" + b"\xff" * 11}), "f", "out of range"),
        ("size-negative", header("f", raw={124: b"\xff" * 12}), "first", "negative size"),
        ("mode-high-bits", member("f", mode=0o1000644), "f", "mode"),
        # Headers libarchive would drop or bend.
        ("pax-global-path", pax([("path", "elsewhere")], type_=b"g") + member("f"), "f", "global"),
        ("two-pax-headers", pax([("path", "a")]) + pax([("path", "b")]) + member("f"), "b", "pax"),
        ("unknown-type", member("f", type_=b"Z"), "f", "unsupported member type"),
        ("filetype-door", pax([("SCHILY.filetype", "door")]) + member("f"), "f", "SCHILY.filetype"),
        ("filetype-socket-reg", pax([("SCHILY.filetype", "socket")]) + member("f"), "f", "not a fifo"),
        ("pax-malformed", header("PaxHeaders/x", type_=b"x", size=12) + pad(b"99 path=abc\n") + member("f"),
         "f", "malformed"),
    ]
    for name, body, who, why in cases:
        write(out, name + ".tar", first + body + END)
        print(name + ".tar", who, why)
    # Accepted: a pax global header holding only a comment (what git archive writes).
    write(out, "ok-global-comment.tar", pax([("comment", "a" * 40)], type_=b"g", name="pax_global_header") +
          first + END)


def gen_xattrs(out, n, size, vary):
    """n empty files, each with one xattr of size bytes: the same value, or values that differ."""
    parts = []
    for i in range(n):
        v = b"%08d" % i + b"A" * (size - 8) if vary else b"A" * size
        parts.append(pax([("SCHILY.xattr.user.big", v)], name="PaxHeaders/f%07d" % i))
        parts.append(header("f%07d" % i))
    data = b"".join(parts) + END
    name = "xattrs-%s.tar.xz" % ("vary" if vary else "same")
    write(out, name, lzma.compress(data, preset=1))


def gen_sparse(out, realsize):
    """A pax GNU sparse 1.0 member: one 4 KiB data block at 1 MiB, the rest holes, realsize bytes."""
    data = b"D" * 4096
    sparse_map = b"1\n%d\n%d\n" % (1 << 20, len(data))
    body = pad(sparse_map) + pad(data)
    p = pax([("GNU.sparse.major", "1"), ("GNU.sparse.minor", "0"), ("GNU.sparse.name", "huge"),
             ("GNU.sparse.realsize", str(realsize))])
    write(out, "sparse-%d.tar" % realsize, member("small", b"s" * 100) + p +
          header("GNUSparseFile.0/huge", size=len(body)) + body + END)


def gen_huge(out, size):
    """A plain member declaring size bytes, with only a little data after it (the rest never comes)."""
    write(out, "huge-%d.tar" % size, header("huge-plain", size=size, raw={124: b"\x80" + size.to_bytes(11, "big")}) +
          b"x" * 4096)


def main():
    out, what = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    if what == "cut":
        gen_cut(out)
    elif what == "fields":
        gen_fields(out)
    elif what == "xattrs":
        gen_xattrs(out, int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "vary")
    elif what == "sparse":
        gen_sparse(out, int(sys.argv[3]))
    elif what == "huge":
        gen_huge(out, int(sys.argv[3]))
    else:
        sys.exit("unknown set " + what)


if __name__ == "__main__":
    main()
