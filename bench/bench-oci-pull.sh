#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmark `sealtree oci pull` next to `podman pull` of the same image in
# the same run, both from one private docker-registry (distribution 2.8)
# on loopback, plain http, warm page cache on the registry side:
#   - the image: SOURCE (default /usr/share/doc) as one gzip layer, made
#     with umoci and pushed with skopeo (not timed)
#   - timed, median of RUNS each:
#       sealtree, empty store: a fresh repository;
#       sealtree, host store: a fresh repository that already holds the
#         same files as a host commit (`sealtree commit --tree SOURCE`, not
#         timed): the layer is fetched all the same, but no file is written;
#       podman, empty store: `podman pull` into a private --root (overlay,
#         vfs where overlay cannot mount)
#   - bytes on the wire: the registry's own count of response bytes
#     (its access log), per pull
# Usage: bench/bench-oci-pull.sh [SOURCE]   (BUILD_DIR, RUNS, BENCH_DIR)
set -euo pipefail

SRC=${1:-/usr/share/doc}
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

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
now() { date +%s.%N; }
# wire_bytes MARK: response bytes of GETs the registry logged after line MARK.
reg_log() { echo "$TEST_TMP/reg/log"; }
log_mark() { wc -l <"$(reg_log)"; }
wire_bytes() {
	tail -n +$(($1 + 1)) "$(reg_log)" | grep 'msg="response completed"' | grep 'http.request.method=GET' |
		sed -n 's/.*http.response.written=\([0-9]*\).*/\1/p' | awk '{ s += $1 } END { print s + 0 }'
}

echo "tree: $SRC ($(find "$SRC" -xdev -type f 2>/dev/null | wc -l) files, $(du -sm "$SRC" 2>/dev/null | cut -f1) MB)"
umoci init --layout "$T/layout"
umoci new --image "$T/layout:b"
umoci unpack --rootless --image "$T/layout:b" "$T/bundle" >/dev/null
cp -a "$SRC/." "$T/bundle/rootfs/"
umoci repack --image "$T/layout:b" "$T/bundle" >/dev/null
rm -rf "$T/bundle"
# The registry at info level: its access lines carry the bytes written.
mkdir -p "$T/reg/storage"
port=$(free_port)
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
push "$T/layout:b" bench/img:1
layer=$(du -sb "$T/reg/storage" | cut -f1)
echo "image in the registry: $((layer / 1048576)) MiB"
find "$T/reg/storage" -type f -exec cat {} + >/dev/null   # warm

"$SEALTREE" --repo "$T/host" init --verity=off >/dev/null
"$SEALTREE" --repo "$T/host" commit -b host --tree "$SRC" >/dev/null

for run in $(seq "$RUNS"); do
	rm -rf "$T/st-empty" "$T/st-host"
	"$SEALTREE" --repo "$T/st-empty" init --verity=off >/dev/null
	m=$(log_mark); s=$(now)
	"$SEALTREE" --repo "$T/st-empty" -q oci pull --tls-verify=false "$REG/bench/img:1" >"$T/out-empty"
	e=$(now); echo "$e - $s" | bc >>"$T/t-empty"; wire_bytes "$m" >>"$T/b-empty"

	cp -a "$T/host" "$T/st-host"
	m=$(log_mark); s=$(now)
	"$SEALTREE" --repo "$T/st-host" -q oci pull --tls-verify=false "$REG/bench/img:1" >"$T/out-host"
	e=$(now); echo "$e - $s" | bc >>"$T/t-host"; wire_bytes "$m" >>"$T/b-host"

	rm -rf "$T/podman"
	mkdir -p "$T/podman"
	P() { podman --root "$T/podman/root" --runroot "$T/podman/run" --storage-driver "$DRIVER" "$@"; }
	DRIVER=overlay
	P info >/dev/null 2>&1 || DRIVER=vfs
	m=$(log_mark); s=$(now)
	P pull -q --tls-verify=false "$REG/bench/img:1" >/dev/null
	e=$(now); echo "$e - $s" | bc >>"$T/t-podman"; wire_bytes "$m" >>"$T/b-podman"
	P system reset --force >/dev/null 2>&1 || true
done

du_objects() { du -sm "$1/objects" | cut -f1; }
printf '%-34s %10s %12s %s\n' "pull (median of $RUNS)" "seconds" "wire bytes" "notes"
printf '%-34s %10.2f %12d %s\n' "sealtree oci pull, empty store" "$(median <"$T/t-empty")" "$(median <"$T/b-empty")" \
	"objects $(du_objects "$T/st-empty") MiB; $(tail -1 "$T/out-empty")"
printf '%-34s %10.2f %12d %s\n' "sealtree oci pull, host store" "$(median <"$T/t-host")" "$(median <"$T/b-host")" \
	"objects $(du_objects "$T/st-host") MiB (host alone $(du_objects "$T/host") MiB); $(tail -1 "$T/out-host")"
printf '%-34s %10.2f %12d %s\n' "podman pull ($DRIVER), empty store" "$(median <"$T/t-podman")" "$(median <"$T/b-podman")" ""
