#!/bin/bash
# make demo, part 3: the sample tree as an operating system that a vendor
# publishes and a machine deploys, upgrades and rolls back.
#
# The vendor commits two signed releases and publishes the repository as
# static files (a signed summary, packs) served by Debian's nginx on a
# loopback port; the machine deploys vendor:REF (a pull of only what it
# lacks, the chain checked before any object is fetched), upgrades (which
# pulls first), keeps a local /etc edit through the upgrade and rolls back
# in one step. The "kernel" here is filler bytes standing in for one: booting a real Debian
# from such a deployment under QEMU is `make check-boot`.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
SEALTREE=$(cd "$BUILD" && pwd)/tools/sealtree/sealtree

. demo/demo-lib.sh

WORK=$(mktemp -d /tmp/sealtree-demo-host.XXXXXX)
chmod 0755 "$WORK"
# tests/remote-lib.sh starts a private nginx (own config, port, logs), stopped by PID.
TEST_TMP=$WORK
skip_all() { echo "   SKIPPED: $*"; exit 0; }
cleanup_test_tmp() { rm -rf "$WORK"; }
. tests/remote-lib.sh
trap "nginx_stop; cleanup_test_tmp" EXIT

VENDOR=$WORK/vendor
SYS=$WORK/machine
export SEALTREE_RUN_DIR=$WORK/run     # no /run/sealtree/booted.json: this host is not the machine
mkdir -p "$SEALTREE_RUN_DIR"
V() { "$SEALTREE" --repo "$VENDOR" "$@"; }
admin() { "$SEALTREE" admin --sysroot "$SYS" "$@"; }
export SOURCE_DATE_EPOCH=1700000000

# The OS tree (demo/demo-lib.sh), with its version in os-release and hello.
make_os() {
	local v=$1 t=$WORK/os-$1
	os_tree "$t"
	echo "VERSION_ID=$v" >>"$t/usr/etc/os-release"
	printf '#!/bin/sh\necho "hello from version %s"\n' "$v" >"$t/usr/bin/hello"
	echo "$t"
}

step "11. the vendor: two signed releases, published as static files"
vendor_release_1_0 "$(make_os 1.0)"
publish() {
	if V pack --help >/dev/null 2>&1; then
		V summary --sign "$WORK/vendor.key" --packs | indent
	else
		V summary --sign "$WORK/vendor.key" | indent
	fi
}
publish
nginx_start "$VENDOR"
echo "   served by nginx at $NGINX_URL (pid $NGINX_PID), nothing but static files"

step "12. the machine: a sysroot and the vendor as a remote"
"$SEALTREE" admin init-fs --verity=off "$SYS" | indent
admin os-init demo | indent
M() { "$SEALTREE" --repo "$SYS/sealtree/repo" "$@"; }
M remote add vendor "$NGINX_URL/" --keys-dir "$WORK/keys" | indent
M pull vendor --dry-run 2>&1 | indent
echo "   (a dry run: what a pull would fetch, and its size, before fetching anything)"

step "13. deploy vendor:demo/os: pull, check the chain, write the boot entry and /etc"
mark=$(access_lines)
admin deploy --os demo --require-signature --keys-dir "$WORK/keys" --karg quiet vendor:demo/os 2>&1 | indent
echo "   $(requests_since "$mark" ' 20[06] ') requests served by nginx for the first pull"
M verify refs/remotes/vendor/demo/os --keys-dir "$WORK/keys" | grep -E '^(link (commit|signature)|ok|valid)' | indent &&
	proof "the pulled commit carries the vendor's signature"
admin status --keys-dir "$WORK/keys" | indent
for e in "$SYS"/boot/loader/entries/*.conf; do
	echo "   $(basename "$e"):"
	indent <"$e" | indent
done
d0=$(ls -d "$SYS"/sealtree/deploy/demo/*.0)
echo "   deployment writes: $(du -sk "$d0" | cut -f1) KiB (an /etc and an origin file, no checkout of the tree)"
echo "edited on the machine" >"$d0/etc/hostname"
echo "   a local edit: etc/hostname = '$(cat "$d0/etc/hostname")'"

step "14. the vendor releases 1.1: the machine pulls only what changed and upgrades"
V -q commit -b demo/os --version 1.1 -s "release 1.1" --tree "$(make_os 1.1)" >/dev/null
V sign demo/os --key "$WORK/vendor.key" >/dev/null
publish
mark=$(access_lines)
admin upgrade --require-signature --keys-dir "$WORK/keys" 2>&1 | indent
echo "   $(requests_since "$mark" ' 20[06] ') requests for the update (upgrade pulls the tracked remote ref first)"
admin status --keys-dir "$WORK/keys" | indent
new=$(admin status --json | python3 -c 'import json,sys; d=json.load(sys.stdin)["deployments"][0]; print(d["os"]+"/"+d["id"])')
[ "$(cat "$SYS/sealtree/deploy/$new/etc/hostname")" = "edited on the machine" ] &&
	proof "the local /etc edit survived the upgrade (three-way merge)"
grep -q VERSION_ID=1.1 "$SYS/sealtree/deploy/$new/etc/os-release" &&
	proof "an /etc default the machine did not touch arrived with 1.1"
admin config-diff 2>&1 | indent || true

step "15. rollback: one atomic switch of the boot entries"
admin rollback 2>&1 | indent
admin status --keys-dir "$WORK/keys" | indent
admin status --json | python3 -c 'import json,sys; d=json.load(sys.stdin)["deployments"][0]; sys.exit(0 if d.get("version")=="1.0" else 1)' &&
	proof "the default boot entry is release 1.0 again"
M fsck 2>&1 | tail -n 2 | indent && proof "the machine's repository is whole (fsck)"
echo
echo "   Boot it for real: 'make check-boot' builds a signed Debian 12 the same way and boots,"
echo "   upgrades, rolls back and attacks it under QEMU."
