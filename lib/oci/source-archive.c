/* SPDX-License-Identifier: MIT */
/*
 * oci-archive and docker-archive sources: the archive is read once by the
 * repository's tar reader (lib/tree/tar-read.c, with all its rules on names,
 * links and sizes) into a private digest store in a temporary directory
 * below the repository's tmp/, so that no member is ever written to a path
 * the archive chose. The files are then opened through the tree
 * (source.c); st_oci_source_free() removes the directory.
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/error.h"
#include "oci-internal.h"
#include "tree/digest-store.h"
#include "tree/tar.h"

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		(void)rmdir(path);
	else
		(void)unlink(path);
	return 0;
}

void oci_source_archive_done(struct st_oci_source *src)
{
	st_node_free(src->tree);
	src->tree = NULL;
	st_digest_store_free(src->store);
	src->store = NULL;
	if (src->store_fd >= 0)
		close(src->store_fd);
	src->store_fd = -EBADF;
	if (src->tmp_path) {
		/* Our own directory: depth first, never following a symlink. */
		(void)nftw(src->tmp_path, remove_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
		free(src->tmp_path);
		src->tmp_path = NULL;
	}
}

int oci_source_unpack_archive(struct st_oci_source *src, const char *file, const char *tmp_dir)
{
	struct st_tar_read_options to = { 0 };
	_cleanup_free_ char *objects = NULL;
	_cleanup_close_ int fd = -EBADF;
	const char *base = tmp_dir ? tmp_dir : getenv("TMPDIR");
	int r;

	if (!base || !*base)
		base = "/tmp";
	fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return st_errf(-errno, "%s: cannot open: %m", src->display);
	if (asprintf(&src->tmp_path, "%s/oci-source-XXXXXX", base) < 0) {
		src->tmp_path = NULL;
		return -ENOMEM;
	}
	if (!mkdtemp(src->tmp_path)) {
		r = st_errf(-errno, "cannot make a temporary directory in '%s': %m", base);
		free(src->tmp_path);
		src->tmp_path = NULL;
		return r;
	}
	if (asprintf(&objects, "%s/objects", src->tmp_path) < 0) {
		objects = NULL;
		return -ENOMEM;
	}
	r = st_digest_store_open(objects, &src->store);
	if (r < 0)
		return r;
	src->store_fd = open(objects, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (src->store_fd < 0)
		return -errno;
	to.store = src->store;
	to.skip_xattrs = true;
	r = st_tar_read_fd(fd, &to, NULL, &src->tree);
	if (r < 0)
		return st_errf(r, "%s: %s", src->display, st_error_detail() ?: "cannot read the archive");
	return 0;
}
