/* SPDX-License-Identifier: MIT */
/*
 * Ref names: the grammar, the one canonical spelling and where a ref lives.
 *
 * Every function that takes a ref name (read, write, delete, resolve, the
 * policy match, the anti-rollback record) canonicalises it here first, so
 * that two spellings of one ref can never be treated as two refs. The only
 * alias is "refs/heads/NAME" for "NAME"; anything else off the grammar is
 * refused, never rewritten. Specified in docs/formats/repository.md.
 */
#include <assert.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "basic/error.h"
#include "repo-internal.h"

#define HEADS_PREFIX REPO_HEADS_DIR "/"

/* Every component fits a directory entry and every ref path fits PATH_MAX. */
static_assert(ST_REF_NAME_MAX <= NAME_MAX, "a ref component must fit NAME_MAX");
static_assert(REPO_REF_PATH_MAX + 64 <= PATH_MAX, "a ref path must fit PATH_MAX");

static bool component_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
	       c == '_' || c == '+' || c == '-';
}

static bool is_hex(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return true;
}

/* A name quoted in a message only when it is plain printable text. */
static const char *quoted(const char *name)
{
	size_t len = strlen(name);

	if (len > 2 * ST_REF_NAME_MAX)
		return "(a very long name)";
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)name[i] < 0x20 || (unsigned char)name[i] > 0x7e || name[i] == '\'')
			return "(a name with control or non-ASCII bytes)";
	return name;
}

static int _printf_(2, 3) refuse(const char *name, const char *fmt, ...)
{
	char why[160];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return st_errf(-EINVAL, "invalid ref name '%s': %s", quoted(name), why);
}

/* The '/'-separated components of s: each non-empty, of component_char, not starting with '.'. */
static int check_components(const char *full, const char *s, size_t *ret_n)
{
	size_t n = 0, comp = 0;

	for (const char *p = s;; p++) {
		if (*p == '/' || *p == '\0') {
			if (comp == 0)
				return refuse(full, "an empty component (a leading, trailing or double '/')");
			n++;
			comp = 0;
			if (!*p)
				break;
			continue;
		}
		if (comp == 0 && *p == '.')
			return refuse(full, "a component starts with '.' (\".\" and \"..\" are never resolved)");
		if (!component_char(*p))
			return refuse(full, "only A-Z, a-z, 0-9, '.', '_', '+', '-' and '/' are allowed");
		comp++;
	}
	*ret_n = n;
	return 0;
}

int st_ref_canonicalize(const char *name, char ret[ST_REF_NAME_MAX + 1])
{
	const char *canon;
	size_t len, n = 0, depth;
	bool head;
	int r;

	if (!name)
		return st_errf(-EINVAL, "no ref name");
	len = strlen(name);
	if (len == 0)
		return st_errf(-EINVAL, "empty ref name");
	if (len > ST_REF_NAME_MAX + strlen(HEADS_PREFIX))
		return refuse(name, "longer than %d bytes", ST_REF_NAME_MAX);
	r = check_components(name, name, &n);
	if (r < 0)
		return r;

	/* The one alias: refs/heads/NAME is NAME. */
	head = strncmp(name, REPO_REFS_DIR "/", strlen(REPO_REFS_DIR) + 1) != 0;
	canon = name;
	if (strncmp(name, HEADS_PREFIX, strlen(HEADS_PREFIX)) == 0) {
		canon = name + strlen(HEADS_PREFIX);
		head = true;
		n -= 2;
	}
	if (strcmp(name, REPO_REFS_DIR) == 0 || (!head && n < 3))
		return refuse(name, "a full name is refs/<namespace>/<name>");
	len = strlen(canon);
	if (len > ST_REF_NAME_MAX)
		return refuse(name, "longer than %d bytes", ST_REF_NAME_MAX);
	/* Components of the full name refs/<namespace>/..., what the refs walkers descend. */
	depth = head ? n + 2 : n;
	if (depth > ST_REF_DEPTH_MAX)
		return refuse(name, "deeper than %d components (counting refs/<namespace>/)", ST_REF_DEPTH_MAX);
	if (head) {
		if (strncmp(canon, REPO_REFS_DIR "/", strlen(REPO_REFS_DIR) + 1) == 0 || strcmp(canon, REPO_REFS_DIR) == 0)
			return refuse(name, "a branch cannot be named refs/... (refs/heads/refs/... would alias another ref)");
		if (strncmp(canon, "heads/", 6) == 0 || strcmp(canon, "heads") == 0)
			return refuse(name, "a branch cannot start with heads/ (write NAME or refs/heads/NAME)");
		/* A full commit id always means that commit: a ref must never shadow it. */
		if (len == 2 * ST_COMMIT_ID_SIZE && is_hex(canon, len))
			return refuse(name, "64 hex digits spell a commit id, not a ref");
	}
	memcpy(ret, canon, len + 1);
	return 0;
}

bool st_ref_name_valid(const char *name)
{
	char canon[ST_REF_NAME_MAX + 1];
	int r = st_ref_canonicalize(name, canon);

	if (r < 0)
		st_error_clear();
	return r >= 0;
}

int repo_ref_path(const char *name, char buf[REPO_REF_PATH_MAX])
{
	char canon[ST_REF_NAME_MAX + 1];
	int r;

	r = st_ref_canonicalize(name, canon);
	if (r < 0)
		return r;
	if (strncmp(canon, REPO_REFS_DIR "/", strlen(REPO_REFS_DIR) + 1) == 0)
		snprintf(buf, REPO_REF_PATH_MAX, "%s", canon);
	else
		snprintf(buf, REPO_REF_PATH_MAX, HEADS_PREFIX "%s", canon);
	return 0;
}

int repo_ref_name_of_path(const char *rel, char ret[ST_REF_NAME_MAX + 1])
{
	char canon[ST_REF_NAME_MAX + 1], back[REPO_REF_PATH_MAX];
	int r;

	r = st_ref_canonicalize(rel, canon);
	if (r < 0)
		return r;
	/* refs/heads/refs/mounts/x canonicalises but is not where any ref lives. */
	r = repo_ref_path(canon, back);
	if (r < 0)
		return r;
	if (strcmp(back, rel) != 0)
		return refuse(rel, "not where a ref of that name lives");
	memcpy(ret, canon, strlen(canon) + 1);
	return 0;
}
