#!/bin/bash
# SPDX-License-Identifier: MIT
# mkcomposefs --from-file on the reference project's golden dumpfiles
# (tests/assets/composefs, see tests/assets/README.md): each image's sha256 must match, each
# should-fail-*.dump must exit 1 with a message naming the line and leave no
# file behind. Where the reader tools are built, also: image -> composefs-dump
# -> same bytes, and image -> composefs-info dump -> mkcomposefs -> same bytes.
. "$(dirname "$0")/test-lib.sh"

[ -x "$MKCOMPOSEFS" ] || skip_all "mkcomposefs not built"
ASSETS=$ASSETS_DIR/composefs
[ -d "$ASSETS" ] || skip_all "no assets in $ASSETS"
have_dump=false have_info=false
[ -x "$COMPOSEFS_DUMP" ] && have_dump=true || echo "# composefs-dump not built: skipping the re-serialization checks"
[ -x "$COMPOSEFS_INFO" ] && have_info=true || echo "# composefs-info not built: skipping the dump round trips"

out=$TEST_TMP/out
mkdir "$out"
n_assets=0
for sumfile in "$ASSETS"/*.sha256; do
	asset=${sumfile%.sha256}
	name=${asset##*/}
	[ -e "$asset" ] || { fail "$name" "no asset for $sumfile"; continue; }
	n_assets=$((n_assets + 1))
	src=$asset
	# A git symlink checked out as a file holds its target's name (special_v1.dump).
	if [ "$(stat -c %s "$asset")" -lt 256 ] && target=$(head -n1 "$asset") &&
		[ -n "$target" ] && [ "${target#*/}" = "$target" ] && [ -f "$ASSETS/$target" ]; then
		src=$ASSETS/$target
	fi
	if [ "${asset%.gz}" != "$asset" ]; then
		src=$TEST_TMP/${name%.gz}
		gzip -dc "$asset" >"$src"
	fi
	version_args=()
	if [ -e "$asset.version" ]; then
		v=$(cat "$asset.version")
		version_args=(--min-version="$v" --max-version="$v")
	fi
	strict=(env CFS_PARSE_STRICT=1)
	case ${name%%.*} in no-newline | longlink | honggfuzz-longlink-unterminated) strict=(env -u CFS_PARSE_STRICT) ;; esac

	img=$out/$name.img
	if ! "${strict[@]}" "$MKCOMPOSEFS" "${version_args[@]}" --from-file "$src" "$img" 2>"$TEST_TMP/err"; then
		fail "$name" "mkcomposefs failed: $(cat "$TEST_TMP/err")"
		continue
	fi
	want=$(cut -d' ' -f1 <"$sumfile")
	got=$(sha256_of "$img")
	if [ "$got" = "$want" ]; then ok "$name"; else fail "$name" "sha256 $got, want $want"; fi

	# Same bytes through stdin and stdout, and the same digest line.
	if "${strict[@]}" "$MKCOMPOSEFS" "${version_args[@]}" --from-file - - <"$src" | cmp -s - "$img"; then
		ok "$name: stdin to stdout"
	else
		fail "$name: stdin to stdout" "differs from the file output"
	fi
	want_digest=$("$BUILD_DIR/lib/verity/st-verity-digest" "$img" 2>/dev/null | sed -n 's/^sha256:\([0-9a-f]*\).*/\1/p') || true
	got_digest=$("${strict[@]}" "$MKCOMPOSEFS" "${version_args[@]}" --print-digest-only --from-file "$src") || got_digest=failed
	if [ -n "$want_digest" ]; then
		[ "$got_digest" = "$want_digest" ] && ok "$name: --print-digest-only" ||
			fail "$name: --print-digest-only" "got '$got_digest', fs-verity digest of the image is '$want_digest'"
	fi

	if $have_dump; then
		if "$COMPOSEFS_DUMP" "$img" "$out/$name.redump" && cmp -s "$img" "$out/$name.redump"; then
			ok "$name: composefs-dump gives the same bytes"
		else
			fail "$name: composefs-dump" "re-serialized image differs"
		fi
	fi
	if $have_info; then
		if "$COMPOSEFS_INFO" dump "$img" >"$out/$name.txt" &&
			"$MKCOMPOSEFS" "${version_args[@]}" --from-file "$out/$name.txt" "$out/$name.img2" &&
			cmp -s "$img" "$out/$name.img2"; then
			ok "$name: composefs-info dump -> mkcomposefs gives the same bytes"
		else
			fail "$name: info dump round trip" "image differs or a step failed"
		fi
	fi
	rm -f "$out/$name".*
done
[ "$n_assets" -gt 0 ] || fail "assets" "no asset with a .sha256 in $ASSETS"

n_fail=0
for asset in "$ASSETS"/should-fail-*.dump; do
	[ -e "$asset" ] || continue
	n_fail=$((n_fail + 1))
	name=${asset##*/}
	dest=$out/should-fail.img
	rc=0
	CFS_PARSE_STRICT=1 "$MKCOMPOSEFS" --from-file "$asset" "$dest" 2>"$TEST_TMP/err" || rc=$?
	msg=$(cat "$TEST_TMP/err")
	if [ "$rc" != 1 ]; then
		fail "$name" "exit status $rc, want 1"
	elif ! grep -qi 'line [0-9]' "$TEST_TMP/err"; then
		fail "$name" "message does not name the line: '$msg'"
	elif [ -n "$(ls -A "$out")" ]; then
		fail "$name" "left files behind: $(ls -A "$out")"
	else
		ok "$name: exit 1, '$msg'"
	fi
	rm -rf "${out:?}"/* "$out"/.[!.]* 2>/dev/null || true
done
[ "$n_fail" -gt 0 ] || fail "should-fail assets" "none found"

# A failure must not clobber an existing image either.
echo "previous image" >"$out/keep.img"
rc=0
CFS_PARSE_STRICT=1 "$MKCOMPOSEFS" --from-file "$ASSETS/should-fail-empty-name.dump" "$out/keep.img" 2>/dev/null || rc=$?
if [ "$rc" = 1 ] && [ "$(cat "$out/keep.img")" = "previous image" ] && [ "$(ls -A "$out")" = keep.img ]; then
	ok "a failed run leaves an existing image untouched"
else
	fail "failed run" "exit $rc, existing image changed or temporary files left"
fi

done_testing
