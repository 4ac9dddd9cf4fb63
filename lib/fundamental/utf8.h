/* SPDX-License-Identifier: MIT */
/*
 * UTF-8 decoding and the one JSON string writer, header-only so that the
 * tools' --json output and the library's own JSON files (booted.json)
 * escape the same way.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Length of the valid UTF-8 sequence at s (NUL-terminated: a NUL ends any
 * sequence), its code point in *cp; 0 if the bytes there are not one
 * (overlong forms, surrogates and code points above U+10FFFF included).
 */
static inline size_t utf8_decode(const unsigned char *s, uint32_t *cp)
{
	size_t n;
	uint32_t c, min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0)
		n = 2, c = s[0] & 0x1f, min = 0x80;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, c = s[0] & 0x0f, min = 0x800;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, c = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/*
 * s as a quoted JSON string: '"', '\\' and control characters (C0 and DEL)
 * escaped, valid UTF-8 as is, each byte that is not part of valid UTF-8 as
 * U+FFFD; so the output is always valid JSON whatever bytes s holds.
 */
static inline void json_write_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	while (*p) {
		uint32_t c;
		size_t n = utf8_decode(p, &c);

		if (n == 0) {
			fputs("\\ufffd", f);
			p++;
			continue;
		}
		switch (c) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\t': fputs("\\t", f); break;
		case '\r': fputs("\\r", f); break;
		default:
			if (c < 0x20 || c == 0x7f)
				fprintf(f, "\\u%04x", (unsigned)c);
			else
				fwrite(p, 1, n, f);
		}
		p += n;
	}
	fputc('"', f);
}
