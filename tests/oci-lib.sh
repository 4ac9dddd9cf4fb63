# Sourced by the tests of sealtree oci (t22xx) after test-lib.sh: images
# built with umoci (no root, no network) from small trees.
#
# oci_new LAYOUT TAG: an empty image LAYOUT:TAG.
# oci_layer LAYOUT TAG SCRIPT: unpack LAYOUT:TAG, run SCRIPT (bash) inside
#   its rootfs, repack it as one more layer (removed files become whiteouts).
# oci_unpack LAYOUT TAG DIR: umoci's own merged tree of LAYOUT:TAG in DIR/rootfs.
# oci_manifest LAYOUT TAG: path of the manifest blob of LAYOUT:TAG.
command -v umoci >/dev/null || skip_all "umoci not installed (apt-get install umoci)"

umoci_unpack_flags=()
[ "$(id -u)" = 0 ] || umoci_unpack_flags=(--rootless)

oci_new() {
	umoci init --layout "$1" && umoci new --image "$1:$2"
}

oci_layer() {
	local b
	b=$(mktemp -d "$TEST_TMP/bundle.XXXXXX") && rmdir "$b" &&
	umoci unpack "${umoci_unpack_flags[@]}" --image "$1:$2" "$b" >/dev/null 2>&1 &&
	(cd "$b/rootfs" && bash -ec "$3") &&
	umoci repack --image "$1:$2" "$b" && rm -rf "$b"
}

oci_unpack() {
	umoci unpack "${umoci_unpack_flags[@]}" --image "$1:$2" "$3" >/dev/null 2>&1
}

oci_manifest() {
	python3 - "$1" "$2" <<'PY'
import json, sys
idx = json.load(open(sys.argv[1] + "/index.json"))
for m in idx["manifests"]:
    if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == sys.argv[2]:
        print(sys.argv[1] + "/blobs/sha256/" + m["digest"][7:])
PY
}
