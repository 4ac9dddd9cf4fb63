/* SPDX-License-Identifier: MIT */
/* The one hex codec of the library and the tools (include/sealtree/hex.h, basic/hex.h). */
#include <errno.h>
#include <stdint.h>

#include "hex.h"

#define UPPER 0x80u

/*
 * Each byte's value as a hex digit plus one, 0 for anything else (NUL
 * included, so a string ending early fails where it ends); UPPER marks
 * A-F. A table, as object and commit names are parsed in bulk.
 */
static const uint8_t hex_table[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7, ['7'] = 8,
	['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
	['A'] = UPPER | 11, ['B'] = UPPER | 12, ['C'] = UPPER | 13, ['D'] = UPPER | 14, ['E'] = UPPER | 15,
	['F'] = UPPER | 16,
};

int hex_digit_value(char c)
{
	return (int)(hex_table[(unsigned char)c] & ~UPPER) - 1;
}

bool hex_valid(const char *s, size_t len, bool lower_only)
{
	uint8_t refuse = lower_only ? UPPER : 0;

	for (size_t i = 0; i < len; i++) {
		uint8_t t = hex_table[(unsigned char)s[i]];
		if (!t || (t & refuse))
			return false;
	}
	return true;
}

static int decode(const char *s, size_t slen, uint8_t *out, size_t len, bool lower_only)
{
	/* Check every digit first: out is written only on success. */
	if (len > SIZE_MAX / 2 || slen != 2 * len || !hex_valid(s, slen, lower_only))
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		out[i] = (uint8_t)(((hex_table[(unsigned char)s[2 * i]] & ~UPPER) - 1) << 4 |
				   ((hex_table[(unsigned char)s[2 * i + 1]] & ~UPPER) - 1));
	return 0;
}

int st_hex_decode(const char *s, size_t slen, uint8_t *out, size_t len)
{
	return decode(s, slen, out, len, false);
}

int hex_decode_lower(const char *s, size_t slen, uint8_t *out, size_t len)
{
	return decode(s, slen, out, len, true);
}

void st_hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}
