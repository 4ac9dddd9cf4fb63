# Sourced by tests/tNNNN-*.sh. Meson runs each script with BUILD_DIR,
# SOURCE_DIR and ASSETS_DIR (tests/assets, see its README.md) set; run by
# hand as
#   BUILD_DIR=build bash tests/t0201-x.sh
set -euo pipefail

: "${BUILD_DIR:?BUILD_DIR must point at the meson build directory}"
: "${SOURCE_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
: "${ASSETS_DIR:=$SOURCE_DIR/tests/assets}"
BUILD_DIR=$(cd "$BUILD_DIR" && pwd)
export BUILD_DIR

MKCOMPOSEFS=$BUILD_DIR/tools/mkcomposefs/mkcomposefs
COMPOSEFS_INFO=$BUILD_DIR/tools/composefs-info/composefs-info
COMPOSEFS_DUMP=$BUILD_DIR/tools/composefs-dump/composefs-dump
MOUNT_COMPOSEFS=$BUILD_DIR/tools/mount.composefs/mount.composefs
SEALTREE=$BUILD_DIR/tools/sealtree/sealtree

TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/sealtree-test.XXXXXX")
cleanup_test_tmp() { rm -rf "$TEST_TMP"; }
trap cleanup_test_tmp EXIT

tests_run=0
tests_failed=0

# ok NAME: record a passing sub-check; fail NAME MSG: a failing one.
ok() { tests_run=$((tests_run + 1)); echo "ok   $1"; }
fail() { tests_run=$((tests_run + 1)); tests_failed=$((tests_failed + 1)); echo "FAIL $1: ${2:-}" >&2; }
# check NAME CMD...: run CMD, record ok/fail by its exit status.
check() { local name=$1; shift; if "$@"; then ok "$name"; else fail "$name" "command failed: $*"; fi; }

# sanitized_build: true when sealtree is built with ASan/UBSan (peak RSS bounds mean
# little there). ldd's output is read whole before grep looks at it: with
# pipefail, `ldd | grep -q` fails when grep exits at the match before ldd has
# written its last line (seen under load in a CI run).
sanitized_build() { local libs; libs=$(ldd "$SEALTREE" 2>/dev/null) || return 1; grep -q 'libasan\|libubsan' <<<"$libs"; }

# skip_all WHY: the whole script cannot run here (exit 77 = SKIP for meson).
skip_all() { echo "SKIP: $*" >&2; exit 77; }
need_root() { [ "$(id -u)" = 0 ] || skip_all "needs root"; }
# in_private_mount_ns "$@": needs root; re-runs the calling test once in a
# private mount namespace, so that whatever it mounts goes away with it.
in_private_mount_ns() {
	need_root
	[ -n "${SEALTREE_TEST_IN_MOUNT_NS:-}" ] && return 0
	command -v unshare >/dev/null || skip_all "unshare (util-linux) missing"
	SEALTREE_TEST_IN_MOUNT_NS=1 exec unshare -m --propagation private bash "$0" "$@"
}

# done_testing: exit 1 if any sub-check failed.
done_testing() {
	echo "# $tests_run checks, $tests_failed failed"
	[ "$tests_failed" = 0 ]
}

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# commit_image REPO SPEC: the image digest the commit SPEC names
# (the top-level "image" of `sealtree show --json`).
commit_image() {
	"$SEALTREE" --repo "$1" show --json "$2" | sed -n 's/^ *"image": "\([0-9a-f]*\)".*/\1/p'
}

# gentree dump SEED: a hostile tree's dumpfile on stdout; gentree tree SEED DIR:
# that tree on disk (needs root). Seeds 1..9 have the reference's digests in
# $ASSETS_DIR/gentree/expected.txt; see tests/assets/README.md. Tests that
# loop over seeds take their list from GENTREE_SEEDS when it is set
# (tests/run-check.sh sets small ones for the sanitizer build).
gentree() { python3 "$ASSETS_DIR/seedtree.py" "$@"; }

# reference_image SEED OUT: the reference mkcomposefs's image of `gentree dump
# SEED` (1..9), rebuilt and checked against its recorded sha256.
reference_image() { bash "$ASSETS_DIR/reference-image.sh" "$1" >"$2"; }
