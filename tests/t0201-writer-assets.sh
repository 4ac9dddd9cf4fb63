#!/bin/bash
# The writer on the reference's golden assets: each X.dump[.gz] with an
# X.sha256 must give an image with exactly that sha256 (X.version, when
# present, pins --min-version/--max-version). Strict parsing except for the
# three assets the reference itself parses leniently. Should-fail assets must
# be refused without leaving an image behind. Every image also survives
# image -> tree (st_image_read_tree) -> image unchanged.
source "$(dirname "$0")/test-lib.sh"

W=$BUILD_DIR/lib/image/st-image-from-dump
ASSETS=$ASSETS_DIR/composefs
[ -x "$W" ] || skip_all "st-image-from-dump not built"
[ -d "$ASSETS" ] || skip_all "no compat assets at $ASSETS"

n=0
for f in "$ASSETS"/*.dump "$ASSETS"/*.dump.gz; do
	name=$(basename "$f")
	case $name in should-fail-*) continue ;; esac
	[ -f "$f.sha256" ] || continue
	expected=$(cut -d' ' -f1 "$f.sha256")
	src=$f
	# git symlinks checked out as plain files hold the target's name
	if [ "$(stat -c %s "$src")" -lt 256 ] && [ -f "$ASSETS/$(cat "$src")" ]; then
		src=$ASSETS/$(cat "$src")
	fi
	if [ "${src%.gz}" != "$src" ]; then
		gzip -dc "$src" >"$TEST_TMP/in.dump"
		src=$TEST_TMP/in.dump
	fi
	opts=()
	if [ -f "${f%.gz}.version" ]; then
		v=$(cat "${f%.gz}.version")
		opts=(--min-version="$v" --max-version="$v")
	fi
	envs=(CFS_PARSE_STRICT=1)
	case $name in no-newline* | longlink* | honggfuzz-longlink-unterminated*) envs=(-u CFS_PARSE_STRICT) ;; esac
	rm -f "$TEST_TMP/out.img"
	if ! env "${envs[@]}" "$W" "${opts[@]}" "$src" "$TEST_TMP/out.img" 2>"$TEST_TMP/err"; then
		fail "$name" "writer failed: $(cat "$TEST_TMP/err")"
		continue
	fi
	got=$(sha256_of "$TEST_TMP/out.img")
	if [ "$got" = "$expected" ]; then
		ok "$name"
	else
		fail "$name" "sha256 $got, expected $expected"
	fi
	# image -> tree (reader) -> image gives the same bytes
	if env "${envs[@]}" "$W" "${opts[@]}" --roundtrip "$src" 2>"$TEST_TMP/err"; then
		ok "$name round trip"
	else
		fail "$name round trip" "$(cat "$TEST_TMP/err")"
	fi
	n=$((n + 1))
done
[ "$n" -ge 10 ] || fail "asset count" "only $n assets with a sha256 found"

for f in "$ASSETS"/should-fail-*.dump; do
	name=$(basename "$f")
	rm -f "$TEST_TMP/out.img"
	if CFS_PARSE_STRICT=1 "$W" "$f" "$TEST_TMP/out.img" 2>"$TEST_TMP/err"; then
		fail "$name" "accepted, but must be refused"
	elif [ -e "$TEST_TMP/out.img" ]; then
		fail "$name" "refused but left an image behind"
	else
		ok "$name refused: $(head -c 120 "$TEST_TMP/err")"
	fi
done

done_testing
