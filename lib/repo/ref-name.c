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
	/* "oci/NAME:TAG" spells an image's ref (no other ref name has a ':'). */
	if (strncmp(name, "oci/", 4) == 0 && strchr(name, ':'))
		return repo_oci_ref_of_name(name + 4, ret);
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

/*
 * Image names (sealtree/oci.h): "NAME[:TAG]" to "refs/oci/NAME/+TAG", the
 * one place that grammar lives, so that st_ref_canonicalize() takes
 * "oci/NAME:TAG" as one more spelling of that ref. NAME follows the
 * distribution spec: lowercase components of [a-z0-9] joined by '.', '_'
 * or '-' runs, separated by '/'; the first may be a registry host
 * ([A-Za-z0-9.-], with '.' or a ":PORT", or "localhost"), whose ':' is
 * stored as '+' (a character no name has). TAG is [A-Za-z0-9_][A-Za-z0-9_.-]*
 * of at most 128 bytes; the '+' before it keeps "a/b:c" and "a/b/c:d"
 * apart in the ref directory.
 */
#define OCI_REFS_PREFIX REPO_REFS_DIR "/oci/"

static bool oci_alnum_lower(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool oci_path_component(const char *s, size_t len)
{
	if (len == 0 || !oci_alnum_lower(s[0]) || !oci_alnum_lower(s[len - 1]))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!oci_alnum_lower(s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
			return false;
	/* No two separators in a row but "__" and runs of '-'. */
	for (size_t i = 1; i < len; i++)
		if (!oci_alnum_lower(s[i]) && !oci_alnum_lower(s[i - 1]) &&
		    !((s[i] == '_' && s[i - 1] == '_' && (i < 2 || oci_alnum_lower(s[i - 2]))) ||
		      (s[i] == '-' && s[i - 1] == '-')))
			return false;
	return true;
}

static bool oci_host_component(const char *s, size_t len)
{
	const char *colon = memchr(s, ':', len);
	size_t host_len = colon ? (size_t)(colon - s) : len;

	if (host_len == 0)
		return false;
	for (size_t i = 0; i < host_len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '.' || s[i] == '-'))
			return false;
	if (s[0] == '.' || s[0] == '-' || s[host_len - 1] == '.' || s[host_len - 1] == '-')
		return false;
	if (colon) {
		size_t port_len = len - host_len - 1;

		if (port_len == 0 || port_len > 5)
			return false;
		for (size_t i = host_len + 1; i < len; i++)
			if (s[i] < '0' || s[i] > '9')
				return false;
	}
	return true;
}

int repo_oci_ref_of_name(const char *name, char ret[ST_REF_NAME_MAX + 1])
{
	char buf[2 * ST_REF_NAME_MAX];
	const char *slash, *colon, *tag = "latest";
	size_t name_len, o = 0, ncomp = 0;

	if (!name || !*name)
		return st_errf(-EINVAL, "empty image name");
	if (strlen(name) > ST_REF_NAME_MAX)
		return st_errf(-EINVAL, "image name '%s': longer than %d bytes", quoted(name), ST_REF_NAME_MAX);
	if (strchr(name, '@'))
		return st_errf(-EINVAL, "image name '%s': a digest is not a name (give NAME:TAG)", quoted(name));
	slash = strrchr(name, '/');
	colon = strrchr(slash ? slash : name, ':');
	name_len = colon ? (size_t)(colon - name) : strlen(name);
	if (colon) {
		size_t tl;

		tag = colon + 1;
		tl = strlen(tag);
		if (tl == 0 || tl > 128 || !(component_char(tag[0]) && tag[0] != '.' && tag[0] != '-' && tag[0] != '+'))
			return st_errf(-EINVAL, "image name '%s': bad tag (1-128 of A-Z a-z 0-9 _ . -, not first . or -)",
				       quoted(name));
		for (size_t i = 0; i < tl; i++)
			if (!component_char(tag[i]) || tag[i] == '+')
				return st_errf(-EINVAL, "image name '%s': bad tag (1-128 of A-Z a-z 0-9 _ . -)", quoted(name));
	}
	o = (size_t)snprintf(buf, sizeof(buf), "%s", OCI_REFS_PREFIX);
	for (const char *p = name; p < name + name_len;) {
		const char *end = memchr(p, '/', (size_t)(name + name_len - p));
		size_t len = end ? (size_t)(end - p) : (size_t)(name + name_len - p);
		bool host = ncomp == 0 && end && (memchr(p, '.', len) || memchr(p, ':', len) ||
						  (len == 9 && memcmp(p, "localhost", 9) == 0));

		if (!(host ? oci_host_component(p, len) : oci_path_component(p, len)))
			return st_errf(-EINVAL, "image name '%s': bad component '%.*s' (lowercase a-z 0-9 joined by . _ -; "
				       "a registry host first)", quoted(name), (int)MIN(len, (size_t)64), p);
		if (o + len + 2 >= sizeof(buf))
			return st_errf(-EINVAL, "image name '%s': too long", quoted(name));
		for (size_t i = 0; i < len; i++)
			buf[o++] = p[i] == ':' ? '+' : p[i];
		buf[o++] = '/';
		ncomp++;
		p += len + (end ? 1 : 0);
		if (end && p == name + name_len)
			return st_errf(-EINVAL, "image name '%s': ends with '/'", quoted(name));
	}
	if (ncomp == 0)
		return st_errf(-EINVAL, "image name '%s': no name before the tag", quoted(name));
	if (o + strlen(tag) + 2 >= sizeof(buf))
		return st_errf(-EINVAL, "image name '%s': too long", quoted(name));
	o += (size_t)snprintf(buf + o, sizeof(buf) - o, "+%s", tag);
	return st_ref_canonicalize(buf, ret);
}

int repo_oci_name_of_ref(const char *ref, char ret[ST_REF_NAME_MAX + 1])
{
	const char *rest, *plus;
	char buf[ST_REF_NAME_MAX + 1], back[ST_REF_NAME_MAX + 1];
	size_t o = 0;
	int r;

	if (!ref || strncmp(ref, OCI_REFS_PREFIX, strlen(OCI_REFS_PREFIX)) != 0)
		return st_errf(-EINVAL, "'%s' is not an image ref (refs/oci/...)", ref ? quoted(ref) : "");
	rest = ref + strlen(OCI_REFS_PREFIX);
	plus = strrchr(rest, '/');
	if (!plus || plus[1] != '+')
		return st_errf(-EINVAL, "'%s' is not an image ref (no /+TAG)", quoted(ref));
	for (const char *p = rest; p < plus && o + 1 < sizeof(buf); p++)
		buf[o++] = *p == '+' && !memchr(rest, '/', (size_t)(p - rest)) ? ':' : *p;
	if (o + strlen(plus + 1) >= sizeof(buf))
		return st_errf(-EINVAL, "'%s': too long", quoted(ref));
	buf[o++] = ':';
	memcpy(buf + o, plus + 2, strlen(plus + 2) + 1);
	/* Only a ref that the name maps back to is an image's. */
	r = repo_oci_ref_of_name(buf, back);
	if (r < 0 || strcmp(back, ref) != 0)
		return st_errf(-EINVAL, "'%s' is not the ref of any image name", quoted(ref));
	memcpy(ret, buf, strlen(buf) + 1);
	return 0;
}
