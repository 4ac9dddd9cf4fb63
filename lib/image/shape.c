/* SPDX-License-Identifier: MIT */
/* Rules shared by the writer and the reader: see shape-internal.h. */
#include <string.h>

#include "shape-internal.h"
#include "tree/tree-internal.h"

bool shape_payload_ok(const char *payload, size_t len)
{
	size_t comp = 0;

	if (len == 0 || memchr(payload, '\0', len))
		return false;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && payload[i] != '/') {
			comp++;
			continue;
		}
		/* End of a component: empty, "." and ".." are not followed. */
		if (comp == 0 || (comp == 1 && payload[i - 1] == '.') ||
		    (comp == 2 && payload[i - 1] == '.' && payload[i - 2] == '.'))
			return false;
		comp = 0;
	}
	return true;
}

uint64_t shape_cost_node(size_t name_len)
{
	return sizeof(struct st_node) + (uint64_t)name_len;
}

uint64_t shape_cost_xattr(size_t name_len, size_t value_len)
{
	return sizeof(struct st_xattr) + (uint64_t)name_len + value_len;
}
