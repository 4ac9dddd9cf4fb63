/* SPDX-License-Identifier: MIT */
/*
 * The contents of a tar member (see tar-read.c): read exactly as many bytes
 * as its size says, holes of sparse files as zeros, hashed, and kept inline
 * or published as an object only once the member is known to end where its
 * size says.
 */
#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "basic/error.h"
#include "scan-internal.h"
#include "sealtree/verity.h"
#include "tar-reader-internal.h"
#include "tar-store.h"

/*
 * The member's data comes as libarchive's blocks, each at an offset: holes
 * of sparse files are the gaps between blocks (and after the last one), and
 * read as zeros. The cursor is where the member's data has been read to.
 */
static int next_block(struct tar_reader *t)
{
	const void *blk;
	size_t len;
	la_int64_t off;
	int r = archive_read_data_block(t->a, &blk, &len, &off);

	if (r == ARCHIVE_EOF) {
		t->cur.eof = true;
		return 0;
	}
	if (r != ARCHIVE_OK)
		return tar_archive_err(t, -EUCLEAN, "cannot read the contents");
	if (off < 0 || (uint64_t)off < t->cur.pos)
		return member_err(t, -EUCLEAN, "data blocks out of order (at offset %" PRId64 ")", (int64_t)off);
	t->cur.blk = blk;
	t->cur.blk_len = len;
	t->cur.blk_off = (uint64_t)off;
	return 0;
}

/* Read exactly len bytes of the member's data into buf. */
static int read_data(struct tar_reader *t, uint8_t *buf, size_t len)
{
	struct data_cursor *c = &t->cur;
	size_t done = 0;
	int r;

	while (done < len) {
		size_t want = len - done, k;

		if (c->blk && c->pos >= c->blk_off && c->pos < c->blk_off + c->blk_len) {
			k = (size_t)MIN((uint64_t)want, c->blk_off + c->blk_len - c->pos);
			memcpy(buf + done, c->blk + (c->pos - c->blk_off), k);
		} else if (c->blk && c->pos < c->blk_off) {
			k = (size_t)MIN((uint64_t)want, c->blk_off - c->pos);        /* a hole */
			memset(buf + done, 0, k);
		} else if (c->eof) {
			if (!t->sparse)
				return member_err(t, -EUCLEAN,
						  "contents end %zu bytes short of the size its header promises", want);
			memset(buf + done, 0, want);  /* the hole at the end of a sparse file */
			k = want;
		} else {
			r = next_block(t);
			if (r < 0)
				return r;
			continue;
		}
		done += k;
		c->pos += k;
	}
	return 0;
}

/* The member's data must end exactly where its size says (size bytes read). */
static int check_data_end(struct tar_reader *t)
{
	struct data_cursor *c = &t->cur;
	int r;

	for (;;) {
		if (c->blk && c->blk_off + c->blk_len > c->pos)
			return member_err(t, -EUCLEAN, "more contents than its size says");
		if (c->eof)
			return 0;
		r = next_block(t);
		if (r < 0)
			return r;
	}
}

static bool all_zero(const uint8_t *p, size_t len)
{
	return len == 0 || (p[0] == 0 && memcmp(p, p + 1, len - 1) == 0);
}

static int store_object(struct tar_reader *t, struct st_store_object *obj)
{
	int r = st_digest_store_commit(t->store, obj);

	if (r < 0)
		return r;
	if (r > 0)
		t->stats.objects_written++;
	return 0;
}

/* A regular file's contents: digest, inline content or an object. */
int tar_read_file(struct tar_reader *t, struct st_node *n, uint64_t size)
{
	char payload[SCAN_PAYLOAD_LEN + 1];
	struct st_store_object obj;
	bool have_obj = false;
	uint64_t done = 0;
	int r;

	n->size = size;
	if (size == 0)
		return check_data_end(t);
	if (t->pool && size > ST_INLINE_RECOMMENDED_MAX && size <= TAR_BUF_SIZE) {
		uint8_t *data = NULL;

		/* Read and checked here, hashed and published by the pool (tar-store.c). */
		if (posix_memalign((void **)&data, ST_STORE_IO_ALIGN, ALIGN_UP((size_t)size, ST_STORE_IO_ALIGN)) != 0)
			return -ENOMEM;
		r = read_data(t, data, (size_t)size);
		if (r >= 0)
			r = check_data_end(t);
		if (r < 0) {
			free(data);
			return r;
		}
		t->stats.files++;
		t->stats.bytes += size;
		return tar_pool_submit(t->pool, n, data, (size_t)size, t->member);
	}

	st_verity_hasher_reset(t->hasher);
	if (t->sha_ctx && EVP_DigestInit_ex(t->sha_ctx, EVP_sha256(), NULL) != 1)
		return -ENOMEM;
	if (size <= TAR_BUF_SIZE) {
		/* Hashed first: an object that is already stored is not written again. */
		r = read_data(t, t->buf, (size_t)size);
		if (r >= 0)
			r = st_verity_hasher_update(t->hasher, t->buf, (size_t)size);
		if (r >= 0 && t->sha_ctx && size > ST_INLINE_RECOMMENDED_MAX)
			(void)EVP_DigestUpdate(t->sha_ctx, t->buf, (size_t)size);
		if (r >= 0)
			r = st_verity_hasher_final(t->hasher, n->digest);
		if (r < 0)
			return r;
		if (size <= ST_INLINE_RECOMMENDED_MAX) {
			r = node_set_content(n, t->buf, (size_t)size);
			if (r < 0)
				return r;
		} else if (t->store) {
			r = st_digest_store_has(t->store, n->digest, n->size);
			if (r < 0)
				return tar_store_err(t, r);
			if (r == 0) {
				r = st_digest_store_begin(t->store, n->digest, &obj);
				if (r < 0)
					return tar_store_err(t, r);
				r = st_digest_store_write(&obj, t->buf, (size_t)size);
				if (r < 0) {
					st_digest_store_abort(&obj);
					return member_err(t, r, "cannot write its object to the repository");
				}
				have_obj = true;
			}
		}
	} else {
		/* Streamed: hashed and written as it comes, named at the end. */
		if (t->store) {
			r = st_digest_store_begin_unnamed(t->store, &obj);
			if (r < 0)
				return tar_store_err(t, r);
			have_obj = true;
			if (!t->sparse)
				st_digest_store_reserve(&obj, size);
		}
		while (done < size) {
			size_t chunk = (size_t)MIN((uint64_t)TAR_BUF_SIZE, size - done);

			r = read_data(t, t->buf, chunk);
			if (r >= 0)
				r = st_verity_hasher_update(t->hasher, t->buf, chunk);
			if (r >= 0 && t->sha_ctx)
				(void)EVP_DigestUpdate(t->sha_ctx, t->buf, chunk);
			if (r >= 0 && have_obj) {
				/* Holes of a sparse file stay holes in its object. */
				if (t->sparse && all_zero(t->buf, chunk))
					r = st_digest_store_write_hole(&obj, chunk);
				else
					r = st_digest_store_write(&obj, t->buf, chunk);
				if (r < 0)
					r = member_err(t, r, "cannot write its object to the repository");
			}
			if (r < 0)
				goto fail;
			done += chunk;
		}
		r = st_verity_hasher_final(t->hasher, n->digest);
		if (r >= 0 && have_obj)
			r = st_digest_store_set_digest(&obj, n->digest);
		if (r < 0)
			goto fail;
	}
	/* Nothing is published before the member is known to end where it should. */
	r = check_data_end(t);
	if (r < 0)
		goto fail;
	if (have_obj) {
		have_obj = false;
		r = store_object(t, &obj);
		if (r < 0)
			return tar_store_err(t, r);
	}
	n->has_digest = true;
	scan_digest_to_payload(n->digest, payload);
	r = node_set_payload(n, payload, SCAN_PAYLOAD_LEN);
	if (r < 0)
		return r;
	if (t->sha_ctx && size > ST_INLINE_RECOMMENDED_MAX) {
		uint8_t sha[32];

		if (EVP_DigestFinal_ex(t->sha_ctx, sha, NULL) == 1)
			t->opts->file_sha256(t->opts->file_sha256_userdata, sha, n->digest);
	}
	t->stats.files++;
	t->stats.bytes += size;
	return 0;
fail:
	if (have_obj)
		st_digest_store_abort(&obj);
	return r;
}

