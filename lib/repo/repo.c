/* SPDX-License-Identifier: MIT */
/* Placeholder until the repository core lands: every entry point fails. */
#include <errno.h>

#include "sealtree/repo.h"

int st_repo_open(const char *path, struct st_repo **ret)
{
	(void)path;
	(void)ret;
	return -ENOSYS;
}

struct st_repo *st_repo_free(struct st_repo *repo)
{
	(void)repo;
	return NULL;
}

int st_repo_lock_shared(struct st_repo *repo, bool wait)
{
	(void)repo;
	(void)wait;
	return -ENOSYS;
}

int st_repo_lock_exclusive(struct st_repo *repo, bool wait)
{
	(void)repo;
	(void)wait;
	return -ENOSYS;
}
