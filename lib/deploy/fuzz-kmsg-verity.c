/* SPDX-License-Identifier: MIT */
/* Fuzz target: parse untrusted kernel log records (each line one record) for verity errors. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deploy-internal.h"
#include "sealtree/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl ? nl : end) - p);
		struct st_verity_error e;
		uint64_t seq, suppressed = 0;
		int r;

		r = st_kmsg_parse_verity(p, len, &e, &suppressed);
		if (r == 1 && (strnlen(e.text, sizeof(e.text)) >= sizeof(e.text) ||
			       strnlen(e.name, sizeof(e.name)) >= sizeof(e.name) ||
			       strnlen(e.device, sizeof(e.device)) >= sizeof(e.device) ||
			       !st_verity_error_kind_to_string(e.kind) || (e.inode == 0) != (e.device[0] == '\0') ||
			       memchr(e.name, '/', strlen(e.name))))
			abort();
		if (r == 1 && kmsg_record_seq(p, len, &seq) < 0)
			abort();
		st_error_clear();
		p = nl ? nl + 1 : end;
	}
	return 0;
}
