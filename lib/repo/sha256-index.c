/* SPDX-License-Identifier: MIT */
/*
 * REPO/cache/sha256: content SHA-256 -> fs-verity digest of its object
 * (sha256-index.h; format in docs/formats/repository.md, "The SHA-256
 * index"). A 16-byte header ("STSHAIX1", u64 little-endian count) and
 * count 64-byte records (SHA-256, fs-verity digest) strictly sorted by
 * SHA-256; the file's length must be exactly that. No checksum: the file
 * is a hint, every hit is checked against the object's bytes by its user.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "basic/beneath.h"
#include "basic/error.h"
#include "fundamental/macro.h"
#include "repo-internal.h"
#include "sha256-index.h"

#define INDEX_PATH REPO_CACHE_DIR "/" SHA256_INDEX_FILE
#define INDEX_FILE_MAX ((size_t)SHA256_INDEX_HEADER + (size_t)SHA256_INDEX_RECORD * SHA256_INDEX_MAX)

static int pair_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

void sha256_index_done(struct sha256_index *ix)
{
	free(ix->pairs);
	*ix = (struct sha256_index){};
}

int sha256_index_parse(const void *data, size_t len, struct sha256_index *ret)
{
	const uint8_t *p = data;
	struct sha256_pair *pairs;
	uint64_t count = 0;

	if (len < SHA256_INDEX_HEADER || memcmp(p, SHA256_INDEX_MAGIC, 8) != 0)
		return st_errf(-EUCLEAN, "'" INDEX_PATH "' does not start with " SHA256_INDEX_MAGIC);
	for (unsigned i = 0; i < 8; i++)
		count |= (uint64_t)p[8 + i] << (8 * i);
	if (count > SHA256_INDEX_MAX)
		return st_errf(-EUCLEAN, "'" INDEX_PATH "' claims %" PRIu64 " entries, more than %u", count,
			       SHA256_INDEX_MAX);
	if (len != SHA256_INDEX_HEADER + count * SHA256_INDEX_RECORD)
		return st_errf(-EUCLEAN, "'" INDEX_PATH "' has %zu bytes, not the %" PRIu64 " its %" PRIu64
			       " entries take", len, SHA256_INDEX_HEADER + count * SHA256_INDEX_RECORD, count);
	pairs = malloc(count ? (size_t)count * sizeof(*pairs) : 1);
	if (!pairs)
		return -ENOMEM;
	memcpy(pairs, p + SHA256_INDEX_HEADER, (size_t)count * sizeof(*pairs));
	for (size_t i = 1; i < count; i++)
		if (pair_cmp(&pairs[i - 1], &pairs[i]) >= 0) {
			free(pairs);
			return st_errf(-EUCLEAN, "'" INDEX_PATH "': entry %zu is not after entry %zu", i, i - 1);
		}
	*ret = (struct sha256_index){ .pairs = pairs, .n = (size_t)count };
	return 0;
}

static int load_at(int dir_fd, struct sha256_index *ret)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r;

	*ret = (struct sha256_index){};
	r = read_file_capped(dir_fd, SHA256_INDEX_FILE, INDEX_FILE_MAX, READ_FILE_BENEATH, &buf, &len);
	if (r == -ENOENT)
		return 0;
	if (r == -EFBIG)
		return st_errf(-EUCLEAN, "'" INDEX_PATH "' is larger than %zu bytes", INDEX_FILE_MAX);
	if (r < 0)
		return r == -ENOMEM ? r : -EUCLEAN;
	return sha256_index_parse(buf, len, ret);
}

int sha256_index_load(struct st_repo *repo, struct sha256_index *ret)
{
	_cleanup_close_ int dir_fd = -EBADF;

	*ret = (struct sha256_index){};
	dir_fd = openat_beneath(repo->dir_fd, REPO_CACHE_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (dir_fd == -ENOENT)
		return 0;
	if (dir_fd < 0)
		return repo_open_failed(dir_fd, repo->dir_fd, repo->path, REPO_CACHE_DIR);
	return load_at(dir_fd, ret);
}

bool sha256_index_lookup(const struct sha256_index *ix, const uint8_t sha256[32], uint8_t ret_verity[32])
{
	const struct sha256_pair *p;

	if (!ix || ix->n == 0)
		return false;
	p = bsearch(sha256, ix->pairs, ix->n, sizeof(*ix->pairs), pair_cmp);
	if (!p)
		return false;
	memcpy(ret_verity, p->verity, 32);
	return true;
}

/* Sort and drop duplicate SHA-256s (the last of equals wins: qsort is not stable, so any). */
static size_t sort_unique(struct sha256_pair *p, size_t n)
{
	size_t k = 0;

	if (n == 0)
		return 0;
	qsort(p, n, sizeof(*p), pair_cmp);
	for (size_t i = 1; i < n; i++)
		if (pair_cmp(&p[k], &p[i]) != 0)
			p[++k] = p[i];
		else
			p[k] = p[i];
	return k + 1;
}

static int write_pairs(struct st_repo *repo, int dir_fd, const struct sha256_pair *p, size_t n)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len = SHA256_INDEX_HEADER + n * SHA256_INDEX_RECORD;
	int r;

	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, SHA256_INDEX_MAGIC, 8);
	for (unsigned i = 0; i < 8; i++)
		buf[8 + i] = (uint8_t)((uint64_t)n >> (8 * i));
	if (n)
		memcpy(buf + SHA256_INDEX_HEADER, p, n * sizeof(*p));
	/* Not fsync'ed: a torn file fails its length check and reads as empty. */
	r = repo_publish_file(repo, dir_fd, SHA256_INDEX_FILE, INDEX_PATH, buf, len, 0);
	return r < 0 ? r : 0;
}

/* REPO/cache/, created if missing, locked exclusively (unlocked when the fd closes). */
static int open_locked(struct st_repo *repo)
{
	int fd = mkdirat_beneath(repo->dir_fd, REPO_CACHE_DIR, 0755, false);

	if (fd < 0)
		return repo_open_failed(fd, repo->dir_fd, repo->path, REPO_CACHE_DIR);
	if (flock(fd, LOCK_EX) < 0) {
		int r = -errno;

		close(fd);
		return st_errf(r, "cannot lock '" REPO_CACHE_DIR "/'");
	}
	return fd;
}

int sha256_index_add(struct st_repo *repo, struct sha256_pair *pairs, size_t n)
{
	_cleanup_close_ int dir_fd = -EBADF;
	_cleanup_(sha256_index_done) struct sha256_index old = {};
	_cleanup_free_ struct sha256_pair *out = NULL;
	size_t k = 0, i = 0, j = 0;

	n = sort_unique(pairs, n);
	if (n == 0)
		return 0;
	dir_fd = open_locked(repo);
	if (dir_fd < 0)
		return dir_fd;
	if (load_at(dir_fd, &old) == -ENOMEM)
		return -ENOMEM;
	st_error_clear();       /* a damaged file is replaced */
	out = malloc((old.n + n) * sizeof(*out));
	if (!out)
		return -ENOMEM;
	while (i < old.n || j < n) {
		int c = i == old.n ? 1 : j == n ? -1 : pair_cmp(&old.pairs[i], &pairs[j]);

		if (c < 0)
			out[k++] = old.pairs[i++];
		else {
			i += c == 0;
			out[k++] = pairs[j++];
		}
	}
	if (k > SHA256_INDEX_MAX)
		k = SHA256_INDEX_MAX;   /* bounded: the largest SHA-256s are left out (misses, never errors) */
	if (k == old.n && memcmp(out, old.pairs, k * sizeof(*out)) == 0)
		return 0;
	return write_pairs(repo, dir_fd, out, k);
}

int sha256_index_replace(struct st_repo *repo, struct sha256_pair *pairs, size_t n)
{
	_cleanup_close_ int dir_fd = -EBADF;

	n = MIN(sort_unique(pairs, n), (size_t)SHA256_INDEX_MAX);
	dir_fd = open_locked(repo);
	if (dir_fd < 0)
		return dir_fd;
	return write_pairs(repo, dir_fd, pairs, n);
}

int sha256_index_prune(struct st_repo *repo, bool (*keep)(void *userdata, const uint8_t verity[32]), void *userdata)
{
	_cleanup_close_ int dir_fd = -EBADF;
	_cleanup_(sha256_index_done) struct sha256_index ix = {};
	size_t k = 0;
	int r;

	dir_fd = openat_beneath(repo->dir_fd, REPO_CACHE_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (dir_fd == -ENOENT)
		return 0;
	if (dir_fd < 0)
		return repo_open_failed(dir_fd, repo->dir_fd, repo->path, REPO_CACHE_DIR);
	if (flock(dir_fd, LOCK_EX) < 0)
		return st_errf(-errno, "cannot lock '" REPO_CACHE_DIR "/'");
	r = load_at(dir_fd, &ix);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		st_error_clear();
		(void)unlinkat(dir_fd, SHA256_INDEX_FILE, 0);   /* damaged: fsck --repair rebuilds it */
		return 0;
	}
	for (size_t i = 0; i < ix.n; i++)
		if (keep(userdata, ix.pairs[i].verity))
			ix.pairs[k++] = ix.pairs[i];
	if (k == ix.n)
		return 0;
	r = write_pairs(repo, dir_fd, ix.pairs, k);
	return r < 0 ? r : (int)MIN(ix.n - k, (size_t)INT32_MAX);
}

static pthread_mutex_t pairs_lock = PTHREAD_MUTEX_INITIALIZER;

void sha256_pairs_push(struct sha256_pairs *l, const uint8_t sha256[32], const uint8_t verity[32])
{
	pthread_mutex_lock(&pairs_lock);
	if (l->n >= SHA256_INDEX_MAX || GROW(l->p, l->cap, l->n + 1) < 0)
		l->oom = true;
	else {
		memcpy(l->p[l->n].sha256, sha256, 32);
		memcpy(l->p[l->n].verity, verity, 32);
		l->n++;
	}
	pthread_mutex_unlock(&pairs_lock);
}

void sha256_pairs_done(struct sha256_pairs *l)
{
	free(l->p);
	*l = (struct sha256_pairs){};
}
