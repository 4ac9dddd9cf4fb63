/* SPDX-License-Identifier: MIT */
/* Escaping and unescaping of dumpfile fields; see dump-escape.h. */
#include <errno.h>
#include <stdint.h>

#include "basic/hex.h"
#include "dump-escape.h"

ssize_t dump_unescape(const char *src, size_t len, char *out, const char **ret_why)
{
	size_t i = 0, o = 0;

	while (i < len) {
		char c = src[i++];
		int hi, lo;

		if (c != '\\') {
			out[o++] = c;
			continue;
		}
		if (i >= len) {
			*ret_why = "backslash at end of field";
			return -EINVAL;
		}
		c = src[i++];
		switch (c) {
		case '\\':
			out[o++] = '\\';
			break;
		case 'n':
			out[o++] = '\n';
			break;
		case 'r':
			out[o++] = '\r';
			break;
		case 't':
			out[o++] = '\t';
			break;
		case 'x':
			if (len - i < 2) {
				*ret_why = "truncated \\x escape";
				return -EINVAL;
			}
			hi = hex_digit_value(src[i]);
			lo = hex_digit_value(src[i + 1]);
			if (hi < 0 || lo < 0) {
				*ret_why = "invalid hex digit in \\x escape";
				return -EINVAL;
			}
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
			break;
		default:
			*ret_why = "unknown backslash escape";
			return -EINVAL;
		}
	}
	return (ssize_t)o;
}

size_t dump_escape(const void *data, size_t len, unsigned flags, char *out)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *p = data;
	size_t o = 0;

	if ((flags & DUMP_ESCAPE_LONE_DASH) && len == 1 && p[0] == '-') {
		out[0] = '\\';
		out[1] = 'x';
		out[2] = '2';
		out[3] = 'd';
		return 4;
	}
	for (size_t i = 0; i < len; i++) {
		uint8_t c = p[i];
		char special = 0;

		switch (c) {
		case '\\':
			special = '\\';
			break;
		case '\n':
			special = 'n';
			break;
		case '\r':
			special = 'r';
			break;
		case '\t':
			special = 't';
			break;
		default:
			break;
		}
		if (special) {
			out[o++] = '\\';
			out[o++] = special;
		} else if (c < 0x21 || c > 0x7e || (c == '=' && (flags & DUMP_ESCAPE_EQUAL))) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = digits[c >> 4];
			out[o++] = digits[c & 15];
		} else {
			out[o++] = (char)c;
		}
	}
	return o;
}
