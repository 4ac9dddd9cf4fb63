/* SPDX-License-Identifier: MIT */
/* Rules shared by the writer and the reader: see shape-internal.h. */
#include <string.h>

#include "shape-internal.h"

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
