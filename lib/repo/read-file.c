/* SPDX-License-Identifier: MIT */
/* A regular file's bytes out of a repository, checked against its digest on the way. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/error.h"
#include "basic/io.h"
#include "basic/macro.h"
#include "sealtree/repo-objects.h"
#include "sealtree/repo-read.h"
#include "sealtree/verity.h"
#include "tree/tree-internal.h"

#define COPY_BUF_SIZE (1u << 20)

/* Copy fd to out_fd, hashing; -EBADMSG (naming rel) if the bytes are not what the digest says. */
static int copy_verified(int fd, int out_fd, const uint8_t want[ST_DIGEST_SIZE], uint64_t size, const char *rel)
{
	_cleanup_free_ uint8_t *buf = malloc(COPY_BUF_SIZE);
	struct st_verity_hasher *h = NULL;
	uint8_t got[ST_DIGEST_SIZE];
	uint64_t done = 0;
	int r;

	if (!buf)
		return -ENOMEM;
	r = st_verity_hasher_new(&h);
	if (r < 0)
		return r;
	for (;;) {
		ssize_t n = read(fd, buf, COPY_BUF_SIZE);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = st_errf(negative_errno(), "reading %s", rel);
			goto out;
		}
		if (n == 0)
			break;
		r = st_verity_hasher_update(h, buf, (size_t)n);
		if (r < 0)
			goto out;
		r = write_full(out_fd, buf, (size_t)n);
		if (r < 0) {
			r = st_errf(r, "writing the contents of %s", rel);
			goto out;
		}
		done += (uint64_t)n;
	}
	r = st_verity_hasher_final(h, got);
	if (r >= 0 && (done != size || memcmp(got, want, ST_DIGEST_SIZE) != 0))
		r = st_errf(-EBADMSG, "%s is corrupt: its contents do not match its digest", rel);
out:
	st_verity_hasher_free(h);
	return r;
}

int st_repo_write_file_contents(struct st_repo *repo, const struct st_node *node, int out_fd)
{
	const struct st_node *n = node_resolve((struct st_node *)node);
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -EBADF;
	char rel[74];
	int r;

	if (!S_ISREG(n->mode)) {
		(void)node_get_path(node, &path);
		return st_errf(S_ISDIR(n->mode) ? -EISDIR : -EINVAL, "'%s' is not a regular file",
			       path ? path : "?");
	}
	if (n->size == 0)
		return 0;
	if (n->content) {
		r = write_full(out_fd, n->content, n->size);
		return r < 0 ? st_errf(r, "writing inline contents") : 0;
	}
	if (!n->has_digest) {
		(void)node_get_path(node, &path);
		return st_errf(-EUCLEAN, "'%s' has neither inline contents nor an object digest", path ? path : "?");
	}
	st_repo_object_relpath(n->digest, rel);
	fd = st_repo_open_object(repo, n->digest);
	if (fd < 0)
		return fd;
	return copy_verified(fd, out_fd, n->digest, n->size, rel);
}
