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
#include "dump-escape.h"
#include "sealtree/dump.h"
#include "tree-internal.h"

/* Deeper trees are refused: printing and freeing recurse once per level. */
#define DUMP_DEPTH_MAX 4096
/* The reference caps the (escaped) xattr part of a line at this many bytes. */
#define DUMP_XATTR_BYTES_MAX 65535
/* An external file may need at most 1024 chunks of 2^43 bytes (EFBIG above). */
#define DUMP_EXTERNAL_SIZE_MAX (UINT64_C(1024) << 43)

enum {
	F_PATH,
	F_SIZE,
	F_MODE,
	F_NLINK,
	F_UID,
	F_GID,
	F_RDEV,
	F_MTIME,
	F_PAYLOAD,
	F_CONTENT,
	F_DIGEST,
	F_COUNT,
};

struct field {
	const char *p;
	size_t len;
};

struct hardlink {
	struct st_node *alias;
	char *target_path;              /* unescaped, validated absolute path */
	struct st_node *target;         /* what target_path names */
	struct st_node *final;          /* the non-alias node at the end of the chain */
	size_t line;
};

struct parser {
	unsigned flags;
	size_t line;
	struct st_node *root;

	char *scratch;                  /* unescaped fields, at their offsets in the line */
	size_t scratch_cap;

	/* The directory chain of the last parent: chain[0] is the root and
	 * chain[i] the directory whose path is dir_path[0..chain_end[i]). */
	struct st_node **chain;
	size_t *chain_end;
	size_t chain_len, chain_cap, chain_end_cap;
	char *dir_path;
	size_t dir_len, dir_cap;

	struct hardlink *links;
	size_t n_links, cap_links;
};

static void parser_release(struct parser *p)
{
	for (size_t i = 0; i < p->n_links; i++)
		free(p->links[i].target_path);
	free(p->links);
	free(p->chain);
	free(p->chain_end);
	free(p->dir_path);
	free(p->scratch);
	st_node_free(p->root);
}

static void node_freep(struct st_node **n)
{
	st_node_free(*n);
}

#define parse_error(p, r, fmt, ...) st_errf((r), "line %zu: " fmt, (p)->line, ##__VA_ARGS__)

/* A printable, bounded copy of untrusted bytes for an error message. */
static const char *snippet(const char *s, size_t len, char buf[static 72])
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

static int parse_uint(const char *s, size_t len, unsigned base, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;

	if (len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		unsigned d = (unsigned)(unsigned char)s[i] - '0';
		if (d >= base)
			return -EINVAL;
		if (v > (max - d) / base)
			return -ERANGE;
		v = v * base + d;
	}
	*ret = v;
	return 0;
}

static int field_uint(struct parser *p, const struct field *f, const char *name, unsigned base, uint64_t max,
		      uint64_t *ret)
{
	char buf[72];
	int r = parse_uint(f->p, f->len, base, max, ret);

	if (r == -ERANGE)
		return parse_error(p, r, "%s '%s' is out of range (max %" PRIu64 ")", name,
				   snippet(f->p, f->len, buf), max);
	if (r < 0)
		return parse_error(p, r, "invalid %s '%s'", name, snippet(f->p, f->len, buf));
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
				   snippet(f->p, f->len, buf));
	r = parse_uint(f->p + neg, (size_t)(dot - f->p) - neg, 10, neg ? (uint64_t)INT64_MAX + 1 : INT64_MAX, &sec);
	if (r >= 0)
		r = parse_uint(dot + 1, f->len - (size_t)(dot - f->p) - 1, 10, 999999999, &nsec);
	if (r == -ERANGE)
		return parse_error(p, r, "MTIME '%s' is out of range", snippet(f->p, f->len, buf));
	if (r < 0)
		return parse_error(p, r, "invalid MTIME '%s'", snippet(f->p, f->len, buf));
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

/*
 * Check an unescaped absolute path: "/" or "/name[/name...]", each name
 * valid for a directory entry. Returns the number of components.
 */
static int check_path(struct parser *p, const char *path, size_t len, const char *what)
{
	char buf[72];
	size_t depth = 0;

	if (len == 0)
		return parse_error(p, -EINVAL, "empty %s", what);
	if (path[0] != '/')
		return parse_error(p, -EINVAL, "%s '%s' is not absolute", what, snippet(path, len, buf));
	if (memchr(path, '\0', len))
		return parse_error(p, -EINVAL, "%s '%s' contains a NUL byte", what, snippet(path, len, buf));
	if (len == 1)
		return 0;
	for (size_t i = 1; i <= len;) {
		const char *slash = memchr(path + i, '/', len - i);
		size_t end = slash ? (size_t)(slash - path) : len;
		size_t n = end - i;

		if (n == 0)
			return parse_error(p, -EINVAL, "%s '%s' has an empty component", what,
					   snippet(path, len, buf));
		if (n > ST_NAME_MAX)
			return parse_error(p, -ERANGE, "%s '%s' has a component longer than %d bytes", what,
					   snippet(path, len, buf), ST_NAME_MAX);
		if (node_name_valid(path + i, n) < 0)
			return parse_error(p, -EINVAL, "%s '%s' has a '.' or '..' component", what,
					   snippet(path, len, buf));
		if (++depth > DUMP_DEPTH_MAX)
			return parse_error(p, -ERANGE, "%s is nested deeper than %d levels", what, DUMP_DEPTH_MAX);
		i = end + 1;
		if (!slash)
			break;
		if (i == len)
			return parse_error(p, -EINVAL, "%s '%s' ends with '/'", what, snippet(path, len, buf));
	}
	return (int)depth;
}

static int chain_push(struct parser *p, struct st_node *dir, const char *name, size_t name_len)
{
	size_t need;

	if (GROW(p->chain, p->chain_cap, p->chain_len + 1) < 0 ||
	    GROW(p->chain_end, p->chain_end_cap, p->chain_len + 1) < 0)
		return -ENOMEM;
	if (name_len > 0) {
		if (ADD_OVERFLOW(p->dir_len, name_len + 1, &need) || GROW(p->dir_path, p->dir_cap, need) < 0)
			return -ENOMEM;
		p->dir_path[p->dir_len] = '/';
		memcpy(p->dir_path + p->dir_len + 1, name, name_len);
		p->dir_len = need;
	}
	p->chain[p->chain_len] = dir;
	p->chain_end[p->chain_len] = p->dir_len;
	p->chain_len++;
	return 0;
}

/*
 * Find the directory holding path (validated, not "/"), starting from the
 * deepest cached directory that is an ancestor of it.
 */
static int find_parent(struct parser *p, const char *path, size_t len, struct st_node **ret_parent)
{
	const char *last = memrchr(path, '/', len);
	size_t parent_len = (size_t)(last - path), common = 0, k, pos;
	size_t limit = MIN(parent_len, p->dir_len);
	char buf[72];

	while (common < limit && path[common] == p->dir_path[common])
		common++;
	for (k = p->chain_len - 1; k > 0; k--) {
		size_t e = p->chain_end[k];
		if (e <= common && (e == parent_len || path[e] == '/'))
			break;
	}
	p->chain_len = k + 1;
	p->dir_len = p->chain_end[k];

	for (pos = p->dir_len; pos < parent_len;) {
		const char *name = path + pos + 1;
		const char *slash = memchr(name, '/', parent_len - pos - 1);
		size_t n = slash ? (size_t)(slash - name) : parent_len - pos - 1;
		struct st_node *child = node_lookup_child(p->chain[p->chain_len - 1], name, n);

		if (!child)
			return parse_error(p, -ENOENT, "parent directory '%s' of '%s' does not exist",
					   snippet(path, pos + 1 + n, buf), snippet(path, len, (char[72]){ 0 }));
		if (!node_is_dir(child) || child->link_target)
			return parse_error(p, -ENOTDIR, "parent '%s' of '%s' is not a directory",
					   snippet(path, pos + 1 + n, buf), snippet(path, len, (char[72]){ 0 }));
		if (chain_push(p, child, name, n) < 0)
			return -ENOMEM;
		pos += 1 + n;
	}
	*ret_parent = p->chain[p->chain_len - 1];
	return 0;
}

static int add_to_tree(struct parser *p, struct st_node **node, const char *path, size_t len)
{
	struct st_node *parent = NULL;
	const char *name;
	char buf[72];
	int r;

	if (len == 1) {
		p->root = TAKE_PTR(*node);
		return chain_push(p, p->root, NULL, 0);
	}
	r = find_parent(p, path, len, &parent);
	if (r < 0)
		return r;
	name = (const char *)memrchr(path, '/', len) + 1;
	r = node_add_child(parent, *node, name, (size_t)(path + len - name));
	if (r == -EEXIST)
		return parse_error(p, r, "duplicate path '%s'", snippet(path, len, buf));
	if (r < 0)
		return parse_error(p, r, "cannot add '%s'", snippet(path, len, buf));
	*node = NULL;
	return 0;
}

static int parse_hardlink(struct parser *p, const char *line, const struct field f[F_COUNT],
			  struct st_node **node, const char *path, size_t path_len)
{
	const char *target;
	size_t target_len;
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
	r = check_path(p, target, target_len, "hardlink target");
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
	r = add_to_tree(p, node, path, path_len);
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
	while (rest.len > 0) {
		const char *sp = memchr(rest.p, ' ', rest.len);
		struct field x = { rest.p, sp ? (size_t)(sp - rest.p) : rest.len };
		const char *eq = memchr(x.p, '=', x.len);
		struct field kf, vf;
		const char *key, *value;
		size_t key_len, value_len;
		int r;

		rest.p += x.len + (sp ? 1 : 0);
		rest.len -= x.len + (sp ? 1 : 0);
		if (!eq)
			return parse_error(p, -EINVAL, "xattr '%s' has no '='", snippet(x.p, x.len, buf));
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
			return parse_error(p, -EINVAL, "xattr name '%s' contains a NUL byte", snippet(key, key_len, buf));
		if (key_len > ST_XATTR_NAME_MAX)
			return parse_error(p, -ERANGE, "xattr name '%s' is longer than %d bytes",
					   snippet(key, key_len, buf), ST_XATTR_NAME_MAX);
		if (value_len > ST_XATTR_VALUE_MAX)
			return parse_error(p, -ERANGE, "value of xattr '%s' is longer than %d bytes",
					   snippet(key, key_len, buf), ST_XATTR_VALUE_MAX);
		r = node_set_xattr(node, key, key_len, value, value_len);
		if (r == -ERANGE)
			return parse_error(p, r, "xattrs exceed the per-file budget of %d bytes at '%s'",
					   ST_XATTR_BUDGET_MAX, snippet(key, key_len, buf));
		if (r < 0)
			return parse_error(p, r, "cannot set xattr '%s'", snippet(key, key_len, buf));
	}
	return 0;
}

/* Everything after MODE for a line that is not a hardlink. */
static int parse_inode_fields(struct parser *p, const char *line, const struct field f[F_COUNT], struct st_node *n)
{
	bool strict = p->flags & ST_DUMP_PARSE_STRICT;
	const char *payload, *content, *digest;
	size_t payload_len, content_len, digest_len;
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
		/* Only regular files carry data; the reference ignores it elsewhere. */
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
		if (hex_decode_exact(digest, digest_len, n->digest, ST_DIGEST_SIZE) < 0)
			return parse_error(p, -EINVAL, "DIGEST '%s' is not 64 hex digits",
					   snippet(digest, digest_len, buf));
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
	const char *path, *nul;
	size_t path_len;
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
	r = check_path(p, path, path_len, "path");
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
				   snippet(path, path_len, buf));
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
		r = add_to_tree(p, &node, path, path_len);
	return r;
}

static struct st_node *lookup_path(struct st_node *root, const char *path)
{
	struct st_node *n = root;

	if (strcmp(path, "/") == 0)
		return root;
	while (n && *path) {
		const char *name = path + 1;
		size_t len = strcspn(name, "/");

		n = node_lookup_child(n, name, len);
		path = name + len;
	}
	return n;
}

/*
 * Hardlinks are resolved once every line is in, so a target may come after
 * its alias (as in the reference). A chain of aliases is followed to the
 * real inode; cycles, self-links and directory targets are refused.
 */
static int resolve_hardlinks(struct parser *p)
{
	char buf[72];

	for (size_t i = 0; i < p->n_links; i++) {
		struct hardlink *l = &p->links[i];

		p->line = l->line;
		l->target = lookup_path(p->root, l->target_path);
		if (!l->target)
			return parse_error(p, -ENOENT, "hardlink target '%s' does not exist",
					   snippet(l->target_path, strlen(l->target_path), buf));
		if (l->target == l->alias)
			return parse_error(p, -EINVAL, "hardlink to itself");
	}
	for (size_t i = 0; i < p->n_links; i++) {
		struct hardlink *l = &p->links[i];
		struct st_node *t = l->target;
		size_t steps = 0;

		p->line = l->line;
		while (t->scratch) {
			struct hardlink *next = &p->links[t->scratch - 1];
			if (next->final) {
				t = next->final;
				break;
			}
			if (++steps > p->n_links)
				return parse_error(p, -ELOOP, "hardlink cycle through '%s'",
						   snippet(l->target_path, strlen(l->target_path), buf));
			t = next->target;
		}
		if (node_is_dir(t))
			return parse_error(p, -EINVAL, "hardlink to directory '%s'",
					   snippet(l->target_path, strlen(l->target_path), buf));
		/* Path compression keeps long alias chains linear. */
		l->final = t;
		for (struct st_node *u = l->target; u->scratch && !p->links[u->scratch - 1].final;) {
			struct hardlink *next = &p->links[u->scratch - 1];
			next->final = t;
			u = next->target;
		}
	}
	for (size_t i = 0; i < p->n_links; i++) {
		struct hardlink *l = &p->links[i];

		p->line = l->line;
		l->alias->scratch = 0;
		if (node_set_link_target(l->alias, l->final) < 0)
			return parse_error(p, -EINVAL, "invalid hardlink target");
	}
	return 0;
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
	r = resolve_hardlinks(&p);
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
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 1 << 16;
	struct stat st;

	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 && (uint64_t)st.st_size < SIZE_MAX)
		cap = (size_t)st.st_size + 1;
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *b;
			if (MUL_OVERFLOW(cap, (size_t)2, &cap))
				return -ENOMEM;
			b = realloc(buf, cap);
			if (!b)
				return -ENOMEM;
			buf = b;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return st_errf(negative_errno(), "cannot read the dumpfile");
		if (n == 0)
			break;
		len += (size_t)n;
	}
	return st_dump_parse_buffer(buf, len, flags, ret_root);
}
