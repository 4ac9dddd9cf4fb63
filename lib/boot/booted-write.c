/* SPDX-License-Identifier: MIT */
/*
 * booted.json: what prepare-root did, for `sealtree admin status` after
 * switch-root (the format is in docs/formats/sysroot.md). One flat object;
 * every string is escaped so that the file is valid JSON whatever bytes a
 * reason quotes: control characters, quotes, backslashes and bytes of 0x80
 * and above are written as \u00XX.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/error.h"
#include "basic/hex.h"
#include "basic/io.h"
#include "sealtree/boot.h"

struct buf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = realloc(b->p, cap);

		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void puts_raw(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static void put_string(struct buf *b, const char *s)
{
	put(b, "\"", 1);
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		char esc[8];

		if (*c < 0x20 || *c >= 0x7f || *c == '"' || *c == '\\') {
			snprintf(esc, sizeof(esc), "\\u%04x", *c);
			put(b, esc, 6);
		} else {
			put(b, (const char *)c, 1);
		}
	}
	put(b, "\"", 1);
}

static void put_key(struct buf *b, const char *key, bool first)
{
	if (!first)
		puts_raw(b, ", ");
	put_string(b, key);
	puts_raw(b, ": ");
}

static void put_opt_string(struct buf *b, const char *key, const char *value)
{
	put_key(b, key, false);
	if (value && *value)
		put_string(b, value);
	else
		puts_raw(b, "null");
}

int st_prepare_result_to_json(const struct st_prepare_result *res, char **ret)
{
	struct buf b = {};
	char hex[2 * ST_COMMIT_ID_SIZE + 1], key[2 * ST_KEY_ID_SIZE + 1];

	puts_raw(&b, "{");
	put_key(&b, "version", true);
	puts_raw(&b, "1");
	put_opt_string(&b, "os", res->os);
	put_opt_string(&b, "deployment", res->id);
	if (res->has_commit)
		st_hex_encode(res->commit, ST_COMMIT_ID_SIZE, hex);
	put_opt_string(&b, "commit", res->has_commit ? hex : NULL);
	if (res->has_image)
		st_hex_encode(res->image, sizeof(res->image), hex);
	put_opt_string(&b, "image", res->has_image ? hex : NULL);
	put_opt_string(&b, "root", !res->ok ? "failed" : res->fallback ? "fallback" : "composefs");
	put_opt_string(&b, "mode", st_composefs_mode_to_string(res->mode));
	put_key(&b, "verity", false);
	puts_raw(&b, res->verity ? "true" : "false");
	put_opt_string(&b, "verity-policy", res->verity_policy);
	if (res->signed_ok)
		st_hex_encode(res->signer_key_id, ST_KEY_ID_SIZE, key);
	put_opt_string(&b, "signed-by", res->signed_ok ? key : NULL);
	put_opt_string(&b, "fallback-reason", res->fallback ? res->reason : NULL);
	put_opt_string(&b, "failed-step", res->ok ? NULL : res->failed_step);
	put_opt_string(&b, "error", res->ok ? NULL : res->reason);
	put_opt_string(&b, "notes", res->notes);
	puts_raw(&b, "}\n");
	if (b.oom) {
		free(b.p);
		return -ENOMEM;
	}
	*ret = b.p;
	return 0;
}

int st_prepare_result_write(const struct st_prepare_result *res, const char *dir)
{
	_cleanup_free_ char *json = NULL, *tmp = NULL, *path = NULL;
	_cleanup_close_ int fd = -EBADF;
	int r;

	r = st_prepare_result_to_json(res, &json);
	if (r < 0)
		return r;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return st_errf(-errno, "cannot make '%s'", dir);
	if (asprintf(&tmp, "%s/.booted.json.tmp", dir) < 0 || asprintf(&path, "%s/booted.json", dir) < 0)
		return -ENOMEM;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return st_errf(-errno, "cannot write '%s'", tmp);
	r = write_full(fd, json, strlen(json));
	if (r >= 0 && fsync(fd) < 0)
		r = -errno;
	if (r >= 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		(void)unlink(tmp);
		return st_errf(r, "cannot write '%s'", path);
	}
	return 0;
}
