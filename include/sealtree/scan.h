/* SPDX-License-Identifier: MIT */
/*
 * sealtree scan: build a tree from a directory on disk, as mkcomposefs does,
 * computing the fs-verity digest of every regular file and optionally
 * publishing the contents into a digest-named object store.
 */
#ifndef SEALTREE_SCAN_H
#define SEALTREE_SCAN_H

#include <stdint.h>

#include "sealtree/tree.h"

#ifdef __cplusplus
extern "C" {
#endif

enum st_scan_flags {
	ST_SCAN_SKIP_DEVICES = 1u << 0, /* drop block and character devices */
	ST_SCAN_SKIP_XATTRS = 1u << 1,  /* read no xattrs */
	ST_SCAN_USER_XATTRS = 1u << 2,  /* read only user.* xattrs */
	ST_SCAN_USE_EPOCH = 1u << 3,    /* every mtime becomes 0.0 */
	ST_SCAN_HARDLINKS = 1u << 4,    /* keep hardlinks as aliases (the reference splits them) */
	ST_SCAN_NO_DIGESTS = 1u << 5,   /* do not hash file contents */
};

/* Progress callback: called from the scanning thread, never concurrently. */
typedef void (*st_scan_progress_fn)(void *userdata, uint64_t files_done, uint64_t files_total,
				    uint64_t bytes_done, uint64_t bytes_total);

/* What identifies a file's contents without reading them (see st_scan_cache_ops). */
struct st_scan_file_key {
	uint64_t dev, ino, size;
	int64_t mtime_sec, ctime_sec;
	uint32_t mtime_nsec, ctime_nsec;
};

/*
 * A digest cache consulted before a regular file over
 * ST_INLINE_RECOMMENDED_MAX bytes is read: lookup returns 1 and the digest if
 * it knows the key, else 0; store records a digest just computed. Both are
 * called from several scanning threads at once. A hit is trusted only if,
 * with a digest store, the object is present; the file is still opened (its
 * xattrs are read and its identity checked against the key), not read.
 */
struct st_scan_cache_ops {
	int (*lookup)(void *userdata, const struct st_scan_file_key *key, uint8_t ret_digest[ST_DIGEST_SIZE]);
	void (*store)(void *userdata, const struct st_scan_file_key *key, const uint8_t digest[ST_DIGEST_SIZE]);
};

/* Counts of what a scan did (regular files over ST_INLINE_RECOMMENDED_MAX bytes). */
struct st_scan_stats {
	uint64_t files_hashed;          /* contents read and hashed */
	uint64_t files_cached;          /* digest from the cache */
	uint64_t objects_written;       /* objects this scan published in the store */
};

struct st_digest_store;

struct st_scan_options {
	unsigned flags;                 /* enum st_scan_flags */
	unsigned threads;               /* digest/copy threads, the caller's included; 0 = the CPUs
					 * available (4x that with a digest store: copies block in I/O) */
	const char *digest_store;       /* copy contents to DIR/xx/yyyy... (NULL = no copy) */
	st_scan_progress_fn progress;
	void *progress_userdata;
	/* An open store to copy into instead of digest_store (not owned, not synced: the caller syncs). */
	struct st_digest_store *store;
	const struct st_scan_cache_ops *cache;  /* NULL = hash every file */
	void *cache_userdata;
	struct st_scan_stats *stats;    /* filled on success if not NULL */
	uint32_t reserved[6];
};

/*
 * Scan the directory at path into a tree. Files of size 1..64 are inlined;
 * larger regular files get payload "xx/yyy..." and their digest. A directory
 * that changes during the scan yields either a consistent tree or an error
 * (-EAGAIN with a detail naming the file that changed).
 */
ST_EXPORT int st_scan_directory(const char *path, const struct st_scan_options *opts, struct st_node **ret_root);

#ifdef __cplusplus
}
#endif
#endif
