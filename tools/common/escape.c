/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "utf8.h"   /* lib/fundamental */

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
