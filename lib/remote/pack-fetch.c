/* SPDX-License-Identifier: MIT */
/*
 * Pulling objects out of packs (docs/formats/remote.md, "Pulling from
 * packs"): the index (its SHA-256 from the signed summary), the wanted
 * entries turned into single byte ranges (neighbours merged across small
 * gaps), each range's frames decoded into object sinks, which verify and
 * publish each object at once, on a worker pool (pack-frames.c): the small
 * frames whole, in batches; a large one kept in its partial file in
 * tmp/pull as it arrives, then read back from there once whole (without a
 * partial file, streamed on the thread that receives it). A range cut midway
 * is asked again from the end of its last object verified or queued. A
 * pack that misbehaves is dropped with a warning; its objects stay missing
 * for the next pack or for loose fetches.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/mman.h>

#include <openssl/evp.h>
#include <zstd.h>

#include "basic/error.h"
#include "basic/hex.h"
#include "basic/io.h"
#include "fundamental/macro.h"
#include "http.h"
#include "object-set.h"
#include "object-sink.h"
#include "pack-frames.h"
#include "pack.h"
#include "sealtree/repo-objects.h"
#include "sealtree/verity.h"

#define RANGE_GAP_MAX 4096u             /* merge neighbours across at most this many unwanted bytes */
#define RANGE_SIZE_MAX (8u * 1024u * 1024u)
#define RANGE_SIZE_MIN (64u * 1024u)    /* ranges are not cut finer than this to spread them */
/* A dump of an image of size bytes is taken to be at most this long (paths spelled out; escapes). */
#define IMAGE_DUMP_MAX(size) ((size) * 8 + UINT64_C(1024) * 1024)
#define IMAGE_DUMP_LIMIT (UINT64_C(1) << 30)

struct pack_run {
	struct pack_pull *pp;
	const struct st_summary_pack *pk;
	char name[80];                  /* "packs/H.pack" */
	char *url;                      /* of the pack's body */
	struct range_fetch *ranges;     /* queued on pp->http */
	size_t n_ranges;
	struct delta_entries {          /* the object deltas of a pack from F: an entry per missing object ... */
		struct pack_entry *v;   /* ... whose delta the index holds, its base mapped; sorted by object digest */
		size_t n;
	} de;
	const struct pack_entry **wanted;       /* in body order */
	size_t *want_index;             /* wanted[i] is missing->v[want_index[i]] */
	bool *got;                      /* wanted[i] was published (by its range's thread or the pool's) */
	bool *queued;                   /* wanted[i]'s whole frame went to the pool */
	size_t n_wanted;
	struct frame_pool *pool;        /* decodes the small frames */
	pthread_mutex_t lock;           /* error, why and the pool's results: */
	size_t *published;              /* wanted[] indices the pool published, in that order (append only) */
	size_t n_published;
	size_t n_reported;              /* published[] counted and reported (on the network's thread) so far */
	int error;                      /* the first failure of a range ... */
	char why[512];                  /* ... in words */
};

struct range_fetch {
	struct pack_run *run;
	size_t first, last;             /* wanted[first..last] */
	uint64_t start, end;            /* body bytes [start, end) */
	uint64_t pos;                   /* body offset of the next byte to arrive */
	size_t cur;                     /* the wanted entry at or after pos */
	uint64_t kept;                  /* bytes from start to the end of the last object verified or queued whole */
	bool in_frame;                  /* wanted[cur]'s frame has begun ... */
	bool batched;                   /* ... in batch, for the pool (else in zfd or in dec, here) */
	bool deferred;                  /* ... in zfd only, for the pool once whole (a large frame) */
	struct frame_dec *dec;          /* a large frame decoded here: made for it, dropped after it */
	struct frame_batch batch;
	int zfd;                        /* wanted[cur]'s compressed bytes kept (pack-partial.c), or -EBADF */
	uint64_t replay;                /* bytes of wanted[first] kept by an earlier pull: replayed, not fetched */
};

/* The partial file of the frame in progress: closed, kept (its bytes for later) or removed (they were wrong). */
static void zfd_close(struct range_fetch *rf, bool remove)
{
	if (rf->zfd < 0)
		return;
	rf->zfd = safe_close(rf->zfd);
	if (remove)
		pack_partial_remove(rf->run->pp->repo, rf->run->wanted[rf->cur]->digest);  /* zfd is wanted[cur]'s */
}

/* The decoder of a large frame, with its stream window (up to 128 MiB): not kept once the frame is done. */
static void dec_drop(struct range_fetch *rf)
{
	if (!rf->dec)
		return;
	frame_dec_free(rf->dec);
	free(rf->dec);
	rf->dec = NULL;
}

/* The start of wanted[cur]'s frame: decompressor and sink ready, a partial file for a large one. */
static int frame_begin(struct range_fetch *rf, const struct pack_entry *e, uint64_t keep)
{
	struct pack_run *run = rf->run;
	int r;

	if (!rf->dec) {
		rf->dec = new0(struct frame_dec, 1);
		if (!rf->dec)
			return -ENOMEM;
	}
	r = frame_dec_begin(rf->dec, run->pp->repo, run->pp->dirs, e);
	if (r < 0)
		return r;
	rf->in_frame = true;
	zfd_close(rf, false);
	if (e->csize >= PACK_PARTIAL_MIN && !e->prefix && pack_partial_open(run->pp->repo, e->digest, keep, &rf->zfd) < 0) {
		rf->zfd = -EBADF;       /* locked by another pull, or not ours: fetched without one */
		if (keep > 0)
			return st_errf(-ESTALE, "%s: the kept bytes of object %s are gone", run->name, rf->dec->sink.relpath + 8);
	}
	return 0;
}

static void run_fail(struct pack_run *run, int r, const char *fmt, ...) _printf_(3, 4);
static void run_fail(struct pack_run *run, int r, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&run->lock);
	if (!run->error) {
		run->error = r;
		va_start(ap, fmt);
		(void)vsnprintf(run->why, sizeof(run->why), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&run->lock);
}

/* A frame the pool decoded (on its thread): published, or the run fails. */
static void pool_result(void *userdata, size_t i, int r)
{
	struct pack_run *run = userdata;

	if (r < 0) {
		run_fail(run, r, "%s", st_error_detail() ? st_error_detail() : st_error_message(r));
		return;
	}
	pthread_mutex_lock(&run->lock);
	run->got[i] = true;
	run->published[run->n_published++] = i;
	pthread_mutex_unlock(&run->lock);
}

/* The objects the pool published since the last call, counted and reported here, on the network's thread. */
static void report_published(struct pack_run *run)
{
	size_t n;

	pthread_mutex_lock(&run->lock);
	n = run->n_published;
	pthread_mutex_unlock(&run->lock);
	/* Entries below n are written once, before the lock was released: read without it. */
	for (; run->n_reported < n; run->n_reported++) {
		run->pp->opts->objects_from_packs++;
		run->pp->object_done(run->pp->userdata, run->wanted[run->published[run->n_reported]]->size);
	}
}

static void warn(struct pack_pull *pp, const char *fmt, ...) _printf_(2, 3);
static void warn(struct pack_pull *pp, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	if (!pp->opts->warning)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pp->opts->warning(pp->opts->progress_userdata, msg);
}

static int range_data_inner(struct range_fetch *rf, const void *data, size_t len);

static int range_data(void *userdata, const void *data, size_t len)
{
	struct range_fetch *rf = userdata;
	int r = range_data_inner(rf, data, len);

	if (r < 0)
		run_fail(rf->run, r, "%s", st_error_detail() ? st_error_detail() : st_error_message(r));
	report_published(rf->run);
	return r;
}

/* The kept bytes of wanted[first]'s frame, fed to the decompressor from disk before the network's. */
static int replay_kept(struct range_fetch *rf)
{
	const struct pack_entry *e = rf->run->wanted[rf->first];
	uint8_t buf[65536];
	int r;

	r = frame_begin(rf, e, rf->replay);
	if (r < 0)
		return r;
	for (uint64_t off = 0; off < rf->replay;) {
		ssize_t n = pread(rf->zfd, buf, (size_t)MIN((uint64_t)sizeof(buf), rf->replay - off), (off_t)off);

		if (n <= 0)
			return st_errf(-ESTALE, "%s: cannot read the kept bytes of object %s", rf->run->name,
				       rf->dec->sink.relpath + 8);
		r = frame_dec_bytes(rf->dec, buf, (size_t)n);
		if (r < 0)
			return r;
		off += (uint64_t)n;
	}
	rf->replay = 0;
	return 0;
}

/* The start of wanted[cur]'s frame: a small one goes to the pool whole, a large one streams here. */
static int frame_start(struct range_fetch *rf, const struct pack_entry *e)
{
	if (!rf->run->pool)
		return frame_begin(rf, e, 0);
	if (e->csize <= FRAME_POOL_CSIZE_MAX) {
		rf->in_frame = rf->batched = true;
		return 0;
	}
	frame_batch_flush(rf->run->pool, &rf->batch);   /* a batch holds consecutive entries */
	/*
	 * A large frame is kept in its partial file as it comes (as it would be
	 * anyway, for a pull cut midway), then decoded by the pool from there:
	 * streamed here, it took a fifth of a pull's bytes on the network
	 * thread, while the workers waited for batches.
	 */
	if (!e->prefix && e->csize >= PACK_PARTIAL_MIN) {
		zfd_close(rf, false);
		if (pack_partial_open(rf->run->pp->repo, e->digest, 0, &rf->zfd) >= 0) {
			rf->in_frame = rf->deferred = true;
			return 0;
		}
		rf->zfd = -EBADF;       /* locked by another pull, or not ours: streamed here, as below */
	}
	return frame_begin(rf, e, 0);
}

/* The last bytes of wanted[cur]'s frame arrived: queued whole, or verified and published here. */
static int frame_end(struct range_fetch *rf, const struct pack_entry *e)
{
	struct pack_run *run = rf->run;
	int r;

	rf->in_frame = false;
	if (rf->batched) {
		rf->batched = false;
		frame_batch_frame_end(run->pool, &rf->batch);
		run->queued[rf->cur] = true;
	} else if (rf->deferred) {
		rf->deferred = false;
		frame_pool_submit_file(run->pool, rf->cur, TAKE_FD(rf->zfd));
		run->queued[rf->cur] = true;
	} else {
		zfd_close(rf, true);
		r = frame_dec_finish(rf->dec);
		if (r < 0)
			return r;
		dec_drop(rf);
		/* Verified and published: a retry or the next pull never asks for it again. */
		run->got[rf->cur] = true;
		run->pp->opts->objects_from_packs++;
		run->pp->object_done(run->pp->userdata, e->size);
	}
	rf->kept = rf->pos - rf->start;
	rf->cur++;
	if (rf->cur > rf->last && run->pool)
		frame_batch_flush(run->pool, &rf->batch);       /* the range's last frame: no reason to wait */
	return 0;
}

static int range_data_inner(struct range_fetch *rf, const void *data, size_t len)
{
	struct pack_run *run = rf->run;
	const uint8_t *buf = data;
	int r;

	run->pp->opts->pack_bytes += len;
	if (rf->replay > 0) {
		r = replay_kept(rf);
		if (r < 0)
			return r;
	}
	while (len > 0) {
		const struct pack_entry *e;
		uint64_t end;
		size_t take;

		if (rf->cur > rf->last)
			return st_errf(-EUCLEAN, "%s: more bytes than the range asked for", run->name);
		e = run->wanted[rf->cur];
		if (rf->pos < e->offset) {
			take = (size_t)MIN((uint64_t)len, e->offset - rf->pos);   /* an entry not wanted: skipped */
			rf->pos += take;
			buf += take;
			len -= take;
			continue;
		}
		end = e->offset + e->csize;
		if (rf->pos == e->offset && !rf->in_frame) {
			r = frame_start(rf, e);
			if (r < 0)
				return r;
		}
		take = (size_t)MIN((uint64_t)len, end - rf->pos);
		if (rf->batched)
			r = frame_batch_add(&rf->batch, rf->cur, buf, take);
		else if (rf->deferred) {
			r = pwrite_full(rf->zfd, buf, take, rf->pos - e->offset);
			if (r < 0) {
				/* Its first bytes are only there: the pack is given up (the disk is what failed). */
				zfd_close(rf, true);
				rf->in_frame = rf->deferred = false;
				return st_errf(r, "%s: cannot keep the frame of a large object in tmp/pull", run->name);
			}
		} else {
			if (rf->zfd >= 0 && pwrite_full(rf->zfd, buf, take, rf->pos - e->offset) < 0)
				zfd_close(rf, true);    /* no room to keep them: fetched whole next time */
			r = frame_dec_bytes(rf->dec, buf, take);
			if (r < 0)
				zfd_close(rf, true);
		}
		if (r < 0)
			return r;
		rf->pos += take;
		buf += take;
		len -= take;
		if (rf->pos == end) {
			r = frame_end(rf, e);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/*
 * Before a retry: continue after the last object verified or queued whole
 * (complete frames gathered are queued now); a large frame in progress
 * whose bytes are kept (zfd) continues where it stopped (streamed here:
 * its decompressor's state intact), the others start again.
 */
static uint64_t range_resume(void *userdata)
{
	struct range_fetch *rf = userdata;

	if (rf->in_frame && !rf->batched && rf->zfd >= 0 && (rf->deferred || !rf->dec->ended))
		return rf->pos - rf->start;
	if (rf->run->pool)
		frame_batch_flush(rf->run->pool, &rf->batch);
	if (rf->dec)
		object_sink_reset(&rf->dec->sink);
	zfd_close(rf, true);
	rf->in_frame = rf->batched = rf->deferred = false;
	rf->pos = rf->start + rf->kept;
	return rf->kept;
}

static void range_reset(void *userdata)
{
	struct range_fetch *rf = userdata;

	rf->kept = 0;
	zfd_close(rf, true);
	rf->in_frame = false;
	(void)range_resume(rf);
	rf->cur = rf->first;
	while (rf->cur <= rf->last && (rf->run->got[rf->cur] || rf->run->queued[rf->cur]))
		rf->cur++;
}

static void range_done(void *userdata, int result, const char *detail)
{
	struct range_fetch *rf = userdata;
	struct pack_run *run = rf->run;

	if (result < 0)
		run_fail(run, result, "%s", detail && *detail ? detail : st_error_message(result));
	else if (rf->cur <= rf->last)
		run_fail(run, -EUCLEAN, "%s: the range ended before its objects did", run->name);
	if (run->pool)
		frame_batch_flush(run->pool, &rf->batch);       /* its complete frames are good bytes still */
	frame_batch_free(&rf->batch);
	zfd_close(rf, false);           /* a frame cut midway: its bytes are kept for the next pull */
	dec_drop(rf);
	report_published(run);
}

static const struct http_request_ops range_ops = {
	.data = range_data, .reset = range_reset, .resume = range_resume, .done = range_done,
};

/* The index of pk: fetched, its hash checked against the summary, parsed, its pair checked. */
static int fetch_index(struct pack_pull *pp, const struct st_summary_pack *pk, struct pack_index **ret)
{
	_cleanup_free_ char *data = NULL, *url = NULL;
	uint8_t sha[32];
	unsigned sha_len = 32;
	char rel[80];
	size_t len;
	int r;

	pack_relpath(pk->index_sha256, false, rel);
	if (asprintf(&url, "%s/%s", pp->base, rel) < 0)
		return -ENOMEM;
	/* A large index in parts on several connections (http_get_range()): round trips, not slow start. */
	if (http_range_parts(pp->http, pk->index_size, HTTP_PART_MIN) > 1) {
		len = (size_t)pk->index_size;
		r = http_get_range(pp->http, url, 0, len, 0, &data);
		if (r == -ERANGE)
			pp->no_ranges = true;   /* no pack can be used: the server ignores Range */
	} else
		r = http_get(pp->http, url, (size_t)pk->index_size, &data, &len);
	if (r < 0)
		return r;
	if (EVP_Digest(data, len, sha, &sha_len, EVP_sha256(), NULL) != 1)
		return -ENOMEM;
	if (len != pk->index_size || memcmp(sha, pk->index_sha256, 32) != 0)
		return st_errf(-EUCLEAN, "%s: not the index the summary names (SHA-256 or size differs)", url);
	r = pack_index_parse(data, len, ret);
	if (r < 0)
		return r;
	if (memcmp((*ret)->commit, pk->commit, 32) != 0 || (*ret)->has_from != pk->has_from ||
	    (pk->has_from && memcmp((*ret)->from, pk->from, 32) != 0)) {
		*ret = pack_index_free(*ret);
		return st_errf(-EUCLEAN, "%s: the index is for other commits than the summary says", url);
	}
	return 0;
}

/*
 * The index of summary pack k, fetched once per pull. A pack whose index
 * fails is marked bad with a warning naming it; -ENOMEM is returned as is.
 */
static int get_index(struct pack_pull *pp, size_t k, const struct pack_index **ret)
{
	const struct st_summary_pack *pk = &pp->summary->packs[k];
	char name[80];
	int r;

	if (pp->bad[k])
		return -EUCLEAN;
	if (!pp->indices[k]) {
		r = fetch_index(pp, pk, &pp->indices[k]);
		if (r < 0) {
			pack_relpath(pk->index_sha256, true, name);
			warn(pp, "%s: skipped, bad index: %s", name, st_error_detail() ? st_error_detail() : st_error_message(r));
			pp->bad[k] = true;
			return r;
		}
	}
	*ret = pp->indices[k];
	return 0;
}

/* Whether summary pack k may serve commit in this pass (0: packs from a commit the repository has, 1: full packs). */
static bool pack_candidate(struct pack_pull *pp, size_t k, const uint8_t commit[32], int pass)
{
	const struct st_summary_pack *pk = &pp->summary->packs[k];
	struct st_commit *c = NULL;

	if (pp->bad[k] || pp->no_ranges || memcmp(pk->commit, commit, 32) != 0 || pk->has_from != (pass == 0))
		return false;
	if (!pk->has_from)
		return true;
	if (st_repo_read_commit(pp->repo, pk->from, &c) < 0)
		return false;
	st_commit_free(c);
	return true;
}

static void delta_entries_done(struct delta_entries *de)
{
	for (size_t i = 0; i < de->n; i++)
		if (de->v[i].prefix)
			(void)munmap((void *)de->v[i].prefix, de->v[i].prefix_len);
	free(de->v);
	*de = (struct delta_entries){};
}

static uint8_t *local_image(struct st_repo *repo, const uint8_t id[ST_COMMIT_ID_SIZE], size_t *ret_len);

static int delta_entries_of(struct pack_pull *pp, const struct st_summary_pack *pk, const struct pack_index *idx,
			    const struct want_list *missing, struct delta_entries *ret)
{
	_cleanup_free_ struct pack_delta_pair *pairs = NULL;
	_cleanup_free_ uint8_t *from = NULL;
	struct delta_entries de = {};
	size_t n_pairs = 0, from_len = 0;
	int r;

	if (!pk->has_from || !pp->image)
		return 0;
	from = local_image(pp->repo, pk->from, &from_len);
	if (!from)
		return 0;
	r = pack_object_delta_pairs(pp->image, pp->image_len, from, from_len, missing, &pairs, &n_pairs);
	if (r == -ENOMEM)
		return r;
	if (r < 0 || n_pairs == 0)
		return 0;       /* F's image here does not parse: the objects' own frames */
	de.v = calloc(n_pairs, sizeof(*de.v));
	if (!de.v)
		return -ENOMEM;
	for (size_t i = 0; i < n_pairs; i++) {
		const struct pack_entry *e = pack_index_find(idx, pairs[i].key);
		const void *base = NULL;

		/* Only an entry of the object's size, and a base here at its size: else the object's own frame. */
		if (!e || e->size != pairs[i].size || pack_object_map(pp->repo, pairs[i].base, pairs[i].base_size, &base) < 0)
			continue;
		de.v[de.n] = *e;
		memcpy(de.v[de.n].digest, pairs[i].object, 32);
		de.v[de.n].prefix = base;
		de.v[de.n].prefix_len = (size_t)pairs[i].base_size;
		de.n++;
	}
	*ret = de;
	return 0;
}

struct wanted_at {
	const struct pack_entry *e;
	size_t want_index;
};

static int cmp_offset(const void *a, const void *b)
{
	const struct pack_entry *x = ((const struct wanted_at *)a)->e, *y = ((const struct wanted_at *)b)->e;

	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static struct pack_run *run_free(struct pack_run *run)
{
	if (!run)
		return NULL;
	run->pool = frame_pool_free(run->pool);         /* first: its workers use run */
	for (size_t i = 0; run->ranges && i < run->n_ranges; i++) {
		zfd_close(&run->ranges[i], false);
		frame_batch_free(&run->ranges[i].batch);
		dec_drop(&run->ranges[i]);
	}
	free(run->ranges);
	free(run->wanted);
	free(run->want_index);
	free(run->got);
	free(run->queued);
	free(run->published);
	free(run->url);
	delta_entries_done(&run->de);
	pthread_mutex_destroy(&run->lock);
	free(run);
	return NULL;
}

/*
 * The objects of missing that pack k holds, as ranges queued on pp->http
 * (run by the next http_run(), then run_finish()). *ret is NULL when the
 * pack is not used (a bad index: warned, marked bad). 0, or -ENOMEM.
 */
static int run_start(struct pack_pull *pp, size_t k, const struct want_list *missing, struct pack_run **ret)
{
	const struct st_summary_pack *pk = &pp->summary->packs[k];
	const struct pack_index *idx = NULL;
	const struct pack_entry *image, *delta;
	struct pack_run *run;
	uint8_t key[32];
	uint64_t wanted_bytes = 0, range_max;
	int r;

	*ret = NULL;
	r = get_index(pp, k, &idx);
	if (r < 0)
		return r == -ENOMEM ? r : 0;
	run = calloc(1, sizeof(*run));
	if (!run)
		return -ENOMEM;
	*run = (struct pack_run){ .pp = pp, .pk = pk, .lock = PTHREAD_MUTEX_INITIALIZER };
	pack_relpath(pk->index_sha256, true, run->name);
	run->wanted = calloc(missing->n + 1, sizeof(*run->wanted));
	run->want_index = calloc(missing->n + 1, sizeof(*run->want_index));
	run->got = calloc(missing->n + 1, sizeof(*run->got));
	run->queued = calloc(missing->n + 1, sizeof(*run->queued));
	run->published = calloc(missing->n + 1, sizeof(*run->published));
	run->ranges = calloc(missing->n + 1, sizeof(*run->ranges));
	if (!run->wanted || !run->want_index || !run->got || !run->queued || !run->published || !run->ranges ||
	    asprintf(&run->url, "%s/%s", pp->base, run->name) < 0) {
		run->url = NULL;
		run_free(run);
		return -ENOMEM;
	}
	r = delta_entries_of(pp, pk, idx, missing, &run->de);
	if (r < 0) {
		run_free(run);
		return r;
	}
	/*
	 * Both sorted by digest, and the body is in digest order: one walk gives
	 * body order. An object with a delta here takes it instead of its own
	 * frame; then the wanted entries are put in body order again.
	 */
	for (size_t i = 0, j = 0, d = 0; i < missing->n; i++) {
		const uint8_t *want = missing->v[i].digest;

		while (d < run->de.n && memcmp(run->de.v[d].digest, want, 32) < 0)
			d++;
		if (d < run->de.n && memcmp(run->de.v[d].digest, want, 32) == 0) {
			run->want_index[run->n_wanted] = i;
			run->wanted[run->n_wanted++] = &run->de.v[d];
			continue;
		}
		while (j < idx->n_entries && memcmp(idx->entries[j].digest, want, 32) < 0)
			j++;
		if (j == idx->n_entries || memcmp(idx->entries[j].digest, want, 32) != 0)
			continue;
		if (pk->has_from && memcmp(idx->entries[j].digest, pp->image_digest, 32) == 0)
			continue;       /* the image's frame needs a prefix: an object of the same bytes comes loose */
		if (idx->entries[j].size != missing->v[i].size) {
			warn(pp, "%s: skipped, bad index: object %zu has %llu bytes in the index, %llu in the image",
			     run->name, j, (unsigned long long)idx->entries[j].size, (unsigned long long)missing->v[i].size);
			pp->bad[k] = true;
			run_free(run);
			return 0;
		}
		run->want_index[run->n_wanted] = i;
		run->wanted[run->n_wanted++] = &idx->entries[j];
	}
	if (run->de.n > 0) {
		/* Sort wanted by body offset, want_index along. */
		_cleanup_free_ struct wanted_at *w = calloc(run->n_wanted + 1, sizeof(*w));

		if (!w) {
			run_free(run);
			return -ENOMEM;
		}
		for (size_t i = 0; i < run->n_wanted; i++)
			w[i] = (struct wanted_at){ run->wanted[i], run->want_index[i] };
		qsort(w, run->n_wanted, sizeof(*w), cmp_offset);
		for (size_t i = 0; i < run->n_wanted; i++) {
			run->wanted[i] = w[i].e;
			run->want_index[i] = w[i].want_index;
		}
	}
	/*
	 * Ranges of about an even share of the bytes per request in flight: on
	 * a long round trip each connection's window grows from TCP's initial
	 * one, so the bytes spread over every connection arrive in the fewest
	 * round trips (a few ranges of RANGE_SIZE_MAX left most connections idle).
	 */
	for (size_t i = 0; i < run->n_wanted; i++)
		wanted_bytes += run->wanted[i]->csize;
	range_max = wanted_bytes / http_range_parts(pp->http, wanted_bytes, RANGE_SIZE_MIN);
	range_max = MIN(MAX(range_max, (uint64_t)RANGE_SIZE_MIN), (uint64_t)RANGE_SIZE_MAX);
	/* The image's frame and its delta are fetched on their own (pack_fetch_image): no range takes them as a gap. */
	image = pack_index_find(idx, pp->image_digest);
	pack_image_delta_key(pp->image_digest, key);
	delta = pack_index_find(idx, key);
	for (size_t i = 0; i < run->n_wanted; i++) {
		const struct pack_entry *e = run->wanted[i];
		struct range_fetch *last = run->n_ranges ? &run->ranges[run->n_ranges - 1] : NULL;
		/* An object delta's frame is keyed by its object, not its entry: not kept (its bytes would not be the frame's). */
		uint64_t kept = e->csize >= PACK_PARTIAL_MIN && !e->prefix ? pack_partial_length(pp->repo, e->digest, e->csize) : 0;

		if (kept > 0) {
			/* An earlier pull kept the start of this frame: a range of its own, from where it stopped. */
			run->ranges[run->n_ranges++] = (struct range_fetch){
				.run = run, .first = i, .last = i, .cur = i, .start = e->offset + kept, .pos = e->offset + kept,
				.end = e->offset + e->csize, .replay = kept, .zfd = -EBADF };
			continue;
		}
		if (last && !last->replay && e->offset - last->end <= RANGE_GAP_MAX && e->offset + e->csize - last->start <= range_max &&
		    !(image && image->offset >= last->end && image->offset < e->offset) &&
		    !(delta && delta->offset >= last->end && delta->offset < e->offset)) {
			last->last = i;
			last->end = e->offset + e->csize;
			continue;
		}
		run->ranges[run->n_ranges++] = (struct range_fetch){ .run = run, .first = i, .last = i, .cur = i,
								     .start = e->offset, .pos = e->offset,
								     .end = e->offset + e->csize, .zfd = -EBADF };
	}
	if (run->n_ranges > 0) {
		r = frame_pool_new(pp->repo, pp->dirs, run->wanted, pool_result, run, &run->pool);
		if (r < 0) {
			run_free(run);
			return r;
		}
	}
	*ret = run;
	for (size_t i = 0; i < run->n_ranges; i++) {
		struct http_request_options o = { .range_start = run->ranges[i].start, .range_end = run->ranges[i].end };

		r = http_add_with(pp->http, run->url, &o, &range_ops, &run->ranges[i]);
		if (r < 0)
			return r;       /* the ranges queued point into run: the caller frees it only when nothing runs again */
	}
	return 0;
}

/*
 * After the http_run() that ran run's ranges: the last frames decoded and
 * counted; a failure warned about, the pack marked bad (a local one
 * returned); missing (the list run_start() had, or NULL) loses what was
 * published.
 */
static int run_finish(struct pack_run *run, struct want_list *missing)
{
	struct pack_pull *pp = run->pp;
	_cleanup_free_ bool *done = NULL;
	size_t n = 0;

	if (run->pool) {
		/* Every range is done and its frames queued: the last ones decoded, then counted. */
		frame_pool_drain(run->pool);
		report_published(run);
	}
	if (run->error) {
		warn(pp, "%s: abandoned, the rest from loose objects: %s", run->name, run->why);
		pp->bad[run->pk - pp->summary->packs] = true;
		if (run->error == -ERANGE)
			pp->no_ranges = true;   /* the server ignores Range: no pack will do better */
		if (run->error == -ENOMEM || run->error == -ENOSPC || run->error == -EROFS || run->error == -EDQUOT)
			return st_errf(run->error, "%s", run->why);
	}
	if (!missing)
		return 0;
	/* What was published leaves the missing set. */
	done = calloc(missing->n + 1, sizeof(*done));
	if (!done)
		return -ENOMEM;
	for (size_t i = 0; i < run->n_wanted; i++)
		if (run->got[i])
			done[run->want_index[i]] = true;
	for (size_t i = 0; i < missing->n; i++)
		if (!done[i])
			missing->v[n++] = missing->v[i];
	missing->n = n;
	return 0;
}

/* One pack: the objects of missing it holds, fetched. 0, or a negative errno for a local failure. */
static int pull_pack(struct pack_pull *pp, size_t k, struct want_list *missing)
{
	struct pack_run *run = NULL;
	int r;

	r = run_start(pp, k, missing, &run);
	if (r >= 0 && run)
		r = http_run(pp->http);
	if (r >= 0 && run)
		r = run_finish(run, missing);
	run_free(run);
	return r;
}

int pack_pull_init(struct pack_pull *pp, const struct st_summary *summary)
{
	pp->summary = summary;
	pp->indices = calloc(summary->n_packs + 1, sizeof(*pp->indices));
	pp->bad = calloc(summary->n_packs + 1, sizeof(*pp->bad));
	if (!pp->indices || !pp->bad) {
		pack_pull_done(pp);
		return -ENOMEM;
	}
	return 0;
}

/* pack_pull_prefetch()'s lists. */
static void prefetch_lists_free(struct pack_pull *pp)
{
	if (pp->prefetch_asked)
		free(pp->prefetch_asked->v);
	free(pp->prefetch_asked);
	if (pp->prefetch_published)
		free(pp->prefetch_published->v);
	free(pp->prefetch_published);
	pp->prefetch_asked = pp->prefetch_published = NULL;
}

void pack_pull_done(struct pack_pull *pp)
{
	/* A prefetch not finished: its ranges, still queued, go with the http handle (the pull failed). */
	pp->prefetch = run_free(pp->prefetch);
	prefetch_lists_free(pp);
	for (size_t k = 0; pp->indices && k < pp->summary->n_packs; k++)
		pack_index_free(pp->indices[k]);
	free(pp->indices);
	free(pp->bad);
	pp->indices = NULL;
	pp->bad = NULL;
}

unsigned pack_pull_connections(struct pack_pull *pp, const uint8_t commit[32])
{
	for (int pass = 0; pass < 2; pass++)
		for (size_t k = 0; k < pp->summary->n_packs; k++)
			if (pack_candidate(pp, k, commit, pass))
				return http_range_parts(pp->http, pp->summary->packs[k].index_size, HTTP_PART_MIN) > 1 ?
					       http_jobs(pp->http) : 1;
	return 1;
}

int pack_pull_objects(struct pack_pull *pp, const uint8_t commit[32], struct want_list *missing)
{
	int r;

	/* Packs from a commit this repository has first (they hold just the change), the full pack last. */
	for (int pass = 0; pass < 2; pass++)
		for (size_t k = 0; k < pp->summary->n_packs && missing->n > 0; k++) {
			if (!pack_candidate(pp, k, commit, pass))
				continue;
			r = pull_pack(pp, k, missing);
			if (r < 0)
				return r;
		}
	return 0;
}

/* ---- objects with the image ---------------------------------------------------- */

int pack_pull_prefetch(struct pack_pull *pp, const uint8_t commit[32])
{
	const struct pack_index *idx = NULL;
	struct want_list *w;
	size_t k = SIZE_MAX;
	int r;

	if (pp->prefetch)
		return -EBUSY;
	prefetch_lists_free(pp);
	if (!pp->dirs)
		return 0;
	/*
	 * A full pack, the first pack_fetch_image() tries: not when a pack from
	 * a commit here is on offer (an update), whose object deltas are chosen
	 * from the image, and whose entries are not all objects.
	 */
	for (size_t i = 0; i < pp->summary->n_packs; i++)
		if (pack_candidate(pp, i, commit, 0))
			return 0;
	for (int pass = 1; pass < 2 && k == SIZE_MAX; pass++)
		for (size_t i = 0; i < pp->summary->n_packs && k == SIZE_MAX; i++) {
			if (!pack_candidate(pp, i, commit, pass))
				continue;
			r = get_index(pp, i, &idx);
			if (r == -ENOMEM)
				return r;
			if (r == 0)
				k = i;
		}
	if (k == SIZE_MAX)
		return 0;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	pp->prefetch_asked = w;
	w->v = calloc(idx->n_entries + 1, sizeof(*w->v));
	if (!w->v)
		return -ENOMEM;
	w->cap = idx->n_entries + 1;
	/* Every entry the repository lacks but the image (the index is in digest order). */
	for (size_t j = 0; j < idx->n_entries; j++) {
		const struct pack_entry *e = &idx->entries[j];

		if (memcmp(e->digest, pp->image_digest, 32) == 0)
			continue;
		r = object_dirs_have(pp->dirs, e->digest, e->size);
		if (r < 0)
			return r;
		if (r == 0) {
			memcpy(w->v[w->n].digest, e->digest, 32);
			w->v[w->n++].size = e->size;
		}
	}
	if (w->n == 0)
		return 0;
	return run_start(pp, k, w, &pp->prefetch);
}

int pack_pull_prefetch_finish(struct pack_pull *pp, const struct want_list **ret_asked,
			      const struct want_list **ret_published)
{
	struct pack_run *run = pp->prefetch;
	const struct want_list *asked = pp->prefetch_asked;
	_cleanup_free_ bool *got = NULL;
	struct want_list *pub;
	int r;

	*ret_asked = asked;
	*ret_published = NULL;
	if (!run)
		return 0;
	r = http_run(pp->http);         /* nothing left to run, unless no image came from a pack */
	if (r >= 0)
		r = run_finish(run, NULL);
	/* What it published, in the order of asked (by digest). */
	pub = calloc(1, sizeof(*pub));
	got = calloc(asked->n + 1, sizeof(*got));
	if (r >= 0 && (!pub || !got || !(pub->v = calloc(asked->n + 1, sizeof(*pub->v)))))
		r = -ENOMEM;
	if (r >= 0) {
		for (size_t i = 0; i < run->n_wanted; i++)
			if (run->got[i])
				got[run->want_index[i]] = true;
		for (size_t i = 0; i < asked->n; i++)
			if (got[i])
				pub->v[pub->n++] = asked->v[i];
		pub->cap = asked->n + 1;
		pp->prefetch_published = TAKE_PTR(pub);
		*ret_published = pp->prefetch_published;
	}
	if (pub)
		free(pub->v);
	free(pub);
	pp->prefetch = run_free(run);
	return r;
}

/* ---- the image ---------------------------------------------------------------- */

/*
 * Entry e of pack k (what) fetched by one range and decompressed in one shot
 * into a buffer of exactly e->size bytes (nothing more can be written),
 * against prefix if not NULL. *ret is malloc'ed. 0, or a negative errno with
 * a detail naming the URL.
 */
static int frame_fetch(struct pack_pull *pp, size_t k, const struct pack_entry *e, const char *what, const void *prefix,
		       size_t prefix_len, char **ret)
{
	const struct st_summary_pack *pk = &pp->summary->packs[k];
	_cleanup_free_ char *url = NULL, *out = NULL, *frame = NULL;
	ZSTD_DCtx *d;
	char name[80];
	size_t n;
	int r;

	pack_relpath(pk->index_sha256, true, name);
	if (asprintf(&url, "%s/%s", pp->base, name) < 0)
		return -ENOMEM;
	out = malloc(e->size ? (size_t)e->size : 1);
	if (!out)
		return -ENOMEM;
	/*
	 * In parts on several connections (http_get_range()), ahead of anything
	 * queued; beside a prefetch's ranges (which wait for no image) on a
	 * quarter of the connections, so that most of them start the objects.
	 */
	r = http_get_range(pp->http, url, e->offset, (size_t)e->csize, pp->prefetch ? MAX(http_jobs(pp->http) / 4, 1u) : 0,
			   &frame);
	if (r == -EPROTO)
		return st_errf(-EUCLEAN, "%s: the %s's range ended early", url, what);
	if (r < 0)
		return r;
	pp->opts->pack_bytes += e->csize;
	d = ZSTD_createDCtx();
	if (!d)
		return -ENOMEM;
	(void)ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, 31);
	if (prefix && ZSTD_isError(ZSTD_DCtx_refPrefix(d, prefix, prefix_len)))
		n = (size_t)-1;
	else
		n = ZSTD_decompressDCtx(d, out, (size_t)e->size, frame, (size_t)e->csize);
	ZSTD_freeDCtx(d);
	if (ZSTD_isError(n) || n != e->size)
		return st_errf(-EUCLEAN, "%s: the %s's frame does not decompress to its %llu bytes", url, what,
			       (unsigned long long)e->size);
	*ret = TAKE_PTR(out);
	return 0;
}

/* The image of the commit pack k was made from, decompressed and checked; 0, or a negative errno with a detail. */
static int image_from_pack(struct pack_pull *pp, size_t k, const struct pack_entry *e, const uint8_t digest[32],
			   const void *prefix, size_t prefix_len, char **ret)
{
	const struct st_summary_pack *pk = &pp->summary->packs[k];
	_cleanup_free_ char *url = NULL, *image = NULL;
	uint8_t got[32];
	char name[80];
	size_t n = (size_t)e->size;
	int r;

	pack_relpath(pk->index_sha256, true, name);
	if (asprintf(&url, "%s/%s", pp->base, name) < 0)
		return -ENOMEM;
	r = frame_fetch(pp, k, e, "image", prefix, prefix_len, &image);
	if (r < 0)
		return r;
	r = st_verity_digest_buffer(image, n, got);
	if (r < 0)
		return r;
	if (memcmp(got, digest, 32) != 0)
		return st_errf(-EUCLEAN, "%s: the image's bytes do not have the commit's image digest", url);
	*ret = TAKE_PTR(image);
	return 0;
}

/* The bytes of the image of commit id in this repository (the prefix of a pack from it), or NULL. */
static uint8_t *local_image(struct st_repo *repo, const uint8_t id[ST_COMMIT_ID_SIZE], size_t *ret_len)
{
	struct st_commit *c = NULL;
	uint8_t *data = NULL;
	int fd;

	if (st_repo_read_commit(repo, id, &c) < 0)
		return NULL;
	fd = st_repo_open_image(repo, c->image_digest);
	st_commit_free(c);
	if (fd < 0)
		return NULL;
	if (read_fd_all(fd, &data, ret_len) < 0)
		data = NULL;
	close(fd);
	return data;
}

/*
 * The image from the delta entry of pack k (a pack from F; prefix: F's
 * image): F's dump as the prefix, C's dump decoded (at most a bound the
 * image's size gives), the image written from it at the commit's format
 * version, its digest checked. -ENOENT: the pack has no delta.
 */
static int image_from_delta(struct pack_pull *pp, size_t k, const struct pack_index *idx, const uint8_t digest[32],
			    uint64_t size, uint32_t version, const void *prefix, size_t prefix_len, char **ret)
{
	_cleanup_free_ char *old = NULL, *dump = NULL;
	_cleanup_free_ void *image = NULL;
	const struct pack_entry *e;
	uint8_t key[32], got[32];
	size_t old_len, image_len;
	int r;

	pack_image_delta_key(digest, key);
	e = pack_index_find(idx, key);
	if (!e)
		return -ENOENT;
	if (e->size > IMAGE_DUMP_MAX(size) || e->size > IMAGE_DUMP_LIMIT)
		return st_errf(-EUCLEAN, "its dump would be %llu bytes, beyond what a %llu-byte image gives",
			       (unsigned long long)e->size, (unsigned long long)size);
	r = pack_image_dump(prefix, prefix_len, &old, &old_len);
	if (r < 0)
		return r == -ENOMEM ? r : st_errf(r, "the local image of the pack's base does not read");
	r = frame_fetch(pp, k, e, "image delta", old, old_len, &dump);
	if (r < 0)
		return r;
	r = pack_image_from_dump(dump, (size_t)e->size, version, (size_t)size, &image, &image_len, got);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return st_errf(-EUCLEAN, "its dump does not give an image: %s",
			       st_error_detail() ? st_error_detail() : st_error_message(r));
	if (image_len != size || memcmp(got, digest, 32) != 0)
		return st_errf(-EUCLEAN, "the image its dump gives does not have the commit's image digest");
	*ret = TAKE_PTR(image);
	return 0;
}

int pack_fetch_image(struct pack_pull *pp, const uint8_t commit[32], const uint8_t digest[32], uint64_t size,
		     uint32_t version, char **ret)
{
	int r;

	for (int pass = 0; pass < 2; pass++)
		for (size_t k = 0; k < pp->summary->n_packs; k++) {
			const struct st_summary_pack *pk = &pp->summary->packs[k];
			const struct pack_index *idx;
			const struct pack_entry *e;
			_cleanup_free_ uint8_t *prefix = NULL;
			size_t prefix_len = 0;
			char name[80];

			if (!pack_candidate(pp, k, commit, pass))
				continue;
			r = get_index(pp, k, &idx);
			if (r == -ENOMEM)
				return r;
			if (r < 0)
				continue;
			e = pack_index_find(idx, digest);
			if (!e || e->size != size)
				continue;       /* a pack need not carry the image */
			if (pk->has_from) {
				prefix = local_image(pp->repo, pk->from, &prefix_len);
				if (!prefix)
					continue;
				/* The image delta first: a fraction of the image's own frame. */
				r = image_from_delta(pp, k, idx, digest, size, version, prefix, prefix_len, ret);
				if (r == -ENOMEM)
					return r;
				if (r == 0)
					return 0;
				if (r != -ENOENT) {
					pack_relpath(pk->index_sha256, true, name);
					warn(pp, "%s: image delta not used, the image's frame instead: %s", name,
					     st_error_detail() ? st_error_detail() : st_error_message(r));
				}
			}
			r = image_from_pack(pp, k, e, digest, prefix, prefix_len, ret);
			if (r == -ENOMEM)
				return r;
			if (r == 0)
				return 0;
			pack_relpath(pk->index_sha256, true, name);
			warn(pp, "%s: abandoned, the image from elsewhere: %s", name,
			     st_error_detail() ? st_error_detail() : st_error_message(r));
			pp->bad[k] = true;
			if (r == -ERANGE)
				pp->no_ranges = true;
		}
	return -ENOENT;
}
