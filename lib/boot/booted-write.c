/* SPDX-License-Identifier: MIT */
/*
 * booted.json: what prepare-root did, for `sealtree admin status` after
 * switch-root (the format is in docs/formats/sysroot.md). One flat object;
 * every string goes through the one JSON string writer (fundamental/utf8.h),
 * so that the file is valid JSON whatever bytes a reason quotes.
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
#include "fundamental/utf8.h"
#include "sealtree/boot.h"

static void put_key(FILE *f, const char *key, bool first)
{
	if (!first)
		fputs(", ", f);
	json_write_string(f, key);
	fputs(": ", f);
}

static void put_opt_string(FILE *f, const char *key, const char *value)
{
	put_key(f, key, false);
	if (value && *value)
		json_write_string(f, value);
	else
		fputs("null", f);
}

int st_prepare_result_to_json(const struct st_prepare_result *res, char **ret)
{
	char hex[2 * ST_COMMIT_ID_SIZE + 1], key[2 * ST_KEY_ID_SIZE + 1];
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	FILE *f;

	f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	fputs("{", f);
	put_key(f, "version", true);
	fputs("1", f);
	put_opt_string(f, "os", res->os);
	put_opt_string(f, "deployment", res->id);
	if (res->has_commit)
		st_hex_encode(res->commit, ST_COMMIT_ID_SIZE, hex);
	put_opt_string(f, "commit", res->has_commit ? hex : NULL);
	if (res->has_image)
		st_hex_encode(res->image, sizeof(res->image), hex);
	put_opt_string(f, "image", res->has_image ? hex : NULL);
	put_opt_string(f, "root", !res->ok ? "failed" : res->fallback ? "fallback" : "composefs");
	put_opt_string(f, "mode", st_composefs_mode_to_string(res->mode));
	put_key(f, "verity", false);
	fputs(res->verity ? "true" : "false", f);
	put_opt_string(f, "verity-policy", res->verity_policy);
	if (res->signed_ok)
		st_hex_encode(res->signer_key_id, ST_KEY_ID_SIZE, key);
	put_opt_string(f, "signed-by", res->signed_ok ? key : NULL);
	put_opt_string(f, "fallback-reason", res->fallback ? res->reason : NULL);
	put_opt_string(f, "failed-step", res->ok ? NULL : res->failed_step);
	put_opt_string(f, "error", res->ok ? NULL : res->reason);
	put_opt_string(f, "notes", res->notes);
	fputs("}\n", f);
	if (ferror(f) | fclose(f))
		return -ENOMEM;
	*ret = TAKE_PTR(buf);
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
