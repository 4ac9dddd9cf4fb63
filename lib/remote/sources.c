/* SPDX-License-Identifier: MIT */
/* A remote's url and mirrors, in the order each kind of file is asked for: remote-internal.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "remote-internal.h"

static char *base_of(const char *url)
{
	char *b = strdup(url);
	size_t len;

	if (!b)
		return NULL;
	len = strlen(b);
	while (len > 8 && b[len - 1] == '/')
		b[--len] = '\0';
	return b;
}

int pull_sources_init(const struct st_remote *remote, struct pull_sources *ret)
{
	struct pull_sources s = {};

	s.base = calloc(remote->n_mirrors + 1, sizeof(*s.base));
	if (!s.base)
		return -ENOMEM;
	for (size_t i = 0; i <= remote->n_mirrors; i++) {
		s.base[i] = base_of(i == 0 ? remote->url : remote->mirrors[i - 1]);
		if (!s.base[i]) {
			pull_sources_release(&s);
			return -ENOMEM;
		}
		s.n++;
	}
	*ret = s;
	return 0;
}

void pull_sources_release(struct pull_sources *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->base[i]);
	free(s->base);
	*s = (struct pull_sources){};
}

const char *pull_sources_metadata(const struct pull_sources *s, size_t i)
{
	return s->base[i];
}

const char *pull_sources_content(const struct pull_sources *s, size_t i)
{
	return s->base[i + 1 < s->n ? i + 1 : 0];
}
