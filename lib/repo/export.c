/* SPDX-License-Identifier: MIT */
/*
 * st_repo_export_tar(): a commit's tree as a pax archive, file contents from
 * objects/ (checked against their digests on the way out). The archive is
 * what st_repo_import_tar() turns back into the same tree, hence the same
 * image digest; see lib/tree/tar-write.c for its exact form.
 */
#include <inttypes.h>
#include <string.h>

#include "basic/error.h"
#include "basic/hex.h"
#include "repo-internal.h"
#include "tree/tar.h"

/* The object of a regular file: its digest, else the one its payload names ("xx/yyyy..."). */
static int open_content(void *userdata, const struct st_node *n)
{
	struct st_repo *repo = userdata;
	uint8_t digest[ST_DIGEST_SIZE];

	if (n->has_digest)
		memcpy(digest, n->digest, ST_DIGEST_SIZE);
	else if (!n->payload || strlen(n->payload) != 2 + 1 + 62 || n->payload[2] != '/' ||
		 st_hex_decode(n->payload, 2, digest, 1) < 0 ||
		 st_hex_decode(n->payload + 3, 62, digest + 1, ST_DIGEST_SIZE - 1) < 0)
		return st_errf(-EUCLEAN, "no object digest for a file of %" PRIu64 " bytes", n->size);
	return st_repo_open_object(repo, digest);
}

int st_repo_export_tar(struct st_repo *repo, struct st_node *root, int fd)
{
	if (!repo || !root || fd < 0)
		return -EINVAL;
	return st_tar_write_fd(fd, root, open_content, repo);
}
