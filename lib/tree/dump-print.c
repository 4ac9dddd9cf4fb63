/* SPDX-License-Identifier: MIT */
/*
 * Dumpfile printer: a tree as `composefs-info dump` prints it, byte for byte
 * (field order, number formats, escaping, '@' hardlink lines carrying the
 * target's fields and the target's path as PAYLOAD).
 *
 * Each line is built in one reusable buffer and written with one fwrite();
 * paths are kept in a second buffer extended and truncated during the walk,
 * so printing is linear in the size of the output, and the walk uses an
 * explicit stack rather than recursion.
 */
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

/* Write v in base 8 or 10 at o; returns the end. printf per field would
 * dominate printing, with a dozen numbers on every line. */
static char *fmt_uint(char *o, uint64_t v, unsigned base)
{
	char tmp[24];
	size_t n = 0;

	do {
		tmp[sizeof(tmp) - ++n] = (char)('0' + v % base);
		v /= base;
	} while (v);
	memcpy(o, tmp + sizeof(tmp) - n, n);
	return o + n;
}

static char *fmt_int(char *o, int64_t v)
{
	if (v >= 0)
		return fmt_uint(o, (uint64_t)v, 10);
	*o++ = '-';
	/* Negate in unsigned arithmetic: INT64_MIN has no positive twin. */
	return fmt_uint(o, 0 - (uint64_t)v, 10);
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
	char *o;
	int r;

	pr->len = 0;
	if (node->link_target && node_get_path(t, &target_path) < 0)
		return -ENOMEM;
	r = pr->path_len == 0 ? put(pr, "/", 1) : put_escaped(pr, pr->path, pr->path_len, 0);
	if (r < 0)
		return r;
	/* The numeric fields: at most 6 x 20 digits, 11 octal ones, and 11
	 * bytes of separators, sign, '@' and '.'. */
	if (reserve(pr, 160) < 0)
		return -ENOMEM;
	o = pr->line + pr->len;
	*o++ = ' ';
	o = fmt_uint(o, t->size, 10);
	*o++ = ' ';
	if (target_path)
		*o++ = '@';
	o = fmt_uint(o, t->mode, 8);
	*o++ = ' ';
	o = fmt_uint(o, t->nlink, 10);
	*o++ = ' ';
	o = fmt_uint(o, t->uid, 10);
	*o++ = ' ';
	o = fmt_uint(o, t->gid, 10);
	*o++ = ' ';
	o = fmt_uint(o, t->rdev, 10);
	*o++ = ' ';
	o = fmt_int(o, t->mtime_sec);
	*o++ = '.';
	o = fmt_uint(o, t->mtime_nsec, 10);
	*o++ = ' ';
	pr->len = (size_t)(o - pr->line);
	if (target_path)
		r = put_optional(pr, target_path, strlen(target_path));
	else
		r = put_optional(pr, t->payload, t->payload ? strlen(t->payload) : 0);
	if (r < 0 || put(pr, " ", 1) < 0 || put_optional(pr, t->content, t->size) < 0)
		return -ENOMEM;
	if (t->has_digest) {
		char hex[2 * ST_DIGEST_SIZE + 1];
		st_hex_encode(t->digest, ST_DIGEST_SIZE, hex);
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

struct frame {
	const struct st_node *dir;
	size_t next;            /* index of the next child to print */
	size_t path_len;        /* length of dir's path in pr->path */
};

/* Depth-first pre-order with an explicit stack: no recursion, so a deep
 * tree from any producer cannot exhaust the C stack. */
static int print_tree(struct printer *pr, const struct st_node *root)
{
	_cleanup_free_ struct frame *stack = NULL;
	size_t depth = 0, cap = 0;
	int r;

	r = print_line(pr, root);
	if (r < 0 || root->n_children == 0)
		return r;
	if (GROW(stack, cap, 1) < 0)
		return -ENOMEM;
	stack[depth++] = (struct frame){ root, 0, 0 };
	while (depth > 0) {
		struct frame *f = &stack[depth - 1];
		const struct st_node *c;
		size_t name_len, need;

		if (f->next == f->dir->n_children) {
			depth--;
			continue;
		}
		c = f->dir->children[f->next++];
		name_len = strlen(c->name);
		if (ADD_OVERFLOW(f->path_len, name_len + 1, &need) || GROW(pr->path, pr->path_cap, need) < 0)
			return -ENOMEM;
		pr->path[f->path_len] = '/';
		memcpy(pr->path + f->path_len + 1, c->name, name_len);
		pr->path_len = need;
		r = print_line(pr, c);
		if (r < 0)
			return r;
		if (c->n_children > 0) {
			if (GROW(stack, cap, depth + 1) < 0)
				return -ENOMEM;
			stack[depth++] = (struct frame){ c, 0, need };
		}
	}
	return 0;
}

int st_dump_print(FILE *out, const struct st_node *root)
{
	struct printer pr = { .out = out };
	int r;

	r = print_tree(&pr, root);
	free(pr.line);
	free(pr.path);
	if (r >= 0 && fflush(out) != 0)
		r = st_errf(-EIO, "cannot write the dump");
	return r;
}
