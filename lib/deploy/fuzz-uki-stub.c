/* SPDX-License-Identifier: MIT */
/* Fuzz target: the PE headers of a systemd-stub (st_uki_stub_parse), then the layout after it. */
#include <stdint.h>
#include <stdlib.h>

#include "sealtree/uki.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint64_t sizes[ST_UKI_SECTIONS] = { 100, 50, 20, 1u << 20, 12u << 20 };
	uint64_t vma[ST_UKI_SECTIONS];
	struct st_uki_stub s;

	if (st_uki_stub_parse(data, size, &s) < 0)
		return 0;
	if (s.end > UINT32_MAX)
		abort();
	if (st_uki_layout(&s, sizes, vma) < 0)
		return 0;
	for (unsigned i = 0; i < ST_UKI_SECTIONS; i++)
		if (vma[i] - s.image_base < s.end || (i && vma[i] < vma[i - 1] + sizes[i - 1]) || (vma[i] - s.image_base) % 4096)
			abort();
	return 0;
}
