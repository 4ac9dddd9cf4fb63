#!/bin/bash
# Runs the whole test suite three ways and prints one summary line:
#   1. the normal build (debugoptimized): every suite
#   2. an AddressSanitizer + UndefinedBehaviorSanitizer build: every suite
#      except the QEMU one (the guest runs the normal build's binaries), the
#      gentree tests on three small seeds (GENTREE_SEEDS, see below) and the
#      admin kill -9 test on 5 rounds a command instead of 20
#   3. a clang libFuzzer build: each fuzz target for FUZZ_SECONDS seconds,
#      FUZZ_JOBS (default: one per core) at a time
#   4. a release build (-O3): it must compile, since GCC warns about more
#      at -O3 and -Werror turns that into a build failure for users
# Each meson test and each fuzz run counts once; the last line is
# "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
BUILD_ASAN=${BUILD_ASAN:-build-asan}
BUILD_FUZZ=${BUILD_FUZZ:-build-fuzz}
BUILD_RELEASE=${BUILD_RELEASE:-build-release}
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
FUZZ_JOBS=${FUZZ_JOBS:-$(nproc)}
export MESON_TESTTHREADS=${MESON_TESTTHREADS:-2}

# python3 reached through a version manager's shim (pyenv's is a shell
# script run at every start: ~0.1 s of CPU, 0.8 s of wall under load, against
# 0.01 s) is started thousands of times by the tests: a private directory
# first in PATH holds python3 as a link to the interpreter the shim chose.
PYLINK=$(mktemp -d)
py=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) || py=
if [ -x "$py" ] && ! [ "$py" -ef "$(command -v python3)" ]; then
	ln -s "$py" "$PYLINK/python3"
	export PATH=$PYLINK:$PATH
fi

passed=0 failed=0 skipped=0
failures=()

# count_meson BUILDDIR LABEL: add that run's results from testlog.json
count_meson() {
	local log=$1/meson-logs/testlog.json label=$2 p f s
	if [ ! -s "$log" ]; then
		failed=$((failed + 1)); failures+=("$label: no test log"); return
	fi
	read -r p f s < <(python3 - "$log" <<'PY'
import json, sys
p = f = s = 0
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    if r in ("OK", "EXPECTEDFAIL"):
        p += 1
    elif r == "SKIP":
        s += 1
    else:
        f += 1
print(p, f, s)
PY
)
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
	if [ "$f" != 0 ]; then
		failures+=("$label: $f failed (see $log)")
	fi
}

run_meson_suite() {
	local dir=$1 label=$2; shift 2
	echo "=== $label: meson test $*"
	meson test -C "$dir" --print-errorlogs "$@"
	count_meson "$dir" "$label"
}

trap 'rm -rf "$PYLINK"' EXIT

echo "=== normal build ($BUILD)"
if { [ -f "$BUILD/build.ninja" ] || meson setup "$BUILD"; } && ninja -C "$BUILD"; then
	run_meson_suite "$BUILD" "normal"
else
	failed=$((failed + 1)); failures+=("normal build failed")
fi

echo "=== sanitizer build ($BUILD_ASAN)"
if { [ -f "$BUILD_ASAN/build.ninja" ] || meson setup "$BUILD_ASAN" -Db_sanitize=address,undefined -Db_lundef=false; } &&
	ninja -C "$BUILD_ASAN"; then
	# The tests that loop over the big gentree trees (t0401, t0501, t0803, t0901,
	# t0903) take three small ones here (seeds 1, 3, 7: with and without
	# whiteouts, every kind of entry, hostile names and xattrs): the same code
	# paths run under the sanitizers; the normal build checks the big trees.
	# t0501 compares one small system directory instead of two large ones.
	# t2005 kills each admin command 5 times instead of 20: the same instants
	# are drawn from the same code, the normal build does the 20 rounds.
	GENTREE_SEEDS="1 3 7" T0501_SYSDIRS=/usr/share/zoneinfo/Europe ADMIN_CRASH_ROUNDS=5 \
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		run_meson_suite "$BUILD_ASAN" "asan+ubsan" --no-suite qemu --no-suite bench
else
	failed=$((failed + 1)); failures+=("sanitizer build failed")
fi

echo "=== libFuzzer build ($BUILD_FUZZ), $FUZZ_SECONDS s per target"
if { [ -f "$BUILD_FUZZ/build.ninja" ] || CC=clang meson setup "$BUILD_FUZZ" -Dfuzz=true \
	-Db_sanitize=address,undefined -Db_lundef=false; } && ninja -C "$BUILD_FUZZ"; then
	mapfile -t targets < <(find "$BUILD_FUZZ" -maxdepth 4 -type f -executable -name 'fuzz-*' | sort)
	# One libFuzzer process per core (FUZZ_JOBS), each from a copy of its seed
	# corpus and with its dictionary (magics, keywords: past the format's checks).
	fuzz_one() { # TARGET WORK: the exit status goes to WORK.rc
		local t=$1 work=$2 corpus=tests/fuzz/${1##*/} dict=() rc=0
		[ -d "$corpus" ] && cp -rL "$corpus/." "$work/"
		[ -f "$corpus.dict" ] && dict=(-dict="$corpus.dict")
		"$t" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 "${dict[@]}" \
			-artifact_prefix="$work/" "$work" >"$work.log" 2>&1 || rc=$?
		echo $rc >"$work.rc"
	}
	works=()
	for t in "${targets[@]}"; do
		while [ "$(jobs -rp | wc -l)" -ge "$FUZZ_JOBS" ]; do wait -n; done
		work=$(mktemp -d)
		works+=("$work")
		fuzz_one "$t" "$work" &
	done
	wait
	for i in "${!targets[@]}"; do
		name=$(basename "${targets[$i]}") work=${works[$i]}
		echo "--- $name"
		if [ "$(cat "$work.rc" 2>/dev/null)" = 0 ]; then
			passed=$((passed + 1))
			grep -aE '^#[0-9]+[[:space:]]+DONE' "$work.log" | tail -1
			rm -rf "$work" "$work.log" "$work.rc"
		else
			failed=$((failed + 1)); failures+=("fuzz $name: crash, see $work.log and $work/crash-*")
			tail -30 "$work.log"
		fi
	done
	if [ ${#targets[@]} = 0 ]; then
		echo "no fuzz targets built"
	fi
else
	failed=$((failed + 1)); failures+=("libFuzzer build failed")
fi

echo "=== release build ($BUILD_RELEASE): compiles with -O3 -Werror"
if { [ -f "$BUILD_RELEASE/build.ninja" ] || meson setup "$BUILD_RELEASE" --buildtype=release; } &&
	ninja -C "$BUILD_RELEASE"; then
	passed=$((passed + 1))
else
	failed=$((failed + 1)); failures+=("release build failed")
fi

echo
for f in "${failures[@]}"; do echo "FAILED: $f"; done
if [ "$skipped" != 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" = 0 ]
