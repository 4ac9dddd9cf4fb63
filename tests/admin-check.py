#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Check a sysroot against docs/formats/sysroot.md, independently of
# sealtree's own parser: every entry of ours names a whole deployment (etc/,
# origin, pin ref to its commit) and boot files whose bytes are the
# kernel and initramfs of its commit; no leftovers when --clean.
# Usage: admin-check.py SEALTREE SYSROOT [--clean]   (prints problems, exit 1 if any)
import os, subprocess, sys

sealtree, sysroot = sys.argv[1], sys.argv[2]
clean = "--clean" in sys.argv
problems = []
entries = os.path.join(sysroot, "boot/loader/entries")
boot_sep = os.stat(sysroot).st_dev != os.stat(os.path.join(sysroot, "boot")).st_dev
repo = os.path.join(sysroot, "sealtree/repo")

def cat(commit, path):
    return subprocess.run([sealtree, "--repo", repo, "cat", commit, path], capture_output=True, check=True).stdout

if not os.path.isdir(entries):
    problems.append("boot/loader/entries is missing")
    names = []
else:
    names = sorted(os.listdir(entries))
for name in names:
    if not (name.startswith("sealtree-") and name.endswith(".conf")):
        continue
    kv = {}
    for line in open(os.path.join(entries, name), encoding="utf-8", errors="replace"):
        k, _, v = line.rstrip("\n").partition(" ")
        kv.setdefault(k, v)
    words = [w for w in kv.get("options", "").split() if w.startswith("sealtree=")]
    if len(words) != 1:
        problems.append(f"{name}: no sealtree= word")
        continue
    osname, _, did = words[0][len("sealtree="):].partition("/")
    commit = did.split(".")[0]
    d = os.path.join(sysroot, "sealtree/deploy", osname, did)
    if not os.path.isdir(os.path.join(d, "etc")):
        problems.append(f"{name}: {d}/etc missing")
    try:
        origin = dict(l.rstrip("\n").partition(" ")[::2] for l in open(os.path.join(d, "origin")))
    except OSError:
        problems.append(f"{name}: origin missing")
        continue
    if origin.get("sealtree-origin") != "1" or origin.get("commit") != commit:
        problems.append(f"{name}: origin does not match")
    if not os.path.isfile(os.path.join(d, "conflicts")):
        problems.append(f"{name}: conflicts file missing")
    pin = os.path.join(repo, "refs/deployments", osname, did)
    try:
        if open(pin).read().strip() != commit:
            problems.append(f"{name}: pin names another commit")
    except OSError:
        problems.append(f"{name}: pin ref missing")
    linux = kv.get("linux", "")
    rel = linux if boot_sep else linux[len("/boot"):]
    bdir = os.path.join(sysroot, "boot", os.path.dirname(rel).lstrip("/"))
    kver = origin.get("kernel", "")
    for f in ("vmlinuz", "initramfs.img"):
        try:
            data = open(os.path.join(bdir, f), "rb").read()
        except OSError:
            problems.append(f"{name}: boot file {f} missing")
            continue
        if data != cat(commit, f"usr/lib/modules/{kver}/{f}"):
            problems.append(f"{name}: boot file {f} is not the commit's")
if clean:
    loader = os.path.join(sysroot, "boot/loader")
    for n in os.listdir(loader):
        if n != "entries" and n.startswith("entries"):
            problems.append(f"leftover boot/loader/{n}")
    for n in names:
        if ".tmp-" in n:
            problems.append(f"leftover boot/loader/entries/{n}")
    for root, dirs, files in os.walk(os.path.join(sysroot, "sealtree/deploy")):
        for n in dirs + files:
            if ".tmp-" in n:
                problems.append(f"leftover {os.path.join(root, n)}")
        if root.count(os.sep) - sysroot.count(os.sep) >= 3:
            dirs[:] = []
    for n in os.listdir(os.path.join(sysroot, "boot/sealtree")):
        if ".tmp-" in n:
            problems.append(f"leftover boot/sealtree/{n}")
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
