/* SPDX-License-Identifier: MIT */
/*
 * What a user types for a commit: a ref, a full id, or a unique prefix of at
 * least 4 hex digits, followed by any number of "^" (parent) and "~N" (N-th
 * ancestor, "~" alone is "~1").
 */
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/error.h"
#include "basic/hex.h"
#include "repo-internal.h"

#define SPEC_MAX 512
#define PREFIX_MIN 4
#define ANCESTOR_MAX 1000000u

static bool is_hex(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return len > 0;
}

/* A stored commit whose id starts with prefix (hex, any case). */
static int resolve_prefix(struct st_repo *repo, const char *prefix, size_t len, uint8_t ret_id[ST_COMMIT_ID_SIZE])
{
	_cleanup_close_ int fd = -EBADF;
	char want[65], found[65] = "";
	unsigned matches = 0;
	struct dirent *de;
	DIR *d;

	for (size_t i = 0; i < len; i++)
		want[i] = (char)(prefix[i] >= 'A' && prefix[i] <= 'F' ? prefix[i] - 'A' + 'a' : prefix[i]);
	want[len] = '\0';
	fd = dup(repo->commits_fd);
	if (fd < 0)
		return negative_errno();
	d = fdopendir(fd);
	if (!d)
		return negative_errno();
	TAKE_FD(fd);
	rewinddir(d);
	while ((de = readdir(d))) {
		if (strlen(de->d_name) != 64 || strncmp(de->d_name, want, len) != 0)
			continue;
		if (matches && strcmp(found, de->d_name) == 0)
			continue;
		matches++;
		memcpy(found, de->d_name, 65);
	}
	closedir(d);
	if (matches == 0)
		return st_errf(-ENOENT, "no commit or ref '%s'", want);
	if (matches > 1)
		return st_errf(-ENOTUNIQ, "commit prefix '%s' is ambiguous", want);
	return repo_parse_id(found, 64, ret_id) < 0 ? st_errf(-ENOENT, "no commit or ref '%s'", want) : 0;
}

static int resolve_base(struct st_repo *repo, const char *base, uint8_t ret_id[ST_COMMIT_ID_SIZE])
{
	size_t len = strlen(base);
	int r;

	if (st_ref_name_valid(base)) {
		r = st_repo_read_ref(repo, base, ret_id);
		if (r != -ENOENT)
			return r;
	}
	if (len == 64 && is_hex(base, len)) {
		char lower[65];
		struct stat st;

		for (size_t i = 0; i < 64; i++)
			lower[i] = (char)(base[i] >= 'A' && base[i] <= 'F' ? base[i] - 'A' + 'a' : base[i]);
		lower[64] = '\0';
		if (fstatat(repo->commits_fd, lower, &st, 0) < 0)
			return st_errf(-ENOENT, "commit %s not found", lower);
		return repo_parse_id(lower, 64, ret_id);
	}
	if (len >= PREFIX_MIN && len < 64 && is_hex(base, len))
		return resolve_prefix(repo, base, len, ret_id);
	if (!st_ref_name_valid(base) && !is_hex(base, len))
		return st_errf(-EINVAL, "'%s' is neither a ref name nor a commit id", base);
	return st_errf(-ENOENT, "no commit or ref '%s'", base);
}

static int walk_parents(struct st_repo *repo, uint8_t id[ST_COMMIT_ID_SIZE], uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		struct st_commit *c = NULL;
		char hex[65];
		int r;

		r = st_repo_read_commit(repo, id, &c);
		if (r < 0)
			return r;
		if (!c->has_parent) {
			st_hex_encode(id, ST_COMMIT_ID_SIZE, hex);
			st_commit_free(c);
			return st_errf(-ENOENT, "commit %s has no parent", hex);
		}
		memcpy(id, c->parent, ST_COMMIT_ID_SIZE);
		st_commit_free(c);
	}
	return 0;
}

int st_repo_resolve(struct st_repo *repo, const char *spec, uint8_t ret_id[ST_COMMIT_ID_SIZE])
{
	char base[SPEC_MAX + 1];
	uint8_t id[ST_COMMIT_ID_SIZE];
	size_t len, base_len;
	const char *p;
	int r;

	if (!spec)
		return -EINVAL;
	len = strlen(spec);
	if (len == 0 || len > SPEC_MAX)
		return st_errf(-EINVAL, "bad commit spec '%s'", spec);
	base_len = strcspn(spec, "^~");
	if (base_len == 0)
		return st_errf(-EINVAL, "bad commit spec '%s'", spec);
	memcpy(base, spec, base_len);
	base[base_len] = '\0';
	r = resolve_base(repo, base, id);
	if (r < 0)
		return r;

	for (p = spec + base_len; *p;) {
		uint64_t n = 1;

		if (*p == '^') {
			p++;
		} else {
			p++;    /* '~' */
			if (*p >= '0' && *p <= '9') {
				n = 0;
				if (*p == '0' && p[1] >= '0' && p[1] <= '9')
					return st_errf(-EINVAL, "bad commit spec '%s'", spec);
				for (; *p >= '0' && *p <= '9'; p++) {
					n = n * 10 + (uint64_t)(*p - '0');
					if (n > ANCESTOR_MAX)
						return st_errf(-EINVAL, "bad commit spec '%s': too many generations",
							       spec);
				}
			}
		}
		if (*p && *p != '^' && *p != '~')
			return st_errf(-EINVAL, "bad commit spec '%s'", spec);
		r = walk_parents(repo, id, n);
		if (r < 0)
			return r;
	}
	memcpy(ret_id, id, ST_COMMIT_ID_SIZE);
	return 0;
}
