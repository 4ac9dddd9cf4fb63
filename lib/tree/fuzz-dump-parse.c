/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: parse an untrusted dumpfile (both modes); when it parses,
 * print it and check that the printed dump parses again and prints the same
 * bytes (print is a fixed point of parse . print).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealtree/dump.h"

/* Not assert(): these must run even with NDEBUG. */
#define CHECK(x)                    \
	do {                        \
		if (!(x))           \
			abort();    \
	} while (0)

static char *print_tree(const struct st_node *root, size_t *ret_len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, ret_len);

	CHECK(f);
	CHECK(st_dump_print(f, root) == 0);
	CHECK(fclose(f) == 0);
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (unsigned flags = 0; flags <= ST_DUMP_PARSE_STRICT; flags += ST_DUMP_PARSE_STRICT) {
		struct st_node *root = NULL, *again = NULL;
		size_t len1, len2;
		char *out1, *out2;

		if (st_dump_parse_buffer((const char *)data, size, flags, &root) < 0)
			continue;
		out1 = print_tree(root, &len1);
		st_node_free(root);
		/* Our own output is always strictly valid. */
		CHECK(st_dump_parse_buffer(out1, len1, ST_DUMP_PARSE_STRICT, &again) == 0);
		out2 = print_tree(again, &len2);
		st_node_free(again);
		CHECK(len1 == len2 && memcmp(out1, out2, len1) == 0);
		free(out1);
		free(out2);
	}
	return 0;
}
