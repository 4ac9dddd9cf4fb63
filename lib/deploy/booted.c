/* SPDX-License-Identifier: MIT */
/*
 * /run/sealtree/booted.json: what prepare-root mounted as the root (one
 * JSON object, docs/formats/sysroot.md). Parsed as untrusted bytes by the
 * one strict JSON parser (lib/basic/json.c): at most 64 KiB, every string
 * at most 4096 bytes; the known keys must have the documented types,
 * unknown keys are ignored so that a newer prepare-root can add some.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/error.h"
#include "basic/io.h"
#include "basic/json.h"
#include "deploy-internal.h"

#define BOOTED_MAX (64 * 1024)
#define BOOTED_STRING_MAX 4096

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
	static const struct json_limits limits = {
		.max_bytes = BOOTED_MAX, .max_depth = 8, .max_string = BOOTED_STRING_MAX,
	};
	static const char *const names[] = { "os", "deployment", "commit", "image", "root", "signed-by",
					     "fallback-reason" };
	_cleanup_(booted_freep) struct st_booted *b = NULL;
	_cleanup_json_ struct json_value *v = NULL;
	const struct json_value *verity;
	int r;

	r = json_parse(data, len, &limits, &v);
	if (r < 0)
		return st_errf(r == -E2BIG ? -EUCLEAN : r, "booted.json: %s", st_error_detail());
	if (!json_is(v, JSON_OBJECT))
		return st_errf(-EUCLEAN, "booted.json: not one JSON object");
	b = new0(struct st_booted, 1);
	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		const struct json_value *f = json_get(v, names[i]);
		char **slot = field(b, names[i]);

		if (!f || f->type == JSON_NULL)
			continue;
		if (!json_is(f, JSON_STRING))
			return st_errf(-EUCLEAN, "booted.json: '%s' is not a string", names[i]);
		*slot = strdup(f->str);
		if (!*slot)
			return -ENOMEM;
	}
	verity = json_get(v, "verity");
	if (verity && verity->type != JSON_TRUE && verity->type != JSON_FALSE && verity->type != JSON_NULL)
		return st_errf(-EUCLEAN, "booted.json: 'verity' is not true or false");
	b->verity = verity && verity->type == JSON_TRUE;
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
