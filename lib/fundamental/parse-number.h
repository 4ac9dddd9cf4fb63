/* SPDX-License-Identifier: MIT */
/*
 * The one decimal (and octal) parser of lib/ and tools/: digits only. No
 * sign, no space, no "0x", never empty, never wrapping; every caller says
 * the largest value it takes. Header-only so that tools/ use it too.
 *
 * Each returns 0 and writes *ret, or -EINVAL (not a number of that form)
 * or -ERANGE (a number over the limit), leaving *ret untouched.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum {
	PARSE_CANONICAL = 1u << 0,      /* no leading zero (but "0" itself): one spelling per value */
};

/* The len bytes at s as digits in base (2..10), at most max. */
static inline int parse_uint_n(const char *s, size_t len, unsigned base, uint64_t max, unsigned flags,
			       uint64_t *ret)
{
	uint64_t v = 0;

	if (len == 0 || base < 2 || base > 10)
		return -EINVAL;
	if ((flags & PARSE_CANONICAL) && s[0] == '0' && len > 1)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		unsigned d = (unsigned)(unsigned char)s[i] - '0';

		if (d >= base)
			return -EINVAL;
		if (__builtin_mul_overflow(v, base, &v) || __builtin_add_overflow(v, d, &v) || v > max)
			return -ERANGE;
	}
	*ret = v;
	return 0;
}

/*
 * The len bytes at s as a decimal int64_t with an optional leading '-'.
 * With PARSE_CANONICAL also no "-0".
 */
static inline int parse_i64_n(const char *s, size_t len, unsigned flags, int64_t *ret)
{
	bool neg = len > 0 && s[0] == '-';
	uint64_t v;
	int r;

	if (neg && (flags & PARSE_CANONICAL) && len > 1 && s[1] == '0')
		return -EINVAL;
	r = parse_uint_n(s + neg, len - neg, 10, neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, flags, &v);
	if (r < 0)
		return r;
	*ret = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

/* A whole NUL-terminated string as a decimal, at most max. */
static inline int safe_atou64_max(const char *s, uint64_t max, uint64_t *ret)
{
	return parse_uint_n(s, strlen(s), 10, max, 0, ret);
}

static inline int safe_atou64(const char *s, uint64_t *ret)
{
	return safe_atou64_max(s, UINT64_MAX, ret);
}

static inline int safe_atou32(const char *s, uint32_t *ret)
{
	uint64_t v;
	int r = safe_atou64_max(s, UINT32_MAX, &v);

	if (r < 0)
		return r;
	*ret = (uint32_t)v;
	return 0;
}
