#!/bin/bash
# compare-trees.sh SRC MNT: compare a source tree with a mounted composefs
# image of it and print every difference (one line each). Compared for every
# path: presence, file type and mode, uid, gid, mtime (ns), size of regular
# files, rdev of devices, symlink target, file content, xattrs (all of them:
# the overlay hides its own trusted.overlay.* internals and shows escaped
# user-set trusted.overlay.* names unescaped), and hardlink grouping.
# Two things composefs cannot show as they were, by design, are accepted:
# - the overlay xattrs the writer adds to directories it rewrites
#   ((trusted|user).overlay.(opaque|whiteouts)) when the source lacks them,
#   or in place of the source's when the directory holds a whiteout;
# - a 0:0 character device (an overlay whiteout) is stored escaped and shows
#   as an empty regular file with the same permissions carrying
#   (trusted|user).overlay.whiteout.
# Exit 0 if identical, 1 if any difference, 2 on usage errors.
# Env: COMPARE_SKIP_XATTR_RE: regex of xattr names to leave out.
#      COMPARE_WHITEOUTS=escaped (default): a 0:0 character device must show
#      as the mount shows it (above); =plain: as a 0:0 character device, as in
#      a copy of the tree (sealtree checkout). The directory xattrs the writer
#      adds are accepted either way: a tree read back from an image has them.
#      COMPARE_HARDLINKS=keep (default): hardlinks must stay hardlinks
#      (mkcomposefs --hardlinks); =split: every name must be its own inode
#      with nlink 1, as the reference mkcomposefs makes them by default.
set -euo pipefail
[ $# = 2 ] || { echo "usage: $0 SRC MNT" >&2; exit 2; }
exec python3 - "$1" "$2" <<'PY'
import errno, hashlib, os, re, stat, sys

src, mnt = sys.argv[1], sys.argv[2]
skip = os.environ.get("COMPARE_SKIP_XATTR_RE")
skip_re = re.compile(skip) if skip else None
split_links = os.environ.get("COMPARE_HARDLINKS", "keep") == "split"
plain = os.environ.get("COMPARE_WHITEOUTS", "escaped") == "plain"
diffs = 0

def diff(path, what):
    global diffs
    diffs += 1
    print(f"DIFF {path}: {what}")

def walk(root):
    out = {}
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(d, n)
            out["/" + os.path.relpath(p, root)] = p
    out["/"] = root
    return out

def xattrs(p):
    try:
        names = os.listxattr(p, follow_symlinks=False)
    except OSError as e:
        return {"<listxattr error>": str(e).encode()}
    r = {}
    for n in names:
        if skip_re and skip_re.search(n):
            continue
        try:
            r[n] = os.getxattr(p, n, follow_symlinks=False)
        except OSError as e:
            r[n] = f"<error {e.errno}>".encode()
    return r

def content(p):
    h = hashlib.sha256()
    try:
        with open(p, "rb") as f:
            while b := f.read(1 << 20):
                h.update(b)
    except OSError as e:
        return f"<read error: {os.strerror(e.errno)}>"
    return h.hexdigest()

a, b = walk(src), walk(mnt)
for p in sorted(set(a) - set(b)):
    diff(p, "missing in the mount")
for p in sorted(set(b) - set(a)):
    diff(p, "only in the mount")

def has_whiteout_child(d):
    for e in os.scandir(d):
        st = e.stat(follow_symlinks=False)
        if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
            return True
    return False

INTERNAL_DIR = {f"{ns}.overlay.{n}" for ns in ("trusted", "user") for n in ("opaque", "whiteouts")}
WHITEOUT = {"trusted.overlay.whiteout", "user.overlay.whiteout"}

links_a, links_b = {}, {}
for p in sorted(set(a) & set(b)):
    sa, sb = os.lstat(a[p]), os.lstat(b[p])
    escaped_whiteout = stat.S_ISCHR(sa.st_mode) and sa.st_rdev == 0 and not plain
    if escaped_whiteout:
        want = stat.S_IFREG | stat.S_IMODE(sa.st_mode)
        if sb.st_mode != want or sb.st_size != 0:
            diff(p, f"whiteout (0:0 char device) shows as mode {sb.st_mode:o} size {sb.st_size}, expected {want:o} size 0")
    elif sa.st_mode != sb.st_mode:
        diff(p, f"mode {sa.st_mode:o} != {sb.st_mode:o}")
        continue
    for f in ("st_uid", "st_gid", "st_mtime_ns"):
        if getattr(sa, f) != getattr(sb, f):
            diff(p, f"{f[3:]} {getattr(sa, f)} != {getattr(sb, f)}")
    xa, xb = xattrs(a[p]), xattrs(b[p])
    if stat.S_ISDIR(sa.st_mode):
        if has_whiteout_child(a[p]):
            # The writer marks the directory for the escaped whiteouts in
            # it, replacing a user-set value of the same names (as the
            # reference does).
            xa = {n: v for n, v in xa.items() if n not in INTERNAL_DIR}
        xb = {n: v for n, v in xb.items() if n in xa or n not in INTERNAL_DIR}
    if escaped_whiteout:
        for n in WHITEOUT:
            if xb.pop(n, None) is None and n not in xa:
                diff(p, f"escaped whiteout lacks xattr {n}")
    for n in sorted(set(xa) | set(xb)):
        if xa.get(n) != xb.get(n):
            diff(p, f"xattr {n}: {xa.get(n)!r} != {xb.get(n)!r}")
    m = sa.st_mode
    if escaped_whiteout:
        pass
    elif stat.S_ISLNK(m):
        if os.readlink(a[p]) != os.readlink(b[p]):
            diff(p, f"symlink {os.readlink(a[p])!r} != {os.readlink(b[p])!r}")
    elif stat.S_ISCHR(m) or stat.S_ISBLK(m):
        if sa.st_rdev != sb.st_rdev:
            diff(p, f"rdev {sa.st_rdev} != {sb.st_rdev}")
    elif stat.S_ISREG(m):
        if sa.st_size != sb.st_size:
            diff(p, f"size {sa.st_size} != {sb.st_size}")
        elif content(a[p]) != content(b[p]):
            diff(p, f"content {content(a[p])} != {content(b[p])}")
        want_nlink = 1 if split_links else sa.st_nlink
        if sb.st_nlink != want_nlink:
            diff(p, f"nlink {sb.st_nlink}, expected {want_nlink} (source {sa.st_nlink})")
        if sa.st_nlink > 1:
            if not split_links:
                links_a.setdefault(sa.st_ino, []).append(p)
            links_b.setdefault(sb.st_ino, []).append(p)

group_a = sorted(sorted(g) for g in links_a.values())
group_b = sorted(sorted(g) for g in links_b.values() if not split_links or len(g) > 1)
if group_a != group_b:
    diff("(hardlinks)", f"groups differ: {group_a} != {group_b}")
print(f"# compared {len(set(a) & set(b))} paths, {diffs} differences", file=sys.stderr)
sys.exit(1 if diffs else 0)
PY
