#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmark an initial `sealtree pull` next to `ostree pull` of the same tree
# in the same run, both served by one private nginx on loopback (HTTP/1.1
# keep-alive), warm page cache on the server side:
#   - the tree: SOURCE (default /usr/share), committed into a sealtree
#     repository (+ summary) and an ostree archive repository (+ summary),
#     not timed
#   - timed (median of RUNS): a pull into a fresh empty repository each
#     (sealtree: --jobs JOBS, default 32; ostree: bare-user, its defaults)
#   - the curl floor: the same object files fetched by one
#     `curl --parallel --parallel-max JOBS` run into /dev/null
# Usage: bench/bench-pull.sh [SOURCE]   (BUILD_DIR, RUNS, JOBS, BENCH_DIR)
set -euo pipefail

SRC=${1:-/usr/share}
BUILD_DIR=${BUILD_DIR:-build}
RUNS=${RUNS:-3}
JOBS=${JOBS:-32}
SEALTREE=$(realpath "$BUILD_DIR/tools/sealtree/sealtree")
HERE=$(cd "$(dirname "$0")" && pwd)
[ -x "$SEALTREE" ] || { echo "build sealtree first ($SEALTREE)" >&2; exit 1; }
command -v ostree >/dev/null || { echo "needs ostree (Debian package 'ostree')" >&2; exit 1; }
TEST_TMP=$(mktemp -d "${BENCH_DIR:-/var/tmp}/sealtree-bench-pull.XXXXXX")
cleanup_test_tmp() { rm -rf "$TEST_TMP"; }
skip_all() { echo "cannot run: $*" >&2; exit 1; }
trap cleanup_test_tmp EXIT
# shellcheck source=../tests/remote-lib.sh
. "$HERE/../tests/remote-lib.sh"
T=$TEST_TMP

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
timed() { local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); echo "$e - $s" | bc; }

echo "tree: $SRC ($(find "$SRC" -xdev -type f 2>/dev/null | wc -l) files, $(du -sm --exclude=proc "$SRC" 2>/dev/null | cut -f1) MB)"
mkdir -p "$T/www"
"$SEALTREE" --repo "$T/www/st" init --verity=off >/dev/null
"$SEALTREE" --repo "$T/www/st" commit -b main --tree "$SRC" --canonical-permissions >/dev/null
"$SEALTREE" --repo "$T/www/st" summary >/dev/null
ostree --repo="$T/www/os" init --mode=archive
ostree --repo="$T/www/os" commit -b main --tree=dir="$SRC" --owner-uid=0 --owner-gid=0 >/dev/null 2>&1 ||
	ostree --repo="$T/www/os" commit -b main --tree=dir="$SRC" >/dev/null
ostree --repo="$T/www/os" summary -u
nginx_start "$T/www"
(cd "$T/www/st" && find objects -type f -name '[0-9a-f]*') >"$T/objects.list"
awk -v u="$NGINX_URL/st/" '{ print "url = " u $0; print "output = /dev/null" }' "$T/objects.list" >"$T/curl.cfg"
objs=$(wc -l <"$T/objects.list")
bytes=$(cd "$T/www/st/objects" && find . -type f -name '[0-9a-f]*' -printf '%s\n' | awk '{ s += $1 } END { print s }')
echo "sealtree objects: $objs, $((bytes / 1048576)) MiB; ostree archive: $(du -sm "$T/www/os/objects" | cut -f1) MiB"
# warm the server's page cache
cat "$T"/www/st/objects/*/* "$T"/www/st/images/* >/dev/null 2>&1 || true
find "$T/www/os/objects" -type f -exec cat {} + >/dev/null

for run in $(seq "$RUNS"); do
	rm -rf "$T/cl-st" "$T/cl-os"
	"$SEALTREE" --repo "$T/cl-st" init --verity=off >/dev/null
	"$SEALTREE" --repo "$T/cl-st" remote add origin "$NGINX_URL/st" --no-sign-verify
	timed "$SEALTREE" --repo "$T/cl-st" -q pull origin --jobs "$JOBS" >>"$T/t-st"
	ostree --repo="$T/cl-os" init --mode=bare-user
	ostree --repo="$T/cl-os" remote add --no-gpg-verify origin "$NGINX_URL/os"
	timed ostree --repo="$T/cl-os" pull origin main >>"$T/t-os"
	timed curl -s --parallel --parallel-max "$JOBS" -K "$T/curl.cfg" >>"$T/t-curl" 2>/dev/null ||
		echo 0 >>"$T/t-curl"
	echo "run $run: sealtree $(tail -1 "$T/t-st") s, ostree $(tail -1 "$T/t-os") s, curl $(tail -1 "$T/t-curl") s"
done
st=$(median <"$T/t-st"); os=$(median <"$T/t-os"); cu=$(median <"$T/t-curl")
echo "median of $RUNS: sealtree pull $st s, ostree pull $os s, curl floor $cu s"
echo "sealtree vs ostree: $(echo "scale=2; $os / $st" | bc)x faster; vs curl floor: $(echo "scale=2; $st / $cu" | bc)x"
