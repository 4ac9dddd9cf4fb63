#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmark an initial pull of a tree (default /usr/share) next to the curl
# floor for the same bytes and to `ostree pull`, side by side in one run,
# all served by one private nginx on loopback (HTTP/1.1 keep-alive, one
# worker), the server's files in a warm page cache. Not timed: the tree
# committed into a sealtree repository (`summary --packs`: the full pack
# and its index) and an ostree archive repository (+ summary).
#
# Every timed run writes into a filesystem made for it alone (FSTYPES:
# ext4 on a loop file, tmpfs, or none: not fresh, the old way), made by
# fresh_fs of bench/bench-lib.sh, which says why. Each timed command is
# followed by `sync -f` on that filesystem, inside the time, so all rows
# end with their bytes on the (loop) disk; sealtree's own syncfs before its
# ref moves makes that sync nearly free for it.
#
# Rows (each with the client's CPU time and peak RSS from /usr/bin/time;
# for the pipeline, the CPU of both commands and the larger peak):
#   st-packs    `sealtree pull --jobs JOBS` from the full pack: byte ranges,
#               each object zstd-decompressed, its fs-verity digest checked,
#               published into objects/XX/ (MODES also takes "loose": the
#               same with --no-packs, one request per object)
#   curl-files  the issue's curl floor: one `curl --parallel --parallel-max
#               JOBS --create-dirs` fetching every loose object file of the
#               server (objects/XX/Y...) into a file of the same name: the
#               same files, the same bytes (uncompressed) and the same layout
#               as the pull writes, and nothing else (no digest, no
#               decompression, no temporary file), but one request per
#               object (58k), which a pull from packs does not make;
#   curl-tar    the strict floor, the same files and bytes with the least
#               work per file this machine offers: one tar (GNU, not
#               compressed) of those object files, made before the runs and
#               served by the same nginx, fetched by one curl piped into
#               `tar -x -m --no-same-owner --no-same-permissions`. Why not
#               "curl fetches the pack ranges and writes the objects": curl
#               cannot cut a pack into objects; a tool that did would be a
#               pull without verification. The pull must do more than this
#               floor (decompress 279 MB of frames, hash 777 MB, a temporary
#               file per object) and moves fewer bytes (the pack's, not
#               777 MB);
#   curl-null   the loose files' requests, nothing written (the network alone)
#   curl-pack   the full pack (the bytes a pull from packs moves) by one curl
#               into one file
#   ostree      `ostree pull` into a bare-user repository (its defaults)
#   st-base     with BASE_BUILD_DIR set: st-packs by that build's sealtree,
#               timed in the same runs, right after st-packs (an A/B of two
#               builds at the same load: this machine's load drifts)
# The server (nginx) and every timed command run at nice -10 (NICE): the
# machine is shared, and this keeps other work's share out of the figures
# alike for every row.
# "CPU per GB" is the client's user+system CPU time over the tree's object
# bytes (what every row but "curl pack" writes), in s/GB (10^9 bytes).
# Medians of RUNS; record the load (uptime is printed at start and end).
# Figures and their load: docs/formats/remote.md, "Speed". Last runs,
# 2026-12-04, 91abeb7 and 21a499e each next to 5da2087 (BASE_BUILD_DIR),
# RUNS=5 OSTREE=0, load 2.4-3.5, medians of the 10: sealtree 2.77 s on
# ext4 (1.08x curl-tar; 5da2087 2.85 s) and 1.18 s on tmpfs (1.31x;
# 5da2087 1.24 s); curl-tar 2.56 s and 0.90 s; 2.92 and 2.42-2.52 CPU
# s/GB; peak RSS 71-72 MiB (5da2087 107-109 MiB).
# Usage: bench/bench-pull.sh [SOURCE]
#   env: BUILD_DIR, RUNS (3), JOBS (32), BENCH_DIR (/var/tmp), FSTYPES ("ext4 tmpfs"),
#        MODES ("packs"), OSTREE (1: also time ostree), NICE (-10), BASE_BUILD_DIR (unset)
# Needs root (mkfs, mount), nginx, curl, ostree, GNU time.
set -euo pipefail

SRC=${1:-/usr/share}
BUILD_DIR=${BUILD_DIR:-build}
RUNS=${RUNS:-3}
JOBS=${JOBS:-32}
FSTYPES=${FSTYPES:-ext4 tmpfs}
MODES=${MODES:-packs}
OSTREE=${OSTREE:-1}
NICE=${NICE:--10}
SEALTREE=$(realpath "$BUILD_DIR/tools/sealtree/sealtree")
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench-lib.sh
. "$HERE/bench-lib.sh"
[ -x "$SEALTREE" ] || { echo "build sealtree first ($SEALTREE)" >&2; exit 1; }
BASE_SEALTREE=""
if [ -n "${BASE_BUILD_DIR:-}" ]; then
	BASE_SEALTREE=$(realpath "$BASE_BUILD_DIR/tools/sealtree/sealtree")
	[ -x "$BASE_SEALTREE" ] || { echo "no sealtree in BASE_BUILD_DIR ($BASE_SEALTREE)" >&2; exit 1; }
fi
[ "$OSTREE" = 0 ] || command -v ostree >/dev/null || { echo "needs ostree (Debian package 'ostree')" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "needs GNU time (Debian package 'time')" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "needs root (a fresh filesystem is made and mounted for each run)" >&2; exit 1; }
TEST_TMP=$(mktemp -d "${BENCH_DIR:-/var/tmp}/sealtree-bench-pull.XXXXXX")
T=$TEST_TMP
MNT=$T/mnt
cleanup_test_tmp() {
	fresh_fs_release "$MNT"
	rm -rf "$TEST_TMP"
}
skip_all() { echo "cannot run: $*" >&2; exit 1; }
trap cleanup_test_tmp EXIT
# shellcheck source=../tests/remote-lib.sh
. "$HERE/../tests/remote-lib.sh"

echo "start: $(uptime)"
echo "tree: $SRC"
mkdir -p "$T/www" "$MNT"
"$SEALTREE" --repo "$T/www/st" init --verity=off >/dev/null
"$SEALTREE" --repo "$T/www/st" commit -b main --tree "$SRC" --canonical-permissions >/dev/null
"$SEALTREE" --repo "$T/www/st" summary --packs >/dev/null
if [ "$OSTREE" != 0 ]; then
	ostree --repo="$T/www/os" init --mode=archive
	ostree --repo="$T/www/os" commit -b main --tree=dir="$SRC" --owner-uid=0 --owner-gid=0 >/dev/null 2>&1 ||
		ostree --repo="$T/www/os" commit -b main --tree=dir="$SRC" >/dev/null
	ostree --repo="$T/www/os" summary -u
fi
# The object files as one tar, for the strict floor.
(cd "$T/www/st" && find objects -type f -name '[0-9a-f]*' | tar -cf "$T/www/objects.tar" --format=gnu -T -)
nginx_start "$T/www"
renice -n "$NICE" -p "$NGINX_PID" $(pgrep -P "$NGINX_PID") >/dev/null
(cd "$T/www/st" && find objects -type f -name '[0-9a-f]*') >"$T/objects.list"
objs=$(wc -l <"$T/objects.list")
bytes=$(cd "$T/www/st" && xargs -d '\n' stat -c %s <"$T/objects.list" | awk '{ s += $1 } END { print s }')
v=$("$SEALTREE" --repo "$T/www/st" refs | awk '{ print $1; exit }')
full=$(awk -v c="$v" '$1 == "pack" && $2 == c && $3 == "-" { print $4 }' "$T/www/st/summary")
[ -n "$full" ] || { echo "no full pack in the summary" >&2; exit 1; }
pack_bytes=$(stat -c %s "$T/www/st/packs/$full.pack")
echo "objects: $objs, $bytes bytes; full pack $pack_bytes bytes$([ "$OSTREE" = 0 ] || echo "; ostree archive $(du -sb "$T/www/os/objects" | cut -f1) bytes")"
awk -v u="$NGINX_URL/st/" '{ print "url = " u $0; print "output = /dev/null" }' "$T/objects.list" >"$T/curl-null.cfg"
awk -v u="$NGINX_URL/st/" -v d="$MNT/" '{ print "url = " u $0; print "output = " d $0 }' "$T/objects.list" >"$T/curl-files.cfg"
# warm the server's page cache
find "$T/www" -type f -exec cat {} + >/dev/null

# timed ROW FS CMD...: CMD then `sync -f $MNT` timed; appends "secs user sys maxrss_kb" to $T/r-ROW-FS.
timed() {
	local row=$1 fs=$2 s e
	shift 2
	s=$(date +%s.%N)
	nice -n "$NICE" /usr/bin/time -f "%U %S %M" -o "$T/time" "$@" >"$T/cmd.out" 2>"$T/cmd.err" ||
		{ echo "$row on $fs failed: $(tail -3 "$T/cmd.err")" >&2; exit 1; }
	sync -f "$MNT"
	e=$(date +%s.%N)
	read -r user sys rss <"$T/time"
	echo "$(echo "$e - $s" | bc) $user $sys $rss" >>"$T/r-$row-$fs"
}

# st_pull MODE FS [BIN ROW]: a pull into a fresh repository, by BIN (default $SEALTREE) as row ROW (st-MODE)
st_pull() {
	local bin=${3:-$SEALTREE}
	"$bin" --repo "$MNT/cl" init --verity=off >/dev/null
	"$bin" --repo "$MNT/cl" remote add origin "$NGINX_URL/st" --no-sign-verify
	timed "${4:-st-$1}" "$2" "$bin" --repo "$MNT/cl" -q pull origin --jobs "$JOBS" $([ "$1" = loose ] && echo --no-packs)
}

rows=""
for m in $MODES; do rows="$rows st-$m"; done
[ -z "$BASE_SEALTREE" ] || rows="$rows st-base"
rows="$rows curl-files curl-tar curl-null curl-pack"
[ "$OSTREE" = 0 ] || rows="$rows ostree"
for run in $(seq "$RUNS"); do
	for fs in $FSTYPES; do
		for row in $rows; do
			fresh_fs "$MNT" "$fs" $((bytes * 3 + (2 << 30)))
			case $row in
			st-base) st_pull packs "$fs" "$BASE_SEALTREE" st-base ;;
			st-*) st_pull "${row#st-}" "$fs" ;;
			curl-files) timed "$row" "$fs" curl -sS --fail --create-dirs --parallel --parallel-max "$JOBS" -K "$T/curl-files.cfg" ;;
			curl-tar)
				mkdir "$MNT/cl"
				timed "$row" "$fs" bash -c 'set -o pipefail; curl -sS --fail "$1" | tar -x -m --no-same-owner --no-same-permissions -C "$2"' \
					- "$NGINX_URL/objects.tar" "$MNT/cl"
				;;
			curl-null) timed "$row" "$fs" curl -sS --fail --parallel --parallel-max "$JOBS" -K "$T/curl-null.cfg" ;;
			curl-pack) timed "$row" "$fs" curl -sS --fail -o "$MNT/full.pack" "$NGINX_URL/st/packs/$full.pack" ;;
			ostree)
				ostree --repo="$MNT/os" init --mode=bare-user
				ostree --repo="$MNT/os" remote add --no-gpg-verify origin "$NGINX_URL/os"
				timed "$row" "$fs" ostree --repo="$MNT/os" pull origin main
				;;
			esac
			read -r secs user sys rss < <(tail -1 "$T/r-$row-$fs")
			echo "run $run, $fs: $row $secs s (cpu $user + $sys s, $((rss / 1024)) MiB peak)"
		done
	done
done
fresh_fs_release "$MNT"

echo "end: $(uptime)"
echo "median of $RUNS ($objs objects, $((bytes / 1000000)) MB; CPU per GB: client user+system seconds per 10^9 object bytes):"
printf '%-6s %-11s %8s %8s %8s %10s %9s %8s %8s\n' fs row seconds user sys "cpu s/GB" "peak MiB" "x files" "x tar"
for fs in $FSTYPES; do
	floor=$(cut -d' ' -f1 "$T/r-curl-files-$fs" | median)
	tfloor=$(cut -d' ' -f1 "$T/r-curl-tar-$fs" | median)
	for row in $rows; do
		f=$T/r-$row-$fs
		secs=$(cut -d' ' -f1 "$f" | median)
		user=$(cut -d' ' -f2 "$f" | median)
		sys=$(cut -d' ' -f3 "$f" | median)
		rss=$(cut -d' ' -f4 "$f" | median)
		cpu=$(awk '{ print $2 + $3 }' "$f" | median)
		printf '%-6s %-11s %8.2f %8.2f %8.2f %10.2f %9d %8.2f %8.2f\n' "$fs" "$row" "$secs" "$user" "$sys" \
			"$(echo "scale=3; $cpu * 1000000000 / $bytes" | bc)" $((rss / 1024)) "$(echo "scale=3; $secs / $floor" | bc)" \
			"$(echo "scale=3; $secs / $tfloor" | bc)"
	done
	st=$(cut -d' ' -f1 "$T/r-st-packs-$fs" 2>/dev/null | median)
	[ -z "$st" ] || echo "$fs: sealtree from packs is $(echo "scale=2; $st / $floor" | bc)x curl-files," \
		"$(echo "scale=2; $st / $tfloor" | bc)x curl-tar$([ "$OSTREE" = 0 ] ||
			echo ", $(echo "scale=2; $(cut -d' ' -f1 "$T/r-ostree-$fs" | median) / $st" | bc)x faster than ostree")"
	if [ -f "$T/r-st-base-$fs" ]; then
		bst=$(cut -d' ' -f1 "$T/r-st-base-$fs" | median)
		echo "$fs: the base build from packs is $(echo "scale=2; $bst / $tfloor" | bc)x curl-tar"
	fi
done
