#!/bin/bash
# SPDX-License-Identifier: MIT
# A real run: an image built with umoci (busybox and a file) is imported,
# mounted by sealtree oci mount (composefs, read-only) and a command from
# it runs under crun with a generated bundle whose root is the mount: it
# sees the image's file and runs as PID 1 of its own namespaces. Then the
# image is unmounted. Needs root, EROFS/overlayfs mounts, crun and a static
# busybox; skips loudly without them.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/oci-lib.sh"
. "$(dirname "$0")/crun-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
need_root
command -v crun >/dev/null || skip_all "crun not installed (apt-get install crun)"
busybox=$(command -v busybox || true)
[ -n "$busybox" ] && file -L "$busybox" 2>/dev/null | grep -q 'statically linked' ||
	{ [ -x /bin/busybox ] && busybox=/bin/busybox; } || skip_all "no static busybox (apt-get install busybox-static)"
export LC_ALL=C
repo=$TEST_TMP/repo
st() { "$SEALTREE" --repo "$repo" "$@"; }
st init --verity=off >/dev/null || { fail "init" ""; done_testing; exit; }
L=$TEST_TMP/layout
oci_new "$L" 1 &&
oci_layer "$L" 1 "mkdir -p bin proc dev sys tmp etc; cp '$busybox' bin/busybox; ln -s busybox bin/sh
	echo 'from the image' >msg; echo 'root:x:0:0:root:/:/bin/sh' >etc/passwd" ||
	{ fail "umoci builds the image" ""; done_testing; exit; }
check "import" st -q oci import "oci:$L:1" --name run/bb:1

mnt=$TEST_TMP/mnt
mkdir -p "$mnt"
if ! out=$(st oci mount run/bb:1 "$mnt" 2>&1); then
	grep -qiE 'not permitted|not supported|no such device|erofs|overlay' <<<"$out" && skip_all "cannot mount composefs here: $out"
	fail "oci mount" "$out"; done_testing; exit
fi
trap 'umount -l "$mnt" 2>/dev/null || true; cleanup_test_tmp' EXIT
check "the mount shows the image" test "$(cat "$mnt/msg")" = "from the image"

bundle=$TEST_TMP/bundle
crun_bundle "$bundle" "$mnt" /bin/sh -c 'cat /msg; echo pid=$$; id -u; touch /x 2>/dev/null && echo writable || echo read-only' ||
	{ fail "crun spec" ""; done_testing; exit; }

if ! out=$(cd "$bundle" && run_crun run --bundle . "sealtree-t2203-$$" 2>&1); then
	grep -qiE 'cgroup|namespace|not permitted|seccomp' <<<"$out" && skip_all "crun cannot run a container here: $out"
	fail "crun runs a command from the image" "$out"; done_testing; exit
fi
echo "$out" | sed 's/^/# container: /'
check "the command read the image's file" grep -qx 'from the image' <<<"$out"
check "it ran as PID 1 of its own namespace" grep -qx 'pid=1' <<<"$out"
check "as root in the container" grep -qx 0 <<<"$out"
check "the image is read-only" grep -qx read-only <<<"$out"
check "umount" st umount "$mnt"
check "unmounted" bash -c "! mountpoint -q '$mnt'"
done_testing
