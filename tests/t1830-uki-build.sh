#!/bin/bash
# SPDX-License-Identifier: MIT
# sealtree admin build-uki: a UKI of a commit has the stub's sections and
# then .osrel .cmdline .uname .initrd .linux, page-aligned, in that order,
# not overlapping; their bytes are the tree's os-release, the kargs plus
# sealtree.digest=COMMIT, KVER, the initramfs and the kernel; signed, it
# verifies with the certificate and not with another. Bad input is refused
# with a message naming it, and OUTPUT is then left as it was, with nothing
# beside it: no kernel, two kernels, a missing, non-PE, signed or UKI stub,
# objcopy or sbsign missing, reserved kargs, half a signing pair, a bad key.
. "$(dirname "$0")/test-lib.sh"
. "$(dirname "$0")/admin-lib.sh"

[ -x "$SEALTREE" ] || skip_all "sealtree not built"
STUB=/usr/lib/systemd/boot/efi/linuxx64.efi.stub
[ -e "$STUB" ] || skip_all "no systemd-stub ($STUB: systemd-boot-efi)"
command -v objcopy >/dev/null && command -v objdump >/dev/null || skip_all "objcopy/objdump missing (binutils)"
T=$TEST_TMP
OUT=$T/out
mkdir -p "$OUT"
new_sysroot debian
make_tree "$T/good"
mkdir -p "$T/good/usr/lib"
printf 'NAME="Test OS"\nID=testos\nVERSION_ID=1\n' >"$T/good/usr/lib/os-release"
C=$(commit_tree "$T/good" os/main 1)

# ---- a UKI from the sysroot's repository -------------------------------------
admin build-uki --karg root=/dev/vda2 --karg rw --karg 'quoted="a b"' os/main "$OUT/uki.efi" >"$T/log"
grep -q "built $OUT/uki.efi: commit $C, kernel 6.1.0-test, unsigned" "$T/log" && ok "build-uki reports the commit and kernel" ||
	fail "build-uki output" "$(cat "$T/log")"
objdump -h "$OUT/uki.efi" | awk '$1 ~ /^[0-9]+$/ { print $2, $3, $4 }' >"$T/sections"
objdump -h "$STUB" | awk '$1 ~ /^[0-9]+$/ { print $2, $3, $4 }' >"$T/stub-sections"
n=$(wc -l <"$T/stub-sections")
head -n "$n" "$T/sections" | cmp -s - "$T/stub-sections" && ok "the stub's sections are kept as they are" ||
	fail "stub sections" "$(diff "$T/stub-sections" "$T/sections")"
[ "$(tail -n +$((n + 1)) "$T/sections" | cut -d' ' -f1 | tr '\n' ' ')" = ".osrel .cmdline .uname .initrd .linux " ] &&
	ok "then .osrel .cmdline .uname .initrd .linux" || fail "section order" "$(cat "$T/sections")"
# Page-aligned, each after the end of the one before (the stub's last included).
python3 - "$T/sections" "$n" <<-'EOF' && ok "the added sections are page-aligned and do not overlap" || fail "section layout" "$(cat "$T/sections")"
	import sys
	rows = [l.split() for l in open(sys.argv[1])]
	n = int(sys.argv[2])
	end = max(int(v, 16) + int(s, 16) for _, s, v in rows[:n])
	for name, s, v in rows[n:]:
	    v, s = int(v, 16), int(s, 16)
	    assert v % 4096 == 0 and v >= end, (name, hex(v), hex(end))
	    end = v + s
EOF
for s in osrel cmdline uname initrd linux; do objcopy --dump-section ".$s=$T/$s.bin" "$OUT/uki.efi" "$T/dump.efi"; done
printf 'root=/dev/vda2 rw quoted="a b" sealtree.digest=%s' "$C" >"$T/cmdline.want"
cmp -s "$T/cmdline.bin" "$T/cmdline.want" && ok ".cmdline is the kargs and sealtree.digest=COMMIT, byte for byte" ||
	fail ".cmdline" "$(od -c "$T/cmdline.bin" | head -5)"
cmp -s "$T/linux.bin" "$T/good/usr/lib/modules/6.1.0-test/vmlinuz" && ok ".linux is the commit's vmlinuz" || fail ".linux"
cmp -s "$T/initrd.bin" "$T/good/usr/lib/modules/6.1.0-test/initramfs.img" && ok ".initrd is the commit's initramfs.img" ||
	fail ".initrd"
[ "$(cat "$T/uname.bin")" = 6.1.0-test ] && ok ".uname is KVER" || fail ".uname" "$(cat "$T/uname.bin")"
cmp -s "$T/osrel.bin" "$T/good/usr/lib/os-release" && ok ".osrel is the tree's usr/lib/os-release" || fail ".osrel"
[ -z "$(ls -A "$OUT" | grep -v '^uki.efi$')" ] && ok "nothing is left beside OUTPUT" || fail "leftovers" "$(ls -A "$OUT")"

# --repo, a commit id prefix, no kargs, a tree without os-release: replaces OUTPUT.
rm "$T/good/usr/lib/os-release"
C2=$(commit_tree "$T/good" os/other 2)
echo old >"$OUT/uki2.efi"
st admin build-uki --stub "$STUB" "${C2:0:12}" "$OUT/uki2.efi" >"$T/log"
objcopy --dump-section ".cmdline=$T/cmdline2.bin" --dump-section ".osrel=$T/osrel2.bin" "$OUT/uki2.efi" "$T/dump.efi"
[ "$(cat "$T/cmdline2.bin")" = "sealtree.digest=$C2" ] && ok "--repo and an id prefix; no kargs: .cmdline is sealtree.digest= alone" ||
	fail "cmdline without kargs" "$(cat "$T/cmdline2.bin")"
grep -q '^ID=' "$T/osrel2.bin" && grep -q "os-release: none in the tree" "$T/log" && ok "no os-release in the tree: a minimal one, said so" ||
	fail "fallback os-release" "$(cat "$T/osrel2.bin" "$T/log")"

# ---- signing ---------------------------------------------------------------------
if command -v sbsign >/dev/null && command -v sbverify >/dev/null && command -v openssl >/dev/null; then
	for k in db other; do
		openssl req -x509 -newkey rsa:2048 -nodes -subj "/CN=sealtree test $k/" -days 1 \
			-keyout "$T/$k.key" -out "$T/$k.crt" 2>/dev/null
	done
	admin build-uki --sign-key "$T/db.key" --sign-cert "$T/db.crt" --karg rw os/main "$OUT/signed.efi" >"$T/log" 2>"$T/err"
	grep -q ", signed$" "$T/log" && sbverify --cert "$T/db.crt" "$OUT/signed.efi" >/dev/null 2>&1 &&
		ok "signed: sbverify accepts it with the certificate" || fail "signed UKI" "$(cat "$T/log" "$T/err")"
	! sbverify --cert "$T/other.crt" "$OUT/signed.efi" >/dev/null 2>&1 && ok "signed: another certificate does not verify it" ||
		fail "signed UKI verified by another certificate"
	cp "$OUT/signed.efi" "$T/flipped.efi"
	printf 'X' | dd of="$T/flipped.efi" bs=1 seek=$((0x$(objdump -h "$T/flipped.efi" | awk '$2 == ".cmdline" { print $6 }'))) conv=notrunc 2>/dev/null
	! sbverify --cert "$T/db.crt" "$T/flipped.efi" >/dev/null 2>&1 && ok "signed: one changed byte of .cmdline breaks the signature" ||
		fail "a changed .cmdline still verifies"
	sbsign --key "$T/db.key" --cert "$T/db.crt" --output "$T/signed-stub.efi" "$STUB" >/dev/null 2>&1
	HAVE_SBSIGN=1
else
	echo "# sbsign/sbverify/openssl missing: signing not checked"
	HAVE_SBSIGN=
fi

# ---- refusals ----------------------------------------------------------------------
echo old >"$OUT/keep.efi"
# refused NAME PATTERN CMD...: CMD fails naming PATTERN; OUTPUT ($OUT/keep.efi) unchanged, nothing beside it.
refused() {
	local name=$1 pattern=$2 rc=0
	shift 2
	"$@" >"$T/stdout" 2>"$T/err" || rc=$?
	if [ $rc != 0 ] && grep -q -- "$pattern" "$T/err" && [ "$(cat "$OUT/keep.efi")" = old ] &&
		[ -z "$(ls -A "$OUT" | grep -v -x -e keep.efi -e uki.efi -e uki2.efi -e signed.efi)" ]; then
		ok "refused: $name"
	else
		fail "refused: $name" "rc=$rc, stderr: $(cat "$T/err"), dir: $(ls -A "$OUT")"
	fi
	return 0
}
mkdir -p "$T/nokernel/usr/etc" && echo x >"$T/nokernel/usr/etc/x"
commit_tree "$T/nokernel" bad/nokernel 1 >/dev/null
refused "a tree without a kernel" "no kernel: the tree has no usr/lib/modules/KVER/vmlinuz" \
	admin build-uki bad/nokernel "$OUT/keep.efi"
make_tree "$T/two"
make_tree "$T/two" 6.2.0-other
commit_tree "$T/two" bad/two 1 >/dev/null
refused "two kernels" "two kernels: usr/lib/modules/6.1.0-test/vmlinuz and usr/lib/modules/6.2.0-other/vmlinuz" \
	admin build-uki bad/two "$OUT/keep.efi"
refused "a missing stub" "no systemd-stub at '$T/nostub' (install systemd-boot-efi" \
	admin build-uki --stub "$T/nostub" os/main "$OUT/keep.efi"
refused "a stub that is not PE" "not a PE image" admin build-uki --stub "$T/good/usr/etc/hostname" os/main "$OUT/keep.efi"
head -c 300 "$STUB" >"$T/short.efi"
refused "a truncated stub" "not a usable systemd-stub" admin build-uki --stub "$T/short.efi" os/main "$OUT/keep.efi"
refused "a UKI given as the stub" "it is a UKI, not a stub" admin build-uki --stub "$OUT/uki.efi" os/main "$OUT/keep.efi"
[ -n "$HAVE_SBSIGN" ] && refused "a signed stub" "the stub is signed" \
	admin build-uki --stub "$T/signed-stub.efi" os/main "$OUT/keep.efi"
refused "objcopy not in PATH" "objcopy not found in PATH (install binutils)" \
	env PATH=/nonexistent "$SEALTREE" admin --sysroot "$SYS" build-uki os/main "$OUT/keep.efi"
mkdir -p "$T/bin" && ln -sf "$(command -v objcopy)" "$T/bin/objcopy"
refused "sbsign not in PATH" "sbsign not found in PATH (install sbsigntool)" \
	env PATH="$T/bin" "$SEALTREE" admin --sysroot "$SYS" build-uki --sign-key "$T/k" --sign-cert "$T/c" os/main "$OUT/keep.efi"
refused "--sign-key without --sign-cert" "go together" admin build-uki --sign-key "$T/k" os/main "$OUT/keep.efi"
refused "sealtree.digest= in the kargs" "'sealtree.digest' is reserved" \
	admin build-uki --karg "sealtree.digest=$C" os/main "$OUT/keep.efi"
refused "quoted sealtree.digest in the kargs" "'sealtree.digest' is reserved" \
	admin build-uki --karg "\"sealtree.digest=$C\"" os/main "$OUT/keep.efi"
refused "sealtree= in the kargs" "'sealtree' is reserved" admin build-uki --karg sealtree=debian/x os/main "$OUT/keep.efi"
refused "a newline in the kargs" "control character" admin build-uki --karg $'a\nb' os/main "$OUT/keep.efi"
refused "an unknown ref" "cannot resolve 'no/such'" admin build-uki no/such "$OUT/keep.efi"
refused "an output directory that does not exist" "cannot make a work directory" admin build-uki os/main "$T/nodir/x.efi"
if [ -n "$HAVE_SBSIGN" ]; then
	echo garbage >"$T/bad.key"
	refused "a key sbsign cannot use" "sbsign failed" \
		admin build-uki --sign-key "$T/bad.key" --sign-cert "$T/db.crt" os/main "$OUT/keep.efi"
fi
done_testing
