#!/bin/bash
# SPDX-License-Identifier: MIT
# The fs-verity digests of lib/verity, through each of its code paths (fd
# reader, thread pool, one file on several threads, streaming hasher in odd
# chunks), must equal fsverity-utils' `fsverity digest` for every size class:
# empty, one byte, one block +-1, one and two tree levels, several MiB,
# sparse files; with SHA-NI if the CPU has it and with OpenSSL
# (SEALTREE_SHA256=openssl).
# Set ST_SLOW_TESTS=1 to add a 20 GiB sparse file (fsverity-utils reads its
# holes byte by byte: about a minute).
. "$(dirname "$0")/test-lib.sh"

DIGEST=$BUILD_DIR/lib/verity/st-verity-digest
[ -x "$DIGEST" ] || skip_all "st-verity-digest not built"
command -v fsverity >/dev/null || skip_all "fsverity (fsverity-utils) not installed"

d=$TEST_TMP/files
mkdir "$d"
# Deterministic, non-repeating content: AES-CTR keystream over a seed.
noise() { # noise BYTES SEED
	local n=$1 seed=$2
	head -c "$n" /dev/zero | openssl enc -aes-128-ctr -nosalt -pass "pass:$seed" -pbkdf2 2>/dev/null
}
for n in 0 1 4095 4096 4097 $((128 * 4096)) $((128 * 4096 + 1)) $((129 * 4096)) \
	$((129 * 4096 + 7)) $((16384 * 4096)) $((16385 * 4096 - 3)) $((5 * 1048576 + 12345)) $((50000 * 4096 + 5)); do
	noise "$n" "s$n" >"$d/n$n"
	[ "$(stat -c %s "$d/n$n")" = "$n" ] || { fail "make n$n" "wrong size"; continue; }
done
# All zeros, dense (written) and sparse (truncated).
head -c $((300 * 4096 + 5)) /dev/zero >"$d/zeros"
truncate -s $((256 * 1048576 + 333)) "$d/sparse-256m"
# Sparse with data extents at odd offsets and a trailing hole.
truncate -s $((400 * 1048576 + 4097)) "$d/sparse-mixed"
noise 100000 m1 | dd of="$d/sparse-mixed" bs=1 seek=$((64 * 1048576 + 5)) conv=notrunc status=none
noise 4096 m2 | dd of="$d/sparse-mixed" bs=4096 seek=$((256 * 256)) conv=notrunc status=none
noise 3000000 m3 | dd of="$d/sparse-mixed" bs=1 seek=$((400 * 1048576 - 3000000)) conv=notrunc status=none
if [ "${ST_SLOW_TESTS:-0}" = 1 ]; then
	truncate -s $((20 * 1073741824 + 1)) "$d/sparse-20g"
	noise 1000000 g1 | dd of="$d/sparse-20g" bs=1 seek=$((8 * 1073741824 - 500000)) conv=notrunc status=none
	noise 4096 g2 | dd of="$d/sparse-20g" bs=4096 seek=$((15 * 262144)) conv=notrunc status=none
fi
[ "$(stat -c %b "$d/sparse-mixed")" -lt 20000 ] || echo "# note: sparse-mixed is not sparse here"

files=("$d"/*)
( cd "$d" && fsverity digest "${files[@]##*/}" ) >"$TEST_TMP/want"
[ "$(wc -l <"$TEST_TMP/want")" = "${#files[@]}" ] || fail "fsverity digest" "did not digest every file"

compare() { # compare NAME ARGS...: run the helper in $d, compare with fsverity
	local name=$1; shift
	( cd "$d" && "$DIGEST" "$@" "${files[@]##*/}" ) >"$TEST_TMP/got.$name" || { fail "$name" "helper failed"; return; }
	if diff -u "$TEST_TMP/want" "$TEST_TMP/got.$name"; then ok "$name (${#files[@]} files)"; else fail "$name" "digests differ from fsverity"; fi
}
compare fd
compare pool-all-cpus --jobs 0
compare pool-3-threads --jobs 3
compare threads-2 --threads 2
compare threads-all-cpus --threads 0
compare stream-4097 --stream 4097
compare stream-1000000 --stream 1000000
compare small-buffer --buffer-size 12289
compare measure-or-digest --measure-or-digest
# SHA-NI (two blocks at a time) is used when the CPU has it; OpenSSL otherwise.
SEALTREE_SHA256=openssl compare fd-openssl
SEALTREE_SHA256=openssl compare stream-8191-openssl --stream 8191
SEALTREE_SHA256=openssl compare threads-2-openssl --threads 2

# The sparse path must really skip holes: hashed byte by byte, the 256 MiB
# hole would take 128 preads of the file; with SEEK_DATA it takes none.
if command -v strace >/dev/null; then
	# LeakSanitizer cannot run under ptrace (sanitizer builds).
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		strace -e trace=openat,pread64 -o "$TEST_TMP/strace" "$DIGEST" "$d/sparse-256m" >/dev/null
	n_reads=$(awk '/^openat\(.*sparse-256m/ { fd = $NF } fd != "" && index($0, "pread64(" fd ",") == 1 { n++ } END { print n + 0 }' "$TEST_TMP/strace")
	if grep -q "sparse-256m" "$TEST_TMP/strace" && [ "$n_reads" = 0 ]; then
		ok "sparse 256 MiB hole is not read"
	else
		fail "sparse-skip" "$n_reads preads for an all-hole file"
	fi
else
	echo "# strace missing: not checking that holes are skipped (test-verity checks the fast path)"
fi

# Errors are reported per file, not fatal for the others.
out=$( cd "$d" && "$DIGEST" n1 missing n0 2>"$TEST_TMP/err" ) && fail "missing file" "helper succeeded" || true
[ "$(echo "$out" | wc -l)" = 2 ] && grep -q "missing" "$TEST_TMP/err" && ok "missing file reported, others digested" || fail "missing file" "$out"

done_testing
