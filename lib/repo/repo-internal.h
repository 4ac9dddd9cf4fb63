/* SPDX-License-Identifier: MIT */
/*
 * Repository internals shared by the files of lib/repo (core, tar import,
 * checkout, mount, gc, fsck). Code outside lib/ uses sealtree/repo.h only.
 */
#pragma once

#include <stdbool.h>

#include "sealtree/repo.h"
#include "tree/digest-store.h"

/* Well-known names under REPO/. */
#define REPO_CONFIG "config"
#define REPO_OBJECTS_DIR "objects"
#define REPO_IMAGES_DIR "images"
#define REPO_COMMITS_DIR "commits"
#define REPO_REFS_DIR "refs"
#define REPO_HEADS_DIR "refs/heads"
#define REPO_MOUNTS_DIR "refs/mounts"
#define REPO_CACHE_DIR "cache"
#define REPO_TMP_DIR "tmp"
#define REPO_LOCK_FILE "lock"
#define REPO_QUARANTINE_DIR "quarantine"

struct st_repo {
	char *path;
	int dir_fd;                     /* REPO/ */
	int objects_fd, images_fd, commits_fd, tmp_fd;  /* opened by st_repo_open() */
	int lock_fd;                    /* REPO/lock while a lock is held, else -EBADF */
	bool verity;                    /* config verity=yes */
	uint32_t image_version_max;     /* config image-version (composefs format, 1) */
	struct st_digest_store *store;  /* objects/, opened on first use by repo_object_store() */
};

/*
 * The digest store over objects/ (st_digest_store_require_verity() set on a
 * verity repository), opened on first use and owned by the repo.
 */
int repo_object_store(struct st_repo *repo, struct st_digest_store **ret);
