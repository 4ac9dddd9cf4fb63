/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: a containers/docker auth file (registry-creds.c), looked up
 * for a fixed registry and repository. What it returns is USER:PASSWORD
 * with a non-empty user and no NUL byte.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "basic/error.h"
#include "registry-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *creds = NULL;
	int r = registry_creds_parse(data, size, "fuzz.json", "registry.example:5000", "ns/app", &creds);

	if (r > 0 && (!creds || creds[0] == ':' || !strchr(creds, ':')))
		abort();
	if (r <= 0 && creds)
		abort();
	free(creds);
	st_error_clear();
	return 0;
}
