# Sourced by the t10xx repository maintenance tests (gc, prune, fsck) after
# test-lib.sh: the sealtree binary and helpers to build and inspect a repo.
DIGEST=$BUILD_DIR/lib/verity/st-verity-digest
[ -x "$SEALTREE" ] || skip_all "sealtree not built"
[ -x "$DIGEST" ] || skip_all "st-verity-digest not built"
export LC_ALL=C
unset SEALTREE_REPO

st() { "$SEALTREE" --repo "$REPO" "$@"; }

# commit_tree REF DIR [ARGS...]: commit DIR to REF, print the commit id.
commit_tree() {
	local ref=$1 dir=$2 out
	shift 2
	out=$(st commit -b "$ref" --tree "$dir" "$@") || return 1
	printf '%s\n' "$out" | grep -oE '\b[0-9a-f]{64}\b' | tail -n1
}

# object_of FILE: the repository path (objects/XX/Y...) of FILE's content.
object_of() {
	local d
	d=$("$DIGEST" "$1" | cut -d' ' -f1) || return 1
	d=${d#sha256:}
	echo "objects/${d:0:2}/${d:2}"
}

# image_of DIR: images/<digest> of the image a commit of DIR gets.
image_of() {
	echo "images/$("$MKCOMPOSEFS" --hardlinks --print-digest-only "$1")"
}

# repo_files: every file of the repository that gc may touch, sorted.
repo_files() {
	(cd "$REPO" && find objects images commits refs tmp -type f 2>/dev/null | sort)
}

# write_ref NAME ID: point refs/NAME (a full name under refs/) at a commit,
# through the command line when it takes the name, else as the format says.
write_ref() {
	if ! st ref "$1" "$2" >/dev/null 2>&1; then
		mkdir -p "$(dirname "$REPO/$1")"
		echo "$2" >"$REPO/$1"
	fi
	[ "$(tr -d '\n' <"$REPO/$1")" = "$2" ]
}

# has FILE... / hasnt FILE...: each path (relative to REPO) is there / is not.
has() { local f; for f; do [ -e "$REPO/$f" ] || { echo "# missing: $f" >&2; return 1; }; done; }
hasnt() { local f; for f; do [ ! -e "$REPO/$f" ] || { echo "# still there: $f" >&2; return 1; }; done; }

# gc_count KIND OUTPUT: the "N removed"/"N to remove" count of a gc report line.
gc_count() { printf '%s\n' "$2" | sed -n "s/^$1: \([0-9]*\) .*/\1/p"; }
