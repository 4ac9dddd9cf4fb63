#!/bin/bash
# SPDX-License-Identifier: MIT
# The example program (docs/examples/show-commit.c) builds against the
# INSTALLED library: `meson install --destdir` into a scratch directory,
# then `pkg-config --cflags --libs sealtree` with PKG_CONFIG_PATH and
# PKG_CONFIG_SYSROOT_DIR pointed into it (never the source or build tree).
# Run on a test repository, it prints what `sealtree` says.
. "$(dirname "$0")/test-lib.sh"

CC=${CC:-cc}
[ -x "$SEALTREE" ] || skip_all "sealtree not built"
command -v pkg-config >/dev/null || skip_all "needs pkg-config"
command -v meson >/dev/null || skip_all "needs meson"

dest=$TEST_TMP/dest
if ! meson install -C "$BUILD_DIR" --no-rebuild --quiet --destdir "$dest" >"$TEST_TMP/install.log" 2>&1; then
	cat "$TEST_TMP/install.log" >&2
	fail "meson install --destdir" "failed"
	done_testing
fi
ok "meson install --destdir"

pc=$(find "$dest" -name sealtree.pc -path '*/pkgconfig/*' | head -n1)
[ -n "$pc" ] && ok "sealtree.pc installed" || { fail "sealtree.pc" "not installed"; done_testing; }
libdir=${pc%/pkgconfig/sealtree.pc}
for f in libsealtree.so libsealtree.so.0; do
	[ -e "$libdir/$f" ] && ok "$f installed" || fail "$f" "not in ${libdir#"$dest"}"
done
incdir=$(find "$dest" -type d -path '*/include/sealtree' | head -n1)
for h in "$SOURCE_DIR"/include/sealtree/*.h; do
	cmp -s "$h" "$incdir/$(basename "$h")" || fail "headers" "$(basename "$h") not installed"
done
ok "public headers installed under include/sealtree/"

# The installed drop-in tools link the static archives: they run without
# finding libsealtree.so.0 (an initramfs, an unusual --prefix).
for tool in mkcomposefs composefs-info composefs-dump mount.composefs sealtree; do
	bin=$(find "$dest" -path '*bin/*' -name "$tool" -type f | head -n1)
	if [ -z "$bin" ]; then
		fail "installed $tool" "not installed"
	elif ldd "$bin" >"$TEST_TMP/ldd" 2>&1 && grep -q libsealtree "$TEST_TMP/ldd"; then
		fail "installed $tool" "needs libsealtree: $(grep libsealtree "$TEST_TMP/ldd")"
	elif env -u LD_LIBRARY_PATH "$bin" --help >/dev/null 2>"$TEST_TMP/err"; then
		ok "installed $tool runs on its own"
	else
		fail "installed $tool" "--help failed: $(cat "$TEST_TMP/err")"
	fi
done

export PKG_CONFIG_PATH=${pc%/sealtree.pc}${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH} PKG_CONFIG_SYSROOT_DIR=$dest
flags=$(pkg-config --cflags --libs sealtree) && ok "pkg-config: $flags" || fail "pkg-config" "sealtree not found"
case " $flags " in
*"$SOURCE_DIR"* | *"$BUILD_DIR"*) fail "pkg-config flags" "point into the source or build tree: $flags" ;;
esac

# A sanitizer build's library needs the sanitizer runtime in the program too.
san=()
[ -n "${SANITIZE:-}" ] && [ "$SANITIZE" != none ] && san=(-fsanitize="$SANITIZE")
# shellcheck disable=SC2086
if "$CC" -std=c11 -Wall -Wextra -Werror "${san[@]}" "$SOURCE_DIR/docs/examples/show-commit.c" $flags \
	-o "$TEST_TMP/show-commit" 2>"$TEST_TMP/err"; then
	ok "example builds against the installed library"
else
	fail "example builds" "$(cat "$TEST_TMP/err")"
	done_testing
fi
export LD_LIBRARY_PATH=$libdir
ldd "$TEST_TMP/show-commit" >"$TEST_TMP/ldd"
if grep -qF "=> $libdir/libsealtree.so.0 " "$TEST_TMP/ldd"; then
	ok "example runs with the installed libsealtree.so.0"
else
	fail "example's libsealtree" "$(grep sealtree "$TEST_TMP/ldd")"
fi

# A repository with one commit.
repo=$TEST_TMP/repo
mkdir -p "$TEST_TMP/src/sub"
: >"$TEST_TMP/src/sub/empty"
printf 'hello\n' >"$TEST_TMP/src/a.txt"
head -c 10000 /dev/zero >"$TEST_TMP/src/big"
ln -s a.txt "$TEST_TMP/src/link"
"$SEALTREE" --repo "$repo" init --verity=off >/dev/null
want_commit=$("$SEALTREE" --repo "$repo" -q commit -b main -s "first tree" --tree "$TEST_TMP/src")
want_image=$(commit_image "$repo" main)

if "$TEST_TMP/show-commit" "$repo" main >"$TEST_TMP/out" 2>"$TEST_TMP/err"; then
	ok "example runs"
else
	fail "example runs" "$(cat "$TEST_TMP/err")"
fi
cat >"$TEST_TMP/want" <<WANT
commit $want_commit
image $want_image
subject first tree
entry a.txt file 6 bytes
entry big file 10000 bytes
entry link symlink -> a.txt
entry sub dir 1 entries
WANT
if diff -u "$TEST_TMP/want" "$TEST_TMP/out" >"$TEST_TMP/diff"; then
	ok "example prints the commit, its image digest and its tree"
else
	fail "example output" "$(cat "$TEST_TMP/diff")"
fi
# Errors come back with the library's detail.
if "$TEST_TMP/show-commit" "$repo" nosuchref 2>"$TEST_TMP/err"; then
	fail "unknown ref" "succeeded"
else
	grep -q nosuchref "$TEST_TMP/err" && ok "unknown ref: $(cat "$TEST_TMP/err")" || fail "unknown ref" "$(cat "$TEST_TMP/err")"
fi

done_testing
