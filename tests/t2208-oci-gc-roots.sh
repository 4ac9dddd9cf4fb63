#!/bin/bash
# SPDX-License-Identifier: MIT
# gc roots cover host refs, deployments and OCI tags together, in one
# sysroot repository: a host branch, a deployment whose commit no branch
# names any more (only its pin holds it), an imported image (only its tag
# holds it) and a file all three share. gc deletes only what a deleted ref
# held; then each root is removed in turn (undeploy, oci rm, ref --delete)
# and each gc deletes exactly that root's own object, the shared one
# staying until the last root is gone. fsck is clean after every step.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/admin-lib.sh"
. "$(dirname "$0")/oci-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
T=$TEST_TMP

# object_of REF PATH: the object path (objects/XX/...) of a file of REF, from its dumpfile.
object_of() {
	st dump "$1" | awk -v p="/$2" '$1 == p { print "objects/" $9 }'
}
has() { test -f "$REPO/$1"; }
gone() { test ! -e "$REPO/$1"; }

new_sysroot debian || { fail "sysroot" ""; done_testing; exit; }
head -c 90001 /dev/urandom >"$T/shared.bin"

# A deployment: its branch deleted afterwards, so that only the pin keeps it.
make_tree "$T/os"
cp "$T/shared.bin" "$T/os/usr/shared.bin"
head -c 90002 /dev/urandom >"$T/os/usr/os-only.bin"
commit_tree "$T/os" os/main 1.0 >/dev/null
admin deploy --os debian --keys-dir "$KEYS" os/main >/dev/null || { fail "deploy" ""; done_testing; exit; }
dep_shared=$(object_of os/main usr/shared.bin)
dep_only=$(object_of os/main usr/os-only.bin)
check "the deployment's files are objects" has "$dep_only"
# A second deployment (another branch: a deployment's ref keeps its commit's
# history, as any ref does), so that the first (index 1) can be undeployed later.
make_tree "$T/os2"
commit_tree "$T/os2" os/next 2.0 >/dev/null
admin deploy --os debian --keys-dir "$KEYS" os/next >/dev/null || { fail "deploy 2" ""; done_testing; exit; }
st ref --delete os/main && st ref --delete os/next
check "no branch names the deployments now" sh -c "! '$SEALTREE' --repo '$REPO' refs | grep -q os/"
check "... their pins do" test "$(st refs --all | grep -c ' refs/deployments/debian/')" = 2

# A host branch.
mkdir -p "$T/host/usr"
cp "$T/shared.bin" "$T/host/usr/shared.bin"
head -c 90003 /dev/urandom >"$T/host/usr/host-only.bin"
st commit -b host/main --tree "$T/host" >/dev/null
host_only=$(object_of host/main usr/host-only.bin)

# An image: only its tag holds it.
L=$T/layout
oci_new "$L" 1 &&
	oci_layer "$L" 1 "mkdir -p usr; cp '$T/shared.bin' usr/shared.bin; head -c 90004 /dev/urandom >usr/app-only.bin" ||
	{ fail "umoci builds the image" ""; done_testing; exit; }
check "import the image" st -q oci import "oci:$L:1" --name app:1
app_only=$(object_of oci/app:1 usr/app-only.bin)
check "the shared file is one object for all three" \
	test "$(object_of oci/app:1 usr/shared.bin)" = "$dep_shared" -a "$(object_of host/main usr/shared.bin)" = "$dep_shared"

# Garbage: a branch deleted.
mkdir -p "$T/junk"
head -c 90005 /dev/urandom >"$T/junk/junk.bin"
st commit -b junk --tree "$T/junk" >/dev/null
junk=$(object_of junk junk.bin)
st ref --delete junk
check "each file found in its tree's dumpfile" test -n "$dep_only" -a -n "$host_only" -a -n "$app_only" -a -n "$junk"
check "... all of them objects" sh -c "test -f '$REPO/$junk' && test -f '$REPO/$host_only' && test -f '$REPO/$app_only'"

check "gc" eval "st -q gc >/dev/null"
check "... deleted the object only a deleted branch held" gone "$junk"
check "... kept the deployment's own object (a pin is a root)" has "$dep_only"
check "... kept the host branch's own object" has "$host_only"
check "... kept the image's own object (a tag is a root)" has "$app_only"
check "... kept the shared object" has "$dep_shared"
check "... and the image's record" eval "st oci inspect app:1 >/dev/null"
id1=$(json_get 1 id)
check "... the first deployment's tree still reads" cmp <(st cat "refs/deployments/debian/$id1" /usr/os-only.bin) "$T/os/usr/os-only.bin"
check "fsck is clean" st -q fsck

# Remove the roots one by one: each gc deletes that root's own object only.
check "undeploy the first deployment" admin undeploy 1
check "... its pin is gone" sh -c "! '$SEALTREE' --repo '$REPO' refs --all | grep -q 'refs/deployments/debian/$id1\$'"
check "gc" eval "st -q gc >/dev/null"
check "... deleted the undeployed tree's own object" gone "$dep_only"
check "... kept the shared object (the host branch and the image hold it)" has "$dep_shared"
check "... kept the image's and the host's" sh -c "test -f '$REPO/$app_only' && test -f '$REPO/$host_only'"

check "oci rm the image" st oci rm app:1
check "gc" eval "st -q gc >/dev/null"
check "... deleted the image's own object" gone "$app_only"
check "... kept the shared object (the host branch holds it)" has "$dep_shared"
check "... and the host's" has "$host_only"

check "delete the host branch" st ref --delete host/main
check "gc" eval "st -q gc >/dev/null"
check "... deleted the host's own object" gone "$host_only"
check "... and, with no root left holding it, the shared one" gone "$dep_shared"
check "the remaining deployment still reads" cmp <(st cat "refs/deployments/debian/$(json_get 0 id)" /usr/etc/hostname) "$T/os2/usr/etc/hostname"
check "fsck is clean" st -q fsck
done_testing
