/* SPDX-License-Identifier: MIT */
/*
 * File helpers for unit tests (built into the tests only, beside test.h).
 * They cannot fail a single TEST() (the ASSERT_*() macros return from the
 * test function), so on a failure of the machine itself (no /tmp, out of
 * memory, a write that fails) they print why and exit 1.
 */
#pragma once

#include <stddef.h>
#include <string.h>

/* The test binary's temporary directory, /tmp/sealtree-PROGRAM.XXXXXX: made
 * by the first call, removed with everything in it when the binary exits. */
const char *test_tmpdir(void);

/* "DIR/NAME", allocated: free() it. */
char *test_join(const char *dir, const char *name);

/* Creates PATH (mode 0644), or truncates it, holding the LEN bytes of DATA. */
void test_write_file(const char *path, const void *data, size_t len);

static inline void test_write_string(const char *path, const char *s)
{
	test_write_file(path, s, strlen(s));
}
