/* SPDX-License-Identifier: MIT */
/*
 * Repository internals shared by the files of lib/repo (core, tar import,
 * checkout, mount, gc, fsck). Code outside lib/ uses sealtree/repo.h only.
 */
#pragma once

#include <stdbool.h>

#include "sealtree/repo-objects.h"
#include "sealtree/repo.h"
#include "sealtree/scan.h"
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

#define REPO_FORMAT_VERSION 1
/* Largest commit record read from disk (the format's limits keep real ones far below). */
#define REPO_COMMIT_SIZE_MAX (4u * 1024u * 1024u)

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

/* A unique name for a temporary file in tmp/ ("<prefix>.<pid>.<counter>.<random>"). */
void repo_tmp_name(const char *prefix, char buf[64]);

enum repo_publish_flags {
	REPO_PUBLISH_NOREPLACE = 1u << 0,   /* content-addressed: an existing file with these bytes is kept (returns 0) */
	REPO_PUBLISH_FSYNC = 1u << 1,       /* fsync the file and its directory (refs) */
	REPO_PUBLISH_VERITY = 1u << 2,      /* enable fs-verity before the file gets its name */
};

/*
 * Publish data as dir_fd/name (mode 0644) through publish_data()
 * (basic/publish.h): a temporary file in dir_fd, then a rename over what is
 * there, or with NOREPLACE a link that keeps an existing file holding the
 * same bytes and replaces one that does not. display is the path below REPO
 * that errors name. Returns 1 if published, 0 if kept.
 */
int repo_publish_file(struct st_repo *repo, int dir_fd, const char *name, const char *display, const void *data,
		      size_t len, unsigned flags);

/*
 * Move a ref with compare-and-swap under the refs lock: old_id != NULL
 * requires the ref to hold old_id (-ESTALE), expect_absent requires it not
 * to exist (-ESTALE); neither updates unconditionally.
 */
int repo_write_ref_cas(struct st_repo *repo, const char *name, const uint8_t id[ST_COMMIT_ID_SIZE],
		       const uint8_t *old_id, bool expect_absent);

/*
 * Path of a ref relative to REPO ("refs/heads/NAME" or the full "refs/...")
 * into buf (ST_REF_NAME_MAX + 12 bytes), from any spelling
 * st_ref_canonicalize() takes. -EINVAL for an invalid name.
 */
#define REPO_REF_PATH_MAX (ST_REF_NAME_MAX + 12)
int repo_ref_path(const char *name, char buf[REPO_REF_PATH_MAX]);

/*
 * The canonical name of the ref stored at rel ("refs/heads/a" -> "a"), or
 * -EINVAL when no valid ref lives at that path (bad name, too deep, or a
 * path such as refs/heads/refs/mounts/x that no canonical name maps to).
 */
int repo_ref_name_of_path(const char *rel, char ret[ST_REF_NAME_MAX + 1]);

/*
 * Image names (sealtree/oci.h, ref-name.c): "NAME[:TAG]" to its ref
 * "refs/oci/NAME/+TAG" (canonical), and back to "NAME:TAG". -EINVAL with a
 * detail for a name off the grammar or a ref that is no image's.
 */
int repo_oci_ref_of_name(const char *name, char ret[ST_REF_NAME_MAX + 1]);
int repo_oci_name_of_ref(const char *ref, char ret[ST_REF_NAME_MAX + 1]);

/*
 * Apply the owner and permission transforms of opts->flags
 * (ST_IMPORT_CANONICAL_PERMISSIONS, then ST_IMPORT_SET_OWNER/_UID/_GID) to every inode
 * of a tree. Every importer (directory, tar, dumpfile) calls it before the
 * tree is written. opts may be NULL (nothing to do).
 */
void repo_tree_apply_import_options(struct st_node *root, const struct st_import_options *opts);

/* Inodes (the root included, each hardlinked inode once) and bytes of regular file contents. */
void repo_tree_stats(struct st_node *root, uint64_t *ret_inodes, uint64_t *ret_content_size);

/* Parse a full 64-digit lowercase hex id. 0 or -EINVAL. */
int repo_parse_id(const char *s, size_t len, uint8_t ret[32]);

/*
 * Read a whole small file dir_fd/name (at most max bytes, else -EFBIG),
 * beneath dir_fd, never through a symlink, a regular file only (-EUCLEAN):
 * read_file_capped(); every failure but -ENOENT has a detail naming name.
 */
int repo_read_small_file(int dir_fd, const char *name, size_t max, char **ret, size_t *ret_len);

/*
 * The error for opening rel (a directory of the repository at path, below
 * dir_fd) that failed with r: a symlink or another type where the directory
 * belongs, missing, or r. Returns the errno (-EUCLEAN for the first ones).
 */
int repo_open_failed(int r, int dir_fd, const char *path, const char *rel);

/* ---- What is mounted where (mountinfo.c) ---- */

struct repo_mountinfo {
	char *fstype, *source;  /* unescaped */
	char *options;          /* the superblock options as the kernel prints them (each still escaped) */
};

/*
 * The topmost mount whose mount point is target (an absolute, canonical
 * path) in /proc/self/mountinfo. -ENOENT if target is no mount point.
 */
int repo_mountinfo_at(const char *target, struct repo_mountinfo *ret);
/* One mountinfo line: 1 and *ret filled if its mount point is target, 0 if not (line is changed). */
int repo_mountinfo_parse_line(char *line, const char *target, struct repo_mountinfo *ret);
/* The value of the last option "KEY..." (key includes its '=' or '+='), unescaped; -ENOENT if none. */
int repo_mountinfo_option(const struct repo_mountinfo *m, const char *key, char **ret);
void repo_mountinfo_release(struct repo_mountinfo *m);
/* The absolute path of the repository's objects/ (as mounts name it). */
int repo_objects_abspath(struct st_repo *repo, char **ret);

/* ---- The scan cache (scan-cache.c) ---- */

struct repo_scan_cache;

/* Load REPO/cache/scan (a missing or damaged cache is an empty one). start: the scan's start time. */
int repo_scan_cache_load(struct st_repo *repo, struct repo_scan_cache **ret);
const struct st_scan_cache_ops *repo_scan_cache_ops(void);
/* Entries loaded from disk. */
size_t repo_scan_cache_size(const struct repo_scan_cache *c);
/* Write the merged cache back atomically. */
int repo_scan_cache_save(struct st_repo *repo, struct repo_scan_cache *c);
struct repo_scan_cache *repo_scan_cache_free(struct repo_scan_cache *c);
