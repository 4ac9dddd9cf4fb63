/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"

/* Length of the valid UTF-8 sequence at s (NUL-terminated), its code point in *cp; 0 if invalid. */
static size_t utf8_decode(const unsigned char *s, uint32_t *cp)
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
		if ((s[i] & 0xc0) != 0x80)     /* also stops at the NUL */
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Characters that are valid UTF-8 but must not reach a terminal raw. */
static bool unsafe_code_point(uint32_t c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x061c || c == 0x200e || c == 0x200f ||
	       (c >= 0x2028 && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

static void escape_to(FILE *f, const char *s, size_t len, bool keep_tab)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;

	while (p < end) {
		uint32_t c;
		size_t n = utf8_decode(p, &c);

		if (n == 0 || (size_t)(end - p) < n) {
			fprintf(f, "\\x%02x", *p++);
		} else if (c == '\\') {
			fputs("\\\\", f);
			p++;
		} else if (unsafe_code_point(c) && !(keep_tab && c == '\t')) {
			for (size_t i = 0; i < n; i++)
				fprintf(f, "\\x%02x", *p++);
		} else {
			fwrite(p, 1, n, f);
			p += n;
		}
	}
}

void json_print_string(FILE *f, const char *s)
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
				fprintf(f, "\\u%04x", c);
			else
				fwrite(p, 1, n, f);
		}
		p += n;
	}
	fputc('"', f);
}

void print_escaped(FILE *f, const char *s)
{
	escape_to(f, s, strlen(s), false);
}

char *escape_text(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	print_escaped(f, s);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

void print_escaped_lines(FILE *f, const char *s, const char *indent)
{
	while (*s) {
		size_t n = strcspn(s, "\n");

		if (n > 0)
			fputs(indent, f);
		escape_to(f, s, n, true);
		fputc('\n', f);
		s += n;
		if (*s == '\n')
			s++;
	}
}
