/* SPDX-License-Identifier: MIT */
/*
 * Minimal unit-test helpers: each TEST() is a function run by TEST_MAIN();
 * ASSERT_*() print file and line and fail the test. A test that cannot run
 * here (no root, no kernel feature) calls TEST_SKIP(); a binary whose tests
 * all skipped exits 77, which meson reports as SKIP.
 */
#pragma once

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/error.h"

struct test_case {
	const char *name;
	void (*fn)(void);
};

extern int test_failures_;
extern int test_skipped_;

#define TEST(n)                                                                  \
	static void test_##n(void);                                              \
	static const struct test_case test_case_##n                              \
		__attribute__((used, section("st_tests"), aligned(sizeof(void *)))) = \
			{ #n, test_##n };                                        \
	static void test_##n(void)

#define TEST_FAIL_(fmt, ...)                                                     \
	do {                                                                     \
		fprintf(stderr, "%s:%d: " fmt "\n", __FILE__, __LINE__, __VA_ARGS__); \
		test_failures_++;                                                \
		return;                                                          \
	} while (0)

#define ASSERT_TRUE(x)                                                           \
	do {                                                                     \
		if (!(x))                                                        \
			TEST_FAIL_("assertion failed: %s", #x);                  \
	} while (0)

#define ASSERT_OK(expr)                                                          \
	do {                                                                     \
		long _r = (long)(expr);                                          \
		if (_r < 0)                                                      \
			TEST_FAIL_("%s failed: %s", #expr, st_error_message((int)_r)); \
	} while (0)

#define ASSERT_ERR(expr, err)                                                    \
	do {                                                                     \
		long _r = (long)(expr);                                          \
		if (_r != (long)(err))                                           \
			TEST_FAIL_("%s returned %ld, expected %ld", #expr, _r, (long)(err)); \
	} while (0)

#define ASSERT_EQ(a, b)                                                          \
	do {                                                                     \
		intmax_t _a = (intmax_t)(a), _b = (intmax_t)(b);                 \
		if (_a != _b)                                                    \
			TEST_FAIL_("%s == %s failed: %jd != %jd", #a, #b, _a, _b); \
	} while (0)

#define ASSERT_STREQ(a, b)                                                       \
	do {                                                                     \
		const char *_a = (a), *_b = (b);                                 \
		if (!_a || !_b || strcmp(_a, _b) != 0)                           \
			TEST_FAIL_("%s == %s failed: '%s' != '%s'", #a, #b,        \
				   _a ? _a : "(null)", _b ? _b : "(null)");      \
	} while (0)

#define ASSERT_MEMEQ(a, b, n)                                                    \
	do {                                                                     \
		if (memcmp((a), (b), (n)) != 0)                                  \
			TEST_FAIL_("%s == %s failed (%zu bytes)", #a, #b, (size_t)(n)); \
	} while (0)

#define TEST_SKIP(why)                                                           \
	do {                                                                     \
		fprintf(stderr, "SKIP %s: %s\n", __func__, why);                 \
		test_skipped_++;                                                 \
		return;                                                          \
	} while (0)

extern const struct test_case __start_st_tests[];
extern const struct test_case __stop_st_tests[];

#define TEST_MAIN()                                                              \
	int test_failures_, test_skipped_;                                       \
	int main(void)                                                           \
	{                                                                        \
		int run = 0;                                                     \
		for (const struct test_case *t = __start_st_tests; t < __stop_st_tests; t++) { \
			int f = test_failures_, s = test_skipped_;               \
			t->fn();                                                 \
			run++;                                                   \
			fprintf(stderr, "%s %s\n",                               \
				test_failures_ != f ? "FAIL" : test_skipped_ != s ? "skip" : "ok  ", \
				t->name);                                        \
		}                                                                \
		if (test_failures_)                                              \
			return 1;                                                \
		return run > 0 && test_skipped_ == run ? 77 : 0;                 \
	}
