/* SPDX-License-Identifier: MIT */
/*
 * Dumpfile parser: composefs-dump(5) text into a tree, with the semantics of
 * the reference mkcomposefs --from-file (docs/formats/dumpfile.md lists every
 * rule and where we are deliberately stricter).
 *
 * The input is untrusted. Every field is length-checked, every number is
 * overflow-checked, nesting is capped, and each failure names its line.
 *
 * Speed matters (a /usr dump is ~160k lines): lines are sliced in place,
 * fields are unescaped into one scratch buffer reused for every line, and
 * the directory chain of the previous line's parent is cached so that
 * depth-first or breadth-first input never walks paths from the root again.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/error.h"
#include "basic/hex.h"
#include "basic/io.h"
#include "dump-escape.h"
#include "sealtree/dump.h"
#include "dump-parse-internal.h"
#include "fundamental/parse-number.h"
#include "tree-internal.h"

/* A printable, bounded copy of untrusted bytes for an error message. */
const char *dump_snippet(const char *s, size_t len, char buf[static 72])
{
	size_t n = MIN(len, (size_t)64), o = 0;

	for (size_t i = 0; i < n; i++)
		buf[o++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (n < len) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

static void parser_release(struct parser *p)
{
	for (size_t i = 0; i < p->n_links; i++)
		free(p->links[i].target_path);
	free(p->links);
	free(p->chain);
	free(p->chain_end);
	free(p->dir_path);
	free(p->scratch);
	free(p->unsorted);
	dump_child_index_release(&p->index);
	dump_name_set_release(&p->xattr_names);
	st_node_free(p->root);
}

static void node_freep(struct st_node **n)
{
	st_node_free(*n);
}

static void split_fields(const char *line, size_t len, struct field f[F_COUNT], struct field *rest)
{
	/* Missing trailing fields come out empty, as in the reference; each
	 * field's own parser then says what is wrong with it. */
	for (size_t i = 0; i < F_COUNT; i++) {
		const char *sp = memchr(line, ' ', len);
		size_t n = sp ? (size_t)(sp - line) : len;

		f[i] = (struct field){ line, n };
		line += n;
		len -= n;
		if (sp) {
			line++;
			len--;
		}
	}
	*rest = (struct field){ line, len };
}

static int field_uint(struct parser *p, const struct field *f, const char *name, unsigned base, uint64_t max,
		      uint64_t *ret)
{
	char buf[72];
	int r = parse_uint_n(f->p, f->len, base, max, 0, ret);

	if (r == -ERANGE)
		return parse_error(p, r, "%s '%s' is out of range (max %" PRIu64 ")", name,
				   dump_snippet(f->p, f->len, buf), max);
	if (r < 0)
		return parse_error(p, r, "invalid %s '%s'", name, dump_snippet(f->p, f->len, buf));
	return 0;
}

/* MTIME is "SEC.NSEC"; SEC may be negative (the reference prints it signed). */
static int field_mtime(struct parser *p, const struct field *f, int64_t *ret_sec, uint32_t *ret_nsec)
{
	const char *dot = memchr(f->p, '.', f->len);
	bool neg = f->len > 0 && f->p[0] == '-';
	uint64_t sec, nsec;
	char buf[72];
	int r;

	if (!dot)
		return parse_error(p, -EINVAL, "invalid MTIME '%s': expected SECONDS.NANOSECONDS",
				   dump_snippet(f->p, f->len, buf));
	r = parse_uint_n(f->p + neg, (size_t)(dot - f->p) - neg, 10, neg ? (uint64_t)INT64_MAX + 1 : INT64_MAX, 0, &sec);
	if (r >= 0)
		r = parse_uint_n(dot + 1, f->len - (size_t)(dot - f->p) - 1, 10, 999999999, 0, &nsec);
	if (r == -ERANGE)
		return parse_error(p, r, "MTIME '%s' is out of range", dump_snippet(f->p, f->len, buf));
	if (r < 0)
		return parse_error(p, r, "invalid MTIME '%s'", dump_snippet(f->p, f->len, buf));
	*ret_sec = neg ? (int64_t)(0 - sec) : (int64_t)sec;
	*ret_nsec = (uint32_t)nsec;
	return 0;
}

/*
 * Unescape a field into the scratch buffer (at the field's own offset, so
 * fields never overlap). With optional, a lone "-" yields *ret = NULL.
 */
static int field_unescape(struct parser *p, const char *line, const struct field *f, const char *name,
			  bool optional, const char **ret, size_t *ret_len)
{
	const char *why = NULL;
	char *out;
	ssize_t n;

	if (optional && f->len == 1 && f->p[0] == '-') {
		*ret = NULL;
		*ret_len = 0;
		return 0;
	}
	if (!memchr(f->p, '\\', f->len)) {
		*ret = f->p;
		*ret_len = f->len;
		return 0;
	}
	out = p->scratch + (f->p - line);
	n = dump_unescape(f->p, f->len, out, &why);
	if (n < 0)
		return parse_error(p, (int)n, "bad escape in %s: %s", name, why);
	*ret = out;
	*ret_len = (size_t)n;
	return 0;
}

static int parse_hardlink(struct parser *p, const char *line, const struct field f[F_COUNT],
			  struct st_node **node, const char *path, size_t path_len)
{
	const char *target = NULL;
	size_t target_len = 0;
	struct hardlink *l;
	struct st_node *alias;
	int r;

	/* Only PATH, MODE and PAYLOAD of an alias line count; the rest
	 * repeats the target's fields and is ignored, as by the reference. */
	if (node_is_dir(*node))
		return parse_error(p, -EINVAL, "a directory cannot be a hardlink");
	r = field_unescape(p, line, &f[F_PAYLOAD], "PAYLOAD", true, &target, &target_len);
	if (r < 0)
		return r;
	if (!target)
		return parse_error(p, -EINVAL, "hardlink without a target path");
	r = dump_check_path(p, target, target_len, "hardlink target");
	if (r < 0)
		return r;
	if (GROW(p->links, p->cap_links, p->n_links + 1) < 0)
		return -ENOMEM;
	l = &p->links[p->n_links];
	*l = (struct hardlink){ .line = p->line };
	l->target_path = strndup(target, target_len);
	if (!l->target_path)
		return -ENOMEM;
	p->n_links++;
	alias = *node;
	r = dump_add_to_tree(p, node, path, path_len);
	if (r < 0)
		return r;
	l->alias = alias;
	alias->scratch = p->n_links; /* index + 1: marks a pending alias */
	return 0;
}

static int parse_xattrs(struct parser *p, const char *line, struct field rest, struct st_node *node)
{
	char buf[72];

	if (rest.len > DUMP_XATTR_BYTES_MAX)
		return parse_error(p, -ERANGE, "xattrs take %zu bytes, more than %d", rest.len, DUMP_XATTR_BYTES_MAX);
	dump_name_set_reset(&p->xattr_names);
	while (rest.len > 0) {
		const char *sp = memchr(rest.p, ' ', rest.len);
		struct field x = { rest.p, sp ? (size_t)(sp - rest.p) : rest.len };
		const char *eq = memchr(x.p, '=', x.len);
		struct field kf, vf;
		const char *key = NULL, *value = NULL;
		size_t key_len = 0, value_len = 0;
		int r;

		rest.p += x.len + (sp ? 1 : 0);
		rest.len -= x.len + (sp ? 1 : 0);
		if (!eq)
			return parse_error(p, -EINVAL, "xattr '%s' has no '='", dump_snippet(x.p, x.len, buf));
		kf = (struct field){ x.p, (size_t)(eq - x.p) };
		vf = (struct field){ eq + 1, x.len - kf.len - 1 };
		r = field_unescape(p, line, &kf, "xattr name", false, &key, &key_len);
		if (r >= 0)
			r = field_unescape(p, line, &vf, "xattr value", false, &value, &value_len);
		if (r < 0)
			return r;
		if (key_len == 0)
			return parse_error(p, -EINVAL, "empty xattr name");
		if (memchr(key, '\0', key_len))
			return parse_error(p, -EINVAL, "xattr name '%s' contains a NUL byte", dump_snippet(key, key_len, buf));
		if (key_len > ST_XATTR_NAME_MAX)
			return parse_error(p, -ERANGE, "xattr name '%s' is longer than %d bytes",
					   dump_snippet(key, key_len, buf), ST_XATTR_NAME_MAX);
		if (value_len > ST_XATTR_VALUE_MAX)
			return parse_error(p, -ERANGE, "value of xattr '%s' is longer than %d bytes",
					   dump_snippet(key, key_len, buf), ST_XATTR_VALUE_MAX);
		/* The reference lets a repeated name replace the earlier value;
		 * an ambiguous line is refused here instead. */
		r = dump_name_set_add(&p->xattr_names, node, key, key_len);
		if (r < 0)
			return r;
		if (r > 0)
			return parse_error(p, -EINVAL, "duplicate xattr '%s'", dump_snippet(key, key_len, buf));
		r = node_append_xattr(node, key, key_len, value, value_len);
		if (r == -ERANGE)
			return parse_error(p, r, "xattrs exceed the per-file budget of %d bytes at '%s'",
					   ST_XATTR_BUDGET_MAX, dump_snippet(key, key_len, buf));
		if (r < 0)
			return parse_error(p, r, "cannot set xattr '%s'", dump_snippet(key, key_len, buf));
	}
	return 0;
}

/* Everything after MODE for a line that is not a hardlink. */
static int parse_inode_fields(struct parser *p, const char *line, const struct field f[F_COUNT], struct st_node *n)
{
	bool strict = p->flags & ST_DUMP_PARSE_STRICT;
	const char *payload = NULL, *content = NULL, *digest = NULL;
	size_t payload_len = 0, content_len = 0, digest_len = 0;
	uint64_t size, nlink, uid, gid, rdev;
	uint32_t type = n->mode & S_IFMT;
	char buf[72];
	int r;

	if ((r = field_uint(p, &f[F_SIZE], "SIZE", 10, UINT64_MAX, &size)) < 0 ||
	    (r = field_uint(p, &f[F_NLINK], "NLINK", 10, UINT32_MAX, &nlink)) < 0 ||
	    (r = field_uint(p, &f[F_UID], "UID", 10, UINT32_MAX, &uid)) < 0 ||
	    (r = field_uint(p, &f[F_GID], "GID", 10, UINT32_MAX, &gid)) < 0 ||
	    (r = field_uint(p, &f[F_RDEV], "RDEV", 10, UINT64_MAX, &rdev)) < 0 ||
	    (r = field_mtime(p, &f[F_MTIME], &n->mtime_sec, &n->mtime_nsec)) < 0)
		return r;
	if ((r = field_unescape(p, line, &f[F_PAYLOAD], "PAYLOAD", true, &payload, &payload_len)) < 0 ||
	    (r = field_unescape(p, line, &f[F_CONTENT], "CONTENT", true, &content, &content_len)) < 0 ||
	    (r = field_unescape(p, line, &f[F_DIGEST], "DIGEST", true, &digest, &digest_len)) < 0)
		return r;

	n->nlink = (uint32_t)nlink;
	n->uid = (uint32_t)uid;
	n->gid = (uint32_t)gid;
	if (type == S_IFCHR || type == S_IFBLK)
		n->rdev = rdev;
	else if (strict && rdev != 0)
		return parse_error(p, -EINVAL, "RDEV %" PRIu64 " on a file that is not a device", rdev);

	if (content && content_len != size)
		return parse_error(p, -EINVAL, "CONTENT has %zu bytes but SIZE is %" PRIu64, content_len, size);
	if (payload && memchr(payload, '\0', payload_len))
		return parse_error(p, -EINVAL, "PAYLOAD contains a NUL byte");
	if (payload && payload_len > ST_SYMLINK_MAX)
		return parse_error(p, -ERANGE, "PAYLOAD is longer than %d bytes", ST_SYMLINK_MAX);

	if (type == S_IFLNK) {
		if (!payload || payload_len == 0)
			return parse_error(p, -EINVAL, "symlink without a target");
		if (strict && size != payload_len)
			return parse_error(p, -EINVAL, "symlink SIZE %" PRIu64 " differs from its target length %zu",
					   size, payload_len);
		if (strict && content_len > 0)
			return parse_error(p, -EINVAL, "symlink with CONTENT");
		n->size = payload_len;
	} else {
		n->size = size;
		if (content_len > ST_INLINE_CONTENT_MAX)
			return parse_error(p, -ERANGE, "CONTENT of %zu bytes exceeds the inline maximum of %d",
					   content_len, ST_INLINE_CONTENT_MAX);
		/* Only regular files carry data; the reference writer ignores it elsewhere. */
		if (type == S_IFREG && content_len > 0 && node_set_content(n, content, content_len) < 0)
			return -ENOMEM;
		if (type == S_IFREG && !n->content && size > DUMP_EXTERNAL_SIZE_MAX)
			return parse_error(p, -EFBIG, "file of %" PRIu64 " bytes needs more than 1024 chunks", size);
	}
	/* An empty payload means none (the writer only uses non-empty ones). */
	if (payload && payload_len > 0 && node_set_payload(n, payload, payload_len) < 0)
		return -ENOMEM;

	/* An empty DIGEST (a truncated line) means none: the reference
	 * would turn it into uninitialised bytes. */
	if (digest && digest_len > 0) {
		/* Deliberately stricter than the reference, which reads past a
		 * short digest into uninitialised memory. */
		if (st_hex_decode(digest, digest_len, n->digest, ST_DIGEST_SIZE) < 0)
			return parse_error(p, -EINVAL, "DIGEST '%s' is not 64 hex digits",
					   dump_snippet(digest, digest_len, buf));
		n->has_digest = true;
	}
	return 0;
}

static int ensure_scratch(struct parser *p, size_t len)
{
	char *s;

	if (len < p->scratch_cap)
		return 0;
	s = realloc(p->scratch, len + 1);
	if (!s)
		return -ENOMEM;
	p->scratch = s;
	p->scratch_cap = len + 1;
	return 0;
}

static int parse_line(struct parser *p, const char *line, size_t len)
{
	_cleanup_(node_freep) struct st_node *node = NULL;
	struct field f[F_COUNT], rest, mode_field;
	const char *path = NULL, *nul;
	size_t path_len = 0;
	bool hardlink;
	uint64_t mode;
	char buf[72];
	int r;

	nul = memchr(line, '\0', len);
	if (nul)
		return parse_error(p, -EINVAL, "NUL byte at column %zu", (size_t)(nul - line) + 1);
	if (ensure_scratch(p, len) < 0)
		return -ENOMEM;
	split_fields(line, len, f, &rest);

	r = field_unescape(p, line, &f[F_PATH], "PATH", false, &path, &path_len);
	if (r < 0)
		return r;
	r = dump_check_path(p, path, path_len, "path");
	if (r < 0)
		return r;

	mode_field = f[F_MODE];
	hardlink = mode_field.len > 0 && mode_field.p[0] == '@';
	if (hardlink) {
		mode_field.p++;
		mode_field.len--;
	}
	r = field_uint(p, &mode_field, "MODE", 8, UINT32_MAX, &mode);
	if (r < 0)
		return r;
	switch (mode & S_IFMT) {
	case S_IFREG:
	case S_IFDIR:
	case S_IFLNK:
	case S_IFBLK:
	case S_IFCHR:
	case S_IFSOCK:
	case S_IFIFO:
		break;
	default:
		return parse_error(p, -EINVAL, "MODE %" PRIo64 " has no valid file type", mode);
	}

	if (path_len == 1) {
		if (p->root)
			return parse_error(p, -EEXIST, "duplicate root line '/'");
		if (hardlink || !S_ISDIR(mode))
			return parse_error(p, -EINVAL, "the root must be a directory");
	} else if (!p->root) {
		return parse_error(p, -EINVAL, "'%s' comes before the root directory line '/'",
				   dump_snippet(path, path_len, buf));
	}

	r = st_node_new(&node);
	if (r < 0)
		return r;
	node->mode = (uint32_t)mode;
	if (hardlink)
		return parse_hardlink(p, line, f, &node, path, path_len);

	r = parse_inode_fields(p, line, f, node);
	if (r >= 0)
		r = parse_xattrs(p, line, rest, node);
	if (r >= 0)
		r = dump_add_to_tree(p, &node, path, path_len);
	return r;
}

int st_dump_parse_buffer(const char *buf, size_t len, unsigned flags, struct st_node **ret_root)
{
	struct parser p = { .flags = flags };
	size_t pos = 0;
	int r = 0;

	if (flags & ~(unsigned)ST_DUMP_PARSE_STRICT)
		return st_errf(-EINVAL, "unknown dump parse flags 0x%x", flags);
	st_error_clear();
	while (pos < len) {
		const char *line = buf + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;

		p.line++;
		if (!nl && (flags & ST_DUMP_PARSE_STRICT)) {
			r = parse_error(&p, -EINVAL, "missing newline at the end of the file");
			goto out;
		}
		r = parse_line(&p, line, n);
		if (r < 0)
			goto out;
		pos += n + (nl ? 1 : 0);
	}
	if (!p.root) {
		p.line = 1;
		r = parse_error(&p, -EINVAL, "empty dumpfile: no root directory line");
		goto out;
	}
	dump_sort_children(&p);
	r = dump_resolve_hardlinks(&p);
	if (r < 0)
		goto out;
	*ret_root = TAKE_PTR(p.root);
	r = 0;
out:
	if (r == -ENOMEM && !st_error_detail())
		r = parse_error(&p, r, "out of memory");
	parser_release(&p);
	return r;
}

int st_dump_parse_fd(int fd, unsigned flags, struct st_node **ret_root)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len;
	int r;

	/* read(), not mmap(): a file truncated under us must give an error, never SIGBUS. */
	r = read_fd_all(fd, &buf, &len);
	if (r < 0)
		return st_errf(r, "cannot read the dumpfile");
	return st_dump_parse_buffer((const char *)buf, len, flags, ret_root);
}
