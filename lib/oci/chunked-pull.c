/* SPDX-License-Identifier: MIT */
/*
 * A partial pull of a zstd:chunked layer (docs/formats/oci.md, "Partial
 * pulls"). The TOC is fetched by Range and checked against the manifest's
 * annotation; each file whose fs-verity digest (our TOC key) names an
 * object of the store is local. Everything else below the TOC (the frames
 * of missing files and the frames between files, which hold the tar
 * headers) is fetched with one Range request per contiguous run into a
 * sparse private file. A file without our key (a layer of another
 * producer: the TOC names it by SHA-256 only) is local when the
 * repository's SHA-256 index (repo/sha256-index.h) names an object whose
 * bytes do have that SHA-256: a hint checked against the object's bytes
 * before use, never trusted. The layer's tar is then rebuilt in order: fetched
 * frames decompressed (a fetched file's frame must decompress to exactly
 * its size, SHA-256 and fs-verity digest, or the entry is named), local
 * files copied from their objects; the tar's SHA-256 must be the config's
 * diff_id before the tar gets its name. The import reads that tar as the
 * layer (import.c), so every rule of layers applies unchanged. With a TOC
 * delta (docs/formats/oci.md, "TOC deltas") whose base pair the store
 * keeps, the delta alone is fetched instead of the TOC and headers frame;
 * what it rebuilds must have the manifest's pair digest, else the TOC is
 * fetched as before. Every pair checked is kept for the next pull.
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "basic/beneath.h"
#include "basic/dirent-util.h"
#include "basic/error.h"
#include "basic/io.h"
#include "basic/publish.h"
#include "chunked.h"
#include "fundamental/macro.h"
#include "registry-internal.h"
#include "repo/sha256-index.h"
#include "sealtree/repo-objects.h"
#include "sealtree/verity.h"

#define COPY_CHUNK (1u << 20)
#define PAIRS_DIR "cache/chunked-pairs"
/* Two missing files at most this far apart are fetched by one request (the frame between them too). */
#define RANGE_MERGE_GAP 4096u

struct range_fetch {
	int fd;                         /* the sparse file, written at the blob's offsets */
	uint64_t start, end, got;
	int result;
	char detail[512];
};

static int range_data(void *userdata, const void *buf, size_t len)
{
	struct range_fetch *f = userdata;
	int r;

	if (len > f->end - f->start - f->got)
		return -EFBIG;
	r = pwrite_full(f->fd, buf, len, f->start + f->got);
	if (r < 0)
		return r;
	f->got += len;
	return 0;
}

static void range_reset(void *userdata)
{
	((struct range_fetch *)userdata)->got = 0;
}

static uint64_t range_resume(void *userdata)
{
	return ((struct range_fetch *)userdata)->got;
}

static void range_done(void *userdata, int result, const char *detail)
{
	struct range_fetch *f = userdata;

	f->result = result;
	if (result >= 0 && f->got != f->end - f->start)
		f->result = -EIO;
	(void)snprintf(f->detail, sizeof(f->detail), "%s", detail ? detail : "");
}

static const struct http_request_ops range_fetch_ops = {
	.data = range_data, .reset = range_reset, .done = range_done, .resume = range_resume,
};

/* Fetch the ranges (n of them) of the blob into fd: 0, 1 if the registry ignores Range, or -errno. */
static int fetch_ranges(struct registry *reg, const char *digest, int fd, struct range_fetch *rf, size_t n,
			struct chunked_stats *stats)
{
	_cleanup_free_ char *url = NULL;
	const char *headers[2] = { reg->authorization, NULL };
	int r = 0;

	if (asprintf(&url, "%s/v2/%s/blobs/%s", reg->base, reg->name, digest) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < n && r >= 0; i++) {
		rf[i].fd = fd;
		rf[i].got = 0;
		rf[i].result = -EIO;
		r = http_add_with(reg->http, url,
				  &(struct http_request_options){ .headers = reg->authorization ? headers : NULL,
								  .range_start = rf[i].start, .range_end = rf[i].end },
				  &range_fetch_ops, &rf[i]);
	}
	if (r >= 0)
		r = http_run(reg->http);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		if (rf[i].result == -ERANGE)
			return 1;
		if (rf[i].result < 0)
			return st_errf(rf[i].result, "layer %s: bytes %" PRIu64 "-%" PRIu64 " from %s: %s", digest,
				       rf[i].start, rf[i].end, url, rf[i].detail);
		stats->bytes += rf[i].got;
		stats->requests++;
	}
	return 0;
}

struct rebuild {
	int src_fd, tar_fd;
	uint64_t tar_off, tar_max;
	struct oci_hash tar_hash;
	ZSTD_DCtx *dctx;
	uint8_t *in, *out;
	const char *layer;
};

static int tar_append(struct rebuild *b, const void *data, size_t len)
{
	int r;

	if (len > b->tar_max - b->tar_off)
		return st_errf(-EFBIG, "layer %s: the rebuilt tar is larger than %" PRIu64 " bytes", b->layer,
			       b->tar_max);
	r = pwrite_full(b->tar_fd, data, len, b->tar_off);
	if (r < 0)
		return r;
	oci_hash_update(&b->tar_hash, data, len);
	b->tar_off += len;
	return 0;
}

/*
 * Decompress the whole frames in [start, end) of the sparse file onto the
 * tar. For a file's frame (f), the output must be its contents: counted,
 * hashed both ways and compared. what names the segment in errors.
 */
static int decompress_segment(struct rebuild *b, uint64_t start, uint64_t end, const struct chunked_file *f,
			      const char *what)
{
	struct oci_hash h;
	struct st_verity_hasher *vh = NULL;
	uint64_t off = start, produced = 0;
	size_t last = 0;
	int r = 0;

	ZSTD_DCtx_reset(b->dctx, ZSTD_reset_session_only);
	if (f) {
		what = f->name;
		if (oci_hash_init(&h) < 0)
			return -ENOMEM;
		r = st_verity_hasher_new(&vh);
		if (r < 0) {
			oci_hash_done(&h);
			return r;
		}
	}
	while (off < end && r >= 0) {
		size_t n = (size_t)MIN((uint64_t)COPY_CHUNK, end - off);
		ssize_t k = pread(b->src_fd, b->in, n, (off_t)off);
		ZSTD_inBuffer in = { b->in, 0, 0 };

		if (k != (ssize_t)n) {
			r = k < 0 ? -errno : -EIO;
			break;
		}
		in.size = n;
		off += n;
		while (in.pos < in.size && r >= 0) {
			ZSTD_outBuffer out = { b->out, COPY_CHUNK, 0 };

			last = ZSTD_decompressStream(b->dctx, &out, &in);
			if (ZSTD_isError(last)) {
				r = st_errf(-EBADMSG, "layer %s: %s: not zstd frames (%s): the TOC's offsets lie", b->layer,
					    what, ZSTD_getErrorName(last));
				break;
			}
			if (f && out.pos > f->size - produced) {
				r = st_errf(-EBADMSG, "layer %s: TOC entry '%s': its frame holds more than its %" PRIu64
					    " bytes", b->layer, f->name, f->size);
				break;
			}
			produced += out.pos;
			if (f) {
				oci_hash_update(&h, b->out, out.pos);
				r = st_verity_hasher_update(vh, b->out, out.pos);
			}
			if (r >= 0)
				r = tar_append(b, b->out, out.pos);
		}
	}
	if (r >= 0 && last != 0)
		r = st_errf(-EBADMSG, "layer %s: %s: ends inside a zstd frame: the TOC's offsets lie", b->layer, what);
	if (f) {
		uint8_t sha[OCI_DIGEST_SIZE], ver[32];

		oci_hash_final(&h, sha);
		oci_hash_done(&h);
		if (r >= 0 && produced != f->size)
			r = st_errf(-EBADMSG, "layer %s: TOC entry '%s': its frame holds %" PRIu64 " bytes, the TOC says %"
				    PRIu64, b->layer, f->name, produced, f->size);
		if (r >= 0 && memcmp(sha, f->sha256, sizeof(sha)) != 0)
			r = st_errf(-EBADMSG, "layer %s: TOC entry '%s': the contents fetched do not have its sha256 digest",
				    b->layer, f->name);
		if (r >= 0)
			r = st_verity_hasher_final(vh, ver);
		if (r >= 0 && f->has_verity && memcmp(ver, f->verity, sizeof(ver)) != 0)
			r = st_errf(-EBADMSG, "layer %s: TOC entry '%s': the contents fetched do not have its fs-verity "
				    "digest", b->layer, f->name);
		st_verity_hasher_free(vh);
	}
	return r;
}

/* A local file's contents, from its object. */
static int copy_object(struct st_repo *repo, struct rebuild *b, const struct chunked_file *f)
{
	_cleanup_close_ int fd = st_repo_open_object(repo, f->verity);
	struct stat st;
	uint64_t off = 0;

	if (fd < 0)
		return st_errf(fd, "layer %s: TOC entry '%s': cannot open its object", b->layer, f->name);
	if (fstat(fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size != f->size)
		return st_errf(-EBADMSG, "layer %s: TOC entry '%s': its object has %" PRIu64 " bytes, the TOC says %"
			       PRIu64, b->layer, f->name, (uint64_t)st.st_size, f->size);
	while (off < f->size) {
		ssize_t k = pread(fd, b->out, (size_t)MIN((uint64_t)COPY_CHUNK, f->size - off), (off_t)off);
		int r;

		if (k <= 0)
			return k < 0 ? -errno : -EIO;
		r = tar_append(b, b->out, (size_t)k);
		if (r < 0)
			return r;
		off += (uint64_t)k;
	}
	return 0;
}

/* Our tar headers frame (chunked.h): where it is, its bytes decompressed, split into runs. */
struct headers {
	bool present;
	bool from_delta, borrowed;      /* from the delta's pair (data borrowed from it) */
	char digest[ST_OCI_DIGEST_STRING_SIZE];
	uint64_t offset, length, uncompressed;
	uint8_t *data;
	struct chunked_run *runs;
};

static void headers_done(struct headers *h)
{
	if (!h->borrowed)
		free(h->data);
	free(h->runs);
}

/*
 * A compressed part of a layer (the TOC, the tar headers frame) at off in fd:
 * its len bytes must have the manifest's digest and decompress to exactly
 * ulen bytes into out. -EBADMSG says which failed, naming the part (what).
 */
static int read_part(int fd, uint64_t off, uint64_t len, uint64_t ulen, const char *digest, const char *what,
		     uint8_t *out)
{
	_cleanup_free_ uint8_t *z = malloc(len ? len : 1);
	size_t n;

	if (!z)
		return -ENOMEM;
	if (pread(fd, z, len, (off_t)off) != (ssize_t)len)
		return -EIO;
	if (!oci_sha256_matches(z, len, digest))
		return st_errf(-EBADMSG, "%s does not match the manifest's digest %s", what, digest);
	n = ZSTD_decompress(out, ulen, z, len);
	if (ZSTD_isError(n) || n != ulen)
		return st_errf(-EBADMSG, "%s does not decompress to %" PRIu64 " bytes", what, ulen);
	return 0;
}

/* The fetched headers frame (in b's sparse file): checked against its digest, decompressed, split in n runs. */
static int read_headers(struct rebuild *b, struct headers *h, size_t n)
{
	int r;

	h->data = malloc(h->uncompressed);
	h->runs = calloc(n, sizeof(*h->runs));
	if (!h->data || !h->runs)
		return -ENOMEM;
	r = read_part(b->src_fd, h->offset, h->length, h->uncompressed, h->digest, "its tar headers frame", h->data);
	if (r == -EBADMSG)
		return st_errf(r, "layer %s: %s", b->layer, st_error_detail());
	if (r < 0)
		return r;
	st_error_clear();
	r = chunked_headers_split(h->data, h->uncompressed, n, h->runs);
	if (r < 0)
		return st_errf(r, "layer %s: %s", b->layer, st_error_detail() ?: "bad tar headers frame");
	return 0;
}

/* The TOC: fetched by Range into the sparse file, checked, decompressed, parsed. */
static int read_toc(struct registry *reg, const struct oci_descriptor *d, int fd, const char *toc_digest,
		    uint64_t off, uint64_t len, uint64_t ulen, struct chunked_toc *ret, uint8_t **ret_json,
		    struct chunked_stats *stats)
{
	_cleanup_free_ uint8_t *json = malloc(ulen + 1);
	struct range_fetch rf = { .start = off, .end = off + len };
	int r;

	if (!json)
		return -ENOMEM;
	r = fetch_ranges(reg, d->digest, fd, &rf, 1, stats);
	if (r != 0)
		return r;
	r = read_part(fd, off, len, ulen, toc_digest, "its TOC", json);
	if (r == -EBADMSG)
		return st_errf(r, "layer %s: %s", d->digest, st_error_detail());
	if (r < 0)
		return r;
	st_error_clear();
	r = chunked_toc_parse(json, ulen, off - 8, ret);
	if (r < 0)
		return st_errf(r, "layer %s: %s", d->digest, st_error_detail() ? st_error_detail() : "bad TOC");
	*ret_json = TAKE_PTR(json);
	return 0;
}

int chunked_pair_from_fd(int fd, const void *manifest, size_t len, size_t index, uint64_t blob_size,
			 uint8_t **ret, size_t *ret_len, char ret_digest[ST_OCI_DIGEST_STRING_SIZE])
{
	_cleanup_free_ uint8_t *pair = NULL;
	char toc_dg[ST_OCI_DIGEST_STRING_SIZE], hdrs_dg[ST_OCI_DIGEST_STRING_SIZE];
	uint64_t toc_off, toc_len, toc_ulen, h_off, h_len, h_ulen;
	uint8_t d[OCI_DIGEST_SIZE];
	int r;

	r = chunked_layer_position(manifest, len, index, blob_size, toc_dg, &toc_off, &toc_len, &toc_ulen);
	if (r >= 0)
		r = chunked_headers_position(manifest, len, index, blob_size, hdrs_dg, &h_off, &h_len, &h_ulen);
	if (r < 0)
		return r;
	pair = malloc(toc_ulen + h_ulen);
	if (!pair)
		return -ENOMEM;
	r = read_part(fd, toc_off, toc_len, toc_ulen, toc_dg, "its TOC", pair);
	if (r >= 0)
		r = read_part(fd, h_off, h_len, h_ulen, hdrs_dg, "its tar headers frame", pair + toc_ulen);
	if (r < 0)
		return r;
	oci_sha256(pair, toc_ulen + h_ulen, d);
	oci_digest_format(d, ret_digest);
	*ret_len = toc_ulen + h_ulen;
	*ret = TAKE_PTR(pair);
	return 0;
}

int chunked_fetch_pair(struct registry *reg, int tmp_dfd, const void *manifest, size_t len, size_t index,
		       const struct oci_descriptor *d, uint8_t **ret, size_t *ret_len,
		       char ret_digest[ST_OCI_DIGEST_STRING_SIZE])
{
	_cleanup_close_ int fd = -EBADF;
	struct range_fetch rf[2] = {};
	struct chunked_stats stats = {};
	char dg[ST_OCI_DIGEST_STRING_SIZE];
	uint64_t ulen;
	int r;

	r = chunked_layer_position(manifest, len, index, d->size, dg, &rf[0].start, &rf[0].end, &ulen);
	if (r >= 0)
		r = chunked_headers_position(manifest, len, index, d->size, dg, &rf[1].start, &rf[1].end, &ulen);
	if (r < 0)
		return r;
	rf[0].end += rf[0].start;
	rf[1].end += rf[1].start;
	fd = openat(tmp_dfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	r = fetch_ranges(reg, d->digest, fd, rf, 2, &stats);
	if (r == 1)
		return -ENOENT;         /* no Range: no delta */
	if (r < 0)
		return r;
	return chunked_pair_from_fd(fd, manifest, len, index, d->size, ret, ret_len, ret_digest);
}

void chunked_pair_keep(struct st_repo *repo, const uint8_t *pair, size_t len)
{
	_cleanup_close_ int dfd = mkdirat_beneath(st_repo_dirfd(repo), PAIRS_DIR, 0755, false);
	char dg[ST_OCI_DIGEST_STRING_SIZE];
	uint8_t d[OCI_DIGEST_SIZE];

	if (dfd < 0) {
		st_error_clear();
		return;
	}
	oci_sha256(pair, len, d);
	oci_digest_format(d, dg);
	if (publish_data(dfd, dg + 7, PAIRS_DIR, pair, len, 0644, 0, NULL) < 0)
		st_error_clear();
}

/* The kept pair named digest: its bytes (checked against the name), or -ENOENT. */
static int pair_lookup(struct st_repo *repo, const char *digest, uint8_t **ret, size_t *ret_len)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ uint8_t *data = NULL;
	uint8_t want[OCI_DIGEST_SIZE], got[OCI_DIGEST_SIZE];
	struct stat st;

	if (oci_digest_parse(digest, want) < 0 || asprintf(&path, PAIRS_DIR "/%s", digest + 7) < 0)
		return -ENOENT;
	fd = openat_beneath(st_repo_dirfd(repo), path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0) {
		st_error_clear();
		return -ENOENT;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 || (uint64_t)st.st_size > CHUNKED_PAIR_MAX)
		return -ENOENT;
	data = malloc((size_t)st.st_size);
	if (!data)
		return -ENOMEM;
	if (pread(fd, data, (size_t)st.st_size, 0) != st.st_size)
		return -ENOENT;
	oci_sha256(data, (size_t)st.st_size, got);
	if (memcmp(want, got, sizeof(got)) != 0)
		return -ENOENT;         /* a damaged cache entry: as if absent */
	*ret_len = (size_t)st.st_size;
	*ret = TAKE_PTR(data);
	return 0;
}

/*
 * The TOC's JSON and the headers frame decompressed, from the delta: the
 * store keeps the base pair, the delta fetched by one Range request matches
 * its digest, decompresses with the base as prefix to exactly toc_ulen +
 * h_ulen bytes, and those have the manifest's pair digest. 1: done (*ret,
 * the pair); 0: no delta to use (why in *why, the TOC is fetched); -errno.
 */
static int pair_from_delta(struct st_repo *repo, struct registry *reg, const struct oci_descriptor *d,
			   const struct chunked_delta *dl, int fd, uint64_t toc_ulen, uint64_t h_ulen, uint8_t **ret,
			   struct chunked_stats *stats, const char **why)
{
	_cleanup_free_ uint8_t *base = NULL, *z = NULL, *pair = NULL;
	struct range_fetch rf = { .start = dl->offset, .end = dl->offset + dl->length };
	ZSTD_DCtx *dctx;
	size_t base_len = 0, n;
	int r;

	*why = NULL;
	r = pair_lookup(repo, dl->base, &base, &base_len);
	if (r == -ENOENT)
		return 0;               /* not ours to use: the TOC as before */
	if (r < 0)
		return r;
	r = fetch_ranges(reg, d->digest, fd, &rf, 1, stats);
	if (r == 1)
		return 0;
	if (r < 0)
		return r;
	z = malloc(dl->length);
	pair = malloc(toc_ulen + h_ulen);
	if (!z || !pair)
		return -ENOMEM;
	if (pread(fd, z, dl->length, (off_t)dl->offset) != (ssize_t)dl->length)
		return -EIO;
	if (!oci_sha256_matches(z, dl->length, dl->digest)) {
		*why = "it does not match the manifest's " CHUNKED_ANN_DELTA_DIGEST;
		return 0;
	}
	dctx = ZSTD_createDCtx();
	if (!dctx)
		return -ENOMEM;
	(void)ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, CHUNKED_DELTA_WINDOW_LOG_MAX);
	n = ZSTD_DCtx_refPrefix(dctx, base, base_len);
	if (!ZSTD_isError(n))
		n = ZSTD_decompressDCtx(dctx, pair, toc_ulen + h_ulen, z, dl->length);
	ZSTD_freeDCtx(dctx);
	if (ZSTD_isError(n) || n != toc_ulen + h_ulen) {
		*why = "it does not decompress against its base to the TOC's and tar headers' lengths";
		return 0;
	}
	if (!oci_sha256_matches(pair, n, dl->pair)) {
		*why = "what it rebuilds does not match the manifest's " CHUNKED_ANN_PAIR_DIGEST;
		return 0;
	}
	*ret = TAKE_PTR(pair);
	return 1;
}

/*
 * f (no fs-verity digest in the TOC) is local if the index names an object
 * of f's size whose bytes have f's SHA-256: 1 (f->verity set), 0 if not
 * (no entry, or one stale or wrong: the file is fetched), or -ENOMEM.
 */
static int index_hit(struct st_repo *repo, const struct sha256_index *ix, struct chunked_file *f, uint8_t *buf,
		     uint64_t *budget, struct chunked_stats *stats)
{
	_cleanup_close_ int fd = -EBADF;
	uint8_t verity[32], sha[OCI_DIGEST_SIZE];
	struct oci_hash h;
	struct stat st;
	uint64_t off = 0;

	if (!sha256_index_lookup(ix, f->sha256, verity) || f->size > *budget)
		return 0;
	*budget -= f->size;
	fd = st_repo_open_object(repo, verity);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != f->size) {
		st_error_clear();
		stats->index_wrong++;
		return 0;
	}
	if (oci_hash_init(&h) < 0)
		return -ENOMEM;
	while (off < f->size) {
		ssize_t k = pread(fd, buf, (size_t)MIN((uint64_t)COPY_CHUNK, f->size - off), (off_t)off);

		if (k <= 0)
			break;
		oci_hash_update(&h, buf, (size_t)k);
		off += (uint64_t)k;
	}
	oci_hash_final(&h, sha);
	oci_hash_done(&h);
	if (off != f->size || memcmp(sha, f->sha256, sizeof(sha)) != 0) {
		stats->index_wrong++;
		return 0;
	}
	memcpy(f->verity, verity, sizeof(verity));
	f->has_verity = true;
	return 1;
}

static int cmp_sha_size(const void *a, const void *b)
{
	const struct chunked_file *x = *(const struct chunked_file *const *)a, *y = *(const struct chunked_file *const *)b;
	int c = memcmp(x->sha256, y->sha256, sizeof(x->sha256));

	return c ? c : x->size < y->size ? -1 : x->size > y->size;
}

/*
 * The files without our key that the index finds: each distinct (SHA-256,
 * size) checked once, and at most budget bytes of objects hashed in all
 * (a TOC naming one large local file many times, or every file of the
 * store, costs no more than the tar it would rebuild).
 */
static int find_by_index(struct st_repo *repo, const struct sha256_index *ix, struct chunked_toc *toc, uint8_t *buf,
			 uint64_t budget, struct chunked_stats *stats)
{
	_cleanup_free_ struct chunked_file **v = calloc(toc->n ? toc->n : 1, sizeof(*v));
	size_t n = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < toc->n; i++)
		if (!toc->files[i].has_verity)
			v[n++] = &toc->files[i];
	qsort(v, n, sizeof(*v), cmp_sha_size);
	for (size_t i = 0, j; i < n; i = j) {
		int r = index_hit(repo, ix, v[i], buf, &budget, stats);

		if (r < 0)
			return r;
		for (j = i; j < n && cmp_sha_size(&v[i], &v[j]) == 0; j++)
			if (r > 0) {
				memcpy(v[j]->verity, v[i]->verity, sizeof(v[j]->verity));
				v[j]->has_verity = true;
			}
	}
	return 0;
}

bool chunked_repo_has_objects(struct st_repo *repo)
{
	_cleanup_closedir_ DIR *top = NULL;
	struct dirent *de;

	if (opendir_beneath(st_repo_dirfd(repo), "objects", &top) < 0)
		return true;            /* cannot tell: assume it has */
	while (readdir_next(top, &de) > 0) {
		_cleanup_closedir_ DIR *sub = NULL;
		struct dirent *e;
		int r;

		if (strlen(de->d_name) != 2 || opendir_beneath(dirfd(top), de->d_name, &sub) < 0)
			continue;
		while ((r = readdir_next(sub, &e)) > 0)
			if (e->d_name[0] != '.')
				return true;
		if (r < 0)
			return true;
	}
	return false;
}

int chunked_pull_layer(struct st_repo *repo, struct registry *reg, const void *manifest, size_t manifest_len,
		       size_t index, const struct oci_descriptor *d, const char *diff_id, int out_dfd,
		       const struct sha256_index *ix, struct chunked_stats *stats)
{
	_cleanup_(chunked_toc_done) struct chunked_toc toc = {};
	_cleanup_close_ int tmp_dfd = -EBADF, sparse_fd = -EBADF, tar_fd = -EBADF;
	_cleanup_free_ struct range_fetch *rf = NULL;
	_cleanup_free_ uint8_t *in = NULL, *out = NULL, *json = NULL, *pair = NULL;
	struct chunked_delta dl = {};
	struct rebuild b = { .layer = d->digest };
	struct headers h = {};
	char toc_digest[ST_OCI_DIGEST_STRING_SIZE], path[64];
	uint8_t want[OCI_DIGEST_SIZE], got[OCI_DIGEST_SIZE];
	uint64_t toc_off, toc_len, toc_ulen, frames_end, pos = 0;
	size_t nr = 0, local = 0;
	int r;

	r = chunked_layer_position(manifest, manifest_len, index, d->size, toc_digest, &toc_off, &toc_len, &toc_ulen);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return st_errf(r, "layer %s: %s", d->digest, st_error_detail() ? st_error_detail() : "bad annotations");
	tmp_dfd = openat_beneath(st_repo_dirfd(repo), "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (tmp_dfd < 0)
		return st_errf(tmp_dfd, "cannot open the repository's tmp/");
	sparse_fd = openat(tmp_dfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	tar_fd = openat(out_dfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
	if (sparse_fd < 0 || tar_fd < 0)
		return st_errf(-errno, "layer %s: cannot create its temporary files", d->digest);
	/* With our tar headers frame, the bytes between files come from it: only missing files are fetched. */
	r = chunked_headers_position(manifest, manifest_len, index, d->size, h.digest, &h.offset, &h.length,
				     &h.uncompressed);
	if (r < 0 && r != -ENOENT)
		return st_errf(r, "layer %s: %s", d->digest, st_error_detail() ? st_error_detail() : "bad annotations");
	h.present = r == 0;
	/* With a delta against a pair the store keeps, the TOC and headers frame from it (one small request). */
	if (h.present && chunked_delta_position(manifest, manifest_len, index, d->size, &dl) == 0 && dl.has_delta) {
		const char *why = NULL;

		r = pair_from_delta(repo, reg, d, &dl, sparse_fd, toc_ulen, h.uncompressed, &pair, stats, &why);
		if (r < 0)
			return r;
		if (why) {
			stats->deltas_refused++;
			stats->delta_refused_why = why;
		}
		if (r > 0) {
			st_error_clear();
			r = chunked_toc_parse(pair, toc_ulen, toc_off - 8, &toc);
			if (r == -EOPNOTSUPP)
				return 0;
			if (r < 0)
				return st_errf(r, "layer %s: %s", d->digest, st_error_detail() ?: "bad TOC");
			stats->deltas++;
			h.from_delta = true;
		}
	}
	st_error_clear();
	if (!h.from_delta) {
		r = read_toc(reg, d, sparse_fd, toc_digest, toc_off, toc_len, toc_ulen, &toc, &json, stats);
		if (r == -EOPNOTSUPP || r == 1)
			return 0;       /* chunks, another TOC version, or no Range: the whole layer */
		if (r < 0)
			return r;
	}
	frames_end = toc_off - 8;
	in = malloc(COPY_CHUNK);
	out = malloc(COPY_CHUNK);
	if (!in || !out)
		return -ENOMEM;
	if (ix) {
		r = find_by_index(repo, ix, &toc, in, (1ull << 30) + 100 * d->size, stats);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < toc.n; i++) {
		struct chunked_file *f = &toc.files[i];

		f->local = f->has_verity && st_repo_has_object(repo, f->verity) > 0;
		local += f->local;
	}
	if (local == 0)
		return 0;               /* nothing to gain: the whole layer, one request */
	rf = calloc(toc.n + 2, sizeof(*rf));
	if (!rf)
		return -ENOMEM;
	if (h.present) {
		/* A placeholder when the headers come from the delta: the merge below needs nr > 1. */
		if (!h.from_delta)
			rf[nr] = (struct range_fetch){ .start = h.offset, .end = h.offset + h.length };
		nr++;
		for (size_t i = 0; i < toc.n; i++) {
			const struct chunked_file *f = &toc.files[i];

			if (f->local)
				continue;
			/* A missing file close after the last one: one request, the frame between them too. */
			if (nr > 1 && f->offset - rf[nr - 1].end <= RANGE_MERGE_GAP)
				rf[nr - 1].end = f->end;
			else
				rf[nr++] = (struct range_fetch){ .start = f->offset, .end = f->end };
		}
	}
	/* Else the runs of bytes to fetch: everything below frames_end but the local files' frames. */
	for (size_t i = 0; i <= toc.n && !h.present; i++) {
		uint64_t stop = i < toc.n ? (toc.files[i].local ? toc.files[i].offset : toc.files[i].end) : frames_end;

		if (i < toc.n && !toc.files[i].local)
			continue;       /* joins the run */
		if (stop > pos)
			rf[nr++] = (struct range_fetch){ .start = pos, .end = stop };
		if (i < toc.n)
			pos = toc.files[i].end;
	}
	r = h.from_delta ? fetch_ranges(reg, d->digest, sparse_fd, rf + 1, nr - 1, stats)
			 : fetch_ranges(reg, d->digest, sparse_fd, rf, nr, stats);
	if (r == 1)
		return 0;
	if (r < 0)
		return r;
	/* The tar, in order. */
	b.dctx = ZSTD_createDCtx();
	if (!b.dctx || oci_hash_init(&b.tar_hash) < 0) {
		ZSTD_freeDCtx(b.dctx);
		return -ENOMEM;
	}
	b.in = in;
	b.out = out;
	b.src_fd = sparse_fd;
	b.tar_fd = tar_fd;
	b.tar_max = (1ull << 30) + 100 * d->size;
	if (h.from_delta) {
		h.runs = calloc(toc.n + 1, sizeof(*h.runs));
		r = h.runs ? chunked_headers_split(pair + toc_ulen, h.uncompressed, toc.n + 1, h.runs) : -ENOMEM;
		if (r < 0)
			r = st_errf(r, "layer %s: %s", d->digest, st_error_detail() ?: "bad tar headers frame");
		h.data = pair + toc_ulen;
		h.borrowed = true;
		if (r < 0) {
			headers_done(&h);
			ZSTD_freeDCtx(b.dctx);
			oci_hash_done(&b.tar_hash);
			return r;
		}
	} else if (h.present) {
		r = read_headers(&b, &h, toc.n + 1);
		if (r < 0) {
			headers_done(&h);
			ZSTD_freeDCtx(b.dctx);
			oci_hash_done(&b.tar_hash);
			return r;
		}
	}
	pos = 0;
	for (size_t i = 0; i <= toc.n && r >= 0; i++) {
		const struct chunked_file *f = i < toc.n ? &toc.files[i] : NULL;
		uint64_t stop = f ? f->offset : frames_end;

		if (h.present)
			r = tar_append(&b, h.data + h.runs[i].offset, h.runs[i].length);
		else if (stop > pos) {
			_cleanup_free_ char *what = NULL;

			if (asprintf(&what, "the frames %s TOC entry '%s'", f ? "before" : "after",
				     f ? f->name : toc.n ? toc.files[toc.n - 1].name : "(none)") < 0) {
				r = -ENOMEM;
				break;
			}
			r = decompress_segment(&b, pos, stop, NULL, what);
		}
		if (r >= 0 && f)
			r = f->local ? copy_object(repo, &b, f) : decompress_segment(&b, f->offset, f->end, f, f->name);
		if (f)
			pos = f->end;
		if (r >= 0 && f) {
			if (f->local)
				stats->files_local++;
			else
				stats->files_fetched++;
		}
	}
	oci_hash_final(&b.tar_hash, got);
	oci_hash_done(&b.tar_hash);
	ZSTD_freeDCtx(b.dctx);
	if (r >= 0 && (oci_digest_parse(diff_id, want) < 0 || memcmp(want, got, sizeof(got)) != 0))
		r = st_errf(-EBADMSG, "layer %s: the tar rebuilt from its TOC and frames is not its diff_id %s",
			    d->digest, diff_id);
	/* Every byte checked: keep the pair, the base of the next delta. */
	if (r >= 0 && h.present && !pair && json) {
		pair = malloc(toc_ulen + h.uncompressed);
		if (pair) {
			memcpy(pair, json, toc_ulen);
			memcpy(pair + toc_ulen, h.data, h.uncompressed);
		}
	}
	if (r >= 0 && pair)
		chunked_pair_keep(repo, pair, toc_ulen + h.uncompressed);
	headers_done(&h);
	if (r < 0)
		return r;
	(void)snprintf(path, sizeof(path), "/proc/self/fd/%d", tar_fd);
	if (linkat(AT_FDCWD, path, out_dfd, diff_id + 7, AT_SYMLINK_FOLLOW) < 0 && errno != EEXIST)
		return st_errf(-errno, "layer %s: cannot name its rebuilt tar", d->digest);
	stats->layers++;
	return 1;
}
