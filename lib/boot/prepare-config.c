/* SPDX-License-Identifier: MIT */
/*
 * prepare-root.conf: the initramfs's policy, an INI file of `[section]`
 * headers and `key = value` lines (docs/formats/prepare-root.md). It comes
 * from the initramfs, so it is trusted in what it says, but it is still
 * parsed strictly: a key we do not know, a value we cannot read or a key
 * given twice is refused with the line, because a typo in a security
 * policy must not silently weaken it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "basic/beneath.h"
#include "basic/error.h"
#include "fundamental/parse-number.h"
#include "sealtree/boot.h"

#define LINE_MAX_BYTES 4096

static const char *const mode_names[ST_COMPOSEFS_MODE_COUNT] = {
	[ST_COMPOSEFS_MAYBE] = "maybe",
	[ST_COMPOSEFS_YES] = "yes",
	[ST_COMPOSEFS_VERITY] = "verity",
	[ST_COMPOSEFS_SIGNED] = "signed",
};

const char *st_composefs_mode_to_string(enum st_composefs_mode mode)
{
	return (unsigned)mode < ST_COMPOSEFS_MODE_COUNT ? mode_names[mode] : "invalid";
}

int st_composefs_mode_from_string(const char *s, enum st_composefs_mode *ret)
{
	for (unsigned i = 0; i < ST_COMPOSEFS_MODE_COUNT; i++)
		if (strcmp(s, mode_names[i]) == 0) {
			*ret = (enum st_composefs_mode)i;
			return 0;
		}
	return -EINVAL;
}

struct st_prepare_config *st_prepare_config_free(struct st_prepare_config *c)
{
	if (c) {
		free(c->keys_dir);
		free(c);
	}
	return NULL;
}

static void configp(struct st_prepare_config **c)
{
	st_prepare_config_free(*c);
}

static struct st_prepare_config *config_defaults(void)
{
	struct st_prepare_config *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->mode = ST_COMPOSEFS_YES;
	c->sysroot_readonly = true;
	return c;
}

static int parse_bool(const char *v, bool *ret)
{
	if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1")) {
		*ret = true;
		return 0;
	}
	if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0")) {
		*ret = false;
		return 0;
	}
	return -EINVAL;
}

static char *trim(char *s, char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		end--;
	*end = '\0';
	return s;
}

enum key_id {
	K_ENABLED,
	K_KEYS,
	K_FLOOR_TIMESTAMP,
	K_FLOOR_VERSION,
	K_ETC_TRANSIENT,
	K_ROOT_TRANSIENT,
	K_ROOT_TRANSIENT_RO,
	K_SYSROOT_READONLY,
	K_COUNT,
};

static const struct {
	const char *section, *key;
} keys[K_COUNT] = {
	[K_ENABLED] = {"composefs", "enabled"},
	[K_KEYS] = {"composefs", "keys"},
	[K_FLOOR_TIMESTAMP] = {"rollback", "floor-timestamp"},
	[K_FLOOR_VERSION] = {"rollback", "floor-version"},
	[K_ETC_TRANSIENT] = {"etc", "transient"},
	[K_ROOT_TRANSIENT] = {"root", "transient"},
	[K_ROOT_TRANSIENT_RO] = {"root", "transient-ro"},
	[K_SYSROOT_READONLY] = {"sysroot", "readonly"},
};

static int set_value(struct st_prepare_config *c, enum key_id k, const char *v, size_t lineno)
{
	int r = 0;

	switch (k) {
	case K_ENABLED:
		r = st_composefs_mode_from_string(v, &c->mode);
		break;
	case K_KEYS:
		if (v[0] != '/')
			return st_errf(-EUCLEAN, "line %zu: keys = '%s' is not an absolute path", lineno, v);
		c->keys_dir = strdup(v);
		if (!c->keys_dir)
			return -ENOMEM;
		break;
	case K_FLOOR_TIMESTAMP:
		r = parse_i64_n(v, strlen(v), PARSE_CANONICAL, &c->floor_timestamp);
		c->has_floor = true;
		break;
	case K_FLOOR_VERSION:
		if (strlen(v) >= sizeof(c->floor_version))
			return st_errf(-EUCLEAN, "line %zu: floor-version is longer than %zu bytes", lineno,
				       sizeof(c->floor_version) - 1);
		memcpy(c->floor_version, v, strlen(v) + 1);
		c->has_floor = true;
		break;
	case K_ETC_TRANSIENT:
		r = parse_bool(v, &c->etc_transient);
		break;
	case K_ROOT_TRANSIENT:
		r = parse_bool(v, &c->root_transient);
		break;
	case K_ROOT_TRANSIENT_RO:
		r = parse_bool(v, &c->root_transient_ro);
		break;
	case K_SYSROOT_READONLY:
		r = parse_bool(v, &c->sysroot_readonly);
		break;
	case K_COUNT:
		return -EINVAL;
	}
	if (r < 0)
		return st_errf(-EUCLEAN, "line %zu: [%s] %s = '%s' is not a valid value", lineno, keys[k].section,
			       keys[k].key, v);
	return 0;
}

int st_prepare_config_parse(const void *data, size_t len, struct st_prepare_config **ret)
{
	_cleanup_(configp) struct st_prepare_config *c = NULL;
	_cleanup_free_ char *buf = NULL, *section = NULL;
	bool seen[K_COUNT] = {};
	size_t lineno = 0;
	char *p, *end, *next;

	if (len > ST_PREPARE_CONFIG_MAX)
		return st_errf(-EFBIG, "more than %d bytes", ST_PREPARE_CONFIG_MAX);
	if (memchr(data, '\0', len))
		return st_errf(-EUCLEAN, "a NUL byte in the file");
	c = config_defaults();
	buf = malloc(len + 1);
	if (!c || !buf)
		return -ENOMEM;
	memcpy(buf, data, len);
	buf[len] = '\0';

	for (p = buf; *p; p = next) {
		char *line, *eq, *key, *value;
		unsigned k;
		int r;

		lineno++;
		end = strchr(p, '\n');
		if (!end)
			end = p + strlen(p);
		next = *end ? end + 1 : end;
		if ((size_t)(end - p) > LINE_MAX_BYTES)
			return st_errf(-EUCLEAN, "line %zu: longer than %d bytes", lineno, LINE_MAX_BYTES);
		line = trim(p, end);
		if (line[0] == '\0' || line[0] == '#' || line[0] == ';')
			continue;
		if (line[0] == '[') {
			size_t n = strlen(line);

			if (n < 3 || line[n - 1] != ']')
				return st_errf(-EUCLEAN, "line %zu: '%s' is not a [section] header", lineno, line);
			free(section);
			section = strndup(line + 1, n - 2);
			if (!section)
				return -ENOMEM;
			continue;
		}
		eq = strchr(line, '=');
		if (!eq)
			return st_errf(-EUCLEAN, "line %zu: '%s' is not 'key = value'", lineno, line);
		key = trim(line, eq);
		value = trim(eq + 1, eq + 1 + strlen(eq + 1));
		if (!section)
			return st_errf(-EUCLEAN, "line %zu: '%s' before any [section]", lineno, key);
		for (k = 0; k < K_COUNT; k++)
			if (!strcmp(keys[k].section, section) && !strcmp(keys[k].key, key))
				break;
		if (k == K_COUNT)
			return st_errf(-EUCLEAN, "line %zu: unknown key '%s' in [%s]", lineno, key, section);
		if (seen[k])
			return st_errf(-EUCLEAN, "line %zu: [%s] %s given twice", lineno, section, key);
		seen[k] = true;
		r = set_value(c, (enum key_id)k, value, lineno);
		if (r < 0)
			return r;
	}
	if (c->mode == ST_COMPOSEFS_SIGNED && !c->keys_dir)
		return st_errf(-EUCLEAN, "[composefs] enabled = signed needs [composefs] keys");
	if (c->root_transient && c->root_transient_ro)
		return st_errf(-EUCLEAN, "[root] transient and transient-ro exclude each other");
	*ret = TAKE_PTR(c);
	return 0;
}

int st_prepare_config_load(const char *path, struct st_prepare_config **ret)
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	int r;

	r = read_file_capped(AT_FDCWD, path, ST_PREPARE_CONFIG_MAX, 0, &data, &len);
	if (r == -ENOENT) {
		*ret = config_defaults();
		return *ret ? 0 : -ENOMEM;
	}
	if (r < 0)
		return r;
	r = st_prepare_config_parse(data, len, ret);
	if (r < 0)
		return st_errf(r, "'%s': %s", path, st_error_detail() ? st_error_detail() : "invalid");
	return 0;
}
