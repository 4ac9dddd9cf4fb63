#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Layers for t2207 (hardlinks to files of lower layers), written with
# Python's tarfile: oci-lower-links.py DIR writes DIR/l1.tar ... and the
# hostile layers DIR/bad-*.tar, each meant to go over l1.tar (and l2.tar).
import io, os, sys, tarfile

out = sys.argv[1]
os.makedirs(out, exist_ok=True)

def tar(name, members):
    with tarfile.open(os.path.join(out, name), "w", format=tarfile.PAX_FORMAT) as t:
        for m in members:
            kind, path = m[0], m[1]
            ti = tarfile.TarInfo(path)
            ti.mtime, ti.uid, ti.gid = 1700000000, 0, 0
            if kind == "dir":
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                t.addfile(ti)
            elif kind == "file":
                data = m[2]
                ti.size, ti.mode = len(data), 0o644
                t.addfile(ti, io.BytesIO(data))
            elif kind == "link":
                ti.type, ti.linkname, ti.mode = tarfile.LNKTYPE, m[2], 0o644
                t.addfile(ti)
            elif kind == "sym":
                ti.type, ti.linkname, ti.mode = tarfile.SYMTYPE, m[2], 0o777
                t.addfile(ti)

alpha = b"alpha " * 30
tar("l1.tar", [("dir", "etc"), ("file", "etc/a", alpha), ("sym", "etc/s", "a"), ("dir", "d"),
               ("file", "d/f", b"f" * 100), ("file", "x", b"x" * 100), ("sym", "sl", "etc"),
               ("dir", "sub"), ("dir", "sub/deep"), ("file", "sub/deep/file", b"deep" * 40)])
# Links to layer 1's files, one through a link of the same layer, then etc/a replaced
# (the links keep the old inode), and a whiteout.
tar("l2.tar", [("link", "b", "etc/a"), ("link", "c", "b"), ("link", "./sub/deep/l", "./sub//deep/file"),
               ("file", "etc/a", b"new a" * 30), ("file", ".wh.x", b"")])
# b removed; k links to c (of layer 2, still the old etc/a's inode).
tar("l3.tar", [("file", ".wh.b", b""), ("link", "k", "c")])
# Refused (over l1): a whiteout of this layer, a directory, a symlink, through a symlink,
# '..', an absolute name, nothing there; (over l1 l2): a file an earlier layer removed.
tar("bad-own-whiteout.tar", [("file", ".wh.x", b""), ("link", "y", "x")])
tar("bad-dir.tar", [("link", "y", "d")])
tar("bad-symlink.tar", [("link", "y", "etc/s")])
tar("bad-through-symlink.tar", [("link", "y", "sl/a")])
tar("bad-dotdot.tar", [("link", "y", "d/../../etc/a")])
tar("bad-absolute.tar", [("link", "y", "/etc/a")])
tar("bad-absent.tar", [("link", "y", "nothing/here")])
tar("bad-removed.tar", [("link", "y", "x")])
tar("bad-root.tar", [("link", "y", "./")])
