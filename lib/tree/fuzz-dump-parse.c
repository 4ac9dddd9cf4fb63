/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: parse an untrusted dumpfile in both modes. Whatever parses
 * must print to a dump that parses strictly and prints back the same bytes
 * (print is a fixed point of parse . print), and whatever parses strictly
 * must parse laxly to the same tree.
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

/* Print root, check that the output parses strictly and reprints the same. */
static char *check_fixed_point(struct st_node *root, size_t *ret_len)
{
	struct st_node *again = NULL;
	size_t len2;
	char *out1, *out2;

	out1 = print_tree(root, ret_len);
	CHECK(st_dump_parse_buffer(out1, *ret_len, ST_DUMP_PARSE_STRICT, &again) == 0);
	out2 = print_tree(again, &len2);
	st_node_free(again);
	CHECK(len2 == *ret_len && memcmp(out1, out2, len2) == 0);
	free(out2);
	return out1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st_node *lax = NULL, *strict = NULL;
	char *out_lax = NULL, *out_strict = NULL;
	size_t len_lax = 0, len_strict = 0;
	int r_lax, r_strict;

	r_lax = st_dump_parse_buffer((const char *)data, size, 0, &lax);
	r_strict = st_dump_parse_buffer((const char *)data, size, ST_DUMP_PARSE_STRICT, &strict);
	if (r_lax == 0) {
		out_lax = check_fixed_point(lax, &len_lax);
		st_node_free(lax);
	}
	if (r_strict == 0) {
		/* Strict mode only adds checks: same tree as the lax parse. */
		CHECK(r_lax == 0);
		out_strict = check_fixed_point(strict, &len_strict);
		st_node_free(strict);
		CHECK(len_strict == len_lax && memcmp(out_strict, out_lax, len_lax) == 0);
	}
	free(out_lax);
	free(out_strict);
	return 0;
}
