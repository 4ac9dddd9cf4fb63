#!/bin/bash
# SPDX-License-Identifier: MIT
# sealtree oci verify: each imported layer's tar is rebuilt from its
# tar-split record and the objects and hashes to the config's diff_id, for
# umoci's layers and for hand-made ones (GNU long names and sparse files,
# pax records, uncompressed, trailing bytes after the end blocks). gc keeps
# the objects of files a later layer hid, since the records need them. A
# damaged or missing object is named with its layer and member; a damaged
# record is named with its layer.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/oci-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
export LC_ALL=C
repo=$TEST_TMP/repo
st() { "$SEALTREE" --repo "$repo" "$@"; }
st init --verity=off >/dev/null || { fail "init" ""; done_testing; exit; }
L=$TEST_TMP/layout
long=$(printf 'd%.0s' $(seq 1 60))/$(printf 'n%.0s' $(seq 1 70))

oci_new "$L" 1 &&
oci_layer "$L" 1 "mkdir -p etc $(dirname "$long"); echo tiny >etc/tiny; printf 'lower-only-%0100d' 7 >etc/hidden
	head -c 70000 /dev/urandom >mid; head -c 2600000 /dev/urandom >big; echo hl >hl1; ln hl1 hl2
	ln -s ../etc/tiny rel; : >empty; printf 'long-name-file-%0100d' 1 >$long" &&
oci_layer "$L" 1 'printf "upper-%0100d" 8 >etc/hidden; rm big' ||
	{ fail "umoci builds the image" ""; done_testing; exit; }

check "import" st -q oci import "oci:$L:1" --name v/umoci:1
check "verify passes" st oci verify v/umoci:1
check "verify reports each layer ok" test "$(st oci verify v/umoci:1 | grep -c ': ok, diff_id sha256:')" = 2
check "the records are under oci/tar-split" test "$(ls "$repo/oci/tar-split" | wc -l)" = 2

# Hand-made layers: what umoci never writes.
T=$TEST_TMP/hand
mkdir -p "$T/src/sub"
head -c 300000 /dev/urandom >"$T/src/data"
truncate -s 5M "$T/src/sparse" && printf 'middle' | dd of="$T/src/sparse" bs=1 seek=3000000 conv=notrunc 2>/dev/null
printf 'long-%0200d' 3 >"$T/src/sub/$(printf 'x%.0s' $(seq 1 150))"
(cd "$T/src" && tar --format=gnu --sparse --numeric-owner -cf "$T/gnu.tar" .) &&
	(cd "$T/src" && tar --format=posix --numeric-owner -cf "$T/pax.tar" ./sub ./data) &&
	cp "$T/pax.tar" "$T/trail.tar" && printf 'bytes after the end' >>"$T/trail.tar" && head -c 20000 /dev/zero >>"$T/trail.tar" ||
	fail "tar makes the layers" ""
python3 "$SOURCE_DIR/tests/oci-make-layout.py" "$T/gz" 1 "$T/gnu.tar" "$T/trail.tar" &&
	python3 "$SOURCE_DIR/tests/oci-make-layout.py" "$T/plain" 1 "$T/pax.tar" --plain &&
	python3 "$SOURCE_DIR/tests/oci-make-layout.py" "$T/zst" 1 "$T/gnu.tar" --zstd || fail "layouts" ""
check "import GNU sparse + trailing bytes (gzip)" st -q oci import "oci:$T/gz:1" --name v/gnu:1
check "import pax (uncompressed)" st -q oci import "oci:$T/plain:1" --name v/pax:1
check "import GNU (zstd)" st -q oci import "oci:$T/zst:1" --name v/zst:1
for i in v/gnu:1 v/pax:1 v/zst:1; do
	check "verify $i" st oci verify "$i"
done

# gc keeps the objects only the records need (etc/hidden of layer 1, big).
check "gc" st -q gc
check "verify after gc" st oci verify v/umoci:1 v/gnu:1

# A damaged object: the layer and the member are named.
hidden=$(grep -rl 'lower-only-' "$repo/objects")
check "the hidden file's object is found" test -n "$hidden" -a "$(echo "$hidden" | wc -l)" = 1
cp "$hidden" "$TEST_TMP/saved"
chmod u+w "$hidden" && printf 'X' | dd of="$hidden" bs=1 seek=20 conv=notrunc 2>/dev/null
rc=0; out=$(st oci verify v/umoci:1 2>&1) || rc=$?
check "verify fails on a damaged object" test "$rc" = 1
check "it names layer 1 and the member" grep -q "layer 1/2 .*FAILED: .*member 'etc/hidden'.*does not match its fs-verity digest" <<<"$out"
check "layer 2 still ok" grep -q "^layer 2/2 .*: ok" <<<"$out"
mv "$hidden" "$TEST_TMP/moved"
out=$(st oci verify v/umoci:1 2>&1) || true
check "a missing object is named" grep -q "member 'etc/hidden': its object objects/.* is missing" <<<"$out"
cp "$TEST_TMP/saved" "$hidden"
check "verify passes again" st -q oci verify v/umoci:1

# A damaged record.
rec=$(ls "$repo/oci/tar-split/"* | head -1)
chmod u+w "$rec"; cp "$rec" "$TEST_TMP/rec"
printf '\377' | dd of="$rec" bs=1 seek=30 conv=notrunc 2>/dev/null
rc=0; out=$(st oci verify v/umoci:1 v/gnu:1 v/pax:1 v/zst:1 2>&1) || rc=$?
check "verify fails on a damaged record" test "$rc" = 1
check "it names the record as damaged" grep -q "FAILED: layer [12]/[12] (sha256:[0-9a-f]*): its tar-split record oci/tar-split/[0-9a-f]* is damaged" <<<"$out"
cp "$TEST_TMP/rec" "$rec"

# gc keeps the records image refs name (and only those).
check "rm one image" st oci rm v/pax:1
check "gc after rm" st -q gc
check "the record v/gnu shares with it stays" st -q oci verify v/gnu:1
check "rm the rest" st oci rm v/gnu:1 v/zst:1 v/umoci:1
check "gc" st -q gc
check "gc removed every record" test -z "$(ls "$repo/oci/tar-split")"
check "and every object" test -z "$(find "$repo/objects" -type f)"
done_testing
