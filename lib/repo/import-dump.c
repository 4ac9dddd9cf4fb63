/* SPDX-License-Identifier: MIT */
/*
 * Importing a composefs dumpfile: the tree it describes, whose file contents
 * must already be objects of the repository (a dumpfile carries no contents).
 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/beneath.h"
#include "basic/error.h"
#include "repo-internal.h"
#include "sealtree/dump.h"
#include "tree/tree-internal.h"

#define PAYLOAD_LEN (2 + 1 + 62)

static void digest_payload(const uint8_t d[ST_DIGEST_SIZE], char out[PAYLOAD_LEN + 1])
{
	char rel[74];

	st_repo_object_relpath(d, rel);
	memcpy(out, rel + 8, PAYLOAD_LEN + 1);
}

/* Check one inode; rewrite its payload to its object path. */
static int check_node(struct st_repo *repo, struct st_node *n)
{
	char payload[PAYLOAD_LEN + 1];
	int r;

	if (n->link_target)
		return 0;
	/*
	 * What the image cannot hold exactly is refused here (the dumpfile parser
	 * itself accepts it, as composefs's does): mode bits beyond the type and
	 * permissions would be dropped, a device number over 12:20 bits cut (a
	 * device could become the whiteout 0:0).
	 */
	if ((n->mode & ~(uint32_t)(S_IFMT | 07777)) ||
	    ((S_ISCHR(n->mode) || S_ISBLK(n->mode)) && n->rdev > UINT32_MAX)) {
		_cleanup_free_ char *path = NULL;

		(void)node_get_path(n, &path);
		if (n->mode & ~(uint32_t)(S_IFMT | 07777))
			return st_errf(-EINVAL, "dumpfile: '%s': MODE %o has bits beyond the file type and permissions",
				       path ? path : "?", n->mode);
		return st_errf(-EINVAL, "dumpfile: '%s': RDEV %llu does not fit (major at most 4095, minor at most "
			       "1048575)", path ? path : "?", (unsigned long long)n->rdev);
	}
	if (node_is_reg(n) && n->size > 0 && !n->content) {
		_cleanup_free_ char *path = NULL;
		struct stat st = { 0 };
		char rel[74];

		if (!n->has_digest) {
			(void)node_get_path(n, &path);
			return st_errf(-EINVAL, "dumpfile: '%s' has no digest (its contents cannot be found)",
				       path ? path : "?");
		}
		st_repo_object_relpath(n->digest, rel);
		r = fstatat_beneath(st_repo_dirfd(repo), rel, &st);
		if (r == -ENOENT || (r == 0 && !S_ISREG(st.st_mode)))
			r = -ENOENT;
		if (r < 0) {
			(void)node_get_path(n, &path);
			return st_errf(r, "dumpfile: '%s': object %s is not in the repository", path ? path : "?",
				       rel + 8);
		}
		/* The image would promise a size the object cannot deliver. */
		if ((uint64_t)st.st_size != n->size) {
			(void)node_get_path(n, &path);
			return st_errf(-EINVAL, "dumpfile: '%s' has size %llu but object %s has %llu bytes",
				       path ? path : "?", (unsigned long long)n->size, rel + 8,
				       (unsigned long long)st.st_size);
		}
		digest_payload(n->digest, payload);
		r = node_set_payload(n, payload, PAYLOAD_LEN);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < n->n_children; i++) {
		r = check_node(repo, n->children[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

int st_repo_import_dumpfile(struct st_repo *repo, int fd, struct st_import_options *opts,
			    struct st_node **ret_root)
{
	struct st_node *root = NULL;
	int r;

	if (!repo || fd < 0 || !ret_root)
		return -EINVAL;
	r = st_dump_parse_fd(fd, 0, &root);
	if (r < 0)
		return r;
	r = check_node(repo, root);
	if (r < 0) {
		st_node_free(root);
		return r;
	}
	repo_tree_apply_import_options(root, opts);
	*ret_root = root;
	return 0;
}
