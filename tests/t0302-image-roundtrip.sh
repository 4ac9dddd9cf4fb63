#!/bin/bash
# Images read back and written again: composefs-dump reproduces every
# reference image and every asset's image byte for byte (to a file and to
# stdout), `composefs-info dump` of an asset's image fed to mkcomposefs
# gives the same image again, and a failing composefs-dump leaves DEST alone.
source "$(dirname "$0")/test-lib.sh"

ASSETS=$ASSETS_DIR/composefs
[ -x "$COMPOSEFS_DUMP" ] || skip_all "composefs-dump not built"
[ -x "$COMPOSEFS_INFO" ] || skip_all "composefs-info not built"
[ -x "$MKCOMPOSEFS" ] || skip_all "mkcomposefs not built (it rebuilds the reference images)"

# roundtrip NAME IMAGE: composefs-dump gives the same bytes, to a file and to stdout.
roundtrip() {
	local name=$1 img=$2
	if ! "$COMPOSEFS_DUMP" "$img" "$TEST_TMP/rt.img" 2>"$TEST_TMP/err"; then
		fail "$name composefs-dump" "$(cat "$TEST_TMP/err")"
	elif cmp "$img" "$TEST_TMP/rt.img" >"$TEST_TMP/cmp" 2>&1; then
		ok "$name composefs-dump"
	else
		fail "$name composefs-dump" "$(cat "$TEST_TMP/cmp")"
	fi
	if "$COMPOSEFS_DUMP" "$img" - 2>"$TEST_TMP/err" | cmp -s "$img" -; then
		ok "$name composefs-dump to stdout"
	else
		fail "$name composefs-dump to stdout" "$(cat "$TEST_TMP/err")"
	fi
}

for seed in 1 2 3 4 5 6 7 8 9; do
	reference_image "$seed" "$TEST_TMP/gentree-$seed.img" || { fail "gentree-$seed" "no reference image"; continue; }
	roundtrip "gentree-$seed" "$TEST_TMP/gentree-$seed.img"
done

# The assets, built by our mkcomposefs (t02xx pins those bytes to the
# reference's), then read back both ways.
if [ -d "$ASSETS" ]; then
	for f in "$ASSETS"/*.dump "$ASSETS"/*.dump.gz; do
		name=$(basename "$f")
		case $name in should-fail-*) continue ;; esac
		src=$f
		if [ "$(stat -c %s "$f")" -lt 256 ] && [ -f "$ASSETS/$(cat "$f")" ]; then
			src=$ASSETS/$(cat "$f")
		fi
		if [ "${src%.gz}" != "$src" ]; then
			gzip -dc "$src" >"$TEST_TMP/in.dump"
			src=$TEST_TMP/in.dump
		fi
		opts=()
		base=${f%.gz}
		if [ -f "$base.version" ]; then
			v=$(cat "$base.version")
			opts=(--min-version="$v" --max-version="$v")
		fi
		# Strict parsing is on when the variable exists at all.
		strict=(env CFS_PARSE_STRICT=1)
		case $name in no-newline* | longlink* | honggfuzz-longlink-unterminated*) strict=(env -u CFS_PARSE_STRICT) ;; esac
		if ! "${strict[@]}" "$MKCOMPOSEFS" "${opts[@]}" --from-file "$src" "$TEST_TMP/asset.img" \
			2>"$TEST_TMP/err"; then
			fail "$name mkcomposefs" "$(cat "$TEST_TMP/err")"
			continue
		fi
		roundtrip "$name" "$TEST_TMP/asset.img"
		# image -> composefs-info dump -> mkcomposefs -> the same image.
		v=$(od -An -tu4 -j12 -N4 "$TEST_TMP/asset.img" | tr -d ' ')
		if "$COMPOSEFS_INFO" dump "$TEST_TMP/asset.img" >"$TEST_TMP/info.dump" 2>"$TEST_TMP/err" &&
			CFS_PARSE_STRICT=1 "$MKCOMPOSEFS" --min-version="$v" --max-version="$v" \
				--from-file "$TEST_TMP/info.dump" "$TEST_TMP/again.img" 2>>"$TEST_TMP/err" &&
			cmp -s "$TEST_TMP/asset.img" "$TEST_TMP/again.img"; then
			ok "$name info dump -> mkcomposefs"
		else
			fail "$name info dump -> mkcomposefs" "$(cat "$TEST_TMP/err") $(cmp "$TEST_TMP/asset.img" "$TEST_TMP/again.img" 2>&1)"
		fi
	done
else
	fail "assets" "no $ASSETS"
fi

# Failures: exit status 1, a message, DEST untouched, no temporary file left.
img=$TEST_TMP/gentree-1.img
mkdir "$TEST_TMP/out"
head -c 8192 "$img" >"$TEST_TMP/bad.img"
echo keep >"$TEST_TMP/out/dest.img"
rc=0
"$COMPOSEFS_DUMP" "$TEST_TMP/bad.img" "$TEST_TMP/out/dest.img" 2>"$TEST_TMP/err" || rc=$?
check "corrupt source fails with status 1" [ "$rc" = 1 ]
check "corrupt source gives a message" grep -q "failed to load" "$TEST_TMP/err"
check "corrupt source leaves DEST alone" [ "$(cat "$TEST_TMP/out/dest.img")" = keep ]
rc=0
"$COMPOSEFS_DUMP" "$img" "$TEST_TMP/no-such-dir/dest.img" 2>"$TEST_TMP/err" || rc=$?
check "unwritable destination fails with status 1" [ "$rc" = 1 ]
"$COMPOSEFS_DUMP" "$img" "$TEST_TMP/out/dest.img"
check "DEST replaced on success" cmp -s "$img" "$TEST_TMP/out/dest.img"
check "no temporary file left" [ "$(ls -A "$TEST_TMP/out")" = dest.img ]
rc=0
"$COMPOSEFS_DUMP" "$img" 2>/dev/null || rc=$?
check "missing DEST fails with status 1" [ "$rc" = 1 ]
check "--help succeeds" "$COMPOSEFS_DUMP" --help

# A user's trusted.overlay.X of 255 bytes is stored escaped as
# trusted.overlay.overlay.X (263 bytes): legal on disk, 255 once read back.
long_name="trusted.overlay.$(printf 'n%.0s' $(seq 239))"
printf '/ 0 40755 2 0 0 0 0.0 - - - %s=v\n' "$long_name" >"$TEST_TMP/longx.dump"
"$MKCOMPOSEFS" --from-file "$TEST_TMP/longx.dump" "$TEST_TMP/longx.img"
check "255-byte trusted.overlay name survives the reader" \
	grep -q " $long_name=v\$" <("$COMPOSEFS_INFO" dump "$TEST_TMP/longx.img")
"$COMPOSEFS_DUMP" "$TEST_TMP/longx.img" "$TEST_TMP/longx2.img"
check "255-byte trusted.overlay name round-trips byte for byte" cmp -s "$TEST_TMP/longx.img" "$TEST_TMP/longx2.img"

done_testing
