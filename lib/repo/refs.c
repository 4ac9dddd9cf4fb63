/* SPDX-License-Identifier: MIT */
/*
 * Refs: REPO/refs/heads/NAME and REPO/refs/<namespace>/... files holding one
 * commit id and a newline. Updates are a temporary file in tmp/, fsync,
 * rename, fsync of the directory, made under an exclusive flock on REPO/refs
 * so that compare-and-swap is atomic between processes.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/dirent-util.h"
#include "basic/beneath.h"
#include "basic/error.h"
#include "basic/hex.h"
#include "repo-internal.h"

static int read_ref_at(struct st_repo *repo, const char *rel, const char *name, uint8_t ret_id[ST_COMMIT_ID_SIZE])
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	int r;

	st_error_clear();
	r = repo_read_small_file(repo->dir_fd, rel, 256, &data, &len);
	if (r == -ENOENT || r == -ENOTDIR)
		return st_errf(-ENOENT, "ref '%s' not found", name);
	if (r == -EFBIG)
		return st_errf(-EUCLEAN, "ref '%s' does not hold a commit id", name);
	if (r < 0)
		return st_errf(r, "ref '%s': %s", name, st_error_detail() ? st_error_detail() : "cannot read it");
	if (len != 65 || data[64] != '\n' || repo_parse_id(data, 64, ret_id) < 0)
		return st_errf(-EUCLEAN, "ref '%s' does not hold a commit id", name);
	return 0;
}

int st_repo_read_ref(struct st_repo *repo, const char *name, uint8_t ret_id[ST_COMMIT_ID_SIZE])
{
	char rel[REPO_REF_PATH_MAX], canon[ST_REF_NAME_MAX + 1];
	int r;

	r = st_ref_canonicalize(name, canon);
	if (r < 0)
		return r;
	r = repo_ref_path(canon, rel);
	if (r < 0)
		return r;
	return read_ref_at(repo, rel, canon, ret_id);
}

/* Exclusive flock on REPO/refs: held while a ref is compared and replaced. Returns the fd. */
static int lock_refs(struct st_repo *repo)
{
	int fd = openat_beneath(repo->dir_fd, REPO_REFS_DIR, O_RDONLY | O_DIRECTORY, 0);

	if (fd < 0)
		return repo_open_failed(fd, repo->dir_fd, repo->path, REPO_REFS_DIR);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int r = negative_errno();
			safe_close(fd);
			return st_errf(r, "cannot lock '%s/%s'", repo->path, REPO_REFS_DIR);
		}
	}
	return fd;
}

/* Create the directories above rel (a ref path); returns an fd of its directory. */
static int open_parent_dir(struct st_repo *repo, const char *rel, bool create, const char **ret_base)
{
	char buf[REPO_REF_PATH_MAX];
	char *slash;
	int fd;

	snprintf(buf, sizeof(buf), "%s", rel);
	slash = strrchr(buf, '/');
	*ret_base = rel + (slash - buf) + 1;
	*slash = '\0';
	/* A new directory's name is made durable too (the ref's fsync covers only its own directory). */
	if (create)
		fd = mkdirat_beneath(repo->dir_fd, buf, 0755, true);
	else
		fd = openat_beneath(repo->dir_fd, buf, O_RDONLY | O_DIRECTORY, 0);
	if (fd == -ELOOP)
		return st_errf(-EUCLEAN, "'%s/%s' is a symbolic link or lies under one: a repository holds none",
			       repo->path, buf);
	return fd;
}

int repo_write_ref_cas(struct st_repo *repo, const char *name, const uint8_t id[ST_COMMIT_ID_SIZE],
		       const uint8_t *old_id, bool expect_absent)
{
	_cleanup_close_ int lock_fd = -EBADF, dir_fd = -EBADF;
	char rel[REPO_REF_PATH_MAX], line[66], canon[ST_REF_NAME_MAX + 1];
	uint8_t cur[ST_COMMIT_ID_SIZE];
	const char *base;
	struct stat st;
	int r;

	/* Every ref is made here: its name is checked (and spelt) once, by the one canonicaliser. */
	r = st_ref_canonicalize(name, canon);
	if (r < 0)
		return r;
	name = canon;
	r = repo_ref_path(name, rel);
	if (r < 0)
		return r;
	st_hex_encode(id, ST_COMMIT_ID_SIZE, line);
	if (fstatat(repo->commits_fd, line, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return st_errf(errno == ENOENT ? -ENOENT : negative_errno(), "commit %s not found", line);
	if (!S_ISREG(st.st_mode))
		return st_errf(-EUCLEAN, "commit %s is a %s, not a regular file", line, file_type_name(st.st_mode));
	line[64] = '\n';

	lock_fd = lock_refs(repo);
	if (lock_fd < 0)
		return lock_fd;
	if (old_id || expect_absent) {
		r = read_ref_at(repo, rel, name, cur);
		if (r < 0 && r != -ENOENT)
			return r;
		if (expect_absent && r == 0)
			return st_errf(-ESTALE, "ref '%s' was created meanwhile", name);
		if (old_id && r == -ENOENT)
			return st_errf(-ENOENT, "ref '%s' not found", name);
		if (old_id && memcmp(cur, old_id, ST_COMMIT_ID_SIZE) != 0)
			return st_errf(-ESTALE, "ref '%s' moved meanwhile", name);
	}
	dir_fd = open_parent_dir(repo, rel, true, &base);
	if (dir_fd == -ENOTDIR || dir_fd == -EEXIST)
		return st_errf(-EEXIST, "ref '%s' conflicts with an existing ref", name);
	if (dir_fd == -EUCLEAN)
		return st_errf(dir_fd, "ref '%s': %s", name, st_error_detail());
	if (dir_fd < 0)
		return st_errf(dir_fd, "cannot create the directory of ref '%s'", name);
	if (fstatat(dir_fd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
		return st_errf(-EEXIST, "ref '%s' conflicts with existing refs under it", name);
	r = repo_publish_file(repo, dir_fd, base, rel, line, 65, REPO_PUBLISH_FSYNC);
	return r < 0 ? r : 0;
}

int st_repo_write_ref(struct st_repo *repo, const char *name, const uint8_t id[ST_COMMIT_ID_SIZE],
		      const uint8_t *old_id)
{
	return repo_write_ref_cas(repo, name, id, old_id, false);
}

int st_repo_delete_ref(struct st_repo *repo, const char *name)
{
	_cleanup_close_ int lock_fd = -EBADF, dir_fd = -EBADF;
	char rel[REPO_REF_PATH_MAX], canon[ST_REF_NAME_MAX + 1];
	uint8_t cur[ST_COMMIT_ID_SIZE];
	const char *base;
	int r;

	r = st_ref_canonicalize(name, canon);
	if (r < 0)
		return r;
	name = canon;
	r = repo_ref_path(name, rel);
	if (r < 0)
		return r;
	lock_fd = lock_refs(repo);
	if (lock_fd < 0)
		return lock_fd;
	r = read_ref_at(repo, rel, name, cur);
	if (r == -ENOENT)
		return r;
	dir_fd = open_parent_dir(repo, rel, false, &base);
	if (dir_fd == -EUCLEAN)
		return st_errf(dir_fd, "ref '%s': %s", name, st_error_detail());
	if (dir_fd < 0)
		return st_errf(dir_fd, "cannot open the directory of ref '%s'", name);
	if (unlinkat(dir_fd, base, 0) < 0)
		return st_errf(negative_errno(), "cannot delete ref '%s'", name);
	if (fsync(dir_fd) < 0)
		return st_errf(negative_errno(), "cannot sync the directory of ref '%s'", name);
	/* Drop directories left empty (refs/heads/a/b -> refs/heads/a), never the namespaces. */
	for (char *slash; (slash = strrchr(rel, '/'));) {
		*slash = '\0';
		if (strcmp(rel, REPO_HEADS_DIR) == 0 || strcmp(rel, REPO_MOUNTS_DIR) == 0 ||
		    !strchr(rel + strlen(REPO_REFS_DIR) + 1, '/'))
			break;
		_cleanup_close_ int pfd = openat_beneath_parent(repo->dir_fd, rel, &base);

		if (pfd < 0 || unlinkat(pfd, base, AT_REMOVEDIR) < 0)
			break;
	}
	return 0;
}

/* ---- listing ---- */

struct ref_list {
	struct st_ref *refs;
	size_t n, cap;
};

/*
 * rel is a directory ST_REF_DEPTH_MAX components deep at most ("refs" is 1).
 * What lies deeper, or under a name that is not the canonical one, is no ref
 * (fsck reports it): skipped, so one stray entry cannot break the listing.
 */
static int list_dir(struct st_repo *repo, char *rel, size_t rel_len, unsigned depth, struct ref_list *l)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int r;

	r = opendir_beneath(repo->dir_fd, rel, &d);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return repo_open_failed(r, repo->dir_fd, repo->path, rel);
	while ((r = readdir_next(d, &de)) > 0) {
		size_t nlen = strlen(de->d_name);
		char name[ST_REF_NAME_MAX + 1];
		struct stat st;

		if (de->d_name[0] == '.')
			continue;       /* ".", "..", and nothing valid starts with '.' */
		if (rel_len + 1 + nlen >= REPO_REF_PATH_MAX)
			continue;
		rel[rel_len] = '/';
		memcpy(rel + rel_len + 1, de->d_name, nlen + 1);
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rel[rel_len] = '\0';
			continue;       /* deleted meanwhile */
		}
		if (S_ISDIR(st.st_mode)) {
			if (depth + 1 < ST_REF_DEPTH_MAX)
				r = list_dir(repo, rel, rel_len + 1 + nlen, depth + 1, l);
		} else if (S_ISREG(st.st_mode) && repo_ref_name_of_path(rel, name) < 0) {
			st_error_clear();       /* not a ref: fsck reports it */
		} else if (S_ISREG(st.st_mode)) {
			uint8_t id[ST_COMMIT_ID_SIZE];

			r = read_ref_at(repo, rel, name, id);
			if (r == -ENOENT)
				r = 0;
			else if (r >= 0) {
				r = GROW(l->refs, l->cap, l->n + 1);
				if (r >= 0) {
					l->refs[l->n].name = strdup(name);
					memcpy(l->refs[l->n].id, id, sizeof(id));
					if (!l->refs[l->n].name)
						r = -ENOMEM;
					else
						l->n++;
				}
			}
		}
		rel[rel_len] = '\0';
		if (r < 0)
			break;
	}
	return r;
}

static int ref_cmp(const void *a, const void *b)
{
	return strcmp(((const struct st_ref *)a)->name, ((const struct st_ref *)b)->name);
}

void st_ref_list_free(struct st_ref *refs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(refs[i].name);
	free(refs);
}

int st_repo_list_refs(struct st_repo *repo, bool all, struct st_ref **ret, size_t *ret_n)
{
	struct ref_list l = { 0 };
	char rel[REPO_REF_PATH_MAX];
	int r;

	snprintf(rel, sizeof(rel), "%s", all ? REPO_REFS_DIR : REPO_HEADS_DIR);
	r = list_dir(repo, rel, strlen(rel), all ? 1 : 2, &l);
	if (r < 0) {
		st_ref_list_free(l.refs, l.n);
		return r;
	}
	if (l.n > 1)
		qsort(l.refs, l.n, sizeof(*l.refs), ref_cmp);
	*ret = l.refs;
	*ret_n = l.n;
	return 0;
}
