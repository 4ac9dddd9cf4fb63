/* SPDX-License-Identifier: MIT */
/*
 * admin config-diff: a deployment's etc/ against its commit's usr/etc, the
 * same comparison the merge makes (type, permission bits, owner, xattrs,
 * contents, symlink targets; never times).
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "basic/error.h"
#include "etc-internal.h"

struct diff {
	st_config_diff_fn fn;
	void *userdata;
};

static int diff_dir(struct diff *c, struct st_node *b, int lfd, const char *rel)
{
	struct etc_names names = {};
	struct st_entry e;
	int r = 0;

	if (b) {
		st_node_get_entry(b, &e);
		if (S_ISDIR(e.mode))
			r = etc_names_add_node(&names, b);
	}
	if (r >= 0 && lfd >= 0)
		r = etc_names_add_dir(&names, lfd);
	etc_names_sort(&names);
	for (size_t i = 0; r >= 0 && i < names.n; i++) {
		const char *name = names.v[i];
		_cleanup_free_ char *crel = NULL;
		struct st_node *bc = NULL;
		struct stat st;
		bool have_l;

		if (asprintf(&crel, "%s%s%s", rel, *rel ? "/" : "", name) < 0) {
			r = -ENOMEM;
			break;
		}
		if (b && st_tree_lookup(b, name, &bc) < 0) {
			st_error_clear();
			bc = NULL;
		}
		have_l = lfd >= 0 && fstatat(lfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
		if (!have_l) {
			r = bc ? c->fn(c->userdata, 'D', crel) : 0;
			continue;
		}
		if (!bc) {
			r = c->fn(c->userdata, 'A', crel);
			continue;
		}
		r = etc_local_equal(bc, lfd, name, &st);
		if (r < 0)
			break;
		st_node_get_entry(bc, &e);
		if (r == 0)
			r = c->fn(c->userdata, (e.mode & S_IFMT) != (st.st_mode & S_IFMT) ? 'T' : 'M', crel);
		if (r >= 0 && S_ISDIR(e.mode) && S_ISDIR(st.st_mode)) {
			_cleanup_close_ int cfd = openat(lfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

			if (cfd < 0) {
				r = st_errf(negative_errno(), "cannot open etc/%s", crel);
				break;
			}
			r = diff_dir(c, bc, cfd, crel);
		}
	}
	etc_names_release(&names);
	return r;
}

int st_sysroot_config_diff(struct st_sysroot *s, const struct st_deployment *d, st_config_diff_fn fn,
			   void *userdata)
{
	_cleanup_(st_commit_freep) struct st_commit *c = NULL;
	_cleanup_(st_node_freep) struct st_node *root = NULL;
	_cleanup_close_ int fd = -EBADF;
	struct diff ctx = { fn, userdata };
	struct st_node *base = NULL;
	char path[ST_OS_NAME_MAX + DEPLOY_ID_MAX + 8];
	int r;

	r = st_repo_read_commit(s->repo, d->commit, &c);
	if (r >= 0)
		r = deploy_read_image(s, c->image_digest, false, &root);
	if (r < 0)
		return r;
	if (st_tree_lookup(root, "usr/etc", &base) < 0) {
		st_error_clear();
		base = NULL;
	}
	(void)snprintf(path, sizeof(path), "%s/%s/etc", d->os, d->id);
	fd = openat(s->deploy_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return st_errf(negative_errno(), "cannot open deploy/%s", path);
	return diff_dir(&ctx, base, fd, "");
}
