#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Used by t1712: the commands a user can run against the man pages that
# document them.
#   man-check.py SOURCE_DIR BUILD_DIR
# - every verb sealtree --help lists, every verb sealtree admin --help lists
#   and every verb sealtree oci --help shows has its own page
#   docs/man/sealtree[-admin|-oci]-VERB.1.md, listed in docs/man/meson.build
#   (and built, when go-md2man is there), and so has every tool
#   (mkcomposefs, composefs-info, composefs-dump, mount.composefs,
#   sealtree-prepare-root);
# - every option a verb's --help names appears in that page;
# - every command and tool prints --help on stdout and exits 0, and refuses
#   an unknown option with a message naming it, exiting non-zero.
import os
import re
import subprocess
import sys

src, build = sys.argv[1], sys.argv[2]
sealtree = os.path.join(build, "tools/sealtree/sealtree")
tools = {
    "mkcomposefs": "tools/mkcomposefs/mkcomposefs",
    "composefs-info": "tools/composefs-info/composefs-info",
    "composefs-dump": "tools/composefs-dump/composefs-dump",
    "mount.composefs": "tools/mount.composefs/mount.composefs",
    "sealtree-prepare-root": "tools/prepare-root/sealtree-prepare-root",
}
man_dir = os.path.join(src, "docs/man")
meson_pages = set(re.findall(r"\['([^']+)', '(\d)'\]", open(os.path.join(man_dir, "meson.build")).read()))
run_n = failed = 0
# Where this build made man pages at all (go-md2man found, not a partial build).
built_dir = os.path.join(build, "docs/man")
pages_built = os.path.isdir(built_dir) and os.path.exists(os.path.join(built_dir, "sealtree.1"))


def ok(name):
    global run_n
    run_n += 1
    print("ok   " + name)


def fail(name, why):
    global run_n, failed
    run_n += 1
    failed += 1
    print("FAIL %s: %s" % (name, why), file=sys.stderr)


def run(argv):
    env = dict(os.environ, LC_ALL="C", SEALTREE_REPO="/nonexistent/sealtree-t1712")
    p = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def section(text, title):
    """The verbs of an indented 'Title:' list: '  VERB  description'."""
    out, inside = [], False
    for line in text.splitlines():
        if line.strip() == title + ":":
            inside = True
            continue
        if inside:
            m = re.match(r"^  ([a-z][a-z0-9-]*)(\s|$)", line)
            if not m:
                if line.strip():
                    continue
                break
            out.append(m.group(1))
    return out


# Options a --help text names: long ones anywhere, short ones where the
# option list starts a line ("  -x, --long" or "  -x  ..."). --help itself
# and the options of the command above the verb (--repo, --sysroot, -q) are
# the parent page's.
IGNORED = {"--help", "-h", "--repo", "--sysroot", "-q", "--quiet", "--version"}


def options_of(text):
    found = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", text))
    for line in text.splitlines():
        m = re.match(r"^\s+(-[a-zA-Z])(,|\s|$)", line)
        if m:
            found.add(m.group(1))
    return sorted(found - IGNORED)


def page_text(page):
    text = open(page).read()
    # markdown escapes: **\-\-name** is --name
    return text.replace("\\-", "-").replace("\\_", "_")


def mentions(text, opt):
    return re.search(r"(?<![\w-])" + re.escape(opt) + r"(?![\w-])", text) is not None


def check_page(what, page_name, help_text, sect="1"):
    # NAME.SECTION.md, else NAME.md (the tool pages), as docs/man/meson.build reads them
    md = os.path.join(man_dir, page_name + "." + sect + ".md")
    if not os.path.exists(md) and os.path.exists(os.path.join(man_dir, page_name + ".md")):
        md = os.path.join(man_dir, page_name + ".md")
    if not os.path.exists(md):
        fail("%s has a man page" % what, "no docs/man/%s.%s.md" % (page_name, sect))
        return
    ok("%s has a man page (%s)" % (what, os.path.basename(md)))
    if (page_name, sect) in meson_pages:
        ok("... listed in docs/man/meson.build")
    else:
        fail("... listed in docs/man/meson.build", "['%s', '%s'] missing" % (page_name, sect))
    built = os.path.join(build, "docs/man", page_name + "." + sect)
    if pages_built:
        if os.path.exists(built):
            ok("... built")
        else:
            fail("... built", "no %s" % built)
    text = page_text(md)
    missing = [o for o in options_of(help_text) if not mentions(text, o)]
    if missing:
        fail("... documents every option of its --help", "%s lacks %s" % (os.path.basename(md), " ".join(missing)))
    else:
        ok("... documents every option of its --help")


def check_help_and_unknown(what, argv):
    rc, out, err = run(argv + ["--help"])
    if rc == 0 and out.strip():
        ok("%s --help prints help and exits 0" % what)
    else:
        fail("%s --help prints help and exits 0" % what, "exit %d, %d bytes out: %s" % (rc, len(out), err.strip()[:200]))
    rc, out2, err = run(argv + ["--no-such-option"])
    if rc != 0 and "no-such-option" in err:
        ok("%s refuses an unknown option, naming it" % what)
    else:
        fail("%s refuses an unknown option, naming it" % what, "exit %d, stderr: %r" % (rc, err.strip()[:200]))
    return out


top = check_help_and_unknown("sealtree", [sealtree])
verbs = section(top, "Commands")
if len(verbs) < 20:
    fail("sealtree --help lists its commands", "found only %r" % verbs)
check_page("sealtree", "sealtree", top)
for v in verbs:
    text = check_help_and_unknown("sealtree " + v, [sealtree, v])
    check_page("sealtree " + v, "sealtree-" + v, text)
    if v == "admin":
        sub = section(text, "Verbs")
    elif v == "oci":
        sub = re.findall(r"sealtree oci ([a-z][a-z0-9-]*)", text)
    else:
        continue
    if not sub:
        fail("sealtree %s --help lists its verbs" % v, "none found")
    for s in dict.fromkeys(sub):
        stext = check_help_and_unknown("sealtree %s %s" % (v, s), [sealtree, v, s])
        check_page("sealtree %s %s" % (v, s), "sealtree-%s-%s" % (v, s), stext)

for name, path in tools.items():
    exe = os.path.join(build, path)
    if os.path.exists(exe):
        text = check_help_and_unknown(name, [exe])
        check_page(name, name, text, "8" if name in ("mount.composefs", "sealtree-prepare-root") else "1")

print("# %d checks, %d failed" % (run_n, failed))
sys.exit(1 if failed else 0)
