/* SPDX-License-Identifier: MIT */
/*
 * The verity policy: which path prefixes of an image must carry fs-verity
 * digests (docs/formats/repository.md, "Verity policy"). One parser for the
 * file a user writes and for the stored form in the image's root xattr,
 * applying it to a tree before the image is written, and checking a read
 * image against the policy it claims before anything trusts that claim.
 *
 * Why the policy lives in the image and not only in the commit: an image is
 * what the kernel mounts, and it is mounted from its digest alone (mount
 * --verity, prepare-root from a UKI's sealtree.digest=); whatever decides
 * between verity=require and verity=on must be covered by that digest.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "basic/beneath.h"
#include "basic/error.h"
#include "basic/macro.h"
#include "sealtree/verity-policy.h"
#include "tree/tree-internal.h"

#define STORED_HEADER "sealtree-verity-policy 1\n"
#define PATH_MAX_LEN 4095
#define WALK_DEPTH_MAX 4096

struct st_verity_policy {
	char **prefixes;        /* sorted by strcmp, unique, none inside another */
	size_t n, cap;
};

struct st_verity_policy *st_verity_policy_free(struct st_verity_policy *p)
{
	if (!p)
		return NULL;
	for (size_t i = 0; i < p->n; i++)
		free(p->prefixes[i]);
	free(p->prefixes);
	free(p);
	return NULL;
}

static void policy_freep(struct st_verity_policy **p)
{
	st_verity_policy_free(*p);
}

size_t st_verity_policy_count(const struct st_verity_policy *p)
{
	return p ? p->n : 0;
}

const char *st_verity_policy_prefix(const struct st_verity_policy *p, size_t i)
{
	return p && i < p->n ? p->prefixes[i] : NULL;
}

/* a covers b: equal, a is "/", or b continues a with a '/'. */
static bool prefix_covers(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen == 1)
		return true;    /* "/" */
	if (blen < alen || memcmp(a, b, alen) != 0)
		return false;
	return blen == alen || b[alen] == '/';
}

bool st_verity_policy_covers(const struct st_verity_policy *p, const char *path)
{
	size_t plen;

	if (!p || !path || path[0] != '/')
		return false;
	plen = strlen(path);
	for (size_t i = 0; i < p->n; i++)
		if (prefix_covers(p->prefixes[i], strlen(p->prefixes[i]), path, plen))
			return true;
	return false;
}

/*
 * One line: an absolute canonical path. Returns 0 or -EINVAL with why in
 * *ret_why (static text).
 */
static int check_path(const char *s, size_t len, const char **ret_why)
{
	size_t comp = 0;

	if (len == 0 || s[0] != '/') {
		*ret_why = "is not an absolute path (it must start with '/')";
		return -EINVAL;
	}
	if (len > PATH_MAX_LEN) {
		*ret_why = "is longer than 4095 bytes";
		return -EINVAL;
	}
	if (len == 1)
		return 0;       /* "/": the whole tree */
	if (s[len - 1] == '/') {
		*ret_why = "ends with '/' (write the directory without it)";
		return -EINVAL;
	}
	for (size_t i = 1; i <= len; i++) {
		unsigned char ch = i < len ? (unsigned char)s[i] : '/';

		if (ch < 0x20 || ch == 0x7f) {
			*ret_why = "contains a control character";
			return -EINVAL;
		}
		if (ch != '/') {
			comp++;
			continue;
		}
		if (comp == 0) {
			*ret_why = "has an empty component ('//')";
			return -EINVAL;
		}
		if ((comp == 1 && s[i - 1] == '.') || (comp == 2 && s[i - 1] == '.' && s[i - 2] == '.')) {
			*ret_why = "has a '.' or '..' component (write the path it means)";
			return -EINVAL;
		}
		if (comp > ST_NAME_MAX) {
			*ret_why = "has a component longer than 255 bytes";
			return -EINVAL;
		}
		comp = 0;
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int st_verity_policy_parse(const void *data, size_t len, unsigned flags, struct st_verity_policy **ret)
{
	_cleanup_(policy_freep) struct st_verity_policy *p = NULL;
	_cleanup_free_ size_t *line_of = NULL;
	bool stored = flags & ST_VERITY_POLICY_STORED;
	const char *what = stored ? "the image's verity policy" : "verity policy";
	int bad = stored ? -EUCLEAN : -EINVAL;
	const char *s = data, *end;
	size_t line = 0;
	int r;

	if ((flags & ~(unsigned)ST_VERITY_POLICY_STORED) || !ret || (!data && len > 0))
		return -EINVAL;
	if (len > ST_VERITY_POLICY_FILE_MAX)
		return st_errf(bad, "%s is %zu bytes, more than %d", what, len, ST_VERITY_POLICY_FILE_MAX);
	if (len > 0 && memchr(s, '\0', len))
		return st_errf(bad, "%s contains a NUL byte", what);
	end = s + len;
	if (stored) {
		if (len < strlen(STORED_HEADER) || memcmp(s, STORED_HEADER, strlen(STORED_HEADER)) != 0) {
			if (len >= 23 && memcmp(s, "sealtree-verity-policy ", 23) == 0)
				return st_errf(-EOPNOTSUPP, "%s has an unknown version: only 'sealtree-verity-policy 1' "
					       "is known", what);
			return st_errf(bad, "%s does not start with 'sealtree-verity-policy 1'", what);
		}
		s += strlen(STORED_HEADER);
		line = 1;
		if (s < end && end[-1] != '\n')
			return st_errf(bad, "%s does not end with a newline", what);
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t l = nl ? (size_t)(nl - s) : (size_t)(end - s);
		const char *why = NULL;
		size_t *lo;

		line++;
		if (!stored && (l == 0 || s[0] == '#')) {
			s += l + (nl ? 1 : 0);
			continue;
		}
		if (l > 0 && (s[l - 1] == ' ' || s[l - 1] == '\t' || s[l - 1] == '\r' || s[0] == ' ' || s[0] == '\t'))
			return st_errf(bad, "%s, line %zu: leading or trailing white space around '%.*s'", what, line,
				       (int)MIN(l, (size_t)200), s);
		if (check_path(s, l, &why) < 0)
			return st_errf(bad, "%s, line %zu: '%.*s' %s", what, line, (int)MIN(l, (size_t)200), s, why);
		if (p->n >= ST_VERITY_POLICY_PREFIXES_MAX)
			return st_errf(bad, "%s, line %zu: more than %d prefixes", what, line,
				       ST_VERITY_POLICY_PREFIXES_MAX);
		r = GROW(p->prefixes, p->cap, p->n + 1);
		if (r < 0)
			return r;
		lo = reallocarray(line_of, p->n + 1, sizeof(*line_of));
		if (!lo)
			return -ENOMEM;
		line_of = lo;
		p->prefixes[p->n] = strndup(s, l);
		if (!p->prefixes[p->n])
			return -ENOMEM;
		line_of[p->n] = line;
		p->n++;         /* owned from here on, also when refused below */
		if (stored && p->n > 1 && strcmp(p->prefixes[p->n - 2], p->prefixes[p->n - 1]) >= 0)
			return st_errf(bad, "%s, line %zu: '%s' is not sorted after '%s', or repeats it", what, line,
				       p->prefixes[p->n - 1], p->prefixes[p->n - 2]);
		s += l + (nl ? 1 : 0);
	}
	if (p->n == 0)
		return st_errf(bad, "%s lists no path prefix", what);

	/* Sorted (a user's file, by index), then neighbours tell duplicates and nesting. */
	if (!stored) {
		_cleanup_free_ size_t *idx = new(size_t, p->n);
		_cleanup_free_ char **sorted = new(char *, p->n);
		_cleanup_free_ size_t *lines = new(size_t, p->n);

		if (!idx || !sorted || !lines)
			return -ENOMEM;
		/* Sort the pointers and carry the line numbers along (a stable pairing by pointer). */
		memcpy(sorted, p->prefixes, p->n * sizeof(char *));
		qsort(sorted, p->n, sizeof(char *), cmp_str);
		for (size_t i = 0; i < p->n; i++)
			for (size_t j = 0; j < p->n; j++)
				if (p->prefixes[j] == sorted[i]) {
					lines[i] = line_of[j];
					break;
				}
		memcpy(p->prefixes, sorted, p->n * sizeof(char *));
		memcpy(line_of, lines, p->n * sizeof(size_t));
	}
	/* Sorted, so a duplicate is a neighbour; a prefix inside another is checked against all (n <= 1024). */
	for (size_t i = 1; i < p->n; i++) {
		size_t li = strlen(p->prefixes[i]);

		if (strcmp(p->prefixes[i - 1], p->prefixes[i]) == 0)
			return st_errf(bad, "%s, line %zu: '%s' is given twice (line %zu)", what,
				       MAX(line_of[i], line_of[i - 1]), p->prefixes[i], MIN(line_of[i], line_of[i - 1]));
		for (size_t j = 0; j < i; j++)
			if (prefix_covers(p->prefixes[j], strlen(p->prefixes[j]), p->prefixes[i], li))
				return st_errf(bad, "%s, line %zu: '%s' lies inside '%s' (line %zu), which covers it "
					       "already", what, line_of[i], p->prefixes[i], p->prefixes[j], line_of[j]);
	}
	*ret = TAKE_PTR(p);
	return 0;
}

int st_verity_policy_load(const char *path, struct st_verity_policy **ret)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r;

	if (!path || !ret)
		return -EINVAL;
	r = read_file_capped(AT_FDCWD, path, ST_VERITY_POLICY_FILE_MAX, 0, &buf, &len);
	if (r == -EFBIG)
		return st_errf(-EINVAL, "verity policy '%s' is larger than %d bytes", path, ST_VERITY_POLICY_FILE_MAX);
	if (r == -ENOENT)
		return st_errf(r, "verity policy '%s' does not exist", path);
	if (r < 0)
		return r;       /* the detail names path */
	r = st_verity_policy_parse(buf, len, 0, ret);
	if (r < 0 && st_error_detail())
		return st_errf(r, "'%s': %s", path, st_error_detail());
	return r;
}

int st_verity_policy_serialize(const struct st_verity_policy *p, char **ret, size_t *ret_len)
{
	size_t len = strlen(STORED_HEADER), off;
	char *buf;

	if (!p || !ret || !ret_len)
		return -EINVAL;
	for (size_t i = 0; i < p->n; i++)
		len += strlen(p->prefixes[i]) + 1;
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	off = strlen(STORED_HEADER);
	memcpy(buf, STORED_HEADER, off);
	for (size_t i = 0; i < p->n; i++) {
		size_t l = strlen(p->prefixes[i]);

		memcpy(buf + off, p->prefixes[i], l);
		off += l;
		buf[off++] = '\n';
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}

/* A growing path buffer for the walks: "/a/b" of the node being visited. */
struct walk {
	const struct st_verity_policy *p;
	char path[PATH_MAX_LEN + ST_NAME_MAX + 2];
	size_t len;
	int pass;       /* apply: 0 clear marks, 1 mark, 2 drop digests */
};

static bool is_object_file(const struct st_node *n)
{
	return node_is_reg(n) && n->payload && !n->content;
}

/* Visit every name under dir (dir's path in w->path), depth first. */
static int walk_tree(struct walk *w, const struct st_node *dir, unsigned depth,
		     int (*visit)(struct walk *w, struct st_node *child))
{
	if (depth > WALK_DEPTH_MAX)
		return st_errf(-ELOOP, "the tree is deeper than %d levels", WALK_DEPTH_MAX);
	for (size_t i = 0; i < dir->n_children; i++) {
		struct st_node *c = dir->children[i];
		size_t nl = strlen(c->name), saved = w->len;
		int r;

		/* Past PATH_MAX no prefix can match more than its ancestors did: keep the parent's path. */
		if (w->len + 1 + nl <= PATH_MAX_LEN + ST_NAME_MAX) {
			if (w->len > 1 || w->path[0] != '/')
				w->path[w->len++] = '/';
			else
				w->len = 1;
			memcpy(w->path + w->len, c->name, nl);
			w->len += nl;
			w->path[w->len] = '\0';
		}
		r = visit(w, c);
		if (r >= 0 && !c->link_target && node_is_dir(c))
			r = walk_tree(w, c, depth + 1, visit);
		w->len = saved;
		w->path[w->len] = '\0';
		if (r < 0)
			return r;
	}
	return 0;
}

static int visit_apply(struct walk *w, struct st_node *c)
{
	struct st_node *t = node_resolve(c);

	if (!is_object_file(t))
		return 0;
	switch (w->pass) {
	case 0:
		t->scratch = 0;
		break;
	case 1:
		if (st_verity_policy_covers(w->p, w->path))
			t->scratch = 1;
		break;
	default:
		if (!c->link_target && t->scratch == 0)
			t->has_digest = false;
		break;
	}
	return 0;
}

int st_verity_policy_apply(struct st_node *root, const struct st_verity_policy *p)
{
	_cleanup_free_ char *stored = NULL;
	struct walk w = { .p = p, .path = "/", .len = 1 };
	size_t len;
	int r;

	if (!root || !node_is_dir(root))
		return -EINVAL;
	if (!p) {
		r = node_remove_xattr(root, ST_VERITY_POLICY_XATTR);
		return r == -ENOENT ? 0 : r;
	}
	r = st_verity_policy_serialize(p, &stored, &len);
	if (r < 0)
		return r;
	for (w.pass = 0; w.pass < 3; w.pass++) {
		w.len = 1;
		w.path[1] = '\0';
		r = walk_tree(&w, root, 0, visit_apply);
		if (r < 0)
			return r;
	}
	r = node_set_xattr(root, ST_VERITY_POLICY_XATTR, strlen(ST_VERITY_POLICY_XATTR), stored, len);
	if (r < 0)
		return st_errf(r, "cannot store the verity policy (%zu bytes) on the root directory", len);
	return 0;
}

static int visit_check(struct walk *w, struct st_node *c)
{
	const struct st_node *t = node_resolve(c);

	if (!is_object_file(t) || t->has_digest || !st_verity_policy_covers(w->p, w->path))
		return 0;
	for (size_t i = 0; i < w->p->n; i++)
		if (st_verity_policy_covers(&(struct st_verity_policy){ .prefixes = &w->p->prefixes[i], .n = 1 },
					    w->path))
			return st_errf(-EUCLEAN, "file '%s' lies under '%s' of the image's verity policy but carries "
				       "no fs-verity digest", w->path, w->p->prefixes[i]);
	return st_errf(-EUCLEAN, "file '%s' lies under the image's verity policy but carries no fs-verity digest",
		       w->path);
}

int st_verity_policy_check_tree(const struct st_node *root, struct st_verity_policy **ret)
{
	_cleanup_(policy_freep) struct st_verity_policy *p = NULL;
	struct walk w = { .path = "/", .len = 1 };
	const struct st_xattr *x;
	int r;

	if (!root || !ret || !node_is_dir(root))
		return -EINVAL;
	x = node_get_xattr(root, ST_VERITY_POLICY_XATTR);
	if (!x) {
		*ret = NULL;
		return 0;
	}
	r = st_verity_policy_parse(x->value, x->value_len, ST_VERITY_POLICY_STORED, &p);
	if (r < 0)
		return r;
	w.p = p;
	r = walk_tree(&w, root, 0, visit_check);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(p);
	return 0;
}
