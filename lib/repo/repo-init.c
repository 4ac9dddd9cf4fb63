/* SPDX-License-Identifier: MIT */
/*
 * Creating a repository: the skeleton first, the config last and
 * atomically, so that an interrupted init leaves no repository.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/dirent-util.h"
#include "basic/beneath.h"
#include "basic/error.h"
#include "basic/io.h"
#include "basic/publish.h"
#include "repo-internal.h"
#include "sealtree/image.h"
#include "sealtree/verity.h"

/* The directories init creates, parents first. */
static const char *const skeleton_dirs[] = {
	REPO_OBJECTS_DIR, REPO_IMAGES_DIR, REPO_COMMITS_DIR, REPO_REFS_DIR,
	REPO_HEADS_DIR, REPO_MOUNTS_DIR, REPO_CACHE_DIR, REPO_TMP_DIR,
};

static int config_serialize(bool verity, char buf[256])
{
	return snprintf(buf, 256,
			"format-version=%d\n"
			"hash=sha256\n"
			"verity=%s\n"
			"image-version=%u\n",
			REPO_FORMAT_VERSION, verity ? "yes" : "no", ST_IMAGE_VERSION_MAX);
}


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
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int r;

	r = opendir_fd(dir_fd, &d);
	if (r < 0)
		return r;
	while ((r = readdir_next(d, &de)) > 0) {
		bool ours = false;

		if (strcmp(de->d_name, REPO_CONFIG) == 0) {
			r = st_errf(-EEXIST, "'%s' is a repository already", path);
			break;
		}
		for (size_t i = 0; i < ELEMENTSOF(skeleton_dirs); i++)
			if (strcmp(de->d_name, skeleton_dirs[i]) == 0)
				ours = true;
		if (strcmp(de->d_name, REPO_LOCK_FILE) == 0 || strncmp(de->d_name, ".pub-", 5) == 0)
			ours = true;    /* the lock, or the config's temporary file of an interrupted init */
		if (!ours) {
			r = st_errf(-ENOTEMPTY, "'%s' is not empty ('%s')", path, de->d_name);
			break;
		}
	}
	return r;
}

/* Before the config names the directory a repository, its skeleton is on disk. */
static int sync_skeleton(int fd, const char *display, void *userdata)
{
	(void)fd;
	if (syncfs(*(int *)userdata) < 0)
		return st_errf(negative_errno(), "cannot sync the filesystem of '%s'", display);
	return 0;
}

int st_repo_init(const char *path, enum st_repo_verity_mode mode, struct st_repo **ret)
{
	_cleanup_free_ char *display = NULL;
	_cleanup_close_ int dir_fd = -EBADF, tmp_fd = -EBADF, lock_fd = -EBADF;
	bool verity = false;
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
	/* What an interrupted init left must be what init makes: a symlink in its place is refused. */
	for (size_t i = 0; i < ELEMENTSOF(skeleton_dirs); i++) {
		_cleanup_close_ int fd = -EBADF;

		fd = mkdirat_beneath(dir_fd, skeleton_dirs[i], 0755, false);
		if (fd < 0)
			return repo_open_failed(fd, dir_fd, path, skeleton_dirs[i]);
	}
	lock_fd = openat_beneath(dir_fd, REPO_LOCK_FILE, O_RDWR | O_CREAT | O_NOCTTY | O_NONBLOCK, 0644);
	if (lock_fd < 0)
		return repo_open_failed(lock_fd, dir_fd, path, REPO_LOCK_FILE);
	r = fd_check_regular(lock_fd, REPO_LOCK_FILE);
	if (r < 0)
		return st_errf(r, "'%s': %s", path, st_error_detail());
	tmp_fd = openat_beneath(dir_fd, REPO_TMP_DIR, O_RDONLY | O_DIRECTORY, 0);
	if (tmp_fd < 0)
		return repo_open_failed(tmp_fd, dir_fd, path, REPO_TMP_DIR);

	if (mode != ST_REPO_VERITY_OFF) {
		r = probe_verity(tmp_fd);
		if (r < 0)
			return st_errf(r, "cannot probe fs-verity in '%s/%s'", path, REPO_TMP_DIR);
		if (r == 0 && mode == ST_REPO_VERITY_REQUIRE)
			return st_errf(-EOPNOTSUPP,
				       "the filesystem of '%s' cannot enable fs-verity (--verity=require); "
				       "use a filesystem with fs-verity (ext4 or btrfs with the verity feature)",
				       path);
		verity = r > 0;
	}

	/* The config is written last, atomically: until it exists, the directory is no repository. */
	len = config_serialize(verity, config);
	if (asprintf(&display, "%s/%s", path, REPO_CONFIG) < 0)
		return -ENOMEM;
	r = publish_data(dir_fd, REPO_CONFIG, display, config, (size_t)len, 0644, PUBLISH_SYNC,
			 &(struct publish_ops){ .prepare = sync_skeleton, .userdata = &dir_fd });
	if (r == 0)
		return st_errf(-EEXIST, "'%s' is a repository already", path);
	if (r < 0)
		return r;
	if (!ret)
		return 0;
	return st_repo_open(path, ret);
}
