/* SPDX-License-Identifier: MIT */
/*
 * The one escaping of untrusted text in human output (names, paths, commit
 * text, ref and key names, library messages): one entry is always one line,
 * and nothing in it can move the cursor, recolour or reorder the terminal.
 *
 * Printed as is: valid UTF-8 other than the characters below. Escaped, byte
 * by byte as "\xHH": C0 controls (newline, CR, ESC, ...), DEL, C1 controls
 * (U+0080..U+009F, e.g. U+009B, an 8-bit CSI), bidirectional and line
 * controls (U+061C, U+200E, U+200F, U+2028..U+202E, U+2066..U+2069), and
 * every byte that is not part of a valid UTF-8 sequence (overlong forms,
 * surrogates and code points above U+10FFFF included). A backslash is "\\",
 * so the original bytes can always be read back. --json output has its own
 * escaping (JSON strings).
 */
#pragma once

#include <stdbool.h>
#include <stdio.h>

void print_escaped(FILE *f, const char *s);
/* The same into a malloc'ed string; NULL if out of memory. */
char *escape_text(const char *s);
/*
 * Multi-line text (a commit body): each line printed as indent, the line
 * escaped (tabs kept), newline; so no line of it can pass for a line of the
 * tool's own output.
 */
void print_escaped_lines(FILE *f, const char *s, const char *indent);

/* --json strings: json_write_string() of fundamental/utf8.h, shared with the library. */
#include "utf8.h"   /* lib/fundamental */
