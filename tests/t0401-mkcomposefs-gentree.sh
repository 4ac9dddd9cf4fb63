#!/bin/bash
# SPDX-License-Identifier: MIT
# mkcomposefs against the reference's golden digests for the gentree
# trees and dumps (tests/assets/gentree/expected.txt): every `tree S VARIANT` line
# (a directory scan with each option, the digest store, composefs-info dump
# of the image) and the `dump S default|v1|epoch|print-digest` lines
# (--from-file). Set GENTREE_SEEDS="1 2 ..." to check other seeds' lines
# from another expected file (GENTREE_EXPECTED).
. "$(dirname "$0")/test-lib.sh"

need_root
[ -x "$MKCOMPOSEFS" ] || skip_all "mkcomposefs not built"
EXPECTED=${GENTREE_EXPECTED:-$ASSETS_DIR/gentree/expected.txt}
export LC_ALL=C
seeds=${GENTREE_SEEDS:-$(awk '{print $2}' "$EXPECTED" | sort -un)}
have_info=true
[ -x "$COMPOSEFS_INFO" ] || { have_info=false; echo "# composefs-info not built: skipping the info-dump variants"; }

sha() { sha256sum | cut -d' ' -f1; }

# image_of VARIANT DIR OUT: the image of a tree with the variant's options.
image_of() {
	local variant=$1 dir=$2 out=$3
	case $variant in
	default) "$MKCOMPOSEFS" "$dir" "$out" ;;
	v1) "$MKCOMPOSEFS" --min-version=1 --max-version=1 "$dir" "$out" ;;
	epoch) "$MKCOMPOSEFS" --use-epoch "$dir" "$out" ;;
	skip-xattrs) "$MKCOMPOSEFS" --skip-xattrs "$dir" "$out" ;;
	user-xattrs) "$MKCOMPOSEFS" --user-xattrs "$dir" "$out" ;;
	skip-devices) "$MKCOMPOSEFS" --skip-devices "$dir" "$out" ;;
	*) return 2 ;;
	esac
}

# tree_value SEED VARIANT DIR: what the expected file records for that variant.
tree_value() {
	local seed=$1 variant=$2 dir=$3 img=$TEST_TMP/img.$1.$2 store
	case $variant in
	store)
		store=$TEST_TMP/store.$seed
		"$MKCOMPOSEFS" --digest-store="$store" "$dir" "$img" || return 1
		# The layout the reference test hashes; no temporary file may be left.
		[ -z "$(find "$store" -name '.*' ! -name .)" ] || { echo "temporary files left in the store" >&2; return 1; }
		(cd "$store" && find . -type f | sort | xargs sha256sum) | sha
		;;
	info-dump)
		image_of default "$dir" "$img" || return 1
		"$COMPOSEFS_INFO" dump "$img" | sha
		;;
	*)
		image_of "$variant" "$dir" "$img" || return 1
		sha <"$img"
		;;
	esac
}

# dump_value SEED VARIANT DUMP
dump_value() {
	local variant=$2 dump=$3 img=$TEST_TMP/dimg.$1.$2
	case $variant in
	default) CFS_PARSE_STRICT=1 "$MKCOMPOSEFS" --from-file "$dump" "$img" && sha <"$img" ;;
	v1) CFS_PARSE_STRICT=1 "$MKCOMPOSEFS" --min-version=1 --max-version=1 --from-file "$dump" "$img" && sha <"$img" ;;
	epoch) CFS_PARSE_STRICT=1 "$MKCOMPOSEFS" --use-epoch --from-file "$dump" "$img" && sha <"$img" ;;
	print-digest) CFS_PARSE_STRICT=1 "$MKCOMPOSEFS" --print-digest-only --from-file "$dump" ;;
	*) return 2 ;;
	esac
}

for seed in $seeds; do
	dir=$TEST_TMP/tree-$seed
	dump=$TEST_TMP/gentree-$seed.dump
	gentree tree "$seed" "$dir" || { fail "gentree tree $seed" "seedtree.py failed"; continue; }
	gentree dump "$seed" >"$dump" || { fail "gentree dump $seed" "seedtree.py failed"; continue; }

	while read -r mode s variant want; do
		[ "$s" = "$seed" ] || continue
		name="$mode $seed $variant"
		if [ "$mode" = tree ]; then
			case $variant in
			default | v1 | epoch | skip-xattrs | user-xattrs | skip-devices | store) ;;
			info-dump) $have_info || { echo "# skip $name: composefs-info missing"; continue; } ;;
			*) fail "$name" "unknown variant"; continue ;;
			esac
			got=$(tree_value "$seed" "$variant" "$dir") && rc=0 || rc=$?
		else
			# The info-* dump lines belong to the composefs-info tests.
			case $variant in default | v1 | epoch | print-digest) ;; *) continue ;; esac
			got=$(dump_value "$seed" "$variant" "$dump") && rc=0 || rc=$?
		fi
		if [ $rc != 0 ]; then
			fail "$name" "mkcomposefs failed"
		elif [ "$got" = "$want" ]; then
			ok "$name"
		else
			fail "$name" "got $got, want $want"
		fi
	done <"$EXPECTED"
	rm -rf "$dir" "$TEST_TMP/store.$seed" "$TEST_TMP"/img.* "$TEST_TMP"/dimg.*
done

# The scan is not the only way to the same bytes: a tree given through a
# dumpfile of its own image gives the same image (needs composefs-info).
if $have_info; then
	read -r seed _ <<<"$(echo $seeds)"
	dir=$TEST_TMP/tree-rt
	gentree tree "$seed" "$dir"
	if "$MKCOMPOSEFS" "$dir" "$TEST_TMP/rt1.img" &&
		"$COMPOSEFS_INFO" dump "$TEST_TMP/rt1.img" | "$MKCOMPOSEFS" --from-file - "$TEST_TMP/rt2.img" &&
		cmp "$TEST_TMP/rt1.img" "$TEST_TMP/rt2.img"; then
		ok "tree $seed: image -> composefs-info dump -> mkcomposefs --from-file gives the same image"
	else
		fail "tree $seed: image -> dump -> image" "images differ or a step failed"
	fi
fi

done_testing
