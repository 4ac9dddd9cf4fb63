/* SPDX-License-Identifier: MIT */
/*
 * Blobs into the pull cache (REPO/cache/oci-pull, docs/formats/oci.md):
 *
 *   partial/<hex>        bytes of a blob received so far (locked while written)
 *   blobs/sha256/<hex>   a whole blob whose size and SHA-256 matched
 *
 * Every byte goes through SHA-256 as it arrives; a blob gets its name in
 * blobs/ only when its size and digest match the descriptor, so nothing
 * unverified is ever handed on. A partial file left by an interrupted pull
 * is hashed again and continued with a Range request (a server that ignores
 * Range sends the whole blob, which starts the file again); the transport's
 * own retries continue the same way (http.h resume()). A blob whose bytes
 * do not match is deleted, never kept for a retry.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/beneath.h"
#include "basic/error.h"
#include "basic/io.h"
#include "fundamental/macro.h"
#include "registry-internal.h"

#define HASH_CHUNK (1u << 20)

struct blob_fetch {
	struct registry *reg;
	const struct blob_want *w;
	const char *hex;                /* in w->digest */
	int partial_dfd, blobs_dfd, layout_dfd;         /* not owned */
	int fd;
	bool shared;                    /* fd is partial/<hex> (locked), else an unnamed private file */
	struct oci_hash hash;
	bool hash_open;
	uint64_t got, resumed;
	int result;
	char detail[768];
	char *url;
};

static void blob_fail(struct blob_fetch *b, int r, const char *fmt, ...) _printf_(3, 4);
static void blob_fail(struct blob_fetch *b, int r, const char *fmt, ...)
{
	va_list ap;

	if (b->result < 0)
		return;
	b->result = r;
	va_start(ap, fmt);
	(void)vsnprintf(b->detail, sizeof(b->detail), fmt, ap);
	va_end(ap);
}

static int restart_hash(struct blob_fetch *b)
{
	if (b->hash_open)
		oci_hash_done(&b->hash);
	b->hash_open = false;
	b->got = 0;
	if (ftruncate(b->fd, 0) < 0)
		return -errno;
	if (oci_hash_init(&b->hash) < 0)
		return -ENOMEM;
	b->hash_open = true;
	return 0;
}

static int blob_data(void *userdata, const void *buf, size_t len)
{
	struct blob_fetch *b = userdata;
	int r;

	if (len > b->w->size - b->got)
		return -EFBIG;          /* more than the descriptor says: never written */
	r = pwrite_full(b->fd, buf, len, b->got);
	if (r < 0)
		return r;
	oci_hash_update(&b->hash, buf, len);
	b->got += len;
	return 0;
}

static void blob_reset(void *userdata)
{
	struct blob_fetch *b = userdata;
	int r = restart_hash(b);

	if (r < 0)
		blob_fail(b, r, "blob %s: cannot start its file again", b->w->digest);
}

static uint64_t blob_resume(void *userdata)
{
	struct blob_fetch *b = userdata;

	return b->got;
}

static void blob_done(void *userdata, int result, const char *detail)
{
	struct blob_fetch *b = userdata;

	if (result == -EFBIG)
		blob_fail(b, -EBADMSG, "blob %s from %s: more bytes than its size %" PRIu64, b->w->digest, b->url,
			  b->w->size);
	else if (result < 0)
		blob_fail(b, result, "blob %s: %s", b->w->digest, detail);
	else if (b->got != b->w->size)
		blob_fail(b, -EBADMSG, "blob %s from %s: %" PRIu64 " bytes, its descriptor says %" PRIu64, b->w->digest,
			  b->url, b->got, b->w->size);
}

/* Hash the first len bytes already in fd (a partial file from an earlier pull). */
static int hash_existing(struct blob_fetch *b, uint64_t len)
{
	_cleanup_free_ uint8_t *buf = malloc(HASH_CHUNK);
	uint64_t off = 0;

	if (!buf)
		return -ENOMEM;
	while (off < len) {
		ssize_t n = pread(b->fd, buf, (size_t)MIN((uint64_t)HASH_CHUNK, len - off), (off_t)off);

		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		oci_hash_update(&b->hash, buf, (size_t)n);
		off += (uint64_t)n;
	}
	b->got = len;
	return 0;
}

/*
 * Give the file open at fd (verified) the name hex in dfd, from the fd
 * itself: whatever happens to its other names meanwhile (another pull
 * removing the cache's copy once imported), this name holds these bytes.
 * -ENOENT if the file has no name left to link from.
 */
static int link_fd(int fd, int dfd, const char *hex)
{
	char path[64];

	(void)snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, path, dfd, hex, AT_SYMLINK_FOLLOW) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/*
 * Is blobs/sha256/<hex> there, of the right size and digest? 1 yes (and
 * linked into the layout), 0 no (removed if there and wrong).
 */
static int cached_blob_ok(int blobs_dfd, int layout_dfd, const struct blob_want *w, const char *hex)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ uint8_t *buf = NULL;
	struct oci_hash h;
	uint8_t want[OCI_DIGEST_SIZE], got[OCI_DIGEST_SIZE];
	struct stat st;
	uint64_t off = 0;
	int r;

	fd = openat(blobs_dfd, hex, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	r = fd_check_regular(fd, hex);
	if (r < 0 || fstat(fd, &st) < 0 || (uint64_t)st.st_size != w->size)
		goto bad;
	buf = malloc(HASH_CHUNK);
	if (!buf || oci_hash_init(&h) < 0)
		return -ENOMEM;
	while (off < w->size) {
		ssize_t n = read(fd, buf, HASH_CHUNK);

		if (n <= 0) {
			oci_hash_done(&h);
			goto bad;
		}
		oci_hash_update(&h, buf, (size_t)n);
		off += (uint64_t)n;
	}
	oci_hash_final(&h, got);
	oci_hash_done(&h);
	if (oci_digest_parse(w->digest, want) == 0 && memcmp(want, got, sizeof(got)) == 0) {
		r = link_fd(fd, layout_dfd, hex);
		if (r == -ENOENT)
			return 0;       /* removed since it was opened: fetch it */
		return r < 0 ? st_errf(r, "blob %s: cannot link it into the layout", w->digest) : 1;
	}
bad:
	(void)unlinkat(blobs_dfd, hex, 0);
	return 0;
}

static void blob_fetch_done(struct blob_fetch *b)
{
	if (b->hash_open)
		oci_hash_done(&b->hash);
	b->hash_open = false;
	b->fd = safe_close(b->fd);
	free(b->url);
	b->url = NULL;
}

/* Open the partial file (continue it) or a private one; queue the request for the rest. */
static int blob_start(struct blob_fetch *b, const char *authorization)
{
	const char *headers[2] = { authorization, NULL };
	struct stat st;
	int r;

	b->fd = openat(b->partial_dfd, b->hex, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
	if (b->fd < 0)
		return st_errf(-errno, "blob %s: cannot open its partial file", b->w->digest);
	r = fd_check_regular(b->fd, b->hex);
	if (r < 0)
		return r;
	if (flock(b->fd, LOCK_EX | LOCK_NB) == 0)
		b->shared = true;
	else {
		/* Another pull is fetching this blob: fetch a private copy rather than wait or mix bytes. */
		b->fd = safe_close(b->fd);
		b->fd = openat(b->partial_dfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
		if (b->fd < 0)
			return st_errf(-errno, "blob %s: cannot create a private file", b->w->digest);
	}
	r = oci_hash_init(&b->hash);
	if (r < 0)
		return r;
	b->hash_open = true;
	if (fstat(b->fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size > 0 && (uint64_t)st.st_size < b->w->size) {
		r = hash_existing(b, (uint64_t)st.st_size);
		if (r < 0)
			return st_errf(r, "blob %s: cannot read its partial file", b->w->digest);
		b->resumed = b->got;
	} else if (st.st_size != 0) {
		r = restart_hash(b);    /* as long as the blob, or longer: start again */
		if (r < 0)
			return r;
	}
	if (asprintf(&b->url, "%s/v2/%s/blobs/%s", b->reg->base, b->reg->name, b->w->digest) < 0) {
		b->url = NULL;
		return -ENOMEM;
	}
	if (b->got == b->w->size)
		return 0;               /* an empty blob */
	static const struct http_request_ops ops = {
		.data = blob_data, .reset = blob_reset, .done = blob_done, .resume = blob_resume,
	};
	return http_add_with(b->reg->http, b->url,
			     &(struct http_request_options){ .headers = authorization ? headers : NULL,
							     .range_start = b->got },
			     &ops, b);
}

/* The whole blob is in b->fd: check its digest, then give it its name in blobs/. */
static int blob_finish(struct blob_fetch *b)
{
	uint8_t want[OCI_DIGEST_SIZE], got[OCI_DIGEST_SIZE];
	char got_s[ST_OCI_DIGEST_STRING_SIZE];
	int r;

	oci_hash_final(&b->hash, got);
	oci_hash_done(&b->hash);
	b->hash_open = false;
	r = oci_digest_parse(b->w->digest, want);
	if (r < 0)
		return r;
	if (memcmp(want, got, sizeof(got)) != 0) {
		if (b->shared)
			(void)unlinkat(b->partial_dfd, b->hex, 0);
		oci_digest_format(got, got_s);
		return st_errf(-EBADMSG, "blob %s from %s: digest mismatch, the bytes received are %s", b->w->digest,
			       b->url, got_s);
	}
	/* Into this pull's layout first (our own file, nobody else's to remove), then the cache. */
	r = link_fd(b->fd, b->layout_dfd, b->hex);
	if (r < 0)
		return st_errf(r, "blob %s: cannot link it into the layout", b->w->digest);
	if (b->shared) {
		if (renameat(b->partial_dfd, b->hex, b->blobs_dfd, b->hex) < 0)
			return st_errf(-errno, "blob %s: cannot move it into the cache", b->w->digest);
		return 0;
	}
	r = link_fd(b->fd, b->blobs_dfd, b->hex);
	if (r < 0)
		return st_errf(r, "blob %s: cannot link it into the cache", b->w->digest);
	return 0;
}

int registry_fetch_blobs(struct registry *reg, int cache_dfd, int layout_dfd, const struct blob_want *wants,
			 size_t n, struct blob_stats *stats)
{
	_cleanup_close_ int partial_dfd = -EBADF, blobs_dfd = -EBADF;
	_cleanup_free_ struct blob_fetch *bf = NULL;
	_cleanup_free_ bool *todo = NULL;
	int r = 0;

	partial_dfd = mkdirat_beneath(cache_dfd, "partial", 0755, false);
	if (partial_dfd < 0)
		return st_errf(partial_dfd, "cannot create the pull cache's partial/");
	blobs_dfd = mkdirat_beneath(cache_dfd, "blobs/sha256", 0755, false);
	if (blobs_dfd < 0)
		return st_errf(blobs_dfd, "cannot create the pull cache's blobs/sha256/");
	bf = new0(struct blob_fetch, n);
	todo = new0(bool, n);
	if (!bf || !todo)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const char *hex = strchr(wants[i].digest, ':');

		if (!hex || oci_digest_parse(wants[i].digest, (uint8_t[OCI_DIGEST_SIZE]){}) < 0)
			return st_errf(-EINVAL, "'%s' is not a sha256 digest", wants[i].digest);
		bf[i] = (struct blob_fetch){ .reg = reg, .w = &wants[i], .hex = hex + 1, .partial_dfd = partial_dfd,
					     .blobs_dfd = blobs_dfd, .layout_dfd = layout_dfd, .fd = -EBADF };
		/* The same blob twice (two layers alike): fetched once. */
		todo[i] = true;
		for (size_t j = 0; j < i; j++)
			if (strcmp(wants[j].digest, wants[i].digest) == 0)
				todo[i] = false;
	}
	/* A 401 mid-pull (a token that expired) renews the credentials once for what is left. */
	for (unsigned round = 0; round < 2; round++) {
		bool denied = false, ran;
		int run;

		for (size_t i = 0; i < n && r >= 0; i++) {
			if (!todo[i])
				continue;
			r = cached_blob_ok(blobs_dfd, layout_dfd, &wants[i], bf[i].hex);
			if (r > 0) {
				todo[i] = false;
				if (round == 0)
					stats->cached++;
				r = 0;
				continue;
			}
			if (r < 0)
				break;
			bf[i].result = 0;
			r = blob_start(&bf[i], reg->authorization);
		}
		ran = false;
		if (r >= 0) {
			run = http_run(reg->http);
			ran = run >= 0;
			if (run < 0)
				r = run;
		}
		/*
		 * Every blob that arrived whole is checked and kept, whatever
		 * happened to the others: the next pull then fetches only what
		 * is still missing. The first failure is the one returned.
		 */
		for (size_t i = 0; i < n; i++) {
			if (!todo[i] || bf[i].fd < 0)
				continue;
			if (ran && bf[i].result == 0) {
				int k = blob_finish(&bf[i]);

				if (k < 0) {
					if (r >= 0)
						r = k;
				} else {
					todo[i] = false;
					stats->fetched++;
					stats->bytes += bf[i].got - bf[i].resumed;
					stats->resumed_bytes += bf[i].resumed;
				}
			} else if (bf[i].result == -EACCES && round == 0)
				denied = true;
			else if (r >= 0 && bf[i].result < 0)
				r = st_errf(bf[i].result, "%s", bf[i].detail);
			blob_fetch_done(&bf[i]);
		}
		if (r < 0 || !denied)
			break;
		r = registry_reauth(reg);
	}
	for (size_t i = 0; i < n; i++)
		blob_fetch_done(&bf[i]);
	if (r >= 0)
		for (size_t i = 0; i < n; i++)
			if (todo[i])
				return st_errf(-EACCES, "blob %s: access denied", wants[i].digest);
	return r;
}
