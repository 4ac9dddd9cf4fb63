/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdint.h>

#include "hex.h"

int hex_digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int st_hex_decode(const char *s, size_t slen, uint8_t *out, size_t len)
{
	if (len > SIZE_MAX / 2 || slen != 2 * len)
		return -EINVAL;
	for (size_t i = 0; i < slen; i++)
		if (hex_digit_value(s[i]) < 0)
			return -EINVAL;
	for (size_t i = 0; i < len; i++)
		out[i] = (uint8_t)(hex_digit_value(s[2 * i]) << 4 | hex_digit_value(s[2 * i + 1]));
	return 0;
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
