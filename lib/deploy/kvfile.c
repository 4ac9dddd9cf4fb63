/* SPDX-License-Identifier: MIT */
/*
 * "KEY VALUE" line files: Boot Loader Specification type 1 entries and
 * deployment origins (docs/formats/sysroot.md). Entries live on the ESP,
 * which has no integrity, so this parser takes untrusted bytes: sizes and
 * counts are capped before anything is allocated, NUL bytes are refused,
 * and a failure names the line.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/error.h"
#include "basic/io.h"
#include "deploy-internal.h"

static bool key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

void kv_file_release(struct kv_file *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->pairs[i].key);
		free(f->pairs[i].value);
	}
	free(f->pairs);
	f->pairs = NULL;
	f->n = 0;
}

const char *kv_get(const struct kv_file *f, const char *key)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->pairs[i].key, key) == 0)
			return f->pairs[i].value;
	return NULL;
}

static int parse_line(const char *p, size_t len, size_t lineno, struct kv_pair *ret)
{
	size_t k = 0, v;

	while (k < len && key_char(p[k]))
		k++;
	if (k == 0 || (k < len && p[k] != ' ' && p[k] != '\t'))
		return st_errf(-EUCLEAN, "line %zu: not 'KEY VALUE' (keys are [a-z0-9_-])", lineno);
	v = k;
	while (v < len && (p[v] == ' ' || p[v] == '\t'))
		v++;
	/* Trailing blanks are not part of the value (BLS says so for every key). */
	while (len > v && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\r'))
		len--;
	ret->key = strndup(p, k);
	ret->value = strndup(p + v, len - v);
	if (!ret->key || !ret->value) {
		free(ret->key);
		free(ret->value);
		return -ENOMEM;
	}
	return 0;
}

int kv_parse(const void *data, size_t len, struct kv_file *ret)
{
	struct kv_file f = {};
	const char *p = data, *end = p + len;
	size_t lineno = 0;
	int r;

	if (len > KV_FILE_MAX)
		return st_errf(-EUCLEAN, "%zu bytes, more than %d", len, KV_FILE_MAX);
	if (memchr(data, '\0', len))
		return st_errf(-EUCLEAN, "holds a NUL byte");
	f.pairs = new0(struct kv_pair, KV_LINES_MAX);
	if (!f.pairs)
		return -ENOMEM;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		size_t s = 0;

		lineno++;
		if (l > KV_LINE_MAX) {
			r = st_errf(-EUCLEAN, "line %zu: longer than %d bytes", lineno, KV_LINE_MAX);
			goto fail;
		}
		while (s < l && (p[s] == ' ' || p[s] == '\t'))
			s++;
		if (s < l && p[s] != '#' && !(l - s == 1 && p[s] == '\r')) {
			if (f.n == KV_LINES_MAX) {
				r = st_errf(-EUCLEAN, "line %zu: more than %d lines", lineno, KV_LINES_MAX);
				goto fail;
			}
			r = parse_line(p + s, l - s, lineno, &f.pairs[f.n]);
			if (r < 0)
				goto fail;
			f.n++;
		}
		p += l + (nl ? 1 : 0);
	}
	*ret = f;
	return 0;
fail:
	kv_file_release(&f);
	return r;
}

int kv_read_at(int dirfd, const char *name, struct kv_file *ret)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ uint8_t *buf = NULL;
	struct stat st;
	size_t len;
	int r;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return negative_errno();
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (!S_ISREG(st.st_mode))
		return st_errf(-EUCLEAN, "'%s' is not a regular file", name);
	if (st.st_size > KV_FILE_MAX)
		return st_errf(-EUCLEAN, "'%s': %lld bytes, more than %d", name, (long long)st.st_size, KV_FILE_MAX);
	r = read_fd_all(fd, &buf, &len);
	if (r < 0)
		return r;
	r = kv_parse(buf, len, ret);
	if (r < 0)
		return st_errf(r, "'%s': %s", name, st_error_detail() ? st_error_detail() : "cannot parse");
	return 0;
}
