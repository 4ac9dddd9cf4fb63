# Sourced (after test-lib.sh) by the tNNNN-*-qemu.sh tests, which run a
# guest script under tests/qemu/kit.sh: a Debian kernel with fs-verity
# booted by QEMU, an ext4 -O verity store at /run/store.
#
#   need_root; qemu_kit_find             KIT, or skip
#   qemu_kit_root GUEST_SCRIPT           the guest's /ci-test.sh and /ci/guest-lib.sh
#   qemu_kit_add_binary BINARY...        into /ci/bin, with every library they load
#   qemu_kit_run "WHAT"                  boot; skip saying "WHAT NOT tested" when the kit
#                                        cannot set up; sets KIT_RC, KIT_SECS, KIT_SERIAL
#   qemu_guest_ok WANT...                the guest printed "ok   WANT" (a grep regex)
#   qemu_kit_verdict                     the guest's summary and the kit's own verdict
#
# Env: QEMU_KIT (another kit), KIT_WORK (default: a directory removed
# afterwards; set it to keep the kit's logs and disks), QEMU_TIMEOUT, and the
# kit's own (QEMU_KIT_CACHE: where the kernel and QEMU are kept; see kit.sh).

# qemu_kit_find: the project's kit, tests/qemu/kit.sh.
qemu_kit_find() {
	KIT=${QEMU_KIT:-$SOURCE_DIR/tests/qemu/kit.sh}
	[ -r "$KIT" ] || skip_all "QEMU kit not found at $KIT"
}

# qemu_kit_root GUEST_SCRIPT: start the tree the kit copies into the guest's root.
qemu_kit_root() {
	KIT_ROOT=$TEST_TMP/extra-root
	mkdir -p "$KIT_ROOT/ci/bin"
	install -m 0755 "$1" "$KIT_ROOT/ci-test.sh"
	install -m 0644 "$SOURCE_DIR/tests/qemu/guest-lib.sh" "$KIT_ROOT/ci/guest-lib.sh"
}

# qemu_kit_add_binary BINARY...: our dynamically linked tools plus every
# library they load, at the same paths in the guest.
qemu_kit_add_binary() {
	local bin lib
	for bin; do
		install -m 0755 "$bin" "$KIT_ROOT/ci/bin/"
		for lib in $(ldd "$bin" | awk '{for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i}'); do
			[ -e "$KIT_ROOT$lib" ] || install -D -m 0755 "$lib" "$KIT_ROOT$lib"
		done
	done
}

# qemu_kit_run WHAT: boot the guest and run its /ci-test.sh. Exit code 2 of
# the kit means it could not set up (no mirror, download or host package
# failure): the test is skipped, saying that WHAT was NOT tested. Any other
# failure shows the ends of the kit's log and of the guest's console and
# leaves the verdict to the checks that follow.
qemu_kit_run() {
	local start
	KIT_WORK=${KIT_WORK:-$TEST_TMP/kit}
	KIT_SERIAL=$KIT_WORK/serial.log
	# Below meson's 900 s, with room for the downloads.
	export QEMU_TIMEOUT=${QEMU_TIMEOUT:-600}
	start=$SECONDS
	KIT_RC=0
	EXTRA_ROOT=$KIT_ROOT bash "$KIT" "$KIT_WORK" >"$TEST_TMP/kit.log" 2>&1 || KIT_RC=$?
	KIT_SECS=$((SECONDS - start))
	grep -a 'ci-test' "$KIT_SERIAL" 2>/dev/null | sed 's/^\[ *[0-9.]*\] //' || true
	echo "# kit exit $KIT_RC after ${KIT_SECS}s (work directory $KIT_WORK)"
	case $KIT_RC in
	0) ;;
	2)
		tail -20 "$TEST_TMP/kit.log" >&2
		skip_all "the QEMU kit could not set up (no Debian mirror, download or host package failure): $1 NOT tested"
		;;
	*)
		tail -40 "$TEST_TMP/kit.log" >&2
		echo "--- last lines of the guest's serial console:" >&2
		tail -60 "$KIT_SERIAL" >&2 || true
		;;
	esac
}

# qemu_guest_ok WANT...: one check each that the guest printed "ok   WANT"
# (WANT is a grep regex; start it with .* to match inside the line).
qemu_guest_ok() {
	local want
	for want; do
		grep -aq "ci-test: ok   $want" "$KIT_SERIAL" 2>/dev/null && ok "guest: ${want#.\*}" ||
			fail "guest: ${want#.\*}" "not in the serial log"
	done
}

# qemu_kit_verdict: the guest script's own summary, the kit's count of it,
# and the kit's exit code (its own fs-verity self-check included).
qemu_kit_verdict() {
	local summary
	summary=$(grep -ao 'ci-test: ci-test: [0-9]* passed, [0-9]* failed' "$KIT_SERIAL" | tail -1 || true)
	[[ $summary == *", 0 failed" ]] && ok "guest script: ${summary#ci-test: ci-test: }" ||
		fail "guest script" "${summary:-no summary}"
	grep -aq 'KIT: ok   /ci-test.sh' "$KIT_SERIAL" && ok "the kit counted /ci-test.sh as passed" ||
		fail "kit verdict on /ci-test.sh" "$(grep -a '/ci-test.sh' "$KIT_SERIAL" | tail -2)"
	[ "$KIT_RC" = 0 ] && ok "kit PASS in ${KIT_SECS}s" || fail "kit" "exit $KIT_RC"
}
