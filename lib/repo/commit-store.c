/* SPDX-License-Identifier: MIT */
/* Commits in REPO/commits/<id>: stored atomically, checked against their id when read. */
#include <string.h>

#include "basic/error.h"
#include "basic/hex.h"
#include "repo-internal.h"

int st_repo_write_commit(struct st_repo *repo, const struct st_commit *c, uint8_t ret_id[ST_COMMIT_ID_SIZE])
{
	_cleanup_free_ char *data = NULL;
	uint8_t id[ST_COMMIT_ID_SIZE];
	char hex[65];
	size_t len;
	int r;

	r = st_commit_serialize(c, &data, &len);
	if (r < 0)
		return r;
	st_commit_id_of(data, len, id);
	st_hex_encode(id, sizeof(id), hex);
	char display[sizeof(REPO_COMMITS_DIR) + 65];

	(void)snprintf(display, sizeof(display), "%s/%s", REPO_COMMITS_DIR, hex);
	r = repo_publish_file(repo, repo->commits_fd, hex, display, data, len, REPO_PUBLISH_NOREPLACE);
	if (r < 0)
		return r;
	if (ret_id)
		memcpy(ret_id, id, sizeof(id));
	return 0;
}

int st_repo_read_commit(struct st_repo *repo, const uint8_t id[ST_COMMIT_ID_SIZE], struct st_commit **ret)
{
	_cleanup_free_ char *data = NULL;
	uint8_t got[ST_COMMIT_ID_SIZE];
	char hex[65];
	size_t len;
	int r;

	st_hex_encode(id, ST_COMMIT_ID_SIZE, hex);
	r = repo_read_small_file(repo->commits_fd, hex, REPO_COMMIT_SIZE_MAX, &data, &len);
	if (r == -ENOENT)
		return st_errf(r, "commit %s not found", hex);
	if (r == -EFBIG)
		return st_errf(-EUCLEAN, "commit %s: larger than %u bytes", hex, REPO_COMMIT_SIZE_MAX);
	if (r < 0)
		return st_errf(r, "cannot read commit %s: %s", hex, st_error_detail() ? st_error_detail() : strerror(-r));
	st_commit_id_of(data, len, got);
	if (memcmp(got, id, ST_COMMIT_ID_SIZE) != 0)
		return st_errf(-EUCLEAN, "commit %s: its bytes do not match its id (corrupt)", hex);
	r = st_commit_parse(data, len, ret);
	if (r < 0) {
		const char *d = st_error_detail();
		return st_errf(r, "commit %s: %s", hex, d ? d : "cannot parse");
	}
	return 0;
}
