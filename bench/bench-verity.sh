#!/bin/bash
# SPDX-License-Identifier: MIT
# Throughput of the fs-verity digest (lib/verity) against the SHA-256 limit
# of this machine, warm page cache, median of 3 runs:
#   (a) one 2 GiB file           st-verity-digest FILE (with SHA-NI if the CPU
#                                has it, and forced to OpenSSL), and --threads 0
#   (b) 20k files, mixed sizes   st-verity-digest --jobs 1 / --jobs 0 (all CPUs)
# next to `openssl speed -evp sha256` on one core and on all cores, and
# fsverity-utils for reference.
#
#   BUILD_DIR=build-verity bench/bench-verity.sh [WORKDIR]
# WORKDIR (default: a fresh directory under /var/tmp) needs ~3.2 GiB free;
# it is removed afterwards unless it was given.
set -euo pipefail

BUILD_DIR=${BUILD_DIR:-build}
DIGEST=$(cd "$BUILD_DIR" && pwd)/lib/verity/st-verity-digest
[ -x "$DIGEST" ] || { echo "build $DIGEST first (ninja -C $BUILD_DIR)" >&2; exit 1; }

if [ $# -ge 1 ]; then
	work=$1
	mkdir -p "$work"
else
	work=$(mktemp -d /var/tmp/bench-verity.XXXXXX)
	trap 'rm -rf "$work"' EXIT
fi
cpus=$(nproc)

# median_seconds CMD...: run CMD 3 times, print the median wall time.
median_seconds() {
	local t0 t1 times=()
	for _ in 1 2 3; do
		t0=$(date +%s.%N)
		"$@" >/dev/null
		t1=$(date +%s.%N)
		times+=("$(echo "$t1 - $t0" | bc -l)")
	done
	printf '%s\n' "${times[@]}" | sort -g | sed -n 2p
}
mbps() { echo "scale=0; $1 / 1000000 / $2" | bc -l; } # mbps BYTES SECONDS

# openssl speed prints the 4096-byte column in kB/s (1000 bytes).
openssl_mbps() { # openssl_mbps [openssl speed args]
	openssl speed -seconds 2 -bytes 4096 "$@" -evp sha256 2>/dev/null |
		awk '/^sha256/ { v = $NF; sub(/k$/, "", v); printf "%d\n", v / 1000 }'
}
echo "# openssl speed -evp sha256 -bytes 4096 (limit for 4 KiB blocks)"
one=$(openssl_mbps)
all=$(openssl_mbps -multi "$cpus")
echo "openssl sha256 4 KiB blocks: ${one} MB/s one core, ${all} MB/s on ${cpus} cores"

echo "# preparing $work"
big=$work/big-2g
if [ ! -s "$big" ]; then
	head -c $((2 << 30)) /dev/zero | openssl enc -aes-128-ctr -nosalt -pass pass:bench -pbkdf2 >"$big" 2>/dev/null
fi
many=$work/many
if [ ! -d "$many" ]; then
	mkdir "$many"
	# 20k files, sizes log-uniform from 16 B to 512 KiB (mean ~50 KiB, many
	# small files like /usr), plus 200 empty ones; fixed seed.
	python3 - "$many" <<'PY'
import math, os, random, sys
random.seed(20240)
d = sys.argv[1]
pool = os.urandom(1 << 20)
for i in range(20000):
    n = 0 if i % 100 == 0 else int(math.exp(random.uniform(math.log(16), math.log(512 << 10))))
    os.makedirs(f"{d}/{i % 100:02d}", exist_ok=True)
    with open(f"{d}/{i % 100:02d}/f{i}", "wb") as f:
        off = random.randrange(0, len(pool) - n + 1)
        f.write(pool[off:off + n])
PY
fi
list=$work/list
(cd "$many" && find . -type f | sort) >"$list"
n_files=$(wc -l <"$list")
bytes_many=$(cd "$many" && du -sb --apparent-size . | cut -f1)
bytes_big=$(stat -c %s "$big")

# Warm the page cache.
cat "$big" >/dev/null
(cd "$many" && xargs cat <"$list" >/dev/null)

echo "# (a) one 2 GiB file"
t=$(median_seconds "$DIGEST" --quiet "$big")
echo "st-verity-digest:        $(mbps "$bytes_big" "$t") MB/s (${t}s)  [one core]"
t=$(SEALTREE_SHA256=openssl median_seconds "$DIGEST" --quiet "$big")
echo "  SEALTREE_SHA256=openssl: $(mbps "$bytes_big" "$t") MB/s (${t}s)  [one core, no SHA-NI]"
t=$(median_seconds "$DIGEST" --quiet --threads 0 "$big")
echo "  --threads 0 ($cpus CPUs):   $(mbps "$bytes_big" "$t") MB/s (${t}s)  [all cores]"
t=$(median_seconds fsverity digest "$big")
echo "fsverity digest (ref):   $(mbps "$bytes_big" "$t") MB/s (${t}s)"

echo "# (b) $n_files files, $((bytes_many / 1048576)) MiB"
cd "$many"
t=$(median_seconds "$DIGEST" --quiet --files-from "$list")
echo "serial (digest_fd):      $(mbps "$bytes_many" "$t") MB/s, $(echo "$n_files / $t" | bc) files/s (${t}s)"
t=$(median_seconds "$DIGEST" --quiet --jobs 1 --files-from "$list")
echo "pool, 1 thread:          $(mbps "$bytes_many" "$t") MB/s, $(echo "$n_files / $t" | bc) files/s (${t}s)"
t=$(median_seconds "$DIGEST" --quiet --jobs 0 --files-from "$list")
echo "pool, all $cpus CPUs:        $(mbps "$bytes_many" "$t") MB/s, $(echo "$n_files / $t" | bc) files/s (${t}s)"
t=$(median_seconds sh -c 'xargs fsverity digest <"$1"' _ "$list")
echo "fsverity digest (ref):   $(mbps "$bytes_many" "$t") MB/s, $(echo "$n_files / $t" | bc) files/s (${t}s)"
