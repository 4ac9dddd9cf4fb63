/* SPDX-License-Identifier: MIT */
/*
 * /run/sealtree/booted.json: what prepare-root mounted as the root (one flat
 * JSON object, docs/formats/sysroot.md). Parsed as untrusted bytes: one
 * object of string, boolean, null or integer values, no nesting, at most
 * 64 KiB, every string at most 4096 bytes; anything else is -EUCLEAN.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/error.h"
#include "basic/hex.h"
#include "basic/io.h"
#include "deploy-internal.h"

#define BOOTED_MAX (64 * 1024)
#define BOOTED_STRING_MAX 4096

struct cursor {
	const char *p, *end;
};

static void skip_ws(struct cursor *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

static int take(struct cursor *c, char ch)
{
	skip_ws(c);
	if (c->p >= c->end || *c->p != ch)
		return st_errf(-EUCLEAN, "booted.json: expected '%c' at byte %zu", ch, (size_t)(c->end - c->p));
	c->p++;
	return 0;
}

static int hex4(const char *p, unsigned *ret)
{
	uint8_t b[2];

	if (st_hex_decode(p, 4, b, 2) < 0)
		return -EUCLEAN;
	*ret = (unsigned)b[0] << 8 | b[1];
	return 0;
}

/* A JSON string into a new NUL-terminated buffer (NUL bytes refused). */
static int take_string(struct cursor *c, char **ret)
{
	_cleanup_free_ char *out = NULL;
	size_t o = 0;
	int r;

	r = take(c, '"');
	if (r < 0)
		return r;
	out = malloc(BOOTED_STRING_MAX + 4);
	if (!out)
		return -ENOMEM;
	for (;;) {
		unsigned char ch;

		if (c->p >= c->end)
			return st_errf(-EUCLEAN, "booted.json: unterminated string");
		if (o >= BOOTED_STRING_MAX)
			return st_errf(-EUCLEAN, "booted.json: a string longer than %d bytes", BOOTED_STRING_MAX);
		ch = (unsigned char)*c->p++;
		if (ch == '"')
			break;
		if (ch < 0x20)
			return st_errf(-EUCLEAN, "booted.json: control character in a string");
		if (ch != '\\') {
			out[o++] = (char)ch;
			continue;
		}
		if (c->p >= c->end)
			return st_errf(-EUCLEAN, "booted.json: unterminated escape");
		ch = (unsigned char)*c->p++;
		switch (ch) {
		case '"': case '\\': case '/': out[o++] = (char)ch; break;
		case 'b': out[o++] = '\b'; break;
		case 'f': out[o++] = '\f'; break;
		case 'n': out[o++] = '\n'; break;
		case 'r': out[o++] = '\r'; break;
		case 't': out[o++] = '\t'; break;
		case 'u': {
			unsigned v;

			if (c->end - c->p < 4 || hex4(c->p, &v) < 0 || v == 0 || (v >= 0xd800 && v <= 0xdfff))
				return st_errf(-EUCLEAN, "booted.json: bad \\u escape");
			c->p += 4;
			if (v < 0x80)
				out[o++] = (char)v;
			else if (v < 0x800) {
				out[o++] = (char)(0xc0 | (v >> 6));
				out[o++] = (char)(0x80 | (v & 0x3f));
			} else {
				out[o++] = (char)(0xe0 | (v >> 12));
				out[o++] = (char)(0x80 | ((v >> 6) & 0x3f));
				out[o++] = (char)(0x80 | (v & 0x3f));
			}
			break;
		}
		default:
			return st_errf(-EUCLEAN, "booted.json: bad escape '\\%c'", ch);
		}
	}
	out[o] = '\0';
	*ret = TAKE_PTR(out);
	return 0;
}

static bool take_word(struct cursor *c, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(c->end - c->p) >= n && memcmp(c->p, w, n) == 0) {
		c->p += n;
		return true;
	}
	return false;
}

struct st_booted *booted_free(struct st_booted *b)
{
	if (!b)
		return NULL;
	free(b->os);
	free(b->deployment);
	free(b->commit);
	free(b->image);
	free(b->root);
	free(b->signed_by);
	free(b->fallback_reason);
	free(b);
	return NULL;
}

static char *mfree_str(char *p)
{
	free(p);
	return NULL;
}

static void booted_freep(struct st_booted **b)
{
	booted_free(*b);
}

static char **field(struct st_booted *b, const char *key)
{
	static const char *const names[] = { "os", "deployment", "commit", "image", "root", "signed-by",
					     "fallback-reason" };
	char **slots[] = { &b->os, &b->deployment, &b->commit, &b->image, &b->root, &b->signed_by,
			   &b->fallback_reason };

	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		if (strcmp(key, names[i]) == 0)
			return slots[i];
	return NULL;
}

int booted_parse(const void *data, size_t len, struct st_booted **ret)
{
	_cleanup_(booted_freep) struct st_booted *b = NULL;
	struct cursor c = { data, (const char *)data + len };
	size_t n_keys = 0;
	int r;

	if (len > BOOTED_MAX)
		return st_errf(-EUCLEAN, "booted.json: %zu bytes, more than %d", len, BOOTED_MAX);
	b = new0(struct st_booted, 1);
	if (!b)
		return -ENOMEM;
	r = take(&c, '{');
	if (r < 0)
		return r;
	skip_ws(&c);
	if (c.p < c.end && *c.p == '}')
		c.p++;
	else
		for (;;) {
			_cleanup_free_ char *key = NULL, *s = NULL;
			char **slot;

			if (++n_keys > 64)
				return st_errf(-EUCLEAN, "booted.json: more than 64 keys");
			r = take_string(&c, &key);
			if (r >= 0)
				r = take(&c, ':');
			if (r < 0)
				return r;
			skip_ws(&c);
			slot = field(b, key);
			if (c.p < c.end && *c.p == '"') {
				r = take_string(&c, &s);
				if (r < 0)
					return r;
				if (slot) {
					free(*slot);
					*slot = TAKE_PTR(s);
				}
			} else if (take_word(&c, "true")) {
				if (strcmp(key, "verity") == 0)
					b->verity = true;
			} else if (take_word(&c, "false")) {
				if (strcmp(key, "verity") == 0)
					b->verity = false;
			} else if (take_word(&c, "null")) {
				if (slot)
					*slot = mfree_str(*slot);
			} else {
				size_t digits = 0;

				while (c.p < c.end && *c.p >= '0' && *c.p <= '9' && digits < 19) {
					c.p++;
					digits++;
				}
				if (digits == 0 || (c.p < c.end && *c.p >= '0' && *c.p <= '9'))
					return st_errf(-EUCLEAN, "booted.json: bad value for '%s'", key);
			}
			skip_ws(&c);
			if (c.p < c.end && *c.p == ',') {
				c.p++;
				continue;
			}
			r = take(&c, '}');
			if (r < 0)
				return r;
			break;
		}
	skip_ws(&c);
	if (c.p != c.end)
		return st_errf(-EUCLEAN, "booted.json: bytes after the object");
	*ret = TAKE_PTR(b);
	return 0;
}

int booted_read(struct st_booted **ret)
{
	const char *dir = getenv("SEALTREE_RUN_DIR");
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_close_ int fd = -EBADF;
	size_t len;
	int r;

	if (asprintf(&path, "%s/booted.json", dir && *dir ? dir : "/run/sealtree") < 0)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT) {
			*ret = NULL;
			return 0;
		}
		return st_errf(negative_errno(), "cannot open '%s'", path);
	}
	if (lseek(fd, 0, SEEK_END) > BOOTED_MAX)
		return st_errf(-EUCLEAN, "'%s': more than %d bytes", path, BOOTED_MAX);
	if (lseek(fd, 0, SEEK_SET) < 0)
		return negative_errno();
	r = read_fd_all(fd, &buf, &len);
	if (r < 0)
		return st_errf(r, "cannot read '%s'", path);
	return booted_parse(buf, len, ret);
}
