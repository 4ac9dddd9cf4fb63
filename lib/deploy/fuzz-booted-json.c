/* SPDX-License-Identifier: MIT */
/* Fuzz target: parse an untrusted /run/sealtree/booted.json. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deploy-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st_booted *b = NULL;

	if (booted_parse(data, size, &b) < 0)
		return 0;
	if (b->os && strlen(b->os) > 4096)
		abort();
	booted_free(b);
	return 0;
}
