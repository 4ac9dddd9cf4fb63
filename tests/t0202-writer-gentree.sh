#!/bin/bash
# The writer on generated hostile trees (gentree dump SEED, tests/assets): for seeds 1..9
# the image sha256 for the default, v1 and epoch variants and the
# --print-digest output must equal gentree-expected.txt (for a dump, "epoch"
# is the same as the default in the reference). Seeds 10..29 have no published
# values: their images must be deterministic (two runs, same bytes), the
# printed digest must be the fs-verity digest of the written image, and
# image -> tree (reader, hardlink targets placed breadth first) -> image must
# give the same bytes.
source "$(dirname "$0")/test-lib.sh"

W=$BUILD_DIR/lib/image/st-image-from-dump
VD=$BUILD_DIR/lib/verity/st-verity-digest
EXP=$ASSETS_DIR/gentree/expected.txt
[ -x "$W" ] || skip_all "st-image-from-dump not built"
command -v python3 >/dev/null || skip_all "python3 not available"
[ -f "$EXP" ] || skip_all "no $EXP"

expected() { awk -v s="$1" -v v="$2" '$1 == "dump" && $2 == s && $3 == v { print $4 }' "$EXP"; }
export CFS_PARSE_STRICT=1

for seed in 1 2 3 4 5 6 7 8 9; do
	gentree dump $seed >"$TEST_TMP/g.dump"
	for variant in default v1 epoch; do
		want=$(expected $seed $variant)
		[ -n "$want" ] || { fail "seed $seed $variant" "no expected value"; continue; }
		opts=()
		[ $variant = v1 ] && opts=(--min-version=1 --max-version=1)
		if "$W" "${opts[@]}" "$TEST_TMP/g.dump" "$TEST_TMP/g.img" 2>"$TEST_TMP/err"; then
			got=$(sha256_of "$TEST_TMP/g.img")
			[ "$got" = "$want" ] && ok "seed $seed $variant" || fail "seed $seed $variant" "$got != $want"
		else
			fail "seed $seed $variant" "$(cat "$TEST_TMP/err")"
		fi
	done
	want=$(expected $seed print-digest)
	got=$("$W" --print-digest "$TEST_TMP/g.dump" 2>"$TEST_TMP/err") || got="error: $(cat "$TEST_TMP/err")"
	[ "$got" = "$want" ] && ok "seed $seed print-digest" || fail "seed $seed print-digest" "$got != $want"
done

for seed in $(seq 10 29); do
	gentree dump $seed >"$TEST_TMP/g.dump"
	if "$W" "$TEST_TMP/g.dump" "$TEST_TMP/a.img" 2>"$TEST_TMP/err" &&
		"$W" "$TEST_TMP/g.dump" "$TEST_TMP/b.img" 2>>"$TEST_TMP/err" &&
		cmp -s "$TEST_TMP/a.img" "$TEST_TMP/b.img"; then
		ok "seed $seed deterministic"
	else
		fail "seed $seed deterministic" "$(cat "$TEST_TMP/err")"
		continue
	fi
	d=$("$W" --print-digest "$TEST_TMP/g.dump" "$TEST_TMP/c.img")
	if [ -x "$VD" ]; then
		v=$("$VD" "$TEST_TMP/c.img" | sed -e 's/^sha256://' -e 's/ .*//')
		[ "$d" = "$v" ] && cmp -s "$TEST_TMP/a.img" "$TEST_TMP/c.img" &&
			ok "seed $seed digest" || fail "seed $seed digest" "$d != $v"
	fi
	if "$W" --roundtrip "$TEST_TMP/g.dump" 2>"$TEST_TMP/err"; then
		ok "seed $seed round trip"
	else
		fail "seed $seed round trip" "$(cat "$TEST_TMP/err")"
	fi
done

done_testing
