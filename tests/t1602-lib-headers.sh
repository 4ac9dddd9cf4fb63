#!/bin/bash
# SPDX-License-Identifier: MIT
# Every public header (include/sealtree/*.h) compiles on its own, first
# in a translation unit, with -Wall -Wextra -Werror in strict ISO C11
# (-pedantic-errors: no GNU extension needed) and as C++; included twice
# it still compiles (include guards). ST_EXPORT is left for the header
# to define, as an integrator's compiler sees it.
. "$(dirname "$0")/test-lib.sh"

CC=${CC:-cc}
CXX=${CXX:-c++}
command -v "$CC" >/dev/null || skip_all "no C compiler ($CC)"
have_cxx=false
command -v "$CXX" >/dev/null && have_cxx=true

for h in "$SOURCE_DIR"/include/sealtree/*.h; do
	name=sealtree/$(basename "$h")
	printf '#include "%s"\n#include "%s"\nint main(void) { return 0; }\n' "$name" "$name" >"$TEST_TMP/one.c"
	if "$CC" -std=c11 -pedantic-errors -Wall -Wextra -Werror -I"$SOURCE_DIR/include" \
		-c "$TEST_TMP/one.c" -o "$TEST_TMP/one.o" 2>"$TEST_TMP/err"; then
		ok "$name alone, C11"
	else
		fail "$name alone, C11" "$(cat "$TEST_TMP/err")"
	fi
	if $have_cxx; then
		cp "$TEST_TMP/one.c" "$TEST_TMP/one.cc"
		if "$CXX" -std=c++17 -pedantic-errors -Wall -Wextra -Werror -I"$SOURCE_DIR/include" \
			-c "$TEST_TMP/one.cc" -o "$TEST_TMP/one.o" 2>"$TEST_TMP/err"; then
			ok "$name alone, C++17"
		else
			fail "$name alone, C++17" "$(cat "$TEST_TMP/err")"
		fi
	fi
done
$have_cxx || echo "# no C++ compiler ($CXX): C++ checks skipped"

# No public header may pull in a library-internal one.
if bad=$(grep -n '#include "' "$SOURCE_DIR"/include/sealtree/*.h | grep -v '#include "sealtree/'); then
	fail "public headers include only public headers" "$bad"
else
	ok "public headers include only public headers"
fi

done_testing
