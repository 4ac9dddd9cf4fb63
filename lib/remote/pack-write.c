/* SPDX-License-Identifier: MIT */
/*
 * sealtree pack: the objects of COMMIT that FROM lacks and COMMIT's image,
 * each compressed on its own with zstd (the image, in a pack from FROM,
 * against FROM's image as a raw prefix: an update's image costs what
 * changed in it), written back to back in digest order as the pack body,
 * then the index (pack-index.c) naming the pair. Objects are compressed in
 * batches of at most BATCH_BYTES on every core (basic/pool.h), then written
 * in order, so memory stays bounded whatever the tree's size and the output
 * does not depend on the number of threads. An object an existing pack
 * already holds gets a copy of its checked frame (pack-reuse.c) instead,
 * unless ST_PACK_RECOMPRESS: a pack after a small commit costs a copy.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zstd.h>

#include "basic/beneath.h"
#include "basic/error.h"
#include "basic/io.h"
#include "basic/pool.h"
#include "basic/publish.h"
#include "fundamental/cpus.h"
#include "fundamental/macro.h"
#include "object-set.h"
#include "pack.h"
#include "sealtree/repo-objects.h"

#define BATCH_BYTES (64u * 1024u * 1024u)
#define BATCH_OBJECTS 8192u
#define IMAGE_DELTA_LEVEL 19
/* The dump delta: 40 KB at 9 in 0.1 s, 36 KB at 19 in 8 s (a /usr/share dump of 13 MB, 581 files changed). */
#define DUMP_DELTA_LEVEL 9

struct item {
	const struct want *w;
	void *out;
	size_t out_len;
	int error;
	bool reuse;                     /* frame: an existing pack's, to copy */
	struct pack_reuse_frame frame;
};

struct batch {
	struct st_repo *repo;
	int level;
	struct item *items;
	const struct pack_image *image;
	const uint8_t *delta_key;       /* the image delta's entry (pack.h), or NULL */
	const void *delta;
	size_t delta_len;
	const struct pack_delta_pair *deltas;   /* object deltas, sorted by key */
	size_t n_deltas;
};

struct worker {
	ZSTD_CCtx *cctx;
	struct pack_reuse_state reuse;
};

static void worker_done(void *userdata, void *state)
{
	struct worker *w = state;

	(void)userdata;
	if (!w)
		return;
	ZSTD_freeCCtx(w->cctx);
	pack_reuse_state_done(&w->reuse);
	free(w);
}

static int worker_init(void *userdata, void **ret_state)
{
	struct worker *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->cctx = ZSTD_createCCtx();
	if (!w->cctx || pack_reuse_state_init(&w->reuse) < 0) {
		worker_done(userdata, w);
		return -ENOMEM;
	}
	*ret_state = w;
	return 0;
}

/* The commit's image entry: compressed against the prefix (from's image), or alone. */
static void compress_image(const struct pack_image *img, int level, bool strong, struct item *it)
{
	ZSTD_CCtx *cctx = NULL;
	size_t bound = ZSTD_compressBound(img->len), n;

	it->out = malloc(bound);
	cctx = ZSTD_createCCtx();
	if (!it->out || !cctx) {
		it->error = -ENOMEM;
		ZSTD_freeCCtx(cctx);
		return;
	}
	/*
	 * Against the old image the frame is small and, without an image
	 * delta, what an update costs beyond its objects: then the strongest
	 * level (on a /usr/share image 178 KB at 19, 223 KB at 6, but 8 s of
	 * CPU at 19). With a delta it is only the fallback: the pack's level.
	 */
	if (img->prefix && strong)
		level = IMAGE_DELTA_LEVEL;
	if (ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level)) ||
	    (img->prefix && (ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, pack_image_window_log(img->prefix_len, img->len))) ||
			     ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_enableLongDistanceMatching, 1)) ||
			     ZSTD_isError(ZSTD_CCtx_refPrefix(cctx, img->prefix, img->prefix_len))))) {
		it->error = -EIO;
		ZSTD_freeCCtx(cctx);
		return;
	}
	n = ZSTD_compress2(cctx, it->out, bound, img->data, img->len);
	ZSTD_freeCCtx(cctx);
	if (ZSTD_isError(n) || n > pack_csize_max(img->len))
		it->error = -EIO;
	else
		it->out_len = n;
}

/* Insert an entry (digest, size) into the sorted list l, unless it is there. */
static int want_insert(struct want_list *l, struct want **owned, const uint8_t digest[32], uint64_t size)
{
	struct want *n;
	size_t at = 0;

	while (at < l->n && memcmp(l->v[at].digest, digest, 32) < 0)
		at++;
	if (at < l->n && memcmp(l->v[at].digest, digest, 32) == 0)
		return 0;
	n = reallocarray(l->v, l->n + 1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	l->v = *owned = n;
	memmove(&l->v[at + 1], &l->v[at], (l->n - at) * sizeof(*n));
	memcpy(l->v[at].digest, digest, 32);
	l->v[at].size = size;
	l->n++;
	return 0;
}

static int cmp_key(const void *a, const void *b)
{
	return memcmp(((const struct pack_delta_pair *)a)->key, ((const struct pack_delta_pair *)b)->key, 32);
}

static const struct pack_delta_pair *delta_of_key(const struct batch *b, const uint8_t key[32])
{
	struct pack_delta_pair k;

	if (b->n_deltas == 0)
		return NULL;
	memcpy(k.key, key, 32);
	return bsearch(&k, b->deltas, b->n_deltas, sizeof(k), cmp_key);
}

/* An object delta's frame: the object compressed against its base as a raw prefix (pack.h). */
static void compress_delta(const struct batch *b, const struct pack_delta_pair *d, struct item *it)
{
	const void *src = NULL, *base = NULL;
	ZSTD_CCtx *cctx = NULL;
	size_t bound = ZSTD_compressBound((size_t)d->size), n;
	int r;

	r = pack_object_map(b->repo, d->object, d->size, &src);
	if (r >= 0)
		r = pack_object_map(b->repo, d->base, d->base_size, &base);
	if (r >= 0) {
		it->out = malloc(bound);
		cctx = ZSTD_createCCtx();
		if (!it->out || !cctx)
			r = -ENOMEM;
	}
	if (r >= 0 &&
	    (ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, b->level)) ||
	     ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, pack_image_window_log((size_t)d->base_size, (size_t)d->size))) ||
	     ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_enableLongDistanceMatching, 1)) ||
	     ZSTD_isError(ZSTD_CCtx_refPrefix(cctx, base, (size_t)d->base_size))))
		r = -EIO;
	if (r >= 0) {
		n = ZSTD_compress2(cctx, it->out, bound, src, (size_t)d->size);
		if (ZSTD_isError(n) || n > pack_csize_max(d->size))
			r = -EIO;
		else
			it->out_len = n;
	}
	if (r < 0)
		it->error = r;
	ZSTD_freeCCtx(cctx);
	if (src)
		(void)munmap((void *)src, (size_t)d->size);
	if (base)
		(void)munmap((void *)base, (size_t)d->base_size);
}

/* Compress one object into it->out; it->error on failure (the caller reports it). */
static void compress_one(void *userdata, void *state, size_t i)
{
	struct batch *b = userdata;
	struct item *it = &b->items[i];
	struct worker *wk = state;
	_cleanup_close_ int fd = -EBADF;
	static const char empty[1];
	const void *src = empty;
	struct stat st;
	size_t bound, n;

	if (!wk) {
		it->error = -ENOMEM;
		return;
	}
	if (memcmp(it->w->digest, b->image->digest, 32) == 0) {
		compress_image(b->image, b->level, !b->delta_key, it);
		return;
	}
	if (b->delta_key && memcmp(it->w->digest, b->delta_key, 32) == 0) {
		it->out = malloc(b->delta_len);
		if (!it->out)
			it->error = -ENOMEM;
		else {
			memcpy(it->out, b->delta, b->delta_len);
			it->out_len = b->delta_len;
		}
		return;
	}
	{
		const struct pack_delta_pair *d = delta_of_key(b, it->w->digest);

		if (d) {
			compress_delta(b, d, it);
			return;
		}
	}
	if (it->reuse) {
		int r = pack_reuse_read(&it->frame, it->w->digest, it->w->size, &wk->reuse, &it->out, &it->out_len);

		if (r == -ENOMEM) {
			it->error = r;
			return;
		}
		if (r == 0)
			return;
		it->reuse = false;      /* a frame that does not check out: compressed afresh */
	}
	fd = st_repo_open_object(b->repo, it->w->digest);
	if (fd < 0) {
		it->error = fd;
		return;
	}
	if (fstat(fd, &st) < 0) {
		it->error = -errno;
		return;
	}
	if ((uint64_t)st.st_size != it->w->size || it->w->size > SIZE_MAX / 2) {
		it->error = -EUCLEAN;
		return;
	}
	if (st.st_size > 0) {
		src = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (src == MAP_FAILED) {
			it->error = -errno;
			return;
		}
	}
	bound = ZSTD_compressBound((size_t)st.st_size);
	it->out = malloc(bound);
	if (!it->out)
		it->error = -ENOMEM;
	else {
		n = ZSTD_compressCCtx(wk->cctx, it->out, bound, src, (size_t)st.st_size, b->level);
		if (ZSTD_isError(n) || n > pack_csize_max(it->w->size))
			it->error = -EIO;
		else
			it->out_len = n;
	}
	if (st.st_size > 0)
		(void)munmap((void *)src, (size_t)st.st_size);
}

/* The image of commit id: its digest, format version and bytes (malloc'ed). */
static int read_image(struct st_repo *repo, const uint8_t id[ST_COMMIT_ID_SIZE], uint8_t ret_digest[32],
		      uint32_t *ret_version, uint8_t **ret, size_t *ret_len)
{
	struct st_commit *c = NULL;
	_cleanup_close_ int fd = -EBADF;
	int r;

	r = st_repo_read_commit(repo, id, &c);
	if (r < 0)
		return r;
	memcpy(ret_digest, c->image_digest, 32);
	*ret_version = c->image_version;
	fd = st_repo_open_image(repo, c->image_digest);
	st_commit_free(c);
	if (fd < 0)
		return fd;
	return read_fd_all(fd, ret, ret_len);
}

static void tmp_abortp(struct publish_tmp *t)
{
	if (t->fd >= 0)
		publish_abort(t);
}

static void pack_reuse_freep(struct pack_reuse **p)
{
	pack_reuse_free(*p);
}

static void worker_donep(struct worker **p)
{
	worker_done(NULL, *p);
}

int st_repo_write_pack(struct st_repo *repo, const uint8_t commit[ST_COMMIT_ID_SIZE], const uint8_t *from, int level,
		       unsigned flags, struct st_pack_info *ret)
{
	_cleanup_(pack_reuse_freep) struct pack_reuse *reuse = NULL;
	_cleanup_(worker_donep) struct worker *caller = NULL;
	_cleanup_close_ int dfd = -EBADF;       /* closed after tmp is dropped */
	_cleanup_(tmp_abortp) struct publish_tmp tmp = { .fd = -EBADF };
	_cleanup_free_ struct want *objs_v = NULL, *minus_v = NULL;
	_cleanup_free_ struct item *items = NULL;
	_cleanup_free_ void *index = NULL;
	_cleanup_free_ char *display = NULL;
	struct want_list objs = {}, minus = {};
	_cleanup_free_ uint8_t *image = NULL, *prefix = NULL;
	struct pack_image img = {};
	_cleanup_free_ void *delta = NULL;
	size_t delta_len = 0;
	uint8_t delta_key[32];
	_cleanup_free_ struct pack_delta_pair *deltas = NULL;
	size_t n_deltas = 0;
	uint32_t version = 0;
	struct pack_index idx = {};
	struct pool_ops ops = { .worker_init = worker_init, .worker_done = worker_done };
	struct st_pack_info info = {};
	unsigned threads = cpus_available(POOL_THREADS_MAX);
	uint8_t sha[32];
	unsigned sha_len = 32;
	char name[80];
	size_t index_len;
	int r;

	if (!repo || !commit || (flags & ~ST_PACK_RECOMPRESS))
		return -EINVAL;
	if (level == 0)
		level = ST_PACK_LEVEL_DEFAULT;
	if (level < 1 || level > 19)
		return st_errf(-EINVAL, "pack: compression level %d, not 1..19", level);
	r = object_set_of_commit(repo, commit, &objs);
	objs_v = objs.v;
	if (r < 0)
		return r;
	if (from) {
		r = object_set_of_commit(repo, from, &minus);
		minus_v = minus.v;
		if (r < 0)
			return r;
		object_set_subtract(&objs, &minus);
	}
	/* The image goes in too, at its digest's place. */
	r = read_image(repo, commit, img.digest, &version, &image, &img.len);
	if (r < 0)
		return r;
	img.data = image;
	if (from) {
		uint8_t d[32];
		uint32_t v;

		r = read_image(repo, from, d, &v, &prefix, &img.prefix_len);
		if (r < 0)
			return r;
		img.prefix = prefix;
	}
	if (from) {
		/* Object deltas: each changed object against the one F had at its path (pack.h). */
		r = pack_object_delta_pairs(image, img.len, prefix, img.prefix_len, &objs, &deltas, &n_deltas);
		if (r < 0)
			return r;
		for (size_t i = 0; i < n_deltas; i++) {
			r = want_insert(&objs, &objs_v, deltas[i].key, deltas[i].size);
			if (r < 0)
				return r;
		}
		if (n_deltas > 1)
			qsort(deltas, n_deltas, sizeof(*deltas), cmp_key);
	}
	r = want_insert(&objs, &objs_v, img.digest, img.len);
	if (r < 0)
		return r;
	if (from) {
		size_t dump_len;

		/* And the image delta, when the dump gives the image back (else the image's frame does alone). */
		r = pack_image_delta_make(&img, version, DUMP_DELTA_LEVEL, &delta, &delta_len, &dump_len);
		if (r == -ENOMEM)
			return r;
		if (r >= 0) {
			pack_image_delta_key(img.digest, delta_key);
			r = want_insert(&objs, &objs_v, delta_key, dump_len);
			if (r < 0)
				return r;
		}
	}
	idx.entries = calloc(objs.n ? objs.n : 1, sizeof(*idx.entries));
	items = calloc(MIN(objs.n, (size_t)BATCH_OBJECTS) + 1, sizeof(*items));
	if (!idx.entries || !items) {
		free(idx.entries);
		return -ENOMEM;
	}
	memcpy(idx.commit, commit, 32);
	if (from) {
		idx.has_from = true;
		memcpy(idx.from, from, 32);
	}
	if (asprintf(&display, "%s/packs", st_repo_path(repo)) < 0) {
		r = -ENOMEM;
		goto out;
	}
	dfd = mkdirat_beneath(st_repo_dirfd(repo), "packs", 0755, true);
	if (dfd < 0) {
		r = st_errf(dfd, "cannot create '%s'", display);
		goto out;
	}
	r = publish_begin(dfd, 0644, display, &tmp);
	if (r < 0)
		goto out;
	r = worker_init(NULL, (void **)&caller);
	if (r < 0)
		goto out;
	if (!(flags & ST_PACK_RECOMPRESS)) {
		r = pack_reuse_open(repo, &reuse);
		if (r < 0)
			goto out;
	}
	for (size_t start = 0; start < objs.n;) {
		struct batch b = { .repo = repo, .level = level, .items = items, .image = &img,
				   .delta_key = delta ? delta_key : NULL, .delta = delta, .delta_len = delta_len,
				   .deltas = deltas, .n_deltas = n_deltas };
		uint64_t in = 0;
		size_t n = 0;

		while (start + n < objs.n && n < BATCH_OBJECTS && (n == 0 || in < BATCH_BYTES)) {
			items[n] = (struct item){ .w = &objs.v[start + n] };
			items[n].reuse = memcmp(items[n].w->digest, img.digest, 32) != 0 &&
					 !(delta && memcmp(items[n].w->digest, delta_key, 32) == 0) &&
					 !delta_of_key(&b, items[n].w->digest) &&
					 pack_reuse_find(reuse, items[n].w->digest, items[n].w->size, &items[n].frame);
			in += objs.v[start + n].size;
			n++;
		}
		r = pool_for_each(threads, n, &ops, &b, caller, compress_one);
		for (size_t i = 0; i < n; i++) {
			struct pack_entry *e = &idx.entries[start + i];

			if (r >= 0 && items[i].error < 0) {
				char rel[74];

				st_repo_object_relpath(items[i].w->digest, rel);
				r = items[i].error == -EUCLEAN ?
					st_errf(-EUCLEAN, "object %s: its size is not the one its image gives", rel + 8) :
					st_errf(items[i].error, "object %s: cannot compress it: %s", rel + 8,
						st_error_message(items[i].error));
			}
			if (r >= 0) {
				memcpy(e->digest, items[i].w->digest, 32);
				e->size = items[i].w->size;
				e->offset = idx.pack_size;
				e->csize = items[i].out_len;
				idx.pack_size += e->csize;
				r = write_full(tmp.fd, items[i].out, items[i].out_len);
				if (r < 0)
					r = st_errf(r, "cannot write a pack in '%s'", display);
				info.bytes += e->size;
				info.n_reused += items[i].reuse;
			}
			free(items[i].out);
			items[i].out = NULL;
		}
		if (r < 0)
			goto out;
		start += n;
	}
	idx.n_entries = objs.n;
	r = pack_index_serialize(&idx, &index, &index_len);
	if (r < 0)
		goto out;
	if (EVP_Digest(index, index_len, sha, &sha_len, EVP_sha256(), NULL) != 1) {
		r = -ENOMEM;
		goto out;
	}
	/* The body first, then its index: a client that sees the index finds the body. */
	pack_relpath(sha, true, name);
	r = publish_finish(&tmp, name + 6, display, PUBLISH_REPLACE | PUBLISH_SYNC, NULL);
	tmp.fd = -EBADF;
	if (r < 0)
		goto out;
	pack_relpath(sha, false, name);
	r = publish_data(dfd, name + 6, display, index, index_len, 0644, PUBLISH_REPLACE | PUBLISH_SYNC, NULL);
	if (r < 0)
		goto out;
	memcpy(info.commit, commit, 32);
	info.has_from = idx.has_from;
	memcpy(info.from, idx.from, 32);
	memcpy(info.index_sha256, sha, 32);
	info.index_size = index_len;
	info.pack_size = idx.pack_size;
	info.n_objects = objs.n;
	if (ret)
		*ret = info;
	r = 0;
out:
	free(idx.entries);
	return r;
}
