# Sourced by the tests/t20NN-admin-*.sh scripts after test-lib.sh: a sysroot
# and small fake OS trees (a random "kernel", an initramfs, usr/etc files).
export LC_ALL=C
unset SOURCE_DATE_EPOCH
SYS=$TEST_TMP/sys
KEYS=$TEST_TMP/keys
REPO=$SYS/sealtree/repo
mkdir -p "$KEYS"
echo '* none' >"$KEYS/policy.conf"
# An empty run dir: no booted.json unless a test writes one.
export SEALTREE_RUN_DIR=$TEST_TMP/run
mkdir -p "$SEALTREE_RUN_DIR"

admin() { "$SEALTREE" admin --sysroot "$SYS" "$@"; }
st() { "$SEALTREE" --repo "$REPO" "$@"; }

# make_tree DIR [KVER]: a fake OS tree with a kernel, an initramfs and usr/etc.
make_tree() {
	local d=$1 kver=${2:-6.1.0-test}
	mkdir -p "$d/usr/lib/modules/$kver" "$d/usr/etc/sub" "$d/usr/bin"
	head -c 70000 /dev/urandom >"$d/usr/lib/modules/$kver/vmlinuz"
	head -c 30000 /dev/urandom >"$d/usr/lib/modules/$kver/initramfs.img"
	echo "hostname-default" >"$d/usr/etc/hostname"
	echo "b" >"$d/usr/etc/sub/b"
	ln -sf hostname "$d/usr/etc/link"
	echo "#!/bin/sh" >"$d/usr/bin/tool"
}

# commit_tree DIR REF VERSION: prints the commit id.
commit_tree() {
	st commit -b "$2" --tree "$1" -s "$3" --version "$3"
}

# new_sysroot OS: init-fs + os-init.
new_sysroot() {
	"$SEALTREE" admin init-fs --verity=off "$SYS" >/dev/null && admin os-init "$1" >/dev/null
}

# the deployment dir of status index N
deploy_dir() {
	local id os
	os=$(admin status --json | python3 -c 'import json,sys; d=json.load(sys.stdin)["deployments"][int(sys.argv[1])]; print(d["os"]+"/"+d["id"])' "$1")
	echo "$SYS/sealtree/deploy/$os"
}
# json_get N FIELD: a field of deployment N in status --json
json_get() {
	admin status --json --keys-dir "$KEYS" | python3 -c 'import json,sys; d=json.load(sys.stdin)["deployments"][int(sys.argv[1])]; v=d[sys.argv[2]]; print(json.dumps(v) if not isinstance(v,str) else v)' "$1" "$2"
}
n_deployments() {
	admin status --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["deployments"]))'
}
