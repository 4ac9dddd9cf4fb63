/* SPDX-License-Identifier: MIT */
/*
 * Frames of the packs already in REPO/packs/, for a new pack to copy
 * instead of compressing the object again (pack.h, "frame reuse"). Only
 * packs st_repo_list_packs() would offer are used (the index has the hash of
 * its name and parses, the body has its size); an image entry of a pack
 * from F is never taken (it needs F's image as a prefix). A copied frame
 * is decoded and its fs-verity digest checked before it goes into the new
 * pack, so a damaged old pack is not carried forward: that object is
 * compressed again.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>

#include "basic/beneath.h"
#include "basic/error.h"
#include "basic/io.h"
#include "fundamental/macro.h"
#include "pack.h"
#include "sealtree/repo-objects.h"
#include "sealtree/verity.h"

struct reuse_pack {
	struct pack_index *idx;
	int body_fd;
	uint8_t image[32];              /* the image entry of a pack from F: never reused */
	bool skip_image;
};

struct pack_reuse {
	struct reuse_pack *v;
	size_t n;
};

struct pack_reuse *pack_reuse_free(struct pack_reuse *pr)
{
	if (!pr)
		return NULL;
	for (size_t i = 0; i < pr->n; i++) {
		pack_index_free(pr->v[i].idx);
		safe_close(pr->v[i].body_fd);
	}
	free(pr->v);
	free(pr);
	return NULL;
}

int pack_reuse_open(struct st_repo *repo, struct pack_reuse **ret)
{
	_cleanup_free_ struct st_pack_info *have = NULL;
	_cleanup_close_ int dfd = -EBADF;
	struct pack_reuse *pr;
	size_t n_have = 0;
	int r;

	r = st_repo_list_packs(repo, &have, &n_have);
	if (r < 0)
		return r;
	pr = calloc(1, sizeof(*pr));
	if (!pr)
		return -ENOMEM;
	pr->v = calloc(n_have + 1, sizeof(*pr->v));
	if (!pr->v) {
		free(pr);
		return -ENOMEM;
	}
	if (n_have > 0) {
		dfd = openat_beneath(st_repo_dirfd(repo), "packs", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
		if (dfd < 0) {
			*ret = pr;      /* gone meanwhile: nothing to reuse */
			return 0;
		}
	}
	for (size_t i = 0; i < n_have; i++) {
		struct reuse_pack *p = &pr->v[pr->n];
		_cleanup_free_ char *data = NULL;
		char name[80];
		size_t len;

		p->body_fd = -EBADF;
		if (have[i].has_from) {
			struct st_commit *c = NULL;

			if (st_repo_read_commit(repo, have[i].commit, &c) < 0)
				continue;
			memcpy(p->image, c->image_digest, 32);
			p->skip_image = true;
			st_commit_free(c);
		}
		/* Read again, checked as st_repo_list_packs() did: it may have changed since. */
		pack_relpath(have[i].index_sha256, false, name);
		r = read_file_capped(dfd, name + 6, PACK_INDEX_SIZE_MAX, 0, &data, &len);
		if (r == -ENOMEM) {
			pack_reuse_free(pr);
			return r;
		}
		if (r < 0 || len != have[i].index_size || pack_index_parse(data, len, &p->idx) < 0)
			continue;
		pack_relpath(have[i].index_sha256, true, name);
		p->body_fd = openat_beneath(dfd, name + 6, O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0);
		if (p->body_fd < 0) {
			p->idx = pack_index_free(p->idx);
			continue;
		}
		pr->n++;
	}
	*ret = pr;
	return 0;
}

bool pack_reuse_find(const struct pack_reuse *pr, const uint8_t digest[32], uint64_t size, struct pack_reuse_frame *ret)
{
	for (size_t i = 0; pr && i < pr->n; i++) {
		const struct reuse_pack *p = &pr->v[i];
		const struct pack_entry *e;

		if (p->skip_image && memcmp(p->image, digest, 32) == 0)
			continue;
		e = pack_index_find(p->idx, digest);
		if (!e || e->size != size)
			continue;
		*ret = (struct pack_reuse_frame){ .fd = p->body_fd, .offset = e->offset, .csize = e->csize };
		return true;
	}
	return false;
}

int pack_reuse_read(const struct pack_reuse_frame *f, const uint8_t digest[32], uint64_t size,
		    struct pack_reuse_state *st, void **ret, size_t *ret_len)
{
	_cleanup_free_ void *buf = NULL;
	ZSTD_inBuffer in;
	uint8_t got[32];
	uint64_t out_total = 0;
	ssize_t n;
	int r;

	if (f->csize > SIZE_MAX / 2 || f->csize > pack_csize_max(size))
		return -EUCLEAN;
	buf = malloc(f->csize ? (size_t)f->csize : 1);
	if (!buf)
		return -ENOMEM;
	n = pread(f->fd, buf, (size_t)f->csize, (off_t)f->offset);
	if (n < 0)
		return -errno;
	if ((uint64_t)n != f->csize || ZSTD_findFrameCompressedSize(buf, (size_t)f->csize) != f->csize)
		return -EUCLEAN;
	/* Decoded in pieces and hashed on the way: memory stays bounded whatever the object's size. */
	(void)ZSTD_DCtx_reset(st->dctx, ZSTD_reset_session_and_parameters);
	st_verity_hasher_reset(st->hasher);
	in = (ZSTD_inBuffer){ buf, (size_t)f->csize, 0 };
	for (;;) {
		ZSTD_outBuffer out = { st->out, st->out_size, 0 };
		size_t ret_z = ZSTD_decompressStream(st->dctx, &out, &in);

		if (ZSTD_isError(ret_z) || out.pos > size - out_total)
			return -EUCLEAN;
		out_total += out.pos;
		if (out.pos > 0) {
			r = st_verity_hasher_update(st->hasher, out.dst, out.pos);
			if (r < 0)
				return r;
		}
		if (ret_z == 0)
			break;
		if (in.pos == in.size && out.pos < out.size)
			return -EUCLEAN;        /* the frame ends early */
	}
	if (in.pos != in.size || out_total != size)
		return -EUCLEAN;
	r = st_verity_hasher_final(st->hasher, got);
	if (r < 0)
		return r;
	if (memcmp(got, digest, 32) != 0)
		return -EUCLEAN;
	*ret_len = (size_t)f->csize;
	*ret = TAKE_PTR(buf);
	return 0;
}

int pack_reuse_state_init(struct pack_reuse_state *st)
{
	*st = (struct pack_reuse_state){ .out_size = ZSTD_DStreamOutSize() };
	st->dctx = ZSTD_createDCtx();
	st->out = malloc(st->out_size);
	if (!st->dctx || !st->out || st_verity_hasher_new(&st->hasher) < 0) {
		pack_reuse_state_done(st);
		return -ENOMEM;
	}
	return 0;
}

void pack_reuse_state_done(struct pack_reuse_state *st)
{
	ZSTD_freeDCtx(st->dctx);
	free(st->out);
	st_verity_hasher_free(st->hasher);
	*st = (struct pack_reuse_state){};
}
