/* SPDX-License-Identifier: MIT */
/*
 * Opening and locking a repository, its config, object and image paths.
 * See docs/formats/repository.md; creating one is repo-init.c.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/beneath.h"
#include "basic/error.h"
#include "basic/hex.h"
#include "repo-internal.h"
#include "sealtree/image.h"

#define CONFIG_SIZE_MAX 4096

/* ---- config ---- */

struct repo_config {
	bool verity;
	uint32_t image_version;
};

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
	int fd = openat_beneath(dir_fd, name, O_RDONLY | O_DIRECTORY, 0);

	if (fd < 0)
		return repo_open_failed(fd, dir_fd, path, name);
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
		return st_errf(r == -EFBIG ? -EUCLEAN : r, "repository '%s': %s", path, st_error_detail());
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
		r = st_digest_store_open_fd(repo->objects_fd, p, &repo->store);
		if (r < 0)
			return r;
		st_digest_store_require_verity(repo->store, repo->verity);
		if (!repo->verity)
			st_digest_store_skip_verity(repo->store);
	}
	*ret = repo->store;
	return 0;
}

/* ---- locking ---- */

static int repo_lock(struct st_repo *repo, int op, bool wait)
{
	int r;

	if (repo->lock_fd < 0) {
		int fd = openat_beneath(repo->dir_fd, REPO_LOCK_FILE, O_RDWR | O_CREAT | O_NOCTTY | O_NONBLOCK, 0644);
		bool read_only = fd == -EROFS;

		/* flock() needs no write access: a repository we may only read, or one on a read-only filesystem. */
		if (fd == -EACCES || fd == -EROFS)
			fd = openat_beneath(repo->dir_fd, REPO_LOCK_FILE, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0);
		/* Nothing can write a read-only filesystem: a reader needs no lock there. */
		if (fd == -ENOENT && read_only && op == LOCK_SH)
			return 0;
		if (fd < 0 && fd != -ENOENT && fd != -EACCES) {
			r = open_file_failed(fd, repo->dir_fd, REPO_LOCK_FILE, true);
			return st_errf(r, "repository '%s': %s", repo->path, st_error_detail());
		}
		if (fd < 0)
			return st_errf(fd, "cannot open '%s/%s'", repo->path, REPO_LOCK_FILE);
		r = fd_check_regular(fd, REPO_LOCK_FILE);
		if (r < 0) {
			safe_close(fd);
			return st_errf(r, "repository '%s': %s", repo->path, st_error_detail());
		}
		repo->lock_fd = fd;
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
	st_hex_encode(digest, 1, buf + 8);
	buf[10] = '/';
	st_hex_encode(digest + 1, ST_DIGEST_SIZE - 1, buf + 11);
}

void st_repo_image_relpath(const uint8_t digest[ST_DIGEST_SIZE], char buf[72])
{
	memcpy(buf, REPO_IMAGES_DIR "/", 7);
	st_hex_encode(digest, ST_DIGEST_SIZE, buf + 7);
}

/*
 * Open repo's rel read-only, never through a symlink, never blocking on a
 * FIFO, a regular file only; an error names it "WHAT NAME".
 */
static int open_stored(struct st_repo *repo, const char *rel, const char *what, const char *name)
{
	_cleanup_close_ int fd = -EBADF;
	int r;

	fd = openat_beneath(repo->dir_fd, rel, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0);
	if (fd == -ENOENT)
		return st_errf(fd, "%s %s", what, name);
	if (fd < 0) {
		r = open_file_failed(fd, repo->dir_fd, rel, true);
		return st_errf(r, "%s %s: %s", what, name, st_error_detail());
	}
	r = fd_check_regular(fd, rel);
	if (r < 0)
		return st_errf(r, "%s %s: %s", what, name, st_error_detail());
	return TAKE_FD(fd);
}

int st_repo_open_object(struct st_repo *repo, const uint8_t digest[ST_DIGEST_SIZE])
{
	char rel[74];

	st_repo_object_relpath(digest, rel);
	return open_stored(repo, rel, "object", rel + 8);
}

int st_repo_open_image(struct st_repo *repo, const uint8_t digest[ST_DIGEST_SIZE])
{
	char rel[72];

	st_repo_image_relpath(digest, rel);
	return open_stored(repo, rel, "image", rel + 7);
}

int st_repo_has_object(struct st_repo *repo, const uint8_t digest[ST_DIGEST_SIZE])
{
	char rel[74];
	struct stat st;

	int r;

	st_repo_object_relpath(digest, rel);
	r = fstatat_beneath(repo->dir_fd, rel, &st);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return st_errf(r, "object %s", rel + 8);
	return S_ISREG(st.st_mode) ? 1 : 0;
}

int st_repo_sync(struct st_repo *repo)
{
	if (syncfs(repo->dir_fd) < 0)
		return st_errf(negative_errno(), "cannot sync repository '%s'", repo->path);
	return 0;
}

int repo_open_failed(int r, int dir_fd, const char *path, const char *rel)
{
	struct stat st;

	if (r == -ELOOP)
		return st_errf(-EUCLEAN, "'%s/%s' is a symbolic link or lies under one: a repository holds none", path,
			       rel);
	if (r == -ENOTDIR && fstatat_beneath(dir_fd, rel, &st) == 0)
		return st_errf(-EUCLEAN, "'%s/%s' is a %s, not a directory", path, rel, file_type_name(st.st_mode));
	if (r == -ENOENT)
		return st_errf(-EUCLEAN, "repository '%s': '%s' is missing", path, rel);
	return st_errf(r, "repository '%s': cannot open '%s'", path, rel);
}
