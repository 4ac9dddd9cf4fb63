#!/bin/bash
# make demo, part 4: containers in the same store as the host.
#
# The vendor publishes its OS commit as an OCI image (one zstd:chunked
# layer: a zstd frame per file and a table of contents naming each file's
# SHA-256 and fs-verity digest) to Debian's docker-registry, started here on
# a loopback port with its own config and storage. A machine that runs the
# same OS pulls the image into its repository: every file is already there,
# shared with the host deployment. The vendor pushes a second version with
# one file changed; the machine's pull fetches that file only. The image is
# mounted as a verified composefs and a command from it runs under crun.
# Then the images are removed and gc keeps what the host still uses.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
SEALTREE=$(cd "$BUILD" && pwd)/tools/sealtree/sealtree

. demo/demo-lib.sh
# claim TEXT COMMAND...: PROVED TEXT if COMMAND succeeds, else stop loudly.
claim() {
	local text=$1
	shift
	if "$@"; then
		proof "$text"
	else
		printf '   \033[31mFAILED\033[0m %s\n' "$text" >&2
		exit 1
	fi
}

WORK=$(mktemp -d /tmp/sealtree-demo-oci.XXXXXX)
chmod 0755 "$WORK"
MNT=$WORK/mnt
# tests/oci-registry-lib.sh starts private docker-registry instances (own
# config, port and storage under $TEST_TMP), stopped by PID.
TEST_TMP=$WORK
skip_all() { echo "   SKIPPED: $*"; exit 0; }
. tests/oci-registry-lib.sh
. tests/crun-lib.sh
cleanup() {
	mountpoint -q "$MNT" 2>/dev/null && umount -l "$MNT"
	registry_stop_all
	rm -rf "$WORK"
}
trap cleanup EXIT
need_registry

VENDOR=$WORK/vendor
SYS=$WORK/machine
export SEALTREE_RUN_DIR=$WORK/run     # this host is not the machine: no booted.json here
mkdir -p "$SEALTREE_RUN_DIR"
V() { "$SEALTREE" --repo "$VENDOR" "$@"; }
M() { "$SEALTREE" --repo "$SYS/sealtree/repo" "$@"; }
admin() { "$SEALTREE" admin --sysroot "$SYS" "$@"; }
export SOURCE_DATE_EPOCH=1700000000
jget() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

# The OS tree of part 3 (demo/demo-lib.sh), with a static busybox as
# /bin/sh so that a command of it runs in a container, and a 256 KiB data
# file (the same in every release unless changed below).
BUSYBOX=$(command -v busybox || true)
make_os() {
	local t=$WORK/os-$1
	os_tree "$t"
	mkdir -p "$t/usr/share/sealtree-demo" "$t/proc" "$t/dev" "$t/sys" "$t/tmp"
	if [ -n "$BUSYBOX" ] && file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked'; then
		cp "$BUSYBOX" "$t/usr/bin/busybox"
		ln -s busybox "$t/usr/bin/sh"
		ln -s busybox "$t/usr/bin/sha256sum"
	fi
	# the data file: reproducible bytes that zstd cannot shrink much
	python3 -c 'import hashlib, sys
out = b"".join(hashlib.sha256(b"demo-data %d" % i).digest() for i in range(8192))
sys.stdout.buffer.write(out)' >"$t/usr/share/sealtree-demo/data.bin"
	echo "$t"
}

step "16. a registry on loopback, and the OS as an OCI image"
vendor_release_1_0 "$(make_os 1.0)"
V summary --sign "$WORK/vendor.key" >/dev/null
registry_start registry
echo "   Debian's docker-registry at $REG (pid ${REG_PIDS[0]}), config and storage in $WORK/registry"
V oci push --tls-verify=false demo/os "$REG/demo/os:1.0" | indent
curl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$REG/v2/demo/os/manifests/1.0" >"$WORK/manifest.json"
layer_type=$(jget 'd["layers"][0]["mediaType"]' <"$WORK/manifest.json")
toc=$(jget 'd["layers"][0]["annotations"].get("io.github.containers.zstd-chunked.manifest-checksum", "")' <"$WORK/manifest.json")
layer_size=$(jget 'd["layers"][0]["size"]' <"$WORK/manifest.json")
echo "   layer: $layer_type, $layer_size bytes, TOC $toc"
claim "the registry holds the OS commit as one zstd:chunked layer (a frame per file, a TOC naming each)" \
	test "$layer_type" = application/vnd.oci.image.layer.v1.tar+zstd -a -n "$toc"

step "17. a machine running that OS pulls the image: every file is already there"
"$SEALTREE" admin init-fs --verity=off "$SYS" | indent
admin os-init demo | indent
# The machine runs release 1.0, deployed from the vendor's signed repository
# as in part 3 (read here through file:// rather than nginx).
M remote add vendor "file://$VENDOR/" --keys-dir "$WORK/keys" | indent
admin deploy --os demo --require-signature --keys-dir "$WORK/keys" vendor:demo/os 2>&1 | indent
M oci pull --tls-verify=false --name demo/os:1.0 "$REG/demo/os:1.0" | tee "$WORK/pull1" | indent
M oci du | indent
M oci du --json >"$WORK/du.json"
img_bytes=$(jget '[i["bytes"] for i in d["perImage"] if i["name"]=="demo/os:1.0"][0]' <"$WORK/du.json")
img_unique=$(jget '[i["uniqueBytes"] for i in d["perImage"] if i["name"]=="demo/os:1.0"][0]' <"$WORK/du.json")
shared=$(jget 'd["shared"]["bytes"]' <"$WORK/du.json")
echo "   the image's files: $img_bytes bytes in objects, $shared shared with the host, $img_unique its own"
claim "the pulled image and the host deployment share every file ($shared bytes stored once)" \
	test "$img_bytes" -gt 0 -a "$shared" = "$img_bytes" -a "$img_unique" = 0
grep -q ' 0 objects new' "$WORK/pull1" && echo "   (the import wrote no new object)"

step "18. release 1.1 changes one file: the pull fetches only that file"
t=$(make_os 1.1)
python3 -c 'import hashlib, sys
out = b"".join(hashlib.sha256(b"demo-data 1.1 %d" % i).digest() for i in range(8192))
sys.stdout.buffer.write(out)' >"$t/usr/share/sealtree-demo/data.bin"
V -q commit -b demo/os --version 1.1 -s "release 1.1" --tree "$t" >/dev/null
V oci push --tls-verify=false demo/os "$REG/demo/os:1.1" | indent
changed=$(zstd -q -c "$t/usr/share/sealtree-demo/data.bin" | wc -c)
layer2=$(curl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$REG/v2/demo/os/manifests/1.1" |
	jget 'd["layers"][0]["size"]')
M oci pull --tls-verify=false --name demo/os:1.1 "$REG/demo/os:1.1" | tee "$WORK/pull2" | indent
fetched=$(sed -n 's/.* zstd:chunked layers partially: \([0-9]*\) files fetched, \([0-9]*\) found.*/\1 \2/p' "$WORK/pull2")
bytes=$(sed -n 's/^oci pull: .* cached, \([0-9]*\) bytes .*/\1/p' "$WORK/pull2")
echo "   pulled $bytes bytes of a $layer2-byte layer; the changed file is $changed bytes compressed"
# Files of 1..64 bytes live inside the composefs image, not as objects:
# those come with every pull (here etc/hostname), a few bytes each.
tiny=$(find "$t" -type f -size -65c ! -empty | wc -l)
claim "the pull fetched the changed file (and $tiny tiny file(s) kept inline) and found the rest in the store" \
	test "${fetched%% *}" = $((1 + tiny))
claim "its bytes ($bytes) are the changed file plus the TOC and manifests, not the layer ($layer2)" \
	test "$bytes" -ge "$changed" -a "$bytes" -lt $((changed + (layer2 - changed) / 4))

step "19. mount the image (composefs, read-only) and run a command from it"
mkdir -p "$MNT"
if [ "$(id -u)" != 0 ]; then
	echo "   SKIPPED (loudly): mounting and running a container need root"
elif ! command -v crun >/dev/null || [ ! -e "$t/usr/bin/busybox" ]; then
	echo "   SKIPPED (loudly): needs crun and a static busybox (apt-get install crun busybox-static)"
else
	M oci mount demo/os:1.1 "$MNT" | indent
	findmnt -n -o FSTYPE,OPTIONS "$MNT" | indent
	crun_bundle "$WORK/bundle" "$MNT" /bin/sh -c 'echo pid=$$; sha256sum /usr/share/sealtree-demo/data.bin' >/dev/null
	if out=$(cd "$WORK/bundle" && run_crun run --bundle . "sealtree-demo-$$" 2>&1); then
		indent <<<"$out" | sed 's/^/container: /' | indent
		want=$(sha256sum "$t/usr/share/sealtree-demo/data.bin" | cut -d' ' -f1)
		ran_in_container() { grep -qx 'pid=1' <<<"$out" && grep -q "^$want " <<<"$out"; }
		claim "the image's own sha256sum ran as PID 1 of a container and read release 1.1's file" ran_in_container
	else
		echo "   SKIPPED (loudly): crun cannot run a container on this host: $out"
	fi
	M umount "$MNT" | indent
fi

step "20. remove the images and collect: the host keeps what it uses"
M oci rm demo/os:1.0 demo/os:1.1 | indent
M gc | indent
M oci du --json >"$WORK/du2.json"
left=$(jget 'len(d["perImage"])' <"$WORK/du2.json")
host_obj=$(jget 'd["host"]["objects"]' <"$WORK/du2.json")
stored=$(jget 'd["stored"]["objects"]' <"$WORK/du2.json")
echo "   after gc: $stored objects stored, $host_obj used by the host, $left images"
claim "gc deleted the file only the images held; the deployment's files stayed" \
	test "$left" = 0 -a "$stored" = "$host_obj"
M fsck 2>&1 | tail -n 2 | indent
admin status --keys-dir "$WORK/keys" | indent
claim "the machine's repository is whole and the deployment intact (fsck)" M -q fsck
