/* SPDX-License-Identifier: MIT */
/*
 * fsck of objects/: names, types and modes, every object's fs-verity digest
 * against its name and, on a verity repository, the kernel's measurement.
 *
 * One pass on all CPUs: workers take whole fan-out directories, list them
 * and open each object once (fstat, hash, measure on that one descriptor),
 * recording what they found; the calling thread then reports and repairs in
 * directory order, so the report callback never runs on a worker. The cost
 * per object is openat, fstat, the reads and close; the rest is hashing.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/beneath.h"
#include "basic/error.h"
#include "basic/macro.h"
#include "basic/pool.h"
#include "fundamental/cpus.h"
#include "repo/fsck-internal.h"
#include "repo/sha256-index.h"
#include "sealtree/verity.h"

#define OBJECT_MODE 0644
#define READ_BUFFER_SIZE ((size_t)1 << 20)

enum entry_kind {
	ENTRY_TEMP,                     /* a writer's temporary file */
	ENTRY_BAD_NAME,
	ENTRY_VANISHED,                 /* removed since listed: nothing references it */
	ENTRY_NOT_REGULAR,
	ENTRY_OPEN_FAILED,              /* result: the errno */
	ENTRY_HASHED,                   /* result: of hashing; measure_result with verity */
};

struct entry {
	enum entry_kind kind;
	int result, measure_result;
	uint32_t mode;
	uint64_t size;
	uint8_t digest[ST_DIGEST_SIZE];         /* from the name */
	uint8_t computed[ST_DIGEST_SIZE];
	uint8_t measured[ST_DIGEST_SIZE];
	uint8_t sha256[32];             /* with --repair: of the content, for the SHA-256 index */
	bool has_sha256;
};

struct fanout {
	char name[3];
	struct name_entry *names;
	struct entry *entries;
	size_t n;
	int result;                     /* listing it */
};

struct pool {
	struct fsck *f;
	struct fanout *dirs;
	bool verity;
};

/* What each thread keeps: a hasher and a read buffer. */
struct worker {
	struct st_verity_hasher *hasher;
	void *buf;
};

static bool is_dir_entry(int dirfd, const struct name_entry *e)
{
	struct stat st;

	if (e->type != DT_UNKNOWN)
		return e->type == DT_DIR;
	return fstatat(dirfd, e->name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

/*
 * With --repair: the fs-verity digest and the SHA-256 (for the SHA-256
 * index) in one read of the size bytes of fd. Returns the hashing result;
 * *ret_has_sha256 tells whether ret_sha256 is set.
 */
static int digest_both(struct st_verity_hasher *h, int fd, uint64_t size, void *buf, uint8_t ret_digest[32],
		       uint8_t ret_sha256[32], bool *ret_has_sha256)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint64_t off = 0;
	bool ok;
	int r = 0;

	st_verity_hasher_reset(h);
	ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
	while (r >= 0 && off < size) {
		ssize_t k = pread(fd, buf, (size_t)MIN((uint64_t)READ_BUFFER_SIZE, size - off), (off_t)off);

		if (k <= 0) {
			r = k < 0 ? -errno : -ENODATA;
			break;
		}
		r = st_verity_hasher_update(h, buf, (size_t)k);
		ok = ok && EVP_DigestUpdate(ctx, buf, (size_t)k) == 1;
		off += (uint64_t)k;
	}
	if (r >= 0)
		r = st_verity_hasher_final(h, ret_digest);
	else
		st_verity_hasher_reset(h);
	*ret_has_sha256 = r >= 0 && ok && EVP_DigestFinal_ex(ctx, ret_sha256, NULL) == 1;
	EVP_MD_CTX_free(ctx);
	return r;
}

static void check_one(struct pool *p, int dir_fd, const char *fanout, const char *name, struct entry *e,
		      struct st_verity_hasher *h, void *buf)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;

	if (is_temp_name(name)) {
		e->kind = ENTRY_TEMP;
		return;
	}
	if (parse_object_name(fanout, name, e->digest) < 0) {
		e->kind = ENTRY_BAD_NAME;
		return;
	}
	/* O_NONBLOCK: a FIFO planted here must not hang fsck. */
	fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		e->kind = errno == ENOENT ? ENTRY_VANISHED :
			  errno == ELOOP || errno == ENXIO || errno == ENODEV ? ENTRY_NOT_REGULAR : ENTRY_OPEN_FAILED;
		e->result = -errno;
		return;
	}
	if (fstat(fd, &st) < 0) {
		e->kind = ENTRY_OPEN_FAILED;
		e->result = -errno;
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		e->kind = ENTRY_NOT_REGULAR;
		return;
	}
	e->kind = ENTRY_HASHED;
	e->mode = st.st_mode & 07777;
	e->size = (uint64_t)st.st_size;
	if (p->f->repair)
		e->result = digest_both(h, fd, e->size, buf, e->computed, e->sha256, &e->has_sha256);
	else
		e->result = st_verity_hasher_digest_fd(h, fd, buf, READ_BUFFER_SIZE, e->computed);
	if (e->result >= 0 && p->verity)
		e->measure_result = st_verity_measure_fd(fd, e->measured);
}

static void check_fanout(struct pool *p, struct fanout *d, struct st_verity_hasher *h, void *buf)
{
	_cleanup_close_ int fd = -EBADF;

	fd = openat(p->f->repo->objects_fd, d->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		d->result = -errno;
		return;
	}
	d->result = list_dir(fd, ".", &d->names, &d->n);
	if (d->result < 0)
		return;
	d->entries = new0(struct entry, d->n);
	if (!d->entries) {
		d->result = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < d->n; i++)
		check_one(p, fd, d->name, d->names[i].name, &d->entries[i], h, buf);
}

static void worker_done(void *userdata, void *state)
{
	struct worker *w = state;

	(void)userdata;
	if (!w)
		return;
	st_verity_hasher_free(w->hasher);
	free(w->buf);
	free(w);
}

static int worker_init(void *userdata, void **ret_state)
{
	struct worker *w = new0(struct worker, 1);

	if (!w)
		return -ENOMEM;
	if (st_verity_hasher_new(&w->hasher) < 0 || posix_memalign(&w->buf, 4096, READ_BUFFER_SIZE) != 0) {
		w->buf = NULL;
		worker_done(userdata, w);
		return -ENOMEM;
	}
	*ret_state = w;
	return 0;
}

static void check_fanout_job(void *userdata, void *state, size_t i)
{
	struct pool *p = userdata;
	struct worker *w = state;

	check_fanout(p, &p->dirs[i], w->hasher, w->buf);
}

static const struct pool_ops worker_ops = {
	.worker_init = worker_init,
	.worker_done = worker_done,
};

/* Every fan-out directory on the worker pool, the caller's thread included. */
static int run_pool(struct pool *p, size_t n_dirs, unsigned wanted)
{
	void *self = NULL;
	int r;

	r = worker_init(NULL, &self);
	if (r < 0)
		return r;
	r = pool_for_each(wanted ? MIN(wanted, POOL_THREADS_MAX) : cpus_available(POOL_THREADS_MAX), n_dirs,
			  &worker_ops, p, self, check_fanout_job);
	worker_done(NULL, self);
	return r;
}

int fsck_list_objects(struct fsck *f)
{
	struct name_entry *list = NULL;
	size_t n = 0;
	int r;

	r = list_dir(f->repo->objects_fd, ".", &list, &n);
	if (r < 0)
		return st_errf(r, "cannot read '%s/%s'", f->repo->path, REPO_OBJECTS_DIR);
	f->fanouts = new0(struct fanout, n);
	if (!f->fanouts)
		r = -ENOMEM;
	for (size_t i = 0; i < n && r >= 0; i++) {
		const char *name = list[i].name;
		_cleanup_free_ char *path = NULL;
		uint8_t b;

		if (asprintf(&path, "%s/%s", REPO_OBJECTS_DIR, name) < 0) {
			r = -ENOMEM;
			break;
		}
		if (is_temp_name(name))
			fsck_warn(f, path, "stray temporary file (gc removes it)");
		else if (strlen(name) != 2 || hex_decode_lower(name, 2, &b, 1) < 0 || !is_dir_entry(f->repo->objects_fd, &list[i]))
			(void)fsck_bad(f, path, "not an object fan-out directory (two lowercase hex digits)");
		else
			memcpy(f->fanouts[f->n_fanouts++].name, name, 3);
	}
	name_list_free(list, n);
	return r;
}

void fsck_objects_free(struct fsck *f)
{
	for (size_t i = 0; i < f->n_fanouts; i++) {
		name_list_free(f->fanouts[i].names, f->fanouts[i].n);
		free(f->fanouts[i].entries);
	}
	free(f->fanouts);
}

/* Report one checked object; add it to objects_ok unless it went to the quarantine. */
static int report_entry(struct fsck *f, struct fanout *d, size_t i, bool verity)
{
	const struct entry *e = &d->entries[i];
	const char *name = d->names[i].name;
	_cleanup_free_ char *path = NULL;
	char hex[65];

	if (asprintf(&path, "%s/%s/%s", REPO_OBJECTS_DIR, d->name, name) < 0)
		return -ENOMEM;
	switch (e->kind) {
	case ENTRY_TEMP:
		fsck_warn(f, path, "stray temporary file (gc removes it)");
		return 0;
	case ENTRY_BAD_NAME:
		(void)fsck_bad(f, path, "not an object name (64 lowercase hex digits in all)");
		return 0;
	case ENTRY_VANISHED:
		return 0; /* removed meanwhile: nothing references it (see the listing order) */
	case ENTRY_NOT_REGULAR:
		(void)fsck_bad(f, path, "not a regular file");
		return 0;
	case ENTRY_OPEN_FAILED:
		fsck_unfixable(f, path, "cannot open: %s", strerror(-e->result));
		return digest_set_add(&f->objects_ok, e->digest);
	case ENTRY_HASHED:
		break;
	}

	f->opts->objects_checked++;
	f->opts->object_bytes += e->size;
	if (e->mode != OBJECT_MODE) {
		int dir_fd = openat(f->repo->objects_fd, d->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		if (f->repair && dir_fd >= 0 && fchmodat(dir_fd, name, OBJECT_MODE, 0) == 0)
			fsck_report(f, ST_FSCK_WARNING, ST_FSCK_FIXED, path, NULL, "mode was %04o, not %04o",
				    (unsigned)e->mode, OBJECT_MODE);
		else
			fsck_warn(f, path, "mode is %04o, not %04o", (unsigned)e->mode, OBJECT_MODE);
		safe_close(dir_fd);
	}
	if (e->result == -EIO) {
		/* With fs-verity, what reads as EIO does not match its Merkle tree. */
		if (fsck_bad(f, path, "content cannot be read (I/O error%s)",
			     verity ? ": it does not match its fs-verity Merkle tree" : ""))
			return 0;
	} else if (e->result < 0) {
		fsck_unfixable(f, path, "cannot read: %s", strerror(-e->result));
	} else if (memcmp(e->computed, e->digest, ST_DIGEST_SIZE) != 0) {
		if (fsck_bad(f, path, "content has fs-verity digest %s, not its name", hex32(e->computed, hex)))
			return 0;
	} else if (verity && e->measure_result == -ENODATA) {
		/* The content hashed right: enabling fs-verity is the fix. */
		_cleanup_close_ int fd = -EBADF;

		if (f->repair)
			fd = openat_beneath(f->repo->objects_fd, path + strlen(REPO_OBJECTS_DIR) + 1,
					    O_RDONLY | O_NONBLOCK, 0);
		if (fd >= 0 && st_verity_enable_fd(fd) == 0)
			fsck_report(f, ST_FSCK_ERROR, ST_FSCK_FIXED, path, NULL, "fs-verity was not enabled");
		else
			fsck_unfixable(f, path, "fs-verity is not enabled on a verity repository");
	} else if (verity && e->measure_result < 0) {
		fsck_unfixable(f, path, "cannot measure fs-verity: %s", strerror(-e->measure_result));
	} else if (verity && memcmp(e->measured, e->digest, ST_DIGEST_SIZE) != 0) {
		if (fsck_bad(f, path, "kernel fs-verity measurement %s differs from the name",
			     hex32(e->measured, hex)))
			return 0;
	}
	/* Damaged but not moved still counts as present: the damage is reported once, here. */
	return digest_set_add(&f->objects_ok, e->digest);
}

/*
 * REPO/cache/sha256: a damaged file is a warning; with --repair it is
 * written again from every good object's SHA-256 (computed by the workers).
 */
static int check_sha256_index(struct fsck *f)
{
	_cleanup_(sha256_index_done) struct sha256_index ix = {};
	_cleanup_free_ struct sha256_pair *pairs = NULL;
	size_t n = 0, cap = 0;
	bool damaged;
	int r;

	r = sha256_index_load(f->repo, &ix);
	if (r == -ENOMEM)
		return r;
	damaged = r < 0;
	if (damaged && !f->repair)
		fsck_warn(f, "cache/sha256", "%s (fsck --repair writes it again)",
			  st_error_detail() ?: "damaged SHA-256 index");
	st_error_clear();
	if (!f->repair)
		return 0;
	for (size_t i = 0; i < f->n_fanouts; i++) {
		const struct fanout *d = &f->fanouts[i];

		for (size_t j = 0; j < d->n && d->result >= 0; j++) {
			const struct entry *e = &d->entries[j];

			if (e->kind != ENTRY_HASHED || !e->has_sha256 || e->size <= ST_INLINE_RECOMMENDED_MAX ||
			    memcmp(e->computed, e->digest, ST_DIGEST_SIZE) != 0 || !digest_set_contains(&f->objects_ok, e->digest))
				continue;
			if (GROW(pairs, cap, n + 1) < 0)
				return -ENOMEM;
			memcpy(pairs[n].sha256, e->sha256, 32);
			memcpy(pairs[n].verity, e->digest, 32);
			n++;
		}
	}
	r = sha256_index_replace(f->repo, pairs, n);
	if (r < 0)
		fsck_unfixable(f, "cache/sha256", "cannot write the SHA-256 index: %s",
			       st_error_detail() ?: strerror(-r));
	else if (damaged)
		fsck_report(f, ST_FSCK_WARNING, ST_FSCK_FIXED, "cache/sha256", NULL,
			    "was damaged: written again (%zu entries)", n);
	return 0;
}

int fsck_check_objects(struct fsck *f)
{
	struct pool p = {
		.f = f,
		.dirs = f->fanouts,
		.verity = st_repo_has_verity(f->repo),
	};
	int r;

	r = run_pool(&p, f->n_fanouts, f->opts->threads);
	if (r < 0)
		return r;
	for (size_t i = 0; i < f->n_fanouts; i++) {
		struct fanout *d = &f->fanouts[i];

		if (d->result == -ENOMEM)
			return d->result;
		if (d->result < 0) {
			_cleanup_free_ char *path = NULL;

			if (asprintf(&path, "%s/%s", REPO_OBJECTS_DIR, d->name) < 0)
				return -ENOMEM;
			fsck_unfixable(f, path, "cannot read the directory: %s", strerror(-d->result));
			continue;
		}
		for (size_t j = 0; j < d->n; j++) {
			r = report_entry(f, d, j, p.verity);
			if (r < 0)
				return r;
		}
	}
	return check_sha256_index(f);
}
