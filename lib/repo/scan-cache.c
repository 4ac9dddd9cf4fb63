/* SPDX-License-Identifier: MIT */
/*
 * The scan cache, REPO/cache/scan: what an earlier import learned about
 * files, keyed by (device, inode, size, mtime, ctime) -> fs-verity digest,
 * so that a recommit of an unchanged tree reads no file contents.
 *
 * Safety:
 *  - the key includes ctime, which no user can set: a file written in place
 *    (even keeping its size and mtime with touch -d) gets a new ctime;
 *  - "racily clean" entries are never stored: a file whose ctime is within
 *    RACY_MARGIN_NS of the scan's start (or after it) could still be changed
 *    within the same timestamp tick after we read it, keeping its key, so it
 *    is hashed again next time. The ctime is the guard because the kernel
 *    sets it to the current time on every change; the mtime is part of the
 *    key but can be set to anything (touch -d), so it guards nothing, and a
 *    file with an mtime in the future is cached like any other;
 *  - a hit is used only if the object is still in the store (scan-entry.c);
 *  - the file carries a SHA-256 of its bytes: a damaged cache is ignored,
 *    never trusted. Losing the cache costs time, never correctness.
 *
 * Format (local to this machine, native byte order; documented in
 * docs/formats/repository.md): a 24-byte header "STSCACH1", record size,
 * count; `count` 80-byte records sorted by (dev, ino); SHA-256 of all that.
 */
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "basic/beneath.h"
#include "basic/error.h"
#include "basic/io.h"
#include "repo-internal.h"

#define CACHE_FILE "scan"
#define CACHE_MAGIC "STSCACH1"
#define CACHE_ENTRIES_MAX (1u << 20)
#define RACY_MARGIN_NS INT64_C(1000000000)

struct cache_record {
	uint64_t dev, ino, size;
	int64_t mtime_sec, ctime_sec;
	uint32_t mtime_nsec, ctime_nsec;
	uint8_t digest[ST_DIGEST_SIZE];
};
_Static_assert(sizeof(struct cache_record) == 80, "cache record layout");

struct cache_header {
	char magic[8];
	uint32_t record_size;
	uint32_t reserved;
	uint64_t count;
};
_Static_assert(sizeof(struct cache_header) == 24, "cache header layout");

struct repo_scan_cache {
	uint8_t *file;                  /* the loaded file (records point into it) */
	const struct cache_record *old;
	size_t n_old;
	uint8_t *old_hit;               /* per old record: used by this scan */
	int64_t start_ns;               /* CLOCK_REALTIME when the scan started */

	pthread_mutex_t lock;           /* protects new */
	struct cache_record *new;
	size_t n_new, cap_new;
};

static int record_cmp(const void *a, const void *b)
{
	const struct cache_record *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return 0;
}

static void sha256(const void *data, size_t len, uint8_t out[32])
{
	unsigned int n = 32;

	if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1)
		memset(out, 0xff, 32);
}

/* Parse a loaded file; false if it is not a valid cache. */
static bool parse_file(struct repo_scan_cache *c, uint8_t *buf, size_t len)
{
	struct cache_header h;
	uint8_t sum[32];
	size_t body;

	if (len < sizeof(h) + 32)
		return false;
	memcpy(&h, buf, sizeof(h));
	if (memcmp(h.magic, CACHE_MAGIC, 8) != 0 || h.record_size != sizeof(struct cache_record) ||
	    h.count > CACHE_ENTRIES_MAX || len != sizeof(h) + h.count * sizeof(struct cache_record) + 32)
		return false;
	body = len - 32;
	sha256(buf, body, sum);
	if (memcmp(sum, buf + body, 32) != 0)
		return false;
	c->old = (const struct cache_record *)(buf + sizeof(h));
	c->n_old = (size_t)h.count;
	for (size_t i = 1; i < c->n_old; i++)
		if (record_cmp(&c->old[i - 1], &c->old[i]) >= 0)
			return false;
	return true;
}

int repo_scan_cache_load(struct st_repo *repo, struct repo_scan_cache **ret)
{
	struct repo_scan_cache *c;
	struct timespec now;
	_cleanup_close_ int dir_fd = -EBADF, fd = -EBADF;
	uint8_t *buf = NULL;
	size_t len;

	c = new0(struct repo_scan_cache, 1);
	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	clock_gettime(CLOCK_REALTIME, &now);
	c->start_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;

	dir_fd = openat_beneath(repo->dir_fd, REPO_CACHE_DIR, O_RDONLY | O_DIRECTORY, 0);
	if (dir_fd >= 0)
		fd = openat_beneath(dir_fd, CACHE_FILE, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0);
	if (fd >= 0 && fd_check_regular(fd, CACHE_FILE) < 0) {
		st_error_clear();
		fd = safe_close(fd);
	}
	/* Any failure to read it: start empty. */
	if (fd >= 0 && read_fd_all(fd, &buf, &len) >= 0) {
		if (parse_file(c, buf, len)) {
			c->file = buf;
			c->old_hit = calloc(c->n_old ? c->n_old : 1, 1);
			if (!c->old_hit) {
				repo_scan_cache_free(c);
				return -ENOMEM;
			}
		} else {
			c->old = NULL;
			c->n_old = 0;
			free(buf);
		}
	}
	*ret = c;
	return 0;
}

struct repo_scan_cache *repo_scan_cache_free(struct repo_scan_cache *c)
{
	if (!c)
		return NULL;
	pthread_mutex_destroy(&c->lock);
	free(c->file);
	free(c->old_hit);
	free(c->new);
	free(c);
	return NULL;
}

static void record_from_key(struct cache_record *r, const struct st_scan_file_key *k)
{
	*r = (struct cache_record){
		.dev = k->dev, .ino = k->ino, .size = k->size,
		.mtime_sec = k->mtime_sec, .ctime_sec = k->ctime_sec,
		.mtime_nsec = k->mtime_nsec, .ctime_nsec = k->ctime_nsec,
	};
}

static int cache_lookup(void *userdata, const struct st_scan_file_key *key, uint8_t ret_digest[ST_DIGEST_SIZE])
{
	struct repo_scan_cache *c = userdata;
	struct cache_record want;
	const struct cache_record *r;

	if (c->n_old == 0)
		return 0;
	record_from_key(&want, key);
	r = bsearch(&want, c->old, c->n_old, sizeof(*r), record_cmp);
	if (!r || r->size != want.size || r->mtime_sec != want.mtime_sec || r->mtime_nsec != want.mtime_nsec ||
	    r->ctime_sec != want.ctime_sec || r->ctime_nsec != want.ctime_nsec)
		return 0;
	__atomic_store_n(&c->old_hit[r - c->old], 1, __ATOMIC_RELAXED);
	memcpy(ret_digest, r->digest, ST_DIGEST_SIZE);
	return 1;
}

/* Is the timestamp at or after limit_ns? */
static bool at_or_after(int64_t sec, uint32_t nsec, int64_t limit_ns)
{
	int64_t lsec = limit_ns / 1000000000, lnsec = limit_ns % 1000000000;

	return sec > lsec || (sec == lsec && (int64_t)nsec >= lnsec);
}

static void cache_store(void *userdata, const struct st_scan_file_key *key, const uint8_t digest[ST_DIGEST_SIZE])
{
	struct repo_scan_cache *c = userdata;
	int64_t limit = c->start_ns - RACY_MARGIN_NS;
	struct cache_record rec;

	/* Racily clean: too close to the scan to be sure a later change shows in the key. */
	if (at_or_after(key->ctime_sec, key->ctime_nsec, limit))
		return;
	record_from_key(&rec, key);
	memcpy(rec.digest, digest, ST_DIGEST_SIZE);
	pthread_mutex_lock(&c->lock);
	if (GROW(c->new, c->cap_new, c->n_new + 1) >= 0)
		c->new[c->n_new++] = rec;
	pthread_mutex_unlock(&c->lock);
}

static const struct st_scan_cache_ops ops = {
	.lookup = cache_lookup,
	.store = cache_store,
};

size_t repo_scan_cache_size(const struct repo_scan_cache *c)
{
	return c->n_old;
}

const struct st_scan_cache_ops *repo_scan_cache_ops(void)
{
	return &ops;
}

int repo_scan_cache_save(struct st_repo *repo, struct repo_scan_cache *c)
{
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_close_ int dir_fd = -EBADF;
	struct cache_record *out;
	struct cache_header h = { .record_size = sizeof(struct cache_record) };
	size_t n = 0, total, body;
	bool keep_all_old;
	int r;

	if (c->n_new == 0)
		return 0;       /* nothing learned: the file on disk is as good */
	qsort(c->new, c->n_new, sizeof(*c->new), record_cmp);
	/* Keep all old records if that fits, else only those this scan used. */
	keep_all_old = c->n_old + c->n_new <= CACHE_ENTRIES_MAX;
	if (MUL_OVERFLOW(c->n_old + c->n_new, sizeof(struct cache_record), &body))
		return -ENOMEM;
	total = sizeof(h) + body + 32;
	buf = malloc(total);
	if (!buf)
		return -ENOMEM;
	out = (struct cache_record *)(buf + sizeof(h));
	/* Merge the two sorted lists; a new record replaces an old one for the same file. */
	for (size_t i = 0, j = 0; i < c->n_old || j < c->n_new;) {
		int cmp = i == c->n_old ? 1 : j == c->n_new ? -1 : record_cmp(&c->old[i], &c->new[j]);

		if (cmp < 0) {
			if (keep_all_old || c->old_hit[i])
				out[n++] = c->old[i];
			i++;
		} else {
			if (cmp == 0)
				i++;
			/* Two records for one file (a hardlink seen twice): keep one. */
			if (n == 0 || record_cmp(&out[n - 1], &c->new[j]) != 0)
				out[n++] = c->new[j];
			j++;
		}
		if (n >= CACHE_ENTRIES_MAX)
			break;
	}
	memcpy(h.magic, CACHE_MAGIC, 8);
	h.count = n;
	memcpy(buf, &h, sizeof(h));
	body = sizeof(h) + n * sizeof(struct cache_record);
	sha256(buf, body, buf + body);

	dir_fd = mkdirat_beneath(repo->dir_fd, REPO_CACHE_DIR, 0755, false);
	if (dir_fd < 0)
		return repo_open_failed(dir_fd, repo->dir_fd, repo->path, REPO_CACHE_DIR);
	/* Not fsync'ed: a torn cache fails its checksum and is ignored. */
	r = repo_publish_file(repo, dir_fd, CACHE_FILE, REPO_CACHE_DIR "/" CACHE_FILE, buf, body + 32, 0);
	return r < 0 ? r : 0;
}
