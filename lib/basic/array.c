/* SPDX-License-Identifier: MIT */
#include "macro.h"

int grow_array(void **array, size_t *cap, size_t need, size_t elem_size)
{
	size_t n;
	void *p;

	if (need <= *cap)
		return 0;
	n = *cap ? *cap : 4;
	while (n < need) {
		if (MUL_OVERFLOW(n, (size_t)2, &n))
			return -ENOMEM;
	}
	p = realloc_array(*array, n, elem_size);
	if (!p)
		return -ENOMEM;
	*array = p;
	*cap = n;
	return 0;
}
