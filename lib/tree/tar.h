/* SPDX-License-Identifier: MIT */
/*
 * Trees from and to tar streams (libarchive). The rules for reading are
 * specified in docs/formats/tar-import.md; in short, the tree read from an
 * archive is the tree a directory scan with ST_SCAN_HARDLINKS would build from
 * the extracted archive, and anything that would make that unclear (names
 * with "..", absolute names, duplicates, links to unknown members, truncated
 * or inconsistent data) is refused with a detail naming the member.
 *
 * Not thread-safe per call; separate calls are independent.
 */
#pragma once

#include <locale.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "digest-store.h"
#include "tree-internal.h"

/* At most this many members (and implicit directories) in one archive. */
#define ST_TAR_ENTRIES_MAX (1u << 22)
/* node->scratch of a directory a member described, with keep_dir_marks. */
#define ST_TAR_DIR_EXPLICIT 1u
/* At most this many path components in a member name (as SCAN_DEPTH_MAX). */
#define ST_TAR_DEPTH_MAX 1024

struct st_tar_read_options {
	struct st_digest_store *store;  /* contents of files over 64 bytes go here; NULL = hash only */
	uint64_t max_entries;           /* 0 = ST_TAR_ENTRIES_MAX */
	/* No regular file may declare more bytes than this (0 = no limit of its own); with a store,
	 * none may declare more than its filesystem has free either (holes of sparse files included). */
	uint64_t max_file_size;
	/* At most this many bytes of distinct xattrs (names and values) in the archive; 0 = 128 MiB. */
	uint64_t max_xattr_bytes;
	bool skip_xattrs;               /* keep no xattrs (as mkcomposefs --skip-xattrs) */
	/* On return, node->scratch of a directory is ST_TAR_DIR_EXPLICIT if a member described it
	 * (else it was made as the parent of deeper names), so that a reader of layers (lib/oci)
	 * knows whose metadata counts; without, every scratch is 0. */
	bool keep_dir_marks;
	/* With a store: record the stream's bytes outside file contents into split (st_tar_split_init()ed
	 * by the caller; tar-split.h), read the stream to its end (past the end-of-archive block) and end
	 * the record, so that the stream can be rebuilt from the record and the objects. */
	struct st_tar_split *split;
	/* Hardlinks to a name that no earlier member of the archive is (in a layer: a file of the layers
	 * below): without this, refused; with it, each becomes an empty regular file node, handed to
	 * outside_link with the link's target as the archive names it (checked: relative, no ".."), for
	 * the caller to resolve once the archive is read. The node may change its inode with links of
	 * this archive to it (st_tar_canonicalize_links()): resolve through node_resolve(). */
	int (*outside_link)(void *userdata, struct st_node *node, const char *target);
	void *outside_link_userdata;
	/* Called on the reading thread at most every 100 ms with what was read
	 * so far (a stream has no known total: the totals are the counts so far). */
	void (*progress)(void *userdata, uint64_t files_done, uint64_t files_total, uint64_t bytes_done,
			 uint64_t bytes_total);
	void *progress_userdata;
	/* With a store: called for each regular file stored as an object (over
	 * ST_INLINE_RECOMMENDED_MAX bytes) with the SHA-256 of its contents and its
	 * fs-verity digest, on any thread of the import (it must be thread-safe),
	 * once the object is stored. NULL: no SHA-256 is computed. */
	void (*file_sha256)(void *userdata, const uint8_t sha256[32], const uint8_t digest[32]);
	void *file_sha256_userdata;
};

struct st_tar_read_stats {
	uint64_t files;                 /* regular files (inodes, not names) with contents */
	uint64_t bytes;                 /* their bytes */
	uint64_t objects_written;       /* objects this call published in the store */
};

/*
 * Read a tar stream (plain, gzip, bzip2, xz, lzma or zstd; ustar, pax, GNU,
 * v7) from fd to its end-of-archive marker into a new tree. opts and
 * ret_stats may be NULL. On failure nothing is returned: -EUCLEAN for a
 * damaged or inconsistent archive, -EINVAL for a member the rules refuse,
 * -EOPNOTSUPP for an unsupported member type, each with a detail naming the
 * member; objects already published stay in the store, unreferenced.
 */
int st_tar_read_fd(int fd, const struct st_tar_read_options *opts, struct st_tar_read_stats *ret_stats,
		   struct st_node **ret_root);

/* The same from a buffer in memory (fuzzing, tests). */
int st_tar_read_buffer(const void *data, size_t len, const struct st_tar_read_options *opts,
		       struct st_tar_read_stats *ret_stats, struct st_node **ret_root);

/*
 * Where the writer gets the contents of a regular file that is not inline:
 * return a readable fd (the writer closes it) positioned anywhere.
 */
typedef int (*st_tar_open_content_fn)(void *userdata, const struct st_node *node);

/*
 * Write root as a pax archive to fd: members in sorted depth-first order
 * ("./" for the root, then "a", "a/b", ...), numeric owners only, mtimes
 * with nanoseconds, xattrs as SCHILY.xattr records, hardlinks as tar
 * hardlinks to the first name written. The same tree gives the same bytes.
 * Every file's contents are checked against node->digest while they are
 * copied (-EBADMSG names the file on a mismatch, -EUCLEAN if the size
 * differs).
 */
int st_tar_write_fd(int fd, struct st_node *root, st_tar_open_content_fn open_content, void *userdata);

/*
 * libarchive converts pax names between UTF-8 and the current locale: both
 * directions run under C.UTF-8 on the calling thread, so that names keep
 * their bytes whatever locale the program set. Returns the locale to give to
 * st_tar_locale_leave() ((locale_t)0 if C.UTF-8 is unavailable: then names
 * are written in binary mode).
 */
struct st_tar_locale {
	locale_t utf8, old;
};
void st_tar_locale_enter(struct st_tar_locale *l);
void st_tar_locale_leave(struct st_tar_locale *l);

/* true if s (len bytes) is valid UTF-8: no overlong forms, surrogates or code points over U+10FFFF. */
bool st_tar_utf8_valid(const char *s, size_t len);

/* Give each hardlink group's inode to its first name in sorted depth-first order (tar-links.c). */
void st_tar_canonicalize_links(struct st_node *root);
