/* SPDX-License-Identifier: MIT */
/*
 * st_repo_import_tar(): a tar stream into a tree whose file contents are in
 * the repository's objects/ (see lib/tree/tar-read.c for the reading rules
 * and docs/formats/tar-import.md for what a user may rely on).
 *
 * Failure leaves nothing referenced: the tree is dropped, and the objects
 * already published are ordinary unreferenced objects that gc removes. They
 * are complete and named by their digest, so a later import that needs the
 * same contents may use them as they are.
 */
#include "basic/error.h"
#include "repo-internal.h"
#include "tree/tar.h"

int st_repo_import_tar(struct st_repo *repo, int fd, struct st_import_options *opts, struct st_node **ret_root)
{
	struct st_tar_read_options to = { 0 };
	struct st_tar_read_stats stats = { 0 };
	struct st_node *root = NULL;
	int r;

	if (!repo || fd < 0 || !ret_root)
		return -EINVAL;
	to.skip_xattrs = opts && (opts->flags & ST_IMPORT_SKIP_XATTRS);
	if (opts) {
		to.progress = opts->progress;
		to.progress_userdata = opts->progress_userdata;
		to.max_file_size = opts->max_file_size;
	}
	r = repo_object_store(repo, &to.store);
	if (r < 0)
		return r;
	r = st_tar_read_fd(fd, &to, &stats, &root);
	if (r < 0)
		return r;
	repo_tree_apply_import_options(root, opts);
	if (opts) {
		opts->files_hashed = stats.files;
		opts->files_cached = 0;
		opts->objects_written = stats.objects_written;
	}
	*ret_root = root;
	return 0;
}
