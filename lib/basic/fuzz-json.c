/* SPDX-License-Identifier: MIT */
/* Fuzz target: the strict JSON parser (json.h) over untrusted bytes, with small limits. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "basic/json.h"

static void walk(const struct json_value *v, unsigned depth)
{
	if (depth > 16)
		abort();
	switch (v->type) {
	case JSON_STRING:
	case JSON_NUMBER:
		if (!v->str || strlen(v->str) != v->len || v->len > 4096)
			abort();
		break;
	case JSON_ARRAY:
		for (size_t i = 0; i < v->n; i++)
			walk(&v->items[i], depth + 1);
		break;
	case JSON_OBJECT:
		for (size_t i = 0; i < v->n; i++) {
			if (strlen(v->members[i].key) != v->members[i].key_len)
				abort();
			if (json_get(v, v->members[i].key) != &v->members[i].value)
				abort();        /* keys are unique */
			walk(&v->members[i].value, depth + 1);
		}
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_limits lim = { .max_bytes = 1 << 20, .max_depth = 16, .max_string = 4096 };
	struct json_value *v = NULL;
	uint64_t u;
	int64_t i;

	if (json_parse(data, size, &lim, &v) < 0)
		return 0;
	walk(v, 0);
	(void)json_u64(v, &u);
	(void)json_i64(v, &i);
	json_free(v);
	return 0;
}
