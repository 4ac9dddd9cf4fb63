/* SPDX-License-Identifier: MIT */
/*
 * Dumpfile printer: a tree as `composefs-info dump` prints it, byte for byte
 * (field order, number formats, escaping, '@' hardlink lines carrying the
 * target's fields and the target's path as PAYLOAD).
 *
 * Each line is built in one reusable buffer and written with one fwrite();
 * paths are kept in a second buffer extended and truncated during the walk,
 * so printing is linear in the size of the output.
 */
#include <inttypes.h>
#include <string.h>

#include "basic/error.h"
#include "basic/hex.h"
#include "dump-escape.h"
#include "sealtree/dump.h"
#include "tree-internal.h"

struct printer {
	FILE *out;
	char *line;
	size_t len, cap;
	char *path;             /* the current node's path; "" for the root */
	size_t path_len, path_cap;
};

static int reserve(struct printer *pr, size_t more)
{
	size_t need;

	if (ADD_OVERFLOW(pr->len, more, &need))
		return -ENOMEM;
	return GROW(pr->line, pr->cap, need);
}

static int put(struct printer *pr, const char *s, size_t n)
{
	if (reserve(pr, n) < 0)
		return -ENOMEM;
	memcpy(pr->line + pr->len, s, n);
	pr->len += n;
	return 0;
}

static int put_escaped(struct printer *pr, const void *data, size_t n, unsigned flags)
{
	if (reserve(pr, MAX(dump_escaped_size_max(n), (size_t)4)) < 0)
		return -ENOMEM;
	pr->len += dump_escape(data, n, flags, pr->line + pr->len);
	return 0;
}

static int put_optional(struct printer *pr, const void *data, size_t n)
{
	if (!data)
		return put(pr, "-", 1);
	return put_escaped(pr, data, n, DUMP_ESCAPE_LONE_DASH);
}

static int print_line(struct printer *pr, const struct st_node *node)
{
	const struct st_node *t = node->link_target ? node->link_target : node;
	_cleanup_free_ char *target_path = NULL;
	char num[160];
	int n, r;

	pr->len = 0;
	if (node->link_target && node_get_path(t, &target_path) < 0)
		return -ENOMEM;
	r = pr->path_len == 0 ? put(pr, "/", 1) : put_escaped(pr, pr->path, pr->path_len, 0);
	if (r < 0)
		return r;
	n = snprintf(num, sizeof(num), " %" PRIu64 " %s%o %u %u %u %" PRIu64 " %" PRIi64 ".%u ", t->size,
		     target_path ? "@" : "", t->mode, t->nlink, t->uid, t->gid, t->rdev, t->mtime_sec,
		     t->mtime_nsec);
	if (n < 0 || (size_t)n >= sizeof(num))
		return -EINVAL;
	if (put(pr, num, (size_t)n) < 0)
		return -ENOMEM;
	if (target_path)
		r = put_optional(pr, target_path, strlen(target_path));
	else
		r = put_optional(pr, t->payload, t->payload ? strlen(t->payload) : 0);
	if (r < 0 || put(pr, " ", 1) < 0 || put_optional(pr, t->content, t->size) < 0)
		return -ENOMEM;
	if (t->has_digest) {
		char hex[2 * ST_DIGEST_SIZE + 1];
		hex_encode(t->digest, ST_DIGEST_SIZE, hex);
		r = put(pr, " ", 1);
		if (r >= 0)
			r = put(pr, hex, 2 * ST_DIGEST_SIZE);
	} else {
		r = put(pr, " -", 2);
	}
	if (r < 0)
		return r;
	for (size_t i = 0; i < t->n_xattrs; i++) {
		const struct st_xattr *x = &t->xattrs[i];
		if (put(pr, " ", 1) < 0 || put_escaped(pr, x->name, strlen(x->name), DUMP_ESCAPE_EQUAL) < 0 ||
		    put(pr, "=", 1) < 0 || put_escaped(pr, x->value, x->value_len, DUMP_ESCAPE_EQUAL) < 0)
			return -ENOMEM;
	}
	if (put(pr, "\n", 1) < 0)
		return -ENOMEM;
	if (fwrite(pr->line, 1, pr->len, pr->out) != pr->len)
		return st_errf(-EIO, "cannot write the dump");
	return 0;
}

static int print_node(struct printer *pr, const struct st_node *node)
{
	size_t saved = pr->path_len;
	int r;

	r = print_line(pr, node);
	if (r < 0)
		return r;
	for (size_t i = 0; i < node->n_children; i++) {
		const struct st_node *c = node->children[i];
		size_t name_len = strlen(c->name), need;

		if (ADD_OVERFLOW(saved, name_len + 1, &need) || GROW(pr->path, pr->path_cap, need) < 0)
			return -ENOMEM;
		pr->path[saved] = '/';
		memcpy(pr->path + saved + 1, c->name, name_len);
		pr->path_len = need;
		r = print_node(pr, c);
		if (r < 0)
			return r;
		pr->path_len = saved;
	}
	return 0;
}

int st_dump_print(FILE *out, const struct st_node *root)
{
	struct printer pr = { .out = out };
	int r;

	r = print_node(&pr, root);
	free(pr.line);
	free(pr.path);
	if (r >= 0 && fflush(out) != 0)
		r = st_errf(-EIO, "cannot write the dump");
	return r;
}
