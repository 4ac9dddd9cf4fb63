/* SPDX-License-Identifier: MIT */
/*
 * Registry credentials from the files podman, skopeo and docker keep them
 * in, so that a password need not be on the command line (docs/formats/oci.md,
 * "Credentials"). Read as untrusted input: capped in size, parsed by the
 * strict JSON parser, the "auth" value strict base64 of "USER:PASSWORD".
 *
 * The files, the first that has an entry for the registry wins:
 *   $REGISTRY_AUTH_FILE, or else $XDG_RUNTIME_DIR/containers/auth.json
 *   $XDG_CONFIG_HOME/containers/auth.json (~/.config/containers/auth.json)
 *   $DOCKER_CONFIG/config.json (~/.docker/config.json)
 * In each, "auths" maps a key to {"auth": BASE64}: the key is the registry
 * (host[:port]), or the registry and a leading part of the repository
 * ("host/ns": the longest that matches wins), with an optional http:// or
 * https:// and trailing "/" or "/v1/" or "/v2/" (docker's old keys).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/base64.h"
#include "basic/error.h"
#include "basic/io.h"
#include "basic/json.h"
#include "registry-internal.h"

#define AUTH_FILE_MAX (1024u * 1024)

/* The key without scheme and trailing "/", "/v1/" or "/v2/": into buf; NULL if too long. */
static const char *normalize_key(const char *key, char *buf, size_t size)
{
	size_t len;

	if (strncmp(key, "https://", 8) == 0)
		key += 8;
	else if (strncmp(key, "http://", 7) == 0)
		key += 7;
	len = strlen(key);
	if (len >= size)
		return NULL;
	memcpy(buf, key, len + 1);
	for (const char *suffix[] = { "/v1/", "/v2/", "/v1", "/v2", "/" }, **s = suffix; s < suffix + 5; s++) {
		size_t sl = strlen(*s);

		if (len > sl && strcmp(buf + len - sl, *s) == 0) {
			buf[len - sl] = '\0';
			break;
		}
	}
	return buf;
}

/* How well key matches registry/name: the length matched, or 0 for no match. */
static size_t key_match(const char *key, const char *registry, const char *name)
{
	size_t rl = strlen(registry), kl = strlen(key), nl;

	if (strncmp(key, registry, rl) != 0)
		return 0;
	if (kl == rl)
		return rl;
	if (key[rl] != '/')
		return 0;
	/* "host/ns...": a leading part of the repository, at a component boundary. */
	nl = kl - rl - 1;
	if (strncmp(key + rl + 1, name, nl) != 0 || (name[nl] != '\0' && name[nl] != '/'))
		return 0;
	return kl;
}

static int decode_auth(const char *path, const char *key, const char *b64, char **ret)
{
	size_t slen = strlen(b64), out_len;
	char *out;

	if (slen == 0 || slen % 4 != 0 || slen > 8192)
		return st_errf(-EINVAL, "%s: the \"auth\" of '%.100s' is not base64 of USER:PASSWORD", path, key);
	out_len = slen / 4 * 3 - (b64[slen - 1] == '=') - (b64[slen - 2] == '=');
	out = malloc(out_len + 1);
	if (!out)
		return -ENOMEM;
	if (base64_decode_exact(b64, slen, (uint8_t *)out, out_len) < 0 || memchr(out, '\0', out_len) ||
	    !memchr(out, ':', out_len) || out[0] == ':') {
		explicit_bzero(out, out_len);
		free(out);
		return st_errf(-EINVAL, "%s: the \"auth\" of '%.100s' is not base64 of USER:PASSWORD", path, key);
	}
	out[out_len] = '\0';
	*ret = out;
	return 0;
}

int registry_creds_parse(const void *data, size_t len, const char *path, const char *registry, const char *name,
			 char **ret)
{
	_cleanup_json_ struct json_value *doc = NULL;
	const struct json_value *auths, *best = NULL;
	const char *best_key = NULL;
	size_t best_len = 0;
	int r;

	r = json_parse(data, len, &(struct json_limits){ .max_bytes = AUTH_FILE_MAX }, &doc);
	if (r < 0)
		return st_errf(r, "%s: not valid JSON: %s", path, st_error_detail() ?: "malformed");
	auths = json_get(doc, "auths");
	if (!auths)
		return 0;
	if (!json_is(auths, JSON_OBJECT))
		return st_errf(-EINVAL, "%s: \"auths\" is not an object", path);
	for (size_t i = 0; i < auths->n; i++) {
		const struct json_member *m = &auths->members[i];
		char kbuf[512];
		const char *k = normalize_key(m->key, kbuf, sizeof(kbuf));
		size_t l = k ? key_match(k, registry, name) : 0;

		if (l > best_len && json_string(json_get(&m->value, "auth"))) {
			best = &m->value;
			best_key = m->key;
			best_len = l;
		}
	}
	if (!best)
		return 0;
	r = decode_auth(path, best_key, json_string(json_get(best, "auth")), ret);
	/* The parsed document holds the secret too. */
	explicit_bzero(json_get(best, "auth")->str, json_get(best, "auth")->len);
	return r < 0 ? r : 1;
}

/* 1 and the credentials if path has an entry for registry/name, 0 if not (or no such file). */
static int lookup_file(const char *path, const char *registry, const char *name, char **ret)
{
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	size_t len;
	int r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : st_errf(-errno, "cannot open %s", path);
	if (fstat(fd, &st) < 0)
		return st_errf(-errno, "cannot stat %s", path);
	if (!S_ISREG(st.st_mode) || st.st_size > AUTH_FILE_MAX)
		return st_errf(-EINVAL, "%s: not a regular file of at most %u bytes", path, AUTH_FILE_MAX);
	r = read_fd_all(fd, &buf, &len);
	if (r < 0)
		return st_errf(r, "cannot read %s", path);
	if (len > AUTH_FILE_MAX)
		return st_errf(-EFBIG, "%s: more than %u bytes", path, AUTH_FILE_MAX);
	r = registry_creds_parse(buf, len, path, registry, name, ret);
	if (len)
		explicit_bzero(buf, len);
	return r;
}

int registry_creds_lookup(const char *registry, const char *name, char **ret, char **ret_source)
{
	const char *env, *home = getenv("HOME");
	char *paths[3] = {};
	int r = 0;

	env = getenv("REGISTRY_AUTH_FILE");
	if (env && *env)
		paths[0] = strdup(env);
	else if ((env = getenv("XDG_RUNTIME_DIR")) && *env && asprintf(&paths[0], "%s/containers/auth.json", env) < 0)
		paths[0] = NULL;
	if ((env = getenv("XDG_CONFIG_HOME")) && *env) {
		if (asprintf(&paths[1], "%s/containers/auth.json", env) < 0)
			paths[1] = NULL;
	} else if (home && *home && asprintf(&paths[1], "%s/.config/containers/auth.json", home) < 0)
		paths[1] = NULL;
	if ((env = getenv("DOCKER_CONFIG")) && *env) {
		if (asprintf(&paths[2], "%s/config.json", env) < 0)
			paths[2] = NULL;
	} else if (home && *home && asprintf(&paths[2], "%s/.docker/config.json", home) < 0)
		paths[2] = NULL;
	for (size_t i = 0; i < 3 && r == 0; i++) {
		if (!paths[i])
			continue;
		r = lookup_file(paths[i], registry, name, ret);
		/* Docker Hub's names: docker's own key is https://index.docker.io/v1/. */
		if (r == 0 && (strcmp(registry, "docker.io") == 0 || strcmp(registry, "registry-1.docker.io") == 0))
			r = lookup_file(paths[i], "index.docker.io", name, ret);
		if (r > 0 && ret_source) {
			*ret_source = paths[i];
			paths[i] = NULL;
		}
	}
	for (size_t i = 0; i < 3; i++)
		free(paths[i]);
	return r;
}
