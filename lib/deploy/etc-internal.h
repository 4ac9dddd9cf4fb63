/* SPDX-License-Identifier: MIT */
/* Private to the /etc merge (etc-merge.c, etc-fs.c). */
#pragma once

#include <sys/stat.h>

#include "deploy-internal.h"

#define PROC_PATH_MAX 4200

/* "/proc/self/fd/DIRFD/NAME": the path the l*xattr calls need. */
void proc_path(int dirfd, const char *name, char buf[PROC_PATH_MAX]);

/* 1 if equal, 0 if not, negative errno. Either may be NULL (absent); directories compare shallowly. */
int etc_node_equal(const struct st_node *a, const struct st_node *b);
/* The same for a node and dirfd/name as lstat'ed in *st (NULL: absent). */
int etc_local_equal(const struct st_node *n, int dirfd, const char *name, const struct stat *st);

/* Create dirfd/name from a node (recursively), with mode, owner, xattrs, times. */
int etc_write_node(struct st_repo *repo, const struct st_node *n, int dirfd, const char *name);
/* Copy sfd/name (recursively) to dfd/dname with mode, owner, xattrs, times. */
int etc_copy_local(int sfd, const char *name, const struct stat *st, int dfd, const char *dname);

/* Apply only the metadata (xattrs, owner, mode, times) of a node or of sfd/name to dfd/dname. */
int etc_node_meta(const struct st_node *n, int dirfd, const char *name);
int etc_local_meta(int sfd, const char *name, const struct stat *st, int dfd, const char *dname);

/* A sorted set of names. */
struct etc_names {
	char **v;
	size_t n, cap;
};
int etc_names_add(struct etc_names *s, const char *name);
/* Add every entry of a directory but "." and "..". */
int etc_names_add_dir(struct etc_names *s, int dirfd);
/* Add the children's names of a directory node. */
int etc_names_add_node(struct etc_names *s, const struct st_node *dir);
/* Sort and drop duplicates. */
void etc_names_sort(struct etc_names *s);
void etc_names_release(struct etc_names *s);
