#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Hostile test trees for sealtree's tests, rebuilt from recorded descriptions.

    seedtree.py dump SEED        print the tree as a composefs dumpfile
    seedtree.py tree SEED DIR    create the tree under DIR (run as root: owners,
                                 devices and trusted.* xattrs need it)

Seeds 1..9 are recorded in gentree/seed-N.txt.xz: the entries the reference
tools' tree generator made for that seed (tests/assets/README.md says how).
gentree/expected.txt holds the reference mkcomposefs digests of their images,
so what this script rebuilds is checked bit for bit by the tests. Any other
seed is a variant of a recorded one made here (see vary()): same names and
kinds, other sizes, contents, owners, modes, times and xattrs. Output is the
same on every machine for a given seed.

A description is one line per entry, in creation order (parents first):
    PATH KIND PERM UID GID SEC.NSEC ARG [NAME=VALUE]...
KIND is dir, file, symlink, hardlink, chr, blk, fifo, sock or whiteout; ARG is
SIZE/SEED for a file (its bytes come from random.Random(SEED)), the target for
a symlink or hardlink, MAJOR:MINOR for a device, else "-". Fields are escaped
as in a dumpfile: \\\\, \\xNN for bytes outside 0x21..0x7e, and "=" as \\x3d in
xattr names and values. Lines starting with "#" are comments.
"""
import hashlib
import lzma
import os
import random
import re
import stat
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
RECORDED = range(1, 10)


def unescape(field):
    return re.sub(rb"\\(x[0-9a-fA-F]{2}|\\)",
                  lambda m: b"\\" if m.group(1) == b"\\" else bytes([int(m.group(1)[1:], 16)]),
                  field.encode("ascii"))


def load(seed):
    path = os.path.join(HERE, "gentree", "seed-%d.txt.xz" % seed)
    entries = []
    with lzma.open(path, "rt", encoding="ascii") as f:
        for line in f:
            if line.startswith("#"):
                continue
            p, kind, perm, uid, gid, mtime, arg, *xs = line.split()
            sec, nsec = mtime.split(".")
            e = dict(path=unescape(p), kind=kind, perm=int(perm, 8), uid=int(uid), gid=int(gid),
                     mtime=(int(sec), int(nsec)), xattrs=[])
            for x in xs:
                k, v = x.split("=", 1)
                e["xattrs"].append((unescape(k), unescape(v)))
            if kind == "file":
                size, cseed = arg.split("/")
                e["size"], e["seed"] = int(size), int(cseed)
            elif kind in ("symlink", "hardlink"):
                e["target"] = unescape(arg)
            elif kind in ("chr", "blk"):
                major, minor = arg.split(":")
                e["rdev"] = os.makedev(int(major), int(minor))
            entries.append(e)
    return entries


def vary(entries, seed):
    """A new tree from a recorded one: names, kinds and hardlinks stay, the rest is redrawn."""
    r = random.Random("sealtree-variant-%d" % seed)
    sizes = [0, 1, 64, 65, 4095, 4096, 4097, 8192, 12289, 70001, 262144]
    pool = sorted({x for e in entries for x in e["xattrs"]})
    for e in entries:
        e["perm"] = r.choice([0o755, 0o700, 0o1777, 0o2755] if e["kind"] == "dir" else
                             [0o644, 0o600, 0o755, 0o4755, 0o444, 0o000])
        e["uid"], e["gid"] = r.choice([0, 1, 1000, 65534, 4294967294]), r.choice([0, 5, 100000])
        e["mtime"] = (r.choice([0, 86400, 1234567890, 2 ** 32 + 7]), r.choice([0, 1, 999999999]))
        e["xattrs"] = r.sample(pool, min(len(pool), r.choice([0, 0, 1, 2, 4])))
        if e["kind"] == "file":
            e["size"] = r.choice(sizes) if r.random() < 0.7 else r.randint(0, 150000)
            e["seed"] = r.getrandbits(32)
    return entries


def entries_of(seed):
    if seed in RECORDED:
        return load(seed)
    return vary(load((seed - 1) % len(RECORDED) + 1), seed)


def content(e):
    r = random.Random(e["seed"])
    if e["size"] > 70000:   # large files: random head and tail around zeros
        return r.randbytes(4096) + bytes(e["size"] - 8192) + r.randbytes(4096)
    return r.randbytes(e["size"])


def esc(b, xattr=False):
    if b == b"-":
        return "\\x2d"
    named = {0x5c: "\\\\", 0x0a: "\\n", 0x0d: "\\r", 0x09: "\\t"}
    out = []
    for c in b:
        if c in named:
            out.append(named[c])
        elif c == 0x3d and xattr:
            out.append("\\x3d")
        elif 0x21 <= c <= 0x7e:
            out.append(chr(c))
        else:
            out.append("\\x%02x" % c)
    return "".join(out)


TYPES = {"dir": stat.S_IFDIR, "file": stat.S_IFREG, "symlink": stat.S_IFLNK, "chr": stat.S_IFCHR,
         "blk": stat.S_IFBLK, "fifo": stat.S_IFIFO, "sock": stat.S_IFSOCK, "whiteout": stat.S_IFCHR}


def dump(entries, out):
    links = {}
    for e in entries:
        if e["kind"] == "hardlink":
            links[e["target"]] = links.get(e["target"], 0) + 1
    for e in entries:
        xs = ["%s=%s" % (esc(k, True), esc(v, True)) for k, v in sorted(dict(e["xattrs"]).items())]
        if e["kind"] == "hardlink":
            f = [esc(e["path"]), "0", "@100644", "1", "0", "0", "0", "0.0", esc(e["target"]), "-", "-"]
        else:
            size, nlink, rdev, payload, inline, digest = 0, 1, 0, "-", "-", "-"
            if e["kind"] == "file":
                size, nlink = e["size"], 1 + links.get(e["path"], 0)
                data = content(e)
                if 0 < size <= 64 or (size <= 5000 and e["seed"] % 7 == 0):
                    inline = esc(data)
                elif size:
                    d = hashlib.sha256(data).hexdigest()   # a stand-in object name and digest
                    payload = d[:2] + "/" + d[2:]
                    digest = d if e["seed"] % 5 else "-"
            elif e["kind"] == "symlink":
                size, payload = len(e["target"]), esc(e["target"])
            elif e["kind"] in ("chr", "blk"):
                rdev = e["rdev"]
            mode = TYPES[e["kind"]] | (0o644 if e["kind"] == "whiteout" else e["perm"])
            f = [esc(e["path"]), str(size), "%o" % mode, str(nlink), str(e["uid"]), str(e["gid"]), str(rdev),
                 "%d.%d" % e["mtime"], payload, inline, digest]
        out.write(" ".join(f + xs) + "\n")


def tree(entries, root):
    root = os.fsencode(root)
    os.makedirs(root, exist_ok=True)
    made = []
    for e in entries:
        p, kind = root + e["path"].rstrip(b"/"), e["kind"]
        if e["path"] == b"/":
            pass
        elif kind == "dir":
            os.mkdir(p)
        elif kind == "file":
            with open(p, "wb") as f:
                f.write(content(e))
        elif kind == "symlink":
            os.symlink(e["target"], p)
        elif kind == "hardlink":
            os.link(root + e["target"], p)
            continue   # a second name: the metadata is its target's
        elif kind in ("chr", "blk"):
            os.mknod(p, TYPES[kind] | 0o600, e["rdev"])
        elif kind == "whiteout":
            os.mknod(p, stat.S_IFCHR | 0o644, 0)
        elif kind == "fifo":
            os.mkfifo(p)
        elif kind == "sock":
            os.mknod(p, stat.S_IFSOCK | 0o755)
        made.append((p, e))
    # Metadata children first, so that making an entry does not change its parent's mtime afterwards.
    for p, e in reversed(made):
        link = e["kind"] == "symlink"
        for k, v in e["xattrs"]:
            if link and not k.startswith(b"trusted."):
                continue   # the kernel takes only trusted.* xattrs on a symlink
            try:
                os.setxattr(p, k, v, follow_symlinks=not link)
            except OSError:
                pass   # e.g. a security.* name this kernel refuses: the tree goes without it
        os.chown(p, e["uid"], e["gid"], follow_symlinks=not link)
        if not link:
            os.chmod(p, 0o644 if e["kind"] == "whiteout" else e["perm"])
        os.utime(p, ns=(0, e["mtime"][0] * 10 ** 9 + e["mtime"][1]), follow_symlinks=not link)


def main():
    args = sys.argv[1:]
    if len(args) < 2 or args[0] not in ("dump", "tree") or (args[0] == "tree") != (len(args) == 3) \
            or not args[1].isdigit():
        sys.exit(__doc__)
    entries = entries_of(int(args[1]))
    if args[0] == "dump":
        dump(entries, sys.stdout)
    else:
        tree(entries, args[2])


if __name__ == "__main__":
    main()
