/* SPDX-License-Identifier: MIT */
/*
 * A content-addressed object store as mkcomposefs --digest-store writes it:
 * DIR/xx/yyyy... where xx is the first byte of the file's fs-verity digest in
 * hex and yyyy... the other 31 bytes. Objects are published atomically (an
 * O_TMPFILE linked into place, or a temporary name renamed without replacing),
 * mode 0644, with fs-verity enabled where the filesystem allows it. An object
 * that exists is never rewritten. Nothing is fsync'ed per object: call
 * st_digest_store_sync() once at the end.
 *
 * Every function is safe to call from several threads at once on one store.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sealtree/tree.h"

struct st_digest_store;
struct st_verity_hasher;

/* Open (creating it and its parents, mode 0755, if needed) the store at path. */
int st_digest_store_open(const char *path, struct st_digest_store **ret);
/* The store in the open directory dir_fd (duplicated; path only names it in messages). */
int st_digest_store_open_fd(int dir_fd, const char *path, struct st_digest_store **ret);
struct st_digest_store *st_digest_store_free(struct st_digest_store *s);

/*
 * 1 if the object exists as a regular file of size bytes (any size with
 * ST_DIGEST_STORE_ANY_SIZE), 0 if not (missing, truncated, not a file: the
 * caller writes a new copy and st_digest_store_commit() puts it in place),
 * or a negative errno.
 */
#define ST_DIGEST_STORE_ANY_SIZE UINT64_MAX
int st_digest_store_has(struct st_digest_store *s, const uint8_t digest[ST_DIGEST_SIZE], uint64_t size);

/* An object being written, not yet visible under its name. */
struct st_store_object {
	struct st_digest_store *store;
	int fd;                         /* writable */
	int dir_fd;                     /* the xx/ directory; not owned */
	int tmp_dir_fd;                 /* where tmp_name lives (dir_fd, or the root while unnamed) */
	bool is_tmpfile;                /* O_TMPFILE (else tmp_name is its name) */
	bool direct;                    /* fd has O_DIRECT set right now */
	uint64_t offset;                /* bytes written so far */
	char tmp_name[32];
	uint8_t digest[ST_DIGEST_SIZE];
};

/* Alignment of buffers and offsets for direct I/O (see st_digest_store_write()). */
#define ST_STORE_IO_ALIGN 4096

/* Start an object. On success the caller must commit or abort it. */
int st_digest_store_begin(struct st_digest_store *s, const uint8_t digest[ST_DIGEST_SIZE], struct st_store_object *obj);

/*
 * Start an object whose digest is not known yet (a stream being hashed as it
 * is written): name it with st_digest_store_set_digest() before committing.
 */
int st_digest_store_begin_unnamed(struct st_digest_store *s, struct st_store_object *obj);
int st_digest_store_set_digest(struct st_store_object *obj, const uint8_t digest[ST_DIGEST_SIZE]);

/*
 * With on == true, st_digest_store_commit() fails (-EOPNOTSUPP or the ioctl's
 * error) when fs-verity cannot be enabled on an object: a repository that
 * promises fs-verity on every object. Default: attempted, errors ignored.
 */
void st_digest_store_require_verity(struct st_digest_store *s, bool on);

/*
 * Never try fs-verity on objects (a repository with verity=no). Without
 * it, the store tries on every object and ignores failures, as the
 * reference does; on a filesystem with fs-verity, every object of a
 * repository made with --verity=off then had it anyway, and every read
 * paid its block checks.
 */
void st_digest_store_skip_verity(struct st_digest_store *s);

/*
 * Append bytes. Whole ST_STORE_IO_ALIGN blocks from an aligned buffer at an
 * aligned offset are written with O_DIRECT where the filesystem allows it:
 * objects are written once and read much later, so they need not fill the
 * page cache, and the single syncfs() at the end then has little left to
 * flush (buffered writeback was 7x slower than direct writes here).
 */
int st_digest_store_write(struct st_store_object *obj, const void *data, size_t len);

/*
 * Before writing size bytes in several pieces: reserve the object's blocks
 * in one allocation (fallocate, size unchanged), so that the object lies in
 * a few extents in file order. Direct writes allocate at each write, and
 * the objects that threads write side by side then interleave on the disk:
 * a 24 MiB object came out as 6 extents out of order, a sequential read of
 * it as many small requests. Advisory: no error, nothing done for sizes a
 * single write takes (up to ST_STORE_RESERVE_MIN) or where the filesystem
 * cannot. Not for sparse objects (the holes would get blocks).
 */
#define ST_STORE_RESERVE_MIN ((uint64_t)1 << 20)
void st_digest_store_reserve(struct st_store_object *obj, uint64_t size);

/*
 * Append len bytes of zeros as a hole: the object file stays sparse (its
 * size grows, no block is written). Readers and fs-verity see zeros.
 */
int st_digest_store_write_hole(struct st_store_object *obj, uint64_t len);

/* Bytes an unprivileged writer may still use on the store's filesystem. */
int st_digest_store_free_bytes(struct st_digest_store *s, uint64_t *ret);

/*
 * Copy size bytes from src_fd (from offset 0, position untouched): a reflink
 * first; else through buf (buf_size bytes, ST_STORE_IO_ALIGN-aligned) with
 * direct writes; else copy_file_range; else plain pread/write.
 */
int st_digest_store_copy_fd(struct st_digest_store *s, struct st_store_object *obj, int src_fd, uint64_t size,
			    void *buf, size_t buf_size);

/*
 * As st_digest_store_copy_fd(), and *ret_digest is the fs-verity digest of
 * the bytes the object now holds: hashed from the buffer they were written
 * from, or from the copy itself after a reflink or copy_file_range. A source
 * rewritten meanwhile (a shared mapping changes neither size nor times) gives
 * a digest other than the one hashed before: publish under this one.
 */
int st_digest_store_copy_fd_hashed(struct st_digest_store *s, struct st_store_object *obj, int src_fd, uint64_t size,
				   void *buf, size_t buf_size, struct st_verity_hasher *hasher,
				   uint8_t ret_digest[ST_DIGEST_SIZE]);

/*
 * Make the object visible under its digest name (mode 0644, fs-verity
 * attempted). If another writer published it first, that object stays and
 * this one is dropped. Returns 1 if this call published it, 0 if it existed.
 * The object is finished either way.
 */
int st_digest_store_commit(struct st_digest_store *s, struct st_store_object *obj);

/* Drop an unfinished object, leaving nothing behind. */
void st_digest_store_abort(struct st_store_object *obj);

/* Flush the whole store's filesystem once (syncfs). */
int st_digest_store_sync(struct st_digest_store *s);
