/* SPDX-License-Identifier: MIT */
/*
 * Anti-rollback state: REPO/state/accepted/<ref> records the newest commit
 * accepted for a ref (mounted with --require-signature, or verified with
 * --accept), so that --no-downgrade can refuse an older, still validly
 * signed commit an attacker replays. Format (docs/formats/signatures.md):
 *
 *   sealtree-accepted 1\n
 *   commit <64 hex>\n
 *   timestamp <decimal int64>\n
 *   [version <text>\n]
 *
 * The record only moves forward, under an flock on REPO/state/lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "basic/error.h"
#include "basic/hex.h"
#include "fundamental/parse-number.h"
#include "trust-internal.h"

#define ACCEPTED_DIR "state/accepted"
#define ACCEPTED_MAGIC "sealtree-accepted 1\n"
#define ACCEPTED_FILE_MAX 4096

static int take_field(const char **p, size_t *left, const char *name, const char **ret, size_t *ret_len)
{
	size_t n = strlen(name);
	const char *nl;

	if (*left < n + 1 || memcmp(*p, name, n) != 0 || (*p)[n] != ' ')
		return -EUCLEAN;
	nl = memchr(*p + n + 1, '\n', *left - n - 1);
	if (!nl)
		return -EUCLEAN;
	*ret = *p + n + 1;
	*ret_len = (size_t)(nl - *ret);
	*left -= (size_t)(nl + 1 - *p);
	*p = nl + 1;
	return 0;
}

static int parse_accepted(const char *data, size_t len, struct st_accepted *ret)
{
	struct st_accepted a = {};
	const char *p = data, *v;
	size_t left = len, n;

	if (left < strlen(ACCEPTED_MAGIC) || memcmp(p, ACCEPTED_MAGIC, strlen(ACCEPTED_MAGIC)) != 0)
		return -EUCLEAN;
	p += strlen(ACCEPTED_MAGIC);
	left -= strlen(ACCEPTED_MAGIC);
	if (take_field(&p, &left, "commit", &v, &n) < 0 || st_hex_decode(v, n, a.commit_id, ST_COMMIT_ID_SIZE) < 0)
		return -EUCLEAN;
	if (take_field(&p, &left, "timestamp", &v, &n) < 0 || parse_i64_n(v, n, PARSE_CANONICAL, &a.timestamp) < 0)
		return -EUCLEAN;
	if (left > 0) {
		if (take_field(&p, &left, "version", &v, &n) < 0 || n == 0 || n >= sizeof(a.version) ||
		    memchr(v, '\0', n) || left != 0)
			return -EUCLEAN;
		memcpy(a.version, v, n);
	}
	*ret = a;
	return 0;
}

/* state/accepted/<canonical ref name>: one record per ref, however it was spelt. */
static int accepted_path(const char *ref, char **ret)
{
	char canon[ST_REF_NAME_MAX + 1];
	int r;

	if (!ref)
		return st_errf(-EINVAL, "no ref name");
	r = st_ref_canonicalize(ref, canon);
	if (r < 0)
		return r;
	if (asprintf(ret, "%s/%s", ACCEPTED_DIR, canon) < 0)
		return -ENOMEM;
	return 0;
}

static int read_accepted_at(struct st_repo *repo, const char *path, struct st_accepted *ret)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r;

	r = st_repo_read_file(repo, path, ACCEPTED_FILE_MAX, &buf, &len);
	if (r < 0)
		return r;
	if (parse_accepted(buf, len, ret) < 0)
		return st_errf(-EUCLEAN, "'%s' is corrupt", path);
	return 0;
}

int st_repo_read_accepted(struct st_repo *repo, const char *ref, struct st_accepted *ret)
{
	_cleanup_free_ char *path = NULL, *legacy = NULL;
	struct st_accepted a, b;
	int r, rl;

	r = accepted_path(ref, &path);
	if (r < 0)
		return r;
	r = read_accepted_at(repo, path, &a);
	if (r < 0 && r != -ENOENT)
		return r;
	/*
	 * Before names were canonicalised, "refs/heads/X" kept its own record
	 * beside X's: the newer of the two counts, so no history is forgotten.
	 */
	if (strncmp(path + strlen(ACCEPTED_DIR "/"), "refs/", 5) != 0) {
		if (asprintf(&legacy, "%s/refs/heads/%s", ACCEPTED_DIR, path + strlen(ACCEPTED_DIR "/")) < 0) {
			legacy = NULL;
			return -ENOMEM;
		}
		rl = read_accepted_at(repo, legacy, &b);
		if (rl < 0 && rl != -ENOENT)
			return rl;
		if (rl >= 0 && (r < 0 || b.timestamp > a.timestamp ||
				(b.timestamp == a.timestamp && *b.version && strverscmp(b.version, a.version) > 0))) {
			a = b;
			r = 0;
		}
	}
	if (r < 0)
		return r;
	*ret = a;
	return 0;
}

int st_repo_record_accepted(struct st_repo *repo, const char *ref, const uint8_t commit_id[ST_COMMIT_ID_SIZE],
			    const struct st_commit *c)
{
	_cleanup_free_ char *path = NULL, *buf = NULL;
	_cleanup_close_ int lock_fd = -EBADF;
	struct st_accepted last;
	char hex[2 * ST_COMMIT_ID_SIZE + 1];
	int r, len;

	r = accepted_path(ref, &path);
	if (r < 0)
		return r;
	if (c->version && strlen(c->version) >= sizeof(last.version))
		return st_errf(-E2BIG, "version longer than %zu bytes", sizeof(last.version) - 1);
	/* Through the repository layer only (no symlink in state/ is ever followed). */
	lock_fd = st_repo_lock_file(repo, "state/lock", true);
	if (lock_fd < 0)
		return lock_fd;

	r = st_repo_read_accepted(repo, ref, &last);
	if (r >= 0) {
		if (memcmp(last.commit_id, commit_id, ST_COMMIT_ID_SIZE) == 0 || st_accepted_check(&last, c) < 0) {
			st_error_clear();
			return 0;       /* the same, or the record is newer: it never moves back */
		}
	} else if (r != -ENOENT && r != -EUCLEAN)
		return r;       /* a corrupt record is replaced by a good one */

	st_hex_encode(commit_id, ST_COMMIT_ID_SIZE, hex);
	if (c->version && *c->version)
		len = asprintf(&buf, ACCEPTED_MAGIC "commit %s\ntimestamp %" PRId64 "\nversion %s\n", hex, c->timestamp,
			       c->version);
	else
		len = asprintf(&buf, ACCEPTED_MAGIC "commit %s\ntimestamp %" PRId64 "\n", hex, c->timestamp);
	if (len < 0) {
		buf = NULL;
		return -ENOMEM;
	}
	r = st_repo_write_file(repo, path, buf, (size_t)len);
	return r < 0 ? r : 1;
}
