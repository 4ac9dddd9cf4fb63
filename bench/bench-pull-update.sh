#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmark pulls from packs, side by side in one run, one private nginx on
# loopback (HTTP/1.1 keep-alive), warm page cache on the server side:
#
# 1. Update: SOURCE committed as v1, then 1% of its files changed (every
#    100th file gets 64 random bytes appended) and committed as v2.
#    sealtree: `summary --packs` (a pack from v1 to v2); ostree (archive
#    repo): a static delta v1 -> v2 (`static-delta generate`, timed once).
#    Each run copies a client at v1 (hardlinks) and pulls v2, timed:
#      - bytes on the wire: body bytes in nginx's access log for the pull,
#        next to the changed objects' compressed size (the pack's body) and
#        the parts (summary, commit, image, index, ranges);
#      - time next to `ostree pull` of the same change through its delta.
# The initial pull is bench/bench-pull.sh's: there each run writes into a
# filesystem made for it (this machine's root, an ext4 without a journal,
# slows every run that creates files after a run that deleted many).
# Medians of RUNS. The client's CPU time and peak memory (/usr/bin/time)
# are reported for the sealtree pulls.
# Usage: bench/bench-pull-update.sh [SOURCE]   (BUILD_DIR, RUNS, JOBS, BENCH_DIR)
set -euo pipefail

SRC=${1:-/usr/share}
BUILD_DIR=${BUILD_DIR:-build}
RUNS=${RUNS:-3}
JOBS=${JOBS:-32}
SEALTREE=$(realpath "$BUILD_DIR/tools/sealtree/sealtree")
HERE=$(cd "$(dirname "$0")" && pwd)
[ -x "$SEALTREE" ] || { echo "build sealtree first ($SEALTREE)" >&2; exit 1; }
command -v ostree >/dev/null || { echo "needs ostree (Debian package 'ostree')" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "needs GNU time (Debian package 'time')" >&2; exit 1; }
TEST_TMP=$(mktemp -d "${BENCH_DIR:-/var/tmp}/sealtree-bench-update.XXXXXX")
cleanup_test_tmp() { rm -rf "$TEST_TMP"; }
skip_all() { echo "cannot run: $*" >&2; exit 1; }
trap cleanup_test_tmp EXIT
# shellcheck source=../tests/remote-lib.sh
. "$HERE/../tests/remote-lib.sh"
T=$TEST_TMP
ST() { "$SEALTREE" --repo "$T/www/st" "$@"; }
OS() { ostree --repo="$T/www/os" "$@"; }

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
now() { date +%s.%N; }
# bytes_since MARK [PATTERN]: body bytes nginx sent after line MARK (matching PATTERN)
bytes_since() { tail -n +$(($1 + 1)) "$NGINX_DIR/access.log" | grep -- "${2:-.}" | awk '{ s += $10 } END { print s + 0 }'; }
# stpull OUT REPO ARGS...: a timed sealtree pull; OUT gets "seconds user sys maxrss_kb"
stpull() {
	local out=$1 repo=$2
	shift 2
	/usr/bin/time -f "%e %U %S %M" -o "$out" "$SEALTREE" --repo "$repo" -q pull origin --jobs "$JOBS" "$@" >"$T/pull.out"
}

echo "tree: $SRC"
cp -a "$SRC" "$T/tree" 2>/dev/null || cp -r "$SRC" "$T/tree"
find "$T/tree" -type f | sort >"$T/files"
echo "$(wc -l <"$T/files") files, $(du -sm "$T/tree" | cut -f1) MB"
mkdir -p "$T/www"
ST init --verity=off >/dev/null
OS init --mode=archive
commit_both() {
	ST commit -b main --tree "$T/tree" --canonical-permissions >/dev/null
	OS commit -b main --tree=dir="$T/tree" --owner-uid=0 --owner-gid=0 >/dev/null 2>&1 || OS commit -b main --tree=dir="$T/tree" >/dev/null
}
commit_both
s=$(now); ST summary --packs >/dev/null; e=$(now)
echo "sealtree v1 full pack: $(echo "$e - $s" | bc) s"
OS summary -u
os1=$(OS rev-parse main)

# ---- clients at v1 (not timed) ----
nginx_start "$T/www"
"$SEALTREE" --repo "$T/cl-st1" init --verity=off >/dev/null
"$SEALTREE" --repo "$T/cl-st1" remote add origin "$NGINX_URL/st" --no-sign-verify
"$SEALTREE" --repo "$T/cl-st1" -q pull origin >/dev/null
ostree --repo="$T/cl-os1" init --mode=bare-user
ostree --repo="$T/cl-os1" remote add --no-gpg-verify origin "$NGINX_URL/os"
ostree --repo="$T/cl-os1" pull origin main >/dev/null

# ---- v2: 1% of the files changed ----
awk 'NR % 100 == 50' "$T/files" | while read -r f; do
	[ -L "$f" ] && continue
	chmod u+w "$f" 2>/dev/null || true
	head -c 64 /dev/urandom >>"$f"
done
changed=$(awk 'NR % 100 == 50' "$T/files" | wc -l)
commit_both
s=$(now); ST summary --packs >/dev/null; e=$(now)
st_gen=$(echo "$e - $s" | bc)
os2=$(OS rev-parse main)
s=$(now); OS static-delta generate --from="$os1" --to="$os2" >/dev/null; e=$(now)
os_gen=$(echo "$e - $s" | bc)
OS summary -u
v1=$("$SEALTREE" --repo "$T/cl-st1" refs --all | awk '$2 == "refs/remotes/origin/main" { print $1 }')
delta=$(awk -v f="$v1" '$1 == "pack" && $3 == f { print $4 }' "$T/www/st/summary")
dpack=$(stat -c %s "$T/www/st/packs/$delta.pack")
dindex=$(stat -c %s "$T/www/st/packs/$delta.index")
# The changed objects' compressed size: the frames of the pack's entries that are objects (the
# server has them), not the image's (the entry of v2's image digest), its dump delta's, nor the
# object deltas' (entries of neither kind, docs/formats/remote.md "Object deltas").
v2image=$(ST show main 2>/dev/null | sed -n 's/^image[: ]*\([0-9a-f]\{64\}\).*/\1/p' | head -1)
read -r dobj dimg ddelta dodelta < <(python3 - "$T/www/st/packs/$delta.index" "$v2image" "$T/www/st/objects" <<'PY'
import hashlib, os, struct, sys
idx = open(sys.argv[1], "rb").read()
img = bytes.fromhex(sys.argv[2]) if len(sys.argv[2]) == 64 else b""
key = hashlib.sha256(b"sealtree image dump delta 1\0" + img).digest()
n = struct.unpack_from("<Q", idx, 24)[0]
obj = im = dl = od = 0
for i in range(n):
    d = idx[128 + 56 * i:128 + 56 * i + 32]
    off, cs, sz = struct.unpack_from("<QQQ", idx, 128 + 56 * i + 32)
    if d == img:
        im += cs
    elif d == key:
        dl += cs
    elif os.path.exists(os.path.join(sys.argv[3], d.hex()[:2], d.hex()[2:])):
        obj += cs
    else:
        od += cs
print(obj, im, dl, od)
PY
)
echo "changed: $changed files; sealtree packs v2 (full + from v1) $st_gen s, ostree static delta $os_gen s"
echo "pack from v1: $dpack bytes (changed objects $dobj, image against v1's $dimg, image delta (dump) $ddelta, object deltas $dodelta), index $dindex bytes; ostree delta: $(du -sb "$T/www/os/deltas" | cut -f1) bytes"
# warm the server's page cache
find "$T/www" -type f -exec cat {} + >/dev/null

# ---- 1. update ----
for run in $(seq "$RUNS"); do
	rm -rf "$T/cl-st" "$T/cl-os"
	cp -al "$T/cl-st1" "$T/cl-st"
	cp -al "$T/cl-os1" "$T/cl-os"
	mark=$(access_lines)
	stpull "$T/time" "$T/cl-st"
	read -r secs user sys rss <"$T/time"
	echo "$secs" >>"$T/u-st"
	wire=$(bytes_since "$mark")
	echo "$wire" >>"$T/u-wire"
	echo "run $run: sealtree update $secs s (cpu $user+$sys s, $((rss / 1024)) MiB peak), $wire bytes on the wire" \
		"(summary $(bytes_since "$mark" ' /st/summary '), image $(bytes_since "$mark" ' /st/images/'), index" \
		"$(bytes_since "$mark" '\.index '), pack ranges $(bytes_since "$mark" '\.pack '), loose objects $(bytes_since "$mark" ' /st/objects/'))"
	mark=$(access_lines)
	s=$(now); ostree --repo="$T/cl-os" pull origin main >/dev/null; e=$(now)
	echo "$e - $s" | bc >>"$T/u-os"
	echo "$(bytes_since "$mark")" >>"$T/u-os-wire"
	echo "run $run: ostree update (static delta) $(tail -1 "$T/u-os") s, $(tail -1 "$T/u-os-wire") bytes on the wire"
done
ust=$(median <"$T/u-st"); uos=$(median <"$T/u-os"); uw=$(median <"$T/u-wire"); uow=$(median <"$T/u-os-wire")
echo "update, median of $RUNS: sealtree $ust s, $uw bytes on the wire = $(echo "scale=3; $uw / $dobj" | bc)x the changed objects' compressed size ($dobj; $(echo "scale=3; $uw / $dpack" | bc)x the whole pack from v1)"
echo "update, median of $RUNS: ostree with a static delta $uos s, $uow bytes on the wire; sealtree time / ostree time: $(echo "scale=2; $ust / $uos" | bc)"
