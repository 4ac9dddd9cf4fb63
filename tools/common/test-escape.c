/* SPDX-License-Identifier: MIT */
/* Unit tests of the one escaping for human output and the one JSON string writer (escape.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"

static int failures;

static void check(const char *what, void (*fn)(FILE *, const char *), const char *in, const char *want)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		exit(1);
	fn(f, in);
	fclose(f);
	if (strcmp(buf, want) != 0) {
		fprintf(stderr, "FAIL %s: got '%s', want '%s'\n", what, buf, want);
		failures++;
	}
	free(buf);
}

static void lines(FILE *f, const char *s)
{
	print_escaped_lines(f, s, "    ");
}

int main(void)
{
	char *e;

	/* Human output: one line, nothing that drives a terminal, the bytes recoverable. */
	check("plain", print_escaped, "abc/d e", "abc/d e");
	check("utf-8 kept", print_escaped, "caf\xc3\xa9 \xe6\x97\xa5", "caf\xc3\xa9 \xe6\x97\xa5");
	check("backslash", print_escaped, "a\\x0a", "a\\\\x0a");
	check("newline", print_escaped, "a\nsignature    valid", "a\\x0asignature    valid");
	check("cr tab esc del", print_escaped, "\r\t\x1b[2J\x7f", "\\x0d\\x09\\x1b[2J\\x7f");
	check("c1 csi", print_escaped, "a\xc2\x9b" "31m", "a\\xc2\\x9b31m");
	check("bidi", print_escaped, "x\xe2\x80\xaey\xe2\x81\xa6z\xd8\x9c", "x\\xe2\\x80\\xaey\\xe2\\x81\\xa6z\\xd8\\x9c");
	check("line separator", print_escaped, "\xe2\x80\xa8", "\\xe2\\x80\\xa8");
	check("invalid byte", print_escaped, "\xff\xfe", "\\xff\\xfe");
	check("overlong slash", print_escaped, "\xc0\xaf", "\\xc0\\xaf");
	check("surrogate", print_escaped, "\xed\xa0\x80", "\\xed\\xa0\\x80");
	check("above U+10FFFF", print_escaped, "\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");
	check("truncated sequence", print_escaped, "ab\xe2\x80", "ab\\xe2\\x80");
	check("4-byte kept", print_escaped, "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80");
	/* Multi-line text: indented lines, tabs kept, controls escaped. */
	check("lines", lines, "one\n\ttwo\x1b\n\nthree", "    one\n    \ttwo\\x1b\n\n    three\n");
	/* JSON: always valid, invalid bytes as U+FFFD. */
	check("json", json_write_string, "a\"b\\c\nd\x01\x7f", "\"a\\\"b\\\\c\\nd\\u0001\\u007f\"");
	check("json utf-8", json_write_string, "\xe2\x80\xae\xff", "\"\xe2\x80\xae\\ufffd\"");

	e = escape_text("x\ny");
	if (!e || strcmp(e, "x\\x0ay") != 0) {
		fprintf(stderr, "FAIL escape_text\n");
		failures++;
	}
	free(e);
	fprintf(stderr, "%s escape\n", failures ? "FAIL" : "ok  ");
	return failures ? 1 : 0;
}
