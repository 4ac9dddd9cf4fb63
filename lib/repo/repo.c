/* SPDX-License-Identifier: MIT */
/*
 * Creating, opening and locking a repository; its config; object and image
 * paths; publishing files atomically. See docs/formats/repository.md.
 */
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include "basic/error.h"
#include "basic/hex.h"
#include "basic/io.h"
#include "repo-internal.h"
#include "sealtree/image.h"
#include "sealtree/verity.h"

#define CONFIG_SIZE_MAX 4096

/* The directories init creates, parents first. */
static const char *const skeleton_dirs[] = {
	REPO_OBJECTS_DIR, REPO_IMAGES_DIR, REPO_COMMITS_DIR, REPO_REFS_DIR,
	REPO_HEADS_DIR, REPO_MOUNTS_DIR, REPO_CACHE_DIR, REPO_TMP_DIR,
};

void repo_tmp_name(const char *prefix, char buf[64])
{
	static atomic_uint counter;
	uint32_t rnd = 0;

	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
		rnd = (uint32_t)(uintptr_t)buf;
	snprintf(buf, 64, "%.16s.%ld.%u.%08x", prefix, (long)getpid(), atomic_fetch_add(&counter, 1), rnd);
}

int repo_parse_id(const char *s, size_t len, uint8_t ret[32])
{
	if (len != 64)
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return -EINVAL;
	return hex_decode_exact(s, len, ret, 32);
}

int repo_read_small_file(int dir_fd, const char *name, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ uint8_t *buf = NULL;
	struct stat st;
	size_t len;
	int r;

	fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return negative_errno();
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (!S_ISREG(st.st_mode))
		return -EUCLEAN;
	if ((uint64_t)st.st_size > max)
		return -EFBIG;
	r = read_fd_all(fd, &buf, &len);
	if (r < 0)
		return r;
	if (len > max)
		return -EFBIG;
	buf[len] = '\0';
	*ret = (char *)TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

static int fsync_dir(int dir_fd)
{
	return fsync(dir_fd) < 0 ? negative_errno() : 0;
}

int repo_publish_tmp(struct st_repo *repo, const char *tmp_name, int dir_fd, const char *name, unsigned flags)
{
	int r;

	if (flags & REPO_PUBLISH_VERITY) {
		_cleanup_close_ int fd = openat(repo->tmp_fd, tmp_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

		if (fd < 0)
			r = negative_errno();
		else {
			r = st_verity_enable_fd(fd);
			if (r == -EEXIST)
				r = 0;
		}
		if (r < 0) {
			(void)unlinkat(repo->tmp_fd, tmp_name, 0);
			return st_errf(r, "cannot enable fs-verity on '%s'", name);
		}
	}
	if (flags & REPO_PUBLISH_FSYNC) {
		_cleanup_close_ int fd = openat(repo->tmp_fd, tmp_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

		if (fd < 0 || fsync(fd) < 0) {
			r = negative_errno();
			(void)unlinkat(repo->tmp_fd, tmp_name, 0);
			return st_errf(r, "cannot sync '%s'", name);
		}
	}
	if (flags & REPO_PUBLISH_NOREPLACE) {
		r = renameat2(repo->tmp_fd, tmp_name, dir_fd, name, RENAME_NOREPLACE);
		if (r < 0 && errno == EINVAL) {
			/* No RENAME_NOREPLACE here: link() never replaces either. */
			r = linkat(repo->tmp_fd, tmp_name, dir_fd, name, 0);
			if (r == 0 || errno == EEXIST) {
				int saved = errno;
				(void)unlinkat(repo->tmp_fd, tmp_name, 0);
				errno = saved;
			}
		}
		if (r < 0 && errno == EEXIST) {
			(void)unlinkat(repo->tmp_fd, tmp_name, 0);
			return 0;
		}
	} else
		r = renameat(repo->tmp_fd, tmp_name, dir_fd, name);
	if (r < 0) {
		r = negative_errno();
		(void)unlinkat(repo->tmp_fd, tmp_name, 0);
		return st_errf(r, "cannot publish '%s'", name);
	}
	if (flags & REPO_PUBLISH_FSYNC) {
		r = fsync_dir(dir_fd);
		if (r < 0)
			return st_errf(r, "cannot sync the directory of '%s'", name);
	}
	return 1;
}

int repo_publish_file(struct st_repo *repo, int dir_fd, const char *name, const void *data, size_t len,
		      unsigned flags)
{
	char tmp[64];
	int fd, r;

	repo_tmp_name("file", tmp);
	fd = openat(repo->tmp_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return st_errf(negative_errno(), "cannot create a temporary file in '%s/%s'", repo->path,
			       REPO_TMP_DIR);
	r = write_full(fd, data, len);
	safe_close(fd);
	if (r < 0) {
		(void)unlinkat(repo->tmp_fd, tmp, 0);
		return st_errf(r, "cannot write '%s'", name);
	}
	return repo_publish_tmp(repo, tmp, dir_fd, name, flags);
}

/* ---- config ---- */

struct repo_config {
	bool verity;
	uint32_t image_version;
};

static int config_serialize(const struct repo_config *c, char buf[256])
{
	return snprintf(buf, 256,
			"format-version=%d\n"
			"hash=sha256\n"
			"verity=%s\n"
			"image-version=%u\n",
			REPO_FORMAT_VERSION, c->verity ? "yes" : "no", c->image_version);
}

static int config_parse(const char *path, char *s, size_t len, struct repo_config *ret)
{
	struct repo_config c = { .image_version = ST_IMAGE_VERSION_MAX };
	bool have_format = false, have_verity = false;
	unsigned line = 0;

	if (memchr(s, '\0', len))
		return st_errf(-EUCLEAN, "'%s/config': contains a NUL byte", path);
	for (char *p = s, *nl; p < s + len; p = nl + 1) {
		char *eq, *key, *value;

		line++;
		nl = memchr(p, '\n', (size_t)(s + len - p));
		if (!nl)
			return st_errf(-EUCLEAN, "'%s/config' line %u: no newline at the end", path, line);
		*nl = '\0';
		if (*p == '\0' || *p == '#')
			continue;
		eq = strchr(p, '=');
		if (!eq)
			return st_errf(-EUCLEAN, "'%s/config' line %u: not key=value", path, line);
		*eq = '\0';
		key = p;
		value = eq + 1;
		if (strcmp(key, "format-version") == 0) {
			if (strcmp(value, "1") != 0)
				return st_errf(-EOPNOTSUPP, "'%s/config': format-version %s is not supported (only 1)",
					       path, value);
			have_format = true;
		} else if (strcmp(key, "hash") == 0) {
			if (strcmp(value, "sha256") != 0)
				return st_errf(-EOPNOTSUPP, "'%s/config': hash '%s' is not supported", path, value);
		} else if (strcmp(key, "verity") == 0) {
			if (strcmp(value, "yes") == 0)
				c.verity = true;
			else if (strcmp(value, "no") == 0)
				c.verity = false;
			else
				return st_errf(-EUCLEAN, "'%s/config' line %u: verity must be yes or no", path, line);
			have_verity = true;
		} else if (strcmp(key, "image-version") == 0) {
			if (strcmp(value, "0") == 0)
				c.image_version = 0;
			else if (strcmp(value, "1") == 0)
				c.image_version = 1;
			else
				return st_errf(-EOPNOTSUPP, "'%s/config': image-version %s is not supported", path,
					       value);
		}
		/* Other keys are informational for this version: ignored. */
	}
	if (!have_format)
		return st_errf(-EUCLEAN, "'%s/config': no format-version", path);
	if (!have_verity)
		return st_errf(-EUCLEAN, "'%s/config': no verity setting", path);
	*ret = c;
	return 0;
}

/* ---- open / free ---- */

static int open_subdir(int dir_fd, const char *name, const char *path, int *ret)
{
	int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return st_errf(negative_errno() == -ENOENT ? -EUCLEAN : negative_errno(),
			       "repository '%s': cannot open '%s'", path, name);
	*ret = fd;
	return 0;
}

struct st_repo *st_repo_free(struct st_repo *repo)
{
	if (!repo)
		return NULL;
	st_digest_store_free(repo->store);
	safe_close(repo->lock_fd);
	safe_close(repo->objects_fd);
	safe_close(repo->images_fd);
	safe_close(repo->commits_fd);
	safe_close(repo->tmp_fd);
	safe_close(repo->dir_fd);
	free(repo->path);
	free(repo);
	return NULL;
}

static void repo_freep(struct st_repo **p)
{
	st_repo_free(*p);
}

int st_repo_open(const char *path, struct st_repo **ret)
{
	_cleanup_(repo_freep) struct st_repo *repo = NULL;
	_cleanup_free_ char *config = NULL;
	struct repo_config c = { 0 };
	size_t len;
	int r;

	if (!path || !*path || !ret)
		return -EINVAL;
	repo = new0(struct st_repo, 1);
	if (!repo)
		return -ENOMEM;
	repo->dir_fd = repo->objects_fd = repo->images_fd = repo->commits_fd = repo->tmp_fd = -EBADF;
	repo->lock_fd = -EBADF;
	repo->path = strdup(path);
	if (!repo->path)
		return -ENOMEM;
	repo->dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (repo->dir_fd < 0)
		return st_errf(negative_errno(), "cannot open repository '%s'", path);
	r = repo_read_small_file(repo->dir_fd, REPO_CONFIG, CONFIG_SIZE_MAX, &config, &len);
	if (r == -ENOENT)
		return st_errf(r, "'%s' is not a sealtree repository (no config)", path);
	if (r < 0)
		return st_errf(r == -EFBIG ? -EUCLEAN : r, "cannot read '%s/config'", path);
	r = config_parse(path, config, len, &c);
	if (r < 0)
		return r;
	repo->verity = c.verity;
	repo->image_version_max = c.image_version;

	r = open_subdir(repo->dir_fd, REPO_OBJECTS_DIR, path, &repo->objects_fd);
	if (r >= 0)
		r = open_subdir(repo->dir_fd, REPO_IMAGES_DIR, path, &repo->images_fd);
	if (r >= 0)
		r = open_subdir(repo->dir_fd, REPO_COMMITS_DIR, path, &repo->commits_fd);
	if (r >= 0)
		r = open_subdir(repo->dir_fd, REPO_TMP_DIR, path, &repo->tmp_fd);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(repo);
	return 0;
}

const char *st_repo_path(const struct st_repo *repo)
{
	return repo->path;
}

int st_repo_dirfd(const struct st_repo *repo)
{
	return repo->dir_fd;
}

bool st_repo_has_verity(const struct st_repo *repo)
{
	return repo->verity;
}

int repo_object_store(struct st_repo *repo, struct st_digest_store **ret)
{
	_cleanup_free_ char *p = NULL;
	int r;

	if (!repo->store) {
		if (asprintf(&p, "%s/%s", repo->path, REPO_OBJECTS_DIR) < 0)
			return -ENOMEM;
		r = st_digest_store_open(p, &repo->store);
		if (r < 0)
			return r;
		st_digest_store_require_verity(repo->store, repo->verity);
	}
	*ret = repo->store;
	return 0;
}

/* ---- init ---- */

/* Can this filesystem enable fs-verity? Probed on a file in tmp/. 1 yes, 0 no. */
static int probe_verity(int tmp_fd)
{
	static const uint8_t block[4096];
	char name[64];
	int fd, r;

	repo_tmp_name("verity-probe", name);
	fd = openat(tmp_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return negative_errno();
	r = write_full(fd, block, sizeof(block));
	safe_close(fd);
	if (r >= 0) {
		fd = openat(tmp_fd, name, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			r = negative_errno();
		else {
			r = st_verity_enable_fd(fd) >= 0 ? 1 : 0;
			safe_close(fd);
		}
	}
	(void)unlinkat(tmp_fd, name, 0);
	return r;
}

/* A directory holding nothing, or only what an interrupted init left (no config). */
static int check_empty_or_partial(int dir_fd, const char *path)
{
	_cleanup_close_ int fd = dup(dir_fd);
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (fd < 0)
		return negative_errno();
	d = fdopendir(fd);
	if (!d)
		return negative_errno();
	TAKE_FD(fd);
	while ((de = readdir(d))) {
		bool ours = false;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (strcmp(de->d_name, REPO_CONFIG) == 0) {
			r = st_errf(-EEXIST, "'%s' is a repository already", path);
			break;
		}
		for (size_t i = 0; i < ELEMENTSOF(skeleton_dirs); i++)
			if (strcmp(de->d_name, skeleton_dirs[i]) == 0)
				ours = true;
		if (strcmp(de->d_name, REPO_LOCK_FILE) == 0)
			ours = true;
		if (!ours) {
			r = st_errf(-ENOTEMPTY, "'%s' is not empty ('%s')", path, de->d_name);
			break;
		}
	}
	closedir(d);
	return r;
}

int st_repo_init(const char *path, enum st_repo_verity_mode mode, struct st_repo **ret)
{
	_cleanup_close_ int dir_fd = -EBADF, tmp_fd = -EBADF, lock_fd = -EBADF;
	struct repo_config c = { .image_version = ST_IMAGE_VERSION_MAX };
	char config[256];
	int r, len;

	if (!path || !*path || mode > ST_REPO_VERITY_OFF)
		return -EINVAL;
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return st_errf(negative_errno(), "cannot create '%s'", path);
	dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0)
		return st_errf(negative_errno(), "cannot open '%s'", path);
	r = check_empty_or_partial(dir_fd, path);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ELEMENTSOF(skeleton_dirs); i++)
		if (mkdirat(dir_fd, skeleton_dirs[i], 0755) < 0 && errno != EEXIST)
			return st_errf(negative_errno(), "cannot create '%s/%s'", path, skeleton_dirs[i]);
	lock_fd = openat(dir_fd, REPO_LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lock_fd < 0)
		return st_errf(negative_errno(), "cannot create '%s/%s'", path, REPO_LOCK_FILE);
	tmp_fd = openat(dir_fd, REPO_TMP_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tmp_fd < 0)
		return st_errf(negative_errno(), "cannot open '%s/%s'", path, REPO_TMP_DIR);

	if (mode != ST_REPO_VERITY_OFF) {
		r = probe_verity(tmp_fd);
		if (r < 0)
			return st_errf(r, "cannot probe fs-verity in '%s/%s'", path, REPO_TMP_DIR);
		if (r == 0 && mode == ST_REPO_VERITY_REQUIRE)
			return st_errf(-EOPNOTSUPP,
				       "the filesystem of '%s' cannot enable fs-verity (--verity=require); "
				       "use a filesystem with fs-verity (ext4 or btrfs with the verity feature)",
				       path);
		c.verity = r > 0;
	}

	/* The config is written last, atomically: until it exists, the directory is no repository. */
	len = config_serialize(&c, config);
	{
		char tmp[64];
		int fd;

		repo_tmp_name("config", tmp);
		fd = openat(tmp_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0)
			return st_errf(negative_errno(), "cannot create '%s/%s/%s'", path, REPO_TMP_DIR, tmp);
		r = write_full(fd, config, (size_t)len);
		if (r >= 0 && fsync(fd) < 0)
			r = negative_errno();
		safe_close(fd);
		if (r >= 0 && syncfs(dir_fd) < 0)  /* the skeleton before the config names it a repository */
			r = negative_errno();
		if (r >= 0 && renameat2(tmp_fd, tmp, dir_fd, REPO_CONFIG, RENAME_NOREPLACE) < 0)
			r = errno == EEXIST ? st_errf(-EEXIST, "'%s' is a repository already", path)
					    : negative_errno();
		if (r < 0) {
			(void)unlinkat(tmp_fd, tmp, 0);
			return st_errf(r, "cannot write '%s/config'", path);
		}
		(void)fsync(dir_fd);
	}
	if (!ret)
		return 0;
	return st_repo_open(path, ret);
}

/* ---- locking ---- */

static int repo_lock(struct st_repo *repo, int op, bool wait)
{
	int r;

	if (repo->lock_fd < 0) {
		repo->lock_fd = openat(repo->dir_fd, REPO_LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (repo->lock_fd < 0 && errno == EACCES)
			repo->lock_fd = openat(repo->dir_fd, REPO_LOCK_FILE, O_RDONLY | O_CLOEXEC);
		if (repo->lock_fd < 0)
			return st_errf(negative_errno(), "cannot open '%s/%s'", repo->path, REPO_LOCK_FILE);
	}
	do
		r = flock(repo->lock_fd, op | (wait ? 0 : LOCK_NB));
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		r = negative_errno();
		if (r == -EWOULDBLOCK)
			return st_errf(r, "repository '%s' is locked by another process", repo->path);
		return st_errf(r, "cannot lock '%s/%s'", repo->path, REPO_LOCK_FILE);
	}
	return 0;
}

int st_repo_lock_shared(struct st_repo *repo, bool wait)
{
	return repo_lock(repo, LOCK_SH, wait);
}

int st_repo_lock_exclusive(struct st_repo *repo, bool wait)
{
	return repo_lock(repo, LOCK_EX, wait);
}

void st_repo_unlock(struct st_repo *repo)
{
	repo->lock_fd = safe_close(repo->lock_fd);
}

/* ---- objects and images ---- */

void st_repo_object_relpath(const uint8_t digest[ST_DIGEST_SIZE], char buf[74])
{
	memcpy(buf, REPO_OBJECTS_DIR "/", 8);
	hex_encode(digest, 1, buf + 8);
	buf[10] = '/';
	hex_encode(digest + 1, ST_DIGEST_SIZE - 1, buf + 11);
}

void st_repo_image_relpath(const uint8_t digest[ST_DIGEST_SIZE], char buf[72])
{
	memcpy(buf, REPO_IMAGES_DIR "/", 7);
	hex_encode(digest, ST_DIGEST_SIZE, buf + 7);
}

int st_repo_open_object(struct st_repo *repo, const uint8_t digest[ST_DIGEST_SIZE])
{
	char rel[74];
	int fd;

	st_repo_object_relpath(digest, rel);
	fd = openat(repo->dir_fd, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return st_errf(negative_errno(), "object %s", rel + 8);
	return fd;
}

int st_repo_open_image(struct st_repo *repo, const uint8_t digest[ST_DIGEST_SIZE])
{
	char rel[72];
	int fd;

	st_repo_image_relpath(digest, rel);
	fd = openat(repo->dir_fd, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return st_errf(negative_errno(), "image %s", rel + 7);
	return fd;
}

int st_repo_has_object(struct st_repo *repo, const uint8_t digest[ST_DIGEST_SIZE])
{
	char rel[74];
	struct stat st;

	st_repo_object_relpath(digest, rel);
	if (fstatat(repo->dir_fd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return st_errf(negative_errno(), "object %s", rel + 8);
	}
	return S_ISREG(st.st_mode) ? 1 : 0;
}

int st_repo_sync(struct st_repo *repo)
{
	if (syncfs(repo->dir_fd) < 0)
		return st_errf(negative_errno(), "cannot sync repository '%s'", repo->path);
	return 0;
}
