#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmark `sealtree oci pull` next to `podman pull` of the same image in
# the same run, both from one private docker-registry (distribution 2.8)
# on loopback, plain http, warm page cache on the registry side:
#   - the images: SOURCE (default /usr/share/doc; device nodes left out) as
#     one gzip layer, made with umoci and pushed with skopeo; and as one
#     zstd:chunked layer pushed by `sealtree oci push` of a host commit of
#     it, then a second such image with 1% of its files changed (every
#     100th file of more than 64 bytes, name order, one line appended),
#     pushed with a TOC delta against the first (--delta-from)
#     (none of this timed)
#   - timed, median of RUNS each, for the gzip and the zstd:chunked image:
#       sealtree, empty store: a fresh repository;
#       sealtree, host store: a fresh repository that already holds the
#         same files as a host commit (`sealtree commit --tree SOURCE`, not
#         timed): a gzip layer is fetched all the same, but no file is
#         written; a zstd:chunked one is pulled partially;
#       podman, empty store: `podman pull` into a private --root (overlay,
#         vfs where overlay cannot mount)
#     and the 1% image pulled into a store holding the first one: wire
#     bytes next to the changed files' frames (from the two TOCs)
#   - bytes on the wire: the registry's own count of response bytes
#     (its access log), per pull; requests: the GETs it answered
# Measured 2026-12-04, RUNS=3, seconds and wire bytes (docs/formats/oci.md "Speed"):
#   /usr/share/doc, 5273 files, 145 MB (load 5.1-6.2):
#     gzip: sealtree empty 2.34 s, host store 1.17 s, podman 3.28 s: 82363479 bytes each
#     zstd:chunked: sealtree empty 2.51 s 83473957 bytes, host store 1.62 s
#       647650 bytes, podman 3.89 s 83473957 bytes
#     1% changed (52 files, 1734450 bytes compressed): 2391587 bytes, 1.37x, 2.61 s
#   Debian 12 minbase + boot packages, 6696 files, 268 MB (load 2.7-4.6):
#     gzip: sealtree empty 3.11 s, host store 2.35 s, podman 4.65 s: 97333811 bytes each
#     zstd:chunked: sealtree empty 2.71 s 96905776 bytes, host store 2.20 s
#       940960 bytes, podman 4.77 s 96905776 bytes
#     1% changed (65 files, 1693121 bytes compressed): 2641781 bytes, 1.56x, 2.17 s
# (those 1% rows were before TOC deltas). With the second image's TOC delta,
# ONLY_1PC=1 RUNS=1, 17:11-17:16 UTC, load 3.5-4.8 (nice 10, beside a make check):
#   /usr/share/doc: 52 files, 1734450 bytes compressed: 1781632 bytes, 1.02x, 75 requests
#   Debian (6697 files now): 65 files, 11780978 bytes compressed: 11890568 bytes,
#     1.00x, 128 requests;
#   again /usr/share/doc (17:14, load 2.0-2.7): 1781597 bytes, TOC 491264 bytes, delta 35359
# Usage: bench/bench-oci-pull.sh [SOURCE]   (BUILD_DIR, RUNS, BENCH_DIR, BENCH_PORT)
# ONLY_1PC=1: only the 1% row (no gzip image, no podman, no timed full pulls).
set -euo pipefail

SRC=${1:-/usr/share/doc}
ONLY_1PC=${ONLY_1PC:-}
BUILD_DIR=${BUILD_DIR:-build}
RUNS=${RUNS:-3}
SEALTREE=$(realpath "$BUILD_DIR/tools/sealtree/sealtree")
HERE=$(cd "$(dirname "$0")" && pwd)
[ -x "$SEALTREE" ] || { echo "build sealtree first ($SEALTREE)" >&2; exit 1; }
for t in docker-registry skopeo umoci podman; do
	command -v $t >/dev/null || { echo "needs $t" >&2; exit 1; }
done
TEST_TMP=$(mktemp -d "${BENCH_DIR:-/var/tmp}/sealtree-bench-oci-pull.XXXXXX")
skip_all() { echo "cannot run: $*" >&2; exit 1; }
cleanup_test_tmp() {
	[ ! -d "$TEST_TMP/podman" ] || podman --root "$TEST_TMP/podman/root" --runroot "$TEST_TMP/podman/run" \
		system reset --force >/dev/null 2>&1 || true
	rm -rf "$TEST_TMP"
}
# shellcheck source=../tests/oci-registry-lib.sh
. "$HERE/../tests/oci-registry-lib.sh"
trap 'registry_stop_all; cleanup_test_tmp' EXIT
T=$TEST_TMP
# Images carry no device nodes (import and push refuse them): a tree with
# some (a debootstrap'd /dev) is used through a copy without them.
if [ -n "$(find "$SRC" -xdev \( -type c -o -type b \) -print -quit 2>/dev/null)" ]; then
	cp -a "$SRC/." "$T/src/"
	find "$T/src" \( -type c -o -type b \) -delete
	echo "$SRC has device nodes: using a copy without them"
	SRC=$T/src
fi

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
now() { date +%s.%N; }
# wire_bytes MARK: response bytes of GETs the registry logged after line MARK.
reg_log() { echo "$TEST_TMP/reg/log"; }
log_mark() { wc -l <"$(reg_log)"; }
wire_bytes() {
	tail -n +$(($1 + 1)) "$(reg_log)" | grep 'msg="response completed"' | grep 'http.request.method=GET' |
		sed -n 's/.*http.response.written=\([0-9]*\).*/\1/p' | awk '{ s += $1 } END { print s + 0 }'
}
# requests MARK: GET requests the registry answered after line MARK.
requests() {
	tail -n +$(($1 + 1)) "$(reg_log)" | grep 'msg="response completed"' | grep -c 'http.request.method=GET' || true
}

echo "tree: $SRC ($(find "$SRC" -xdev -type f 2>/dev/null | wc -l) files, $(du -sm "$SRC" 2>/dev/null | cut -f1) MB)"
if [ -z "$ONLY_1PC" ]; then
umoci init --layout "$T/layout"
umoci new --image "$T/layout:b"
umoci unpack --rootless --image "$T/layout:b" "$T/bundle" >/dev/null
cp -a "$SRC/." "$T/bundle/rootfs/"
umoci repack --image "$T/layout:b" "$T/bundle" >/dev/null
rm -rf "$T/bundle"
fi
# The registry at info level: its access lines carry the bytes written.
mkdir -p "$T/reg/storage"
port=${BENCH_PORT:-$(free_port)}
cat >"$T/reg/config.yml" <<CONF
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $T/reg/storage
http:
  addr: 127.0.0.1:$port
  secret: bench
CONF
docker-registry serve "$T/reg/config.yml" >"$T/reg/log" 2>&1 &
REG_PIDS+=($!)
wait_http "http://127.0.0.1:$port/v2/" $! || skip_all "docker-registry did not start"
REG=127.0.0.1:$port
if [ -z "$ONLY_1PC" ]; then
push "$T/layout:b" bench/img:1
layer=$(du -sb "$T/reg/storage" | cut -f1)
echo "image in the registry: $((layer / 1048576)) MiB"
find "$T/reg/storage" -type f -exec cat {} + >/dev/null   # warm
fi

"$SEALTREE" --repo "$T/host" init --verity=off >/dev/null
"$SEALTREE" --repo "$T/host" commit -b host --tree "$SRC" >/dev/null

P() { podman --root "$T/podman/root" --runroot "$T/podman/run" --storage-driver "$DRIVER" "$@"; }
# timed KEY CMD...: run CMD (its output in $T/out-KEY); its seconds, wire
# bytes and requests appended to $T/t-KEY, $T/b-KEY and $T/r-KEY.
timed() {
	local key=$1 m s e
	shift
	m=$(log_mark); s=$(now)
	"$@" >"$T/out-$key"
	e=$(now); echo "$e - $s" | bc >>"$T/t-$key"; wire_bytes "$m" >>"$T/b-$key"; requests "$m" >>"$T/r-$key"
}
# podman_pull KEY REF: podman pull into a fresh private --root (overlay, else vfs), timed as KEY.
podman_pull() {
	rm -rf "$T/podman"
	mkdir -p "$T/podman"
	DRIVER=overlay
	P info >/dev/null 2>&1 || DRIVER=vfs
	timed "$1" P pull -q --tls-verify=false "$2"
	P system reset --force >/dev/null 2>&1 || true
}
# st_pull KEY REPO ARGS...: sealtree oci pull into REPO, timed as KEY.
st_pull() {
	local key=$1 repo=$2
	shift 2
	timed "$key" "$SEALTREE" --repo "$repo" -q oci pull --tls-verify=false "$@"
}
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for run in $(seq "$RUNS"); do
	[ -z "$ONLY_1PC" ] || break
	rm -rf "$T/st-empty" "$T/st-host"
	"$SEALTREE" --repo "$T/st-empty" init --verity=off >/dev/null
	st_pull empty "$T/st-empty" "$REG/bench/img:1"
	cp -a "$T/host" "$T/st-host"
	st_pull host "$T/st-host" "$REG/bench/img:1"
	podman_pull podman "$REG/bench/img:1"
done

# ---- the same tree as sealtree oci push writes it: one zstd:chunked layer ----
# Pushed from the host commit (not timed). Into the host store the pull is
# partial: the TOC, the tar headers frame and the files of 64 bytes or less
# (inline in images, never objects); into an empty store the layer whole.
"$SEALTREE" --repo "$T/host" -q oci push --tls-verify=false host "$REG/bench/chunked:1" >/dev/null
# A second image: 1% of the files of more than 64 bytes (every 100th, in
# name order) with a line appended, committed and pushed the same way, with
# a TOC delta against the first (--delta-from 1).
rm -rf "$T/tree2"
cp -a "$SRC/." "$T/tree2/"
(cd "$T/tree2" && find . -xdev -type f -size +64c | LC_ALL=C sort | awk 'NR % 100 == 0') >"$T/changed.list"
while read -r f; do echo "changed by bench-oci-pull" >>"$T/tree2/$f"; done <"$T/changed.list"
"$SEALTREE" --repo "$T/h2" init --verity=off >/dev/null
"$SEALTREE" --repo "$T/h2" commit -b host2 --tree "$T/tree2" >/dev/null
"$SEALTREE" --repo "$T/h2" -q oci push --tls-verify=false --delta-from 1 host2 "$REG/bench/chunked:2" >/dev/null
rm -rf "$T/tree2" "$T/h2"
find "$T/reg/storage" -type f -exec cat {} + >/dev/null   # warm
# The changed files' compressed size: their frames in the second layer (the
# TOC entries whose name and sha256 the first layer's TOC does not have).
read -r changed_n changed_bytes chunked_layer toc2 delta2 < <(python3 - "$REG" <<'PY'
import json, struct, subprocess, sys, urllib.request
base = "http://%s/v2/bench/chunked" % sys.argv[1]
def layer(tag):
    rq = urllib.request.Request(base + "/manifests/" + tag, headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    m = json.loads(urllib.request.urlopen(rq).read())
    blob = urllib.request.urlopen(base + "/blobs/" + m["layers"][0]["digest"]).read()
    off, clen = struct.unpack("<QQ", blob[-64:-48])
    toc = json.loads(subprocess.run(["zstd", "-dcq"], input=blob[off:off + clen], capture_output=True, check=True).stdout)
    delta = m["layers"][0].get("annotations", {}).get("io.sealtree.toc-delta-position", "0:0").split(":")[1]
    return toc["entries"], len(blob), clen, delta
e1, _, _, _ = layer("1")
e2, size2, toc2, delta2 = layer("2")
old = {(e["name"], e.get("digest")) for e in e1}
ch = [e for e in e2 if e["type"] == "reg" and "offset" in e and (e["name"], e.get("digest")) not in old]
print(len(ch), sum(e["endOffset"] - e["offset"] for e in ch), size2, toc2, delta2)
PY
)
echo "zstd:chunked image (oci push): layer $chunked_layer bytes; the second differs in $changed_n files ($(wc -l <"$T/changed.list") changed), $changed_bytes bytes compressed; its TOC $toc2 bytes, its TOC delta $delta2 bytes"
# A store that holds the first chunked image, for the 1% pulls (not timed).
"$SEALTREE" --repo "$T/c1" init --verity=off >/dev/null
"$SEALTREE" --repo "$T/c1" -q oci pull --tls-verify=false "$REG/bench/chunked:1" >/dev/null

for run in $(seq "$RUNS"); do
	rm -rf "$T/st-empty" "$T/st-host" "$T/st-c1"
	"$SEALTREE" --repo "$T/st-empty" init --verity=off >/dev/null
	if [ -z "$ONLY_1PC" ]; then
		st_pull c-empty "$T/st-empty" "$REG/bench/chunked:1"
		cp -a "$T/host" "$T/st-host"
		st_pull c-host "$T/st-host" --name bench/c:1 "$REG/bench/chunked:1"
	fi
	cp -a "$T/c1" "$T/st-c1"
	st_pull c-1pc "$T/st-c1" "$REG/bench/chunked:2"
	[ -n "$ONLY_1PC" ] || podman_pull c-podman "$REG/bench/chunked:1"
done

du_objects() { du -sm "$1/objects" | cut -f1; }
row() { printf '%-44s %8.2f %12d %s\n' "$1" "$(median <"$T/t-$2")" "$(median <"$T/b-$2")" "$3"; }
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-44s %8s %12s %s\n' "pull (median of $RUNS)" "seconds" "wire bytes" "notes"
[ -n "$ONLY_1PC" ] || {
row "gzip (umoci): sealtree, empty store" empty "objects $(du_objects "$T/st-empty") MiB; $(tail -1 "$T/out-empty")"
row "gzip (umoci): sealtree, host store" host \
	"objects $(du_objects "$T/st-host") MiB (host alone $(du_objects "$T/host") MiB); $(tail -1 "$T/out-host")"
row "gzip (umoci): podman ($DRIVER), empty store" podman ""
row "zstd:chunked: sealtree, empty store" c-empty "$(median <"$T/r-c-empty") requests; $(tail -1 "$T/out-c-empty")"
row "zstd:chunked: sealtree, host store" c-host "$(median <"$T/r-c-host") requests; $(grep partially "$T/out-c-host" || tail -1 "$T/out-c-host")"
row "zstd:chunked: podman ($DRIVER), empty store" c-podman ""
}
row "zstd:chunked, 1% changed, store has the 1st" c-1pc "$(median <"$T/r-c-1pc") requests; $(grep partially "$T/out-c-1pc" || tail -1 "$T/out-c-1pc")"
b=$(median <"$T/b-c-1pc")
echo "1% changed: $b bytes on the wire (response bodies) for $changed_n changed files of $changed_bytes bytes compressed: $(echo "scale=2; $b / $changed_bytes" | bc)x"
