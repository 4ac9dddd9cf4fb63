#!/bin/bash
# SPDX-License-Identifier: MIT
# reference-image.sh SEED: print on stdout the image the reference mkcomposefs
# made from `seedtree.py dump SEED` (SEED 1..9). Our mkcomposefs
# ($BUILD_DIR/tools/mkcomposefs/mkcomposefs) rebuilds it, and it is printed
# only when its sha256 is the one the reference recorded (gentree/expected.txt,
# line "dump SEED default"): then these are the reference's bytes, and tests
# may use them as such. Kept in $BUILD_DIR/tests/reference/ for the next test.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
seed=${1:?usage: reference-image.sh SEED}
: "${BUILD_DIR:?BUILD_DIR must point at the meson build directory}"
want=$(awk -v s="$seed" '$1 == "dump" && $2 == s && $3 == "default" { print $4 }' "$here/gentree/expected.txt")
[ -n "$want" ] || { echo "reference-image.sh: no reference digest for seed $seed" >&2; exit 1; }

cache=$BUILD_DIR/tests/reference
img=$cache/gentree-$seed.img
if [ ! -f "$img" ] || [ "$(sha256sum <"$img" | cut -d' ' -f1)" != "$want" ]; then
	mkdir -p "$cache"
	tmp=$(mktemp "$cache/.gentree-$seed.XXXXXX")
	trap 'rm -f "$tmp"' EXIT
	python3 "$here/seedtree.py" dump "$seed" |
		CFS_PARSE_STRICT=1 "$BUILD_DIR/tools/mkcomposefs/mkcomposefs" --from-file - "$tmp"
	got=$(sha256sum <"$tmp" | cut -d' ' -f1)
	if [ "$got" != "$want" ]; then
		echo "reference-image.sh: seed $seed: our mkcomposefs wrote sha256 $got, the reference $want" \
			"(t0202-writer-gentree shows which variant differs)" >&2
		exit 1
	fi
	mv -f "$tmp" "$img"
fi
cat "$img"
