/* SPDX-License-Identifier: MIT */
/* The kernel command line as prepare-root reads it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sealtree/boot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st_boot_cmdline c;
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (st_boot_cmdline_parse(s, &c) >= 0)
		st_boot_cmdline_release(&c);
	free(s);
	return 0;
}
