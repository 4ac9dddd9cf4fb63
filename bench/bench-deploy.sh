#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmark `sealtree admin deploy` of a /usr-sized commit whose objects are
# present, next to `ostree admin deploy` of the same tree, measured in the
# same run on the same filesystem (a loop-mounted ext4 of their own, so
# that a syncfs flushes what the deploy wrote, not what other programs
# left dirty on a shared disk), warm page cache:
#   - the tree: SOURCE (default /usr) as usr/ through an overlay that adds a
#     fake kernel, initramfs and usr/etc (root needed for the mounts)
#   - both repositories get the tree committed first (not timed)
#   - timed: deploy (median of RUNS), each into a fresh sysroot
# Also: the /etc merge on its own (a second deploy over the first), and the
# same two deploys of a small tree holding only the same usr/etc and boot
# files: the /etc merge reads only usr/etc of the images, so its cost must
# not follow the size of the tree. The load average is printed before and
# after, so that figures from a busy machine are recognisable.
# Usage: sudo bench/bench-deploy.sh [SOURCE]   (BUILD_DIR, RUNS, BENCH_DIR)
set -euo pipefail

SRC=${1:-/usr}
BUILD_DIR=${BUILD_DIR:-build}
RUNS=${RUNS:-5}
SEALTREE=$(realpath "$BUILD_DIR/tools/sealtree/sealtree")
[ -x "$SEALTREE" ] || { echo "build sealtree first ($SEALTREE)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "needs root (overlay mount of the source)" >&2; exit 1; }
command -v ostree >/dev/null || { echo "needs ostree (Debian package 'ostree')" >&2; exit 1; }
TMP=$(mktemp -d "${BENCH_DIR:-/var/tmp}/sealtree-bench-deploy.XXXXXX")
# ostree marks deployment roots immutable: lift that before removing them.
cleanup() {
	umount -l "$TMP/tree/usr" 2>/dev/null || true
	find "$TMP/fs" -maxdepth 8 -type d -path '*/deploy/*' -exec chattr -i {} + 2>/dev/null || true
	umount -l "$TMP/fs" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT

KVER=6.1.0-bench
mkdir -p "$TMP/tree/usr" "$TMP/upper/lib/modules/$KVER" "$TMP/upper/etc/sub" "$TMP/work"
head -c 12000000 /dev/urandom >"$TMP/upper/lib/modules/$KVER/vmlinuz"
head -c 40000000 /dev/urandom >"$TMP/upper/lib/modules/$KVER/initramfs.img"
for i in $(seq 300); do echo "setting $i" >"$TMP/upper/etc/conf$i"; done
echo x >"$TMP/upper/etc/sub/x"
printf 'ID=bench\nNAME=bench\nVERSION_ID=1\n' >"$TMP/upper/lib/os-release"   # ostree reads it
mount -t overlay overlay -o "lowerdir=$SRC,upperdir=$TMP/upper,workdir=$TMP/work" "$TMP/tree/usr"
files=$(find "$TMP/tree/usr" -xdev 2>/dev/null | wc -l || true)
echo "tree: $SRC as usr/ ($files inodes), kernel 12 MB, initramfs 40 MB, 302 files in usr/etc"
# The small tree: the overlay's additions alone.
mkdir -p "$TMP/small"
cp -a "$TMP/upper" "$TMP/small/usr"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

mkdir -p "$TMP/fs"
truncate -s "${BENCH_FS_SIZE:-12G}" "$TMP/fs.img"
mkfs.ext4 -q -F "$TMP/fs.img"
mount -o loop "$TMP/fs.img" "$TMP/fs"

ms() { echo $(( ($2 - $1) / 1000000 )); }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# sealtree: one repository, commit once, then RUNS fresh sysroots deploying it.
S=$TMP/fs/st
"$SEALTREE" admin init-fs --verity=off "$S" >/dev/null
mkdir -p "$TMP/keys" && echo '* none' >"$TMP/keys/policy.conf"
t0=$(date +%s%N)
"$SEALTREE" -q --repo "$S/sealtree/repo" commit -b os/main --tree "$TMP/tree" >/dev/null
t1=$(date +%s%N)
echo "sealtree commit (setup, not compared): $(ms "$t0" "$t1") ms"
"$SEALTREE" -q --repo "$S/sealtree/repo" commit -b os/small --tree "$TMP/small" >/dev/null
st_times=() merge_times=() small_times=() small_merge_times=()
# deploy_twice OS REF: a first deploy (times into $a), then one that merges /etc ($b).
deploy_twice() {
	sync
	"$SEALTREE" admin --sysroot "$S" os-init "$1" >/dev/null
	t0=$(date +%s%N)
	"$SEALTREE" admin --sysroot "$S" deploy --os "$1" --keys-dir "$TMP/keys" "$2" >/dev/null
	t1=$(date +%s%N)
	a=$(ms "$t0" "$t1")
	t0=$(date +%s%N)
	"$SEALTREE" admin --sysroot "$S" deploy --os "$1" --keys-dir "$TMP/keys" "$2" >/dev/null
	t1=$(date +%s%N)
	b=$(ms "$t0" "$t1")
}
for r in $(seq "$RUNS"); do
	deploy_twice "os$r" os/main
	st_times+=("$a") merge_times+=("$b")
	deploy_twice "small$r" os/small
	small_times+=("$a") small_merge_times+=("$b")
done
du_st=$(du -sk --exclude=repo "$S" | cut -f1)

# ostree: the same tree, committed once, deployed RUNS times into fresh sysroots.
O=$TMP/fs/ostree
ostree_times=()
for r in $(seq "$RUNS"); do
	SYS=$O/sys$r
	mkdir -p "$SYS"
	ostree admin init-fs "$SYS" >/dev/null
	ostree admin --sysroot="$SYS" os-init "os$r" >/dev/null
	if [ "$r" = 1 ]; then
		t0=$(date +%s%N)
		ostree --repo="$SYS/ostree/repo" commit -b os/main --tree=dir="$TMP/tree" --no-xattrs >/dev/null
		t1=$(date +%s%N)
		echo "ostree commit (setup, not compared): $(ms "$t0" "$t1") ms"
		REPO1=$SYS/ostree/repo
	else
		ostree --repo="$SYS/ostree/repo" pull-local "$REPO1" os/main >/dev/null
	fi
	sync
	t0=$(date +%s%N)
	ostree admin --sysroot="$SYS" deploy --os="os$r" os/main >/dev/null
	t1=$(date +%s%N)
	ostree_times+=("$(ms "$t0" "$t1")")
done

printf '%-42s %6s ms   (runs: %s)\n' "sealtree admin deploy" "$(printf '%s\n' "${st_times[@]}" | median)" "${st_times[*]}"
printf '%-42s %6s ms   (runs: %s)\n' "sealtree admin deploy, /etc merged" "$(printf '%s\n' "${merge_times[@]}" | median)" "${merge_times[*]}"
printf '%-42s %6s ms   (runs: %s)\n' "ostree admin deploy" "$(printf '%s\n' "${ostree_times[@]}" | median)" "${ostree_times[*]}"
printf '%-42s %6s ms   (runs: %s)\n' "sealtree admin deploy, small tree" "$(printf '%s\n' "${small_times[@]}" | median)" "${small_times[*]}"
printf '%-42s %6s ms   (runs: %s)\n' "sealtree admin deploy, small, /etc merged" "$(printf '%s\n' "${small_merge_times[@]}" | median)" "${small_merge_times[*]}"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "sealtree sysroot without the repository: $du_st KiB for $((2 * RUNS)) deployments"
