/* SPDX-License-Identifier: MIT */
/* prepare-root.conf: any bytes give a config or a refusal, never a crash. */
#include <stddef.h>
#include <stdint.h>

#include "sealtree/boot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st_prepare_config *c = NULL;

	if (st_prepare_config_parse(data, size, &c) >= 0)
		st_prepare_config_free(c);
	return 0;
}
