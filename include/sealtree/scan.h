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

struct st_scan_options {
	unsigned flags;                 /* enum st_scan_flags */
	unsigned threads;               /* digest/copy threads, the caller's included; 0 = the CPUs
					 * available (4x that with a digest store: copies block in I/O) */
	const char *digest_store;       /* copy contents to DIR/xx/yyyy... (NULL = no copy) */
	st_scan_progress_fn progress;
	void *progress_userdata;
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
