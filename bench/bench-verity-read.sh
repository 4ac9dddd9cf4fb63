#!/bin/bash
# SPDX-License-Identifier: MIT
# Read throughput through a composefs mount with fs-verity, with a verity
# policy, without, and plain ext4 underneath, measured with fio in the
# QEMU kit's guest (tests/qemu/kit.sh: a Debian kernel with fs-verity; this
# host's kernel has none). bench/verity-read-guest.sh builds one tree
# (BENCH_NFILES files of BENCH_FILE_MB MiB under /usr/bin, as many under
# /usr/share) and reads it cold (drop_caches, fio --invalidate) BENCH_RUNS
# times per configuration and pattern: sequential (1 MiB reads) and random
# (4 KiB reads for BENCH_RAND_SECS seconds). Prints the medians in MiB/s.
#
#   BUILD_DIR=build bench/bench-verity-read.sh [WORKDIR]
#
# The host's fio goes into the guest with every library it loads (~80 MB);
# the guest gets QEMU_MEM=1536 and a 1.5 GiB store unless set. Figures are
# TCG-emulated: compare the configurations with each other, not with real
# hardware (SHA-256 is emulated too, so fs-verity costs more than on a CPU
# with SHA instructions).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=$(cd "${BUILD_DIR:-$SRC/build}" && pwd)
SEALTREE=$BUILD_DIR/tools/sealtree/sealtree
[ -x "$SEALTREE" ] || { echo "build $SEALTREE first" >&2; exit 1; }
FIO=$(command -v fio) || { echo "fio is not installed" >&2; exit 1; }
if [ $# -ge 1 ]; then
	work=$1
	mkdir -p "$work"
else
	work=$(mktemp -d /var/tmp/bench-verity-read.XXXXXX)
	trap 'rm -rf "$work"' EXIT
fi

root=$work/extra-root
rm -rf "$root"
mkdir -p "$root/ci/bin"
install -m 0755 "$SRC/bench/verity-read-guest.sh" "$root/ci-test.sh"
install -m 0644 "$SRC/tests/qemu/guest-lib.sh" "$root/ci/guest-lib.sh"
for bin in "$SEALTREE" "$FIO"; do
	install -m 0755 "$bin" "$root/ci/bin/"
	for lib in $(ldd "$bin" | awk '{for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i}'); do
		[ -e "$root$lib" ] || install -D -m 0755 "$lib" "$root$lib"
	done
done
# Environment for the guest script: baked into it (the kit passes none).
sed -i "2i BENCH_NFILES=${BENCH_NFILES:-4} BENCH_FILE_MB=${BENCH_FILE_MB:-24} BENCH_RUNS=${BENCH_RUNS:-5} BENCH_RAND_SECS=${BENCH_RAND_SECS:-3} BENCH_CONFIGS='${BENCH_CONFIGS:-}'" \
	"$root/ci-test.sh"

echo "# booting the kit (work directory $work/kit)" >&2
rc=0
EXTRA_ROOT=$root QEMU_MEM=${QEMU_MEM:-1536} QEMU_STORE_SIZE=${QEMU_STORE_SIZE:-1536M} QEMU_TIMEOUT=${QEMU_TIMEOUT:-2400} \
	bash "$SRC/tests/qemu/kit.sh" "$work/kit" >"$work/kit.log" 2>&1 || rc=$?
serial=$work/kit/serial.log
grep -a 'ci-test: \(ok\|FAIL\|#\|DIAG\)' "$serial" | sed 's/^\[ *[0-9.]*\] ci-test: //' >&2 || true
[ $rc = 0 ] || { echo "kit exit $rc; see $work/kit.log and $serial" >&2; tail -20 "$work/kit.log" >&2; exit 1; }

echo "config              pattern   MiB/s (median of ${BENCH_RUNS:-5} cold runs)   vs ext4"
grep -a 'ci-test: BENCH: ' "$serial" | sed 's/.*BENCH: //' | awk '
	{ mib = $3 / 1024; v[$1 " " $2] = mib; order[++n] = $1 " " $2 }
	END {
		for (i = 1; i <= n; i++) {
			split(order[i], k, " ")
			base = v["ext4 " k[2]]
			printf "%-19s %-9s %8.1f                          %+5.0f%%\n", k[1], k[2], v[order[i]],
				base ? (v[order[i]] / base - 1) * 100 : 0
		}
	}'
