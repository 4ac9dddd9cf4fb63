#!/bin/bash
# SPDX-License-Identifier: MIT
# mkcomposefs command line: the reference's version defaulting rules (spec
# 1.13), --print-digest[-only], '-' for stdin/stdout and the tty refusal,
# usage errors (exit 1 with a message, nothing written), an existing image
# replaced atomically and a device written in place.
. "$(dirname "$0")/test-lib.sh"

[ -x "$MKCOMPOSEFS" ] || skip_all "mkcomposefs not built"
DIGEST=$BUILD_DIR/lib/verity/st-verity-digest

# composefs_version, the u32 at offset 12 of the image.
version_of() { od -An -tu4 -j12 -N4 "$1" | tr -d ' '; }

# A tree with a whiteout (chardev 0:0) wants format version 1; one without stays at 0.
printf '/ 0 40755 2 0 0 0 0.0 - - -\n/w 0 20644 1 0 0 0 0.0 - - -\n' >"$TEST_TMP/wh.dump"
printf '/ 0 40755 2 0 0 0 0.0 - - -\n/f 3 100644 1 0 0 0 0.0 - abc -\n' >"$TEST_TMP/plain.dump"

# expect_version NAME WANT DUMP ARGS...
expect_version() {
	local name=$1 want=$2 dump=$3 got; shift 3
	if "$MKCOMPOSEFS" "$@" --from-file "$dump" "$TEST_TMP/v.img" && got=$(version_of "$TEST_TMP/v.img") &&
		[ "$got" = "$want" ]; then
		ok "$name: version $want"
	else
		fail "$name" "got version '${got:-}', want $want"
	fi
}
expect_version "whiteout, defaults (0..1)" 1 "$TEST_TMP/wh.dump"
expect_version "no whiteout, defaults" 0 "$TEST_TMP/plain.dump"
expect_version "whiteout, --min-version=0 (max defaults to 0)" 0 "$TEST_TMP/wh.dump" --min-version=0
expect_version "whiteout, --max-version=1 (min defaults to 0)" 1 "$TEST_TMP/wh.dump" --max-version=1
expect_version "no whiteout, --min-version=1" 1 "$TEST_TMP/plain.dump" --min-version=1
expect_version "no whiteout, --min-version=1 --max-version=0 (max raised)" 1 "$TEST_TMP/plain.dump" \
	--min-version=1 --max-version=0

# --print-digest prints the image's fs-verity digest; --print-digest-only writes nothing.
if [ -x "$DIGEST" ]; then
	got=$("$MKCOMPOSEFS" --print-digest --from-file "$TEST_TMP/plain.dump" "$TEST_TMP/p.img")
	want=$("$DIGEST" "$TEST_TMP/p.img" | cut -d' ' -f1)
	[ "sha256:$got" = "$want" ] && ok "--print-digest prints the image's fs-verity digest" ||
		fail "--print-digest" "got '$got', image digest '$want'"
	[[ $got =~ ^[0-9a-f]{64}$ ]] && ok "the digest line is 64 lowercase hex digits" || fail "digest format" "'$got'"
fi
only=$(cd "$TEST_TMP" && "$MKCOMPOSEFS" --print-digest-only --from-file plain.dump)
[ "$only" = "$got" ] && ok "--print-digest-only prints the same digest" || fail "--print-digest-only" "'$only' vs '$got'"

# '-' for both ends; a pipe is fine, a terminal is refused.
if "$MKCOMPOSEFS" --from-file - - <"$TEST_TMP/plain.dump" | cmp -s - "$TEST_TMP/p.img"; then
	ok "stdin to stdout"
else
	fail "stdin to stdout" "differs"
fi
if command -v script >/dev/null; then
	rc=0
	script -qec "'$MKCOMPOSEFS' --from-file '$TEST_TMP/plain.dump' -" /dev/null >"$TEST_TMP/tty.out" 2>&1 || rc=$?
	if [ $rc = 1 ] && grep -q "tty" "$TEST_TMP/tty.out"; then ok "stdout on a tty is refused"; else
		fail "tty" "exit $rc: $(cat "$TEST_TMP/tty.out")"; fi
fi

# Usage errors: exit 1, a message, and the output path untouched.
# expect_usage_error NAME ARGS...
expect_usage_error() {
	local name=$1 rc=0; shift
	rm -f "$TEST_TMP/u.img"
	"$MKCOMPOSEFS" "$@" >/dev/null 2>"$TEST_TMP/err" || rc=$?
	if [ $rc = 1 ] && [ -s "$TEST_TMP/err" ] && [ ! -e "$TEST_TMP/u.img" ]; then
		ok "$name: exit 1, $(head -n1 "$TEST_TMP/err")"
	else
		fail "$name" "exit $rc, stderr '$(cat "$TEST_TMP/err")'"
	fi
}
expect_usage_error "no arguments"
expect_usage_error "no image" --from-file "$TEST_TMP/plain.dump"
expect_usage_error "too many arguments" --from-file "$TEST_TMP/plain.dump" "$TEST_TMP/u.img" extra
expect_usage_error "image with --print-digest-only" --print-digest-only --from-file "$TEST_TMP/plain.dump" "$TEST_TMP/u.img"
expect_usage_error "--threads=0" --threads=0 "$TEST_TMP" "$TEST_TMP/u.img"
expect_usage_error "--threads=x" --threads=x "$TEST_TMP" "$TEST_TMP/u.img"
expect_usage_error "--min-version=2" --min-version=2 --from-file "$TEST_TMP/plain.dump" "$TEST_TMP/u.img"
expect_usage_error "--max-version=-1" --max-version=-1 --from-file "$TEST_TMP/plain.dump" "$TEST_TMP/u.img"
expect_usage_error "--skip-xattrs with --user-xattrs" --skip-xattrs --user-xattrs "$TEST_TMP" "$TEST_TMP/u.img"
expect_usage_error "unknown option" --no-such-option "$TEST_TMP" "$TEST_TMP/u.img"
expect_usage_error "missing source" "$TEST_TMP/does-not-exist" "$TEST_TMP/u.img"
expect_usage_error "source is a file" "$TEST_TMP/plain.dump" "$TEST_TMP/u.img"
expect_usage_error "missing dumpfile" --from-file "$TEST_TMP/does-not-exist" "$TEST_TMP/u.img"
expect_usage_error "empty source" "" "$TEST_TMP/u.img"

"$MKCOMPOSEFS" --help | grep -q -- '--digest-store=PATH' && ok "--help exits 0 and lists the options" || fail "--help" "failed"
"$MKCOMPOSEFS" --version | grep -q '^mkcomposefs (sealtree) [0-9]' && ok "--version" || fail "--version" "unexpected output"

# Replacing an image: atomic, keeps the old file's mode, leaves no temporary file.
out=$TEST_TMP/outdir
mkdir "$out"
echo old >"$out/img"
chmod 600 "$out/img"
check "replace an existing image" "$MKCOMPOSEFS" --from-file "$TEST_TMP/plain.dump" "$out/img"
check "the replaced image is complete" cmp "$out/img" "$TEST_TMP/p.img"
[ "$(stat -c %a "$out/img")" = 600 ] && ok "the replaced image keeps its mode" || fail "mode" "$(stat -c %a "$out/img")"
[ "$(ls -A "$out")" = img ] && ok "no temporary file left" || fail "leftovers" "$(ls -A "$out")"
(umask 027 && "$MKCOMPOSEFS" --from-file "$TEST_TMP/plain.dump" "$out/new")
[ "$(stat -c %a "$out/new")" = 640 ] && ok "a new image gets 0666 & ~umask" || fail "new mode" "$(stat -c %a "$out/new")"
# Through a symlink: the target is replaced, the link stays.
ln -s img "$out/link"
check "write through a symlink" "$MKCOMPOSEFS" --from-file "$TEST_TMP/wh.dump" "$out/link"
[ -L "$out/link" ] && [ "$(version_of "$out/img")" = 1 ] && ok "the symlink's target was replaced" || fail "symlink" "link replaced or target unchanged"
# A device is written to, never replaced.
check "write to /dev/null" "$MKCOMPOSEFS" --from-file "$TEST_TMP/plain.dump" /dev/null
[ -c /dev/null ] && ok "/dev/null is still a device" || fail "/dev/null" "replaced!"
# A directory scan writing into the directory it scans.
mkdir "$TEST_TMP/self"
echo content >"$TEST_TMP/self/file"
check "image inside the scanned directory" "$MKCOMPOSEFS" "$TEST_TMP/self" "$TEST_TMP/self/self.img"

# Progress: a status line on stderr with --progress, none with --no-progress
# or when stderr is not a terminal; stdout (the digest) is the same either way.
mkdir -p "$TEST_TMP/prog/d"
head -c 100000 /dev/zero >"$TEST_TMP/prog/d/big"
"$MKCOMPOSEFS" --progress --print-digest-only "$TEST_TMP/prog" >"$TEST_TMP/prog.out" 2>"$TEST_TMP/prog.err"
check "--progress prints the files hashed" grep -q "hashed 1/1 files" "$TEST_TMP/prog.err"
"$MKCOMPOSEFS" --print-digest-only "$TEST_TMP/prog" >"$TEST_TMP/noprog.out" 2>"$TEST_TMP/noprog.err"
check "no status line when stderr is not a terminal" [ ! -s "$TEST_TMP/noprog.err" ]
"$MKCOMPOSEFS" --no-progress --print-digest-only "$TEST_TMP/prog" 2>"$TEST_TMP/noprog2.err" >/dev/null
check "--no-progress prints nothing" [ ! -s "$TEST_TMP/noprog2.err" ]
check "progress does not change the digest" cmp -s "$TEST_TMP/prog.out" "$TEST_TMP/noprog.out"

done_testing
