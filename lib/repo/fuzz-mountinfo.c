/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: one /proc/self/mountinfo line (after the first NUL; before
 * it, the mount point looked for) and the option lookup umount does on it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "repo/repo-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	struct repo_mountinfo m = {};
	char *target, *line, *opt = NULL;

	if (!nul)
		return 0;
	target = strndup((const char *)data, (size_t)(nul - data));
	line = strndup((const char *)nul + 1, size - (size_t)(nul - data) - 1);
	if (target && line && repo_mountinfo_parse_line(line, target, &m) > 0) {
		if (repo_mountinfo_option(&m, "datadir+=", &opt) == 0)
			free(opt);
		if (!m.fstype || !m.source || !m.options)
			abort();
	}
	repo_mountinfo_release(&m);
	free(target);
	free(line);
	return 0;
}
