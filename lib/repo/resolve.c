/* SPDX-License-Identifier: MIT */
/*
 * What a user types for a commit: a ref, a full id, or a unique prefix of at
 * least 4 hex digits, followed by any number of "^" (parent) and "~N" (N-th
 * ancestor, "~" alone is "~1"). A full id is always that commit; a ref
 * never shadows a commit (see resolve_base()).
 */
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/dirent-util.h"
#include "basic/error.h"
#include "basic/hex.h"
#include "fundamental/parse-number.h"
#include "repo-internal.h"

#define SPEC_MAX 512
#define PREFIX_MIN 4
#define ANCESTOR_MAX 1000000u

static bool is_hex(const char *s, size_t len)
{
	return len > 0 && hex_valid(s, len, false);
}

/* A stored commit whose id starts with prefix (hex, any case). */
static int resolve_prefix(struct st_repo *repo, const char *prefix, size_t len, uint8_t ret_id[ST_COMMIT_ID_SIZE])
{
	_cleanup_closedir_ DIR *d = NULL;
	char want[65], found[65] = "";
	unsigned matches = 0;
	struct dirent *de;
	int r;

	for (size_t i = 0; i < len; i++)
		want[i] = (char)(prefix[i] >= 'A' && prefix[i] <= 'F' ? prefix[i] - 'A' + 'a' : prefix[i]);
	want[len] = '\0';
	r = opendir_fd(repo->commits_fd, &d);
	if (r < 0)
		return r;
	while ((r = readdir_next(d, &de)) > 0) {
		if (strlen(de->d_name) != 64 || strncmp(de->d_name, want, len) != 0)
			continue;
		if (matches && strcmp(found, de->d_name) == 0)
			continue;
		matches++;
		memcpy(found, de->d_name, 65);
	}
	if (r < 0)
		return st_errf(r, "cannot list the commits of '%s'", repo->path);
	if (matches == 0)
		return st_errf(-ENOENT, "no commit or ref '%s'", want);
	if (matches > 1)
		return st_errf(-ENOTUNIQ, "commit prefix '%s' is ambiguous", want);
	return repo_parse_id(found, 64, ret_id) < 0 ? st_errf(-ENOENT, "no commit or ref '%s'", want) : 0;
}

/*
 * The commit base names. A full id (64 hex digits, any case) is always that
 * commit, never a ref. A ref wins over a shorter hex prefix only when the
 * prefix names no other commit: "abcd" that is both a ref and the start of
 * another commit's id is ambiguous (-ENOTUNIQ), so a ref can never shadow a
 * commit the user meant. ret_ref (optional) receives the canonical ref name
 * when base named a ref, else "".
 */
static int resolve_base(struct st_repo *repo, const char *base, uint8_t ret_id[ST_COMMIT_ID_SIZE],
			char ret_ref[ST_REF_NAME_MAX + 1])
{
	char canon[ST_REF_NAME_MAX + 1];
	uint8_t id[ST_COMMIT_ID_SIZE];
	size_t len = strlen(base);
	int r;

	if (len == 2 * ST_COMMIT_ID_SIZE && is_hex(base, len)) {
		char lower[65];
		struct stat st;

		for (size_t i = 0; i < 64; i++)
			lower[i] = (char)(base[i] >= 'A' && base[i] <= 'F' ? base[i] - 'A' + 'a' : base[i]);
		lower[64] = '\0';
		if (fstatat(repo->commits_fd, lower, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return st_errf(-ENOENT, "commit %s not found", lower);
		r = repo_parse_id(lower, 64, ret_id);
		if (r >= 0 && ret_ref)
			ret_ref[0] = '\0';
		return r;
	}
	if (st_ref_canonicalize(base, canon) >= 0) {
		r = st_repo_read_ref(repo, canon, id);
		if (r >= 0 && len >= PREFIX_MIN && len < 64 && is_hex(base, len)) {
			uint8_t other[ST_COMMIT_ID_SIZE];
			int p = resolve_prefix(repo, base, len, other);

			st_error_clear();
			if ((p >= 0 && memcmp(other, id, sizeof(id)) != 0) || p == -ENOTUNIQ)
				return st_errf(-ENOTUNIQ,
					       "'%s' is both a ref and the start of a commit id: write refs/heads/%s for "
					       "the ref, or more digits of the id", base, canon);
		}
		if (r >= 0) {
			memcpy(ret_id, id, sizeof(id));
			if (ret_ref)
				memcpy(ret_ref, canon, strlen(canon) + 1);
			return 0;
		}
		if (r != -ENOENT)
			return r;
	}
	st_error_clear();
	if (len >= PREFIX_MIN && len < 64 && is_hex(base, len)) {
		r = resolve_prefix(repo, base, len, ret_id);
		if (r >= 0 && ret_ref)
			ret_ref[0] = '\0';
		return r;
	}
	if (!is_hex(base, len) && st_ref_canonicalize(base, canon) < 0)
		return -EINVAL; /* the detail says why it is neither a ref name nor a commit id */
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

int st_repo_resolve_ref(struct st_repo *repo, const char *spec, uint8_t ret_id[ST_COMMIT_ID_SIZE], char **ret_ref)
{
	char base[SPEC_MAX + 1], ref[ST_REF_NAME_MAX + 1];
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
	r = resolve_base(repo, base, id, ref);
	if (r < 0)
		return r;
	if (spec[base_len])
		ref[0] = '\0';         /* NAME^ is a commit, not the ref */

	for (p = spec + base_len; *p;) {
		uint64_t n = 1;

		if (*p == '^') {
			p++;
		} else {
			size_t digits;

			p++;    /* '~' */
			digits = strspn(p, "0123456789");
			if (digits > 0) {
				r = parse_uint_n(p, digits, 10, ANCESTOR_MAX, PARSE_CANONICAL, &n);
				if (r == -ERANGE)
					return st_errf(-EINVAL, "bad commit spec '%s': too many generations",
						       spec);
				if (r < 0)
					return st_errf(-EINVAL, "bad commit spec '%s'", spec);
				p += digits;
			}
		}
		if (*p && *p != '^' && *p != '~')
			return st_errf(-EINVAL, "bad commit spec '%s'", spec);
		r = walk_parents(repo, id, n);
		if (r < 0)
			return r;
	}
	if (ret_ref) {
		char *name = NULL;

		if (ref[0] && !(name = strdup(ref)))
			return -ENOMEM;
		*ret_ref = name;
	}
	memcpy(ret_id, id, ST_COMMIT_ID_SIZE);
	return 0;
}

int st_repo_resolve(struct st_repo *repo, const char *spec, uint8_t ret_id[ST_COMMIT_ID_SIZE])
{
	return st_repo_resolve_ref(repo, spec, ret_id, NULL);
}
