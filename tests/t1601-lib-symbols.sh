#!/bin/bash
# SPDX-License-Identifier: MIT
# libsealtree.so.0 exports exactly the st_* functions that the public
# headers declare, each under the SEALTREE_0.1 version node, and nothing
# else (no unprefixed global symbol); its soname is libsealtree.so.0. The
# tools, which link the static archives, include only public headers (and
# their own, and lib/fundamental's header-only macros) and call only
# exported functions.
. "$(dirname "$0")/test-lib.sh"

LIB=$BUILD_DIR/lib/libsealtree.so.0
[ -f "$LIB" ] || skip_all "libsealtree.so.0 not built (fuzz build?)"
command -v nm >/dev/null && command -v readelf >/dev/null || skip_all "needs nm and readelf (binutils)"

# declared_functions: st_* names declared with ST_EXPORT in include/sealtree/*.h
# (comments and preprocessor lines dropped; a declaration may span lines).
declared_functions() {
	python3 - "$SOURCE_DIR"/include/sealtree/*.h <<'PY'
import re, sys
names = set()
for path in sys.argv[1:]:
    text = re.sub(r"/\*.*?\*/", " ", open(path).read(), flags=re.S)
    text = "\n".join(l for l in text.splitlines() if not l.lstrip().startswith("#"))
    for decl in re.findall(r"\bST_EXPORT\b[^;{]*", text):
        m = re.search(r"\b(st_\w+)\s*\(", decl)
        if m:
            names.add(m.group(1))
print("\n".join(sorted(names)))
PY
}

nm -D --defined-only "$LIB" | awk '{sub(/@.*/, "", $3); print $3}' | grep -v '^SEALTREE_0\.1$' | sort -u >"$TEST_TMP/exported"
declared_functions >"$TEST_TMP/declared"

if bad=$(grep -v '^st_' "$TEST_TMP/exported"); then
	fail "only st_* exported" "unprefixed symbols: $(echo "$bad" | tr "\n" " ")"
else
	ok "only st_* exported ($(wc -l <"$TEST_TMP/exported") symbols)"
fi
if extra=$(comm -23 "$TEST_TMP/exported" "$TEST_TMP/declared") && [ -n "$extra" ]; then
	fail "every export is declared in a public header" "$(echo "$extra" | tr "\n" " ")"
else
	ok "every export is declared in a public header"
fi
if missing=$(comm -13 "$TEST_TMP/exported" "$TEST_TMP/declared") && [ -n "$missing" ]; then
	fail "every public function is exported" "declared but not exported: $(echo "$missing" | tr "\n" " ")"
else
	ok "every public function is exported"
fi

# Every exported function carries the version node.
unversioned=$(objdump -T "$LIB" | awk '$NF ~ /^st_/ && $(NF-1) != "SEALTREE_0.1" {print $NF}')
if [ -z "$unversioned" ]; then ok "every export is in SEALTREE_0.1"; else fail "version node" "$(echo "$unversioned" | tr "\n" " ")"; fi

soname=$(readelf -d "$LIB" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$soname" = libsealtree.so.0 ] && ok "soname libsealtree.so.0" || fail "soname" "got '$soname'"

# The tools: only public headers (and their own), only exported functions.
if inc=$(grep -rn '#include "' "$SOURCE_DIR/tools" | grep -v '"sealtree/' |
	grep -Ev '#include "[a-z0-9-]+\.h"' ); then
	fail "tools include only public headers" "$inc"
else
	ok "tools include only public headers"
fi
find "$BUILD_DIR/tools" -name '*.o' -print0 | xargs -0 nm -u 2>/dev/null | awk '{print $NF}' |
	grep '^st_' | sort -u >"$TEST_TMP/used"
if internal=$(comm -23 "$TEST_TMP/used" "$TEST_TMP/exported") && [ -n "$internal" ]; then
	fail "tools call only exported functions" "$(echo "$internal" | tr "\n" " ")"
else
	ok "tools call only exported functions ($(wc -l <"$TEST_TMP/used") used)"
fi

done_testing
