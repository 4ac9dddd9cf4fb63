/* SPDX-License-Identifier: MIT */
/*
 * A pull reference: [http://|https://|docker://]REGISTRY/NAME[:TAG|@DIGEST]
 * (TAG "latest" if neither). REGISTRY is a host name or IPv4 address with
 * an optional :PORT; NAME and TAG follow the distribution spec's grammar
 * (lowercase components of [a-z0-9] joined by '.', '_', '__' or dashes,
 * separated by '/'; a tag [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}). Everything
 * lands in URLs, so nothing outside these grammars gets through.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "basic/error.h"
#include "fundamental/macro.h"
#include "fundamental/parse-number.h"
#include "registry-internal.h"

#define NAME_MAX_LEN 255
#define HOST_MAX_LEN 253

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool host_valid(const char *s, size_t len)
{
	size_t colon = len;
	uint64_t port;

	for (size_t i = 0; i < len; i++)
		if (s[i] == ':') {
			colon = i;
			break;
		}
	if (colon == 0 || colon > HOST_MAX_LEN)
		return false;
	for (size_t i = 0; i < colon; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '.'))
			return false;
		if ((c == '.' || c == '-') && (i == 0 || i + 1 == colon))
			return false;
	}
	if (colon == len)
		return true;
	return parse_uint_n(s + colon + 1, len - colon - 1, 10, 65535, PARSE_CANONICAL, &port) == 0 && port > 0;
}

/* Components of [a-z0-9]+ joined by '.', '_', '__' or '-'+, separated by '/'. */
static bool name_valid(const char *s, size_t len)
{
	size_t i = 0;

	if (len == 0 || len > NAME_MAX_LEN)
		return false;
	for (;;) {
		/* one component */
		if (i >= len || !is_lower_alnum(s[i]))
			return false;
		while (i < len && is_lower_alnum(s[i]))
			i++;
		while (i < len && s[i] != '/') {
			size_t sep = i;

			if (s[i] == '.')
				i++;
			else if (s[i] == '_')
				i += i + 1 < len && s[i + 1] == '_' ? 2 : 1;
			else if (s[i] == '-')
				while (i < len && s[i] == '-')
					i++;
			else
				return false;
			if (i == sep || i >= len || !is_lower_alnum(s[i]))
				return false;
			while (i < len && is_lower_alnum(s[i]))
				i++;
		}
		if (i == len)
			return true;
		i++;    /* '/' */
	}
}

static bool tag_valid(const char *s, size_t len)
{
	if (len == 0 || len > 128)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
		      (i > 0 && (c == '.' || c == '-'))))
			return false;
	}
	return true;
}

void registry_ref_done(struct registry_ref *r)
{
	free(r->scheme);
	free(r->registry);
	free(r->name);
	free(r->tag);
	free(r->digest);
	*r = (struct registry_ref){};
}

int registry_ref_parse(const char *s, struct registry_ref *ret)
{
	_cleanup_(registry_ref_done) struct registry_ref r = {};
	const char *slash, *at, *colon, *end, *name_end;
	uint8_t d[OCI_DIGEST_SIZE];
	int k;

	if (strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0) {
		bool tls = s[4] == 's';

		r.scheme = strdup(tls ? "https" : "http");
		if (!r.scheme)
			return -ENOMEM;
		s += tls ? 8 : 7;
	} else if (strncmp(s, "docker://", 9) == 0)
		s += 9;
	if (strstr(s, "://"))
		return st_errf(-EINVAL, "'%s': only http://, https:// and docker:// are known", s);
	slash = strchr(s, '/');
	if (!slash || !host_valid(s, (size_t)(slash - s)))
		return st_errf(-EINVAL, "'%s': expected REGISTRY/NAME[:TAG|@DIGEST] with a registry host[:port] first",
			       s);
	r.registry = strndup(s, (size_t)(slash - s));
	end = s + strlen(s);
	at = strchr(slash + 1, '@');
	if (at) {
		name_end = at;
		k = oci_digest_parse(at + 1, d);
		if (k < 0)
			return st_errf(k == -EOPNOTSUPP ? -EOPNOTSUPP : -EINVAL,
				       "'%s': a digest is sha256: and 64 lowercase hex digits", at + 1);
		r.digest = strdup(at + 1);
	} else {
		colon = strrchr(slash + 1, ':');
		name_end = colon ? colon : end;
		if (colon && !tag_valid(colon + 1, (size_t)(end - colon - 1)))
			return st_errf(-EINVAL, "'%s': a tag is [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", colon + 1);
		r.tag = colon ? strndup(colon + 1, (size_t)(end - colon - 1)) : strdup("latest");
	}
	if (!name_valid(slash + 1, (size_t)(name_end - slash - 1)))
		return st_errf(-EINVAL, "'%.*s': not a repository name (lowercase [a-z0-9] components joined by "
			       "'.', '_', '__' or '-', separated by '/')", (int)MIN((size_t)(name_end - slash - 1), 300u),
			       slash + 1);
	r.name = strndup(slash + 1, (size_t)(name_end - slash - 1));
	if (!r.registry || !r.name || (!r.tag && !r.digest))
		return -ENOMEM;
	*ret = r;
	r = (struct registry_ref){};
	return 0;
}
