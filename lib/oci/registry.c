/* SPDX-License-Identifier: MIT */
/*
 * A registry session (distribution spec, "Pull"): the scheme, the
 * credentials and the small requests (the /v2/ probe, manifests, tokens)
 * that are read into memory, capped. Authentication follows the registry's
 * 401: Basic with the user's credentials, or a Bearer token from the realm
 * of the WWW-Authenticate challenge (anonymous, or with the credentials as
 * Basic to the realm), then the request is repeated once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "basic/base64.h"
#include "basic/error.h"
#include "basic/json.h"
#include "fundamental/macro.h"
#include "registry-internal.h"

#define TOKEN_RESPONSE_MAX (1u << 20)
#define TOKEN_MAX 65536u
#define HEADER_VALUE_MAX 16384u
#define AUTH_ROUNDS_MAX 4u

void registry_response_done(struct registry_response *r)
{
	free(r->body);
	free(r->content_type);
	free(r->docker_digest);
	*r = (struct registry_response){};
}

struct small_get {
	struct registry_response resp;
	size_t max;
	char *www_authenticate;
	int result;
	char detail[640];
};

static int small_data(void *userdata, const void *buf, size_t len)
{
	struct small_get *g = userdata;
	char *n;

	if (len > g->max - g->resp.len)
		return -EFBIG;
	n = realloc(g->resp.body, g->resp.len + len + 1);
	if (!n)
		return -ENOMEM;
	memcpy(n + g->resp.len, buf, len);
	g->resp.body = n;
	g->resp.len += len;
	n[g->resp.len] = '\0';
	return 0;
}

static void small_reset(void *userdata)
{
	struct small_get *g = userdata;

	g->resp.len = 0;
}

static void small_done(void *userdata, int result, const char *detail)
{
	struct small_get *g = userdata;

	g->result = result;
	(void)snprintf(g->detail, sizeof(g->detail), "%s", detail);
}

/* The value of "Name: value" if line is that header (trimmed), else NULL. */
static char *header_value(const char *line, size_t len, const char *name)
{
	size_t n = strlen(name), e = len;

	if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
		return NULL;
	n++;
	while (n < len && (line[n] == ' ' || line[n] == '\t'))
		n++;
	while (e > n && (line[e - 1] == ' ' || line[e - 1] == '\t'))
		e--;
	if (e - n > HEADER_VALUE_MAX)
		return NULL;
	return strndup(line + n, e - n);
}

static void replace(char **slot, char *v)
{
	if (v) {
		free(*slot);
		*slot = v;
	}
}

static void small_header(void *userdata, const char *line, size_t len)
{
	struct small_get *g = userdata;
	char *v;

	if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
		/* A new response (after a redirect or a retry): forget the last one's headers. */
		free(g->www_authenticate);
		free(g->resp.content_type);
		free(g->resp.docker_digest);
		g->www_authenticate = g->resp.content_type = g->resp.docker_digest = NULL;
		return;
	}
	/* Several WWW-Authenticate headers are one list of challenges (RFC 9110 5.3). */
	v = header_value(line, len, "www-authenticate");
	if (v && g->www_authenticate) {
		char *joined = NULL;

		if (strlen(g->www_authenticate) + strlen(v) <= HEADER_VALUE_MAX &&
		    asprintf(&joined, "%s, %s", g->www_authenticate, v) >= 0)
			replace(&g->www_authenticate, joined);
		free(v);
	} else
		replace(&g->www_authenticate, v);
	replace(&g->resp.docker_digest, header_value(line, len, "docker-content-digest"));
	v = header_value(line, len, "content-type");
	if (v) {
		v[strcspn(v, "; \t")] = '\0';
		replace(&g->resp.content_type, v);
	}
}

static const struct http_request_ops small_ops = {
	.data = small_data, .reset = small_reset, .done = small_done, .header = small_header,
};

/*
 * GET url into memory. authorization (a header line) may be NULL. On
 * -EACCES, *ret_challenge (if given) receives the WWW-Authenticate value.
 */
static int get_url(struct registry *reg, const char *url, const char *authorization, const char *accept, size_t max,
		   struct registry_response *ret, char **ret_challenge)
{
	_cleanup_free_ char *accept_line = NULL;
	const char *headers[3] = {};
	size_t nh = 0;
	struct small_get g = { .max = max, .result = -EIO };
	int r;

	if (authorization)
		headers[nh++] = authorization;
	if (accept) {
		if (asprintf(&accept_line, "Accept: %s", accept) < 0)
			return -ENOMEM;
		headers[nh++] = accept_line;
	}
	r = http_add_with(reg->http, url, &(struct http_request_options){ .headers = headers }, &small_ops, &g);
	if (r >= 0)
		r = http_run(reg->http);
	if (r >= 0 && g.result == -EFBIG)
		r = st_errf(-EFBIG, "%s: larger than %zu bytes", url, max);
	else if (r >= 0 && g.result < 0)
		r = st_errf(g.result, "%s", g.detail);
	if (r == -EACCES && ret_challenge) {
		*ret_challenge = TAKE_PTR(g.www_authenticate);
	}
	free(g.www_authenticate);
	if (r < 0) {
		registry_response_done(&g.resp);
		return r;
	}
	if (!g.resp.body) {
		g.resp.body = strdup("");
		if (!g.resp.body) {
			registry_response_done(&g.resp);
			return -ENOMEM;
		}
	}
	*ret = g.resp;
	return 0;
}

int registry_new(const struct registry_ref *ref, const char *creds, bool tls_verify, unsigned jobs,
		 unsigned stall_timeout, struct registry **ret)
{
	struct registry *reg;
	int r;

	if (creds && !strchr(creds, ':'))
		return st_errf(-EINVAL, "credentials are USER:PASSWORD");
	reg = calloc(1, sizeof(*reg));
	if (!reg)
		return -ENOMEM;
	reg->tls_verify = tls_verify;
	r = http_new(jobs, stall_timeout, &reg->http);
	if (r < 0) {
		free(reg);
		return r;
	}
	http_set_tls_verify(reg->http, tls_verify);
	if (asprintf(&reg->base, "%s://%s", ref->scheme ? ref->scheme : "https", ref->registry) < 0)
		reg->base = NULL;
	reg->name = strdup(ref->name);
	reg->creds = creds ? strdup(creds) : NULL;
	if (!reg->base || !reg->name || (creds && !reg->creds)) {
		registry_free(reg);
		return -ENOMEM;
	}
	/* --creds wins; without, the auth files podman, skopeo and docker write. */
	if (!creds) {
		r = registry_creds_lookup(ref->registry, ref->name, &reg->creds, NULL);
		if (r < 0) {
			registry_free(reg);
			return r;
		}
	}
	*ret = reg;
	return 0;
}

struct registry *registry_free(struct registry *reg)
{
	if (!reg)
		return NULL;
	http_free(reg->http);
	free(reg->base);
	free(reg->name);
	if (reg->creds)
		explicit_bzero(reg->creds, strlen(reg->creds));
	free(reg->creds);
	if (reg->authorization)
		explicit_bzero(reg->authorization, strlen(reg->authorization));
	free(reg->authorization);
	auth_challenge_release(&reg->challenge);
	free(reg);
	return NULL;
}

static int basic_authorization(const char *creds, char **ret)
{
	size_t len = strlen(creds);
	_cleanup_free_ char *b64 = malloc(BASE64_LEN(len) + 1);

	if (!b64)
		return -ENOMEM;
	base64_encode((const uint8_t *)creds, len, b64);
	if (asprintf(ret, "Authorization: Basic %s", b64) < 0)
		return -ENOMEM;
	explicit_bzero(b64, strlen(b64));
	return 0;
}

static bool unreserved(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
	       c == '_' || c == '~';
}

/* s percent-encoded (all but RFC 3986's unreserved characters) at out, if out; the length. */
static size_t escape(const char *s, char *out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (unreserved(c)) {
			if (out)
				out[n] = (char)c;
			n++;
			continue;
		}
		if (out) {
			out[n] = '%';
			out[n + 1] = hex[c >> 4];
			out[n + 2] = hex[c & 15];
		}
		n += 3;
	}
	return n;
}

/* realm?service=S&scope=P (or realm&... if realm has a query already), values escaped. */
static int token_url(const char *realm, const char *service, const char *scope, char **ret)
{
	size_t rl = strlen(realm), total = rl + 1 + strlen("&scope=") + escape(scope, NULL) + 1, n;
	char *url;

	if (service)
		total += strlen("service=") + escape(service, NULL);
	url = malloc(total);
	if (!url)
		return -ENOMEM;
	memcpy(url, realm, rl);
	n = rl;
	url[n++] = strchr(realm, '?') ? '&' : '?';
	if (service) {
		memcpy(url + n, "service=", 8);
		n += 8;
		n += escape(service, url + n);
		url[n++] = '&';
	}
	memcpy(url + n, "scope=", 6);
	n += 6;
	n += escape(scope, url + n);
	url[n] = '\0';
	*ret = url;
	return 0;
}

static bool token_valid(const char *t)
{
	size_t n = strlen(t);

	if (n == 0 || n > TOKEN_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = t[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr("-._~+/=", c)))
			return false;
	}
	return true;
}

/* A Bearer token from the challenge's realm for pulling reg->name. */
static int fetch_token(struct registry *reg, const struct auth_challenge *ch, char **ret)
{
	_cleanup_(registry_response_done) struct registry_response resp = {};
	_cleanup_json_ struct json_value *doc = NULL;
	_cleanup_free_ char *url = NULL, *basic = NULL, *scope = NULL;
	const char *token;
	int r;

	if (strncmp(ch->realm, "https://", 8) != 0 && strncmp(ch->realm, "http://", 7) != 0)
		return st_errf(-EACCES, "%s: the token realm '%s' is not an http(s) URL", reg->base, ch->realm);
	/* Credentials and tokens never travel in clear text unless the registry itself does. */
	if (strncmp(ch->realm, "http://", 7) == 0 && strncmp(reg->base, "http://", 7) != 0)
		return st_errf(-EACCES, "%s: refusing the plain http token realm '%s' of an https registry", reg->base,
			       ch->realm);
	if (asprintf(&scope, "repository:%s:%s", reg->name, reg->push ? "pull,push" : "pull") < 0)
		return -ENOMEM;
	r = token_url(ch->realm, ch->service, scope, &url);
	if (r < 0)
		return r;
	if (reg->creds) {
		r = basic_authorization(reg->creds, &basic);
		if (r < 0)
			return r;
	}
	st_error_clear();
	r = get_url(reg, url, basic, NULL, TOKEN_RESPONSE_MAX, &resp, NULL);
	if (basic)
		explicit_bzero(basic, strlen(basic));
	if (r == -EACCES)
		return st_errf(-EACCES, "%s: the token realm refused %s", url,
			       reg->creds ? "the credentials" : "an anonymous pull (try --creds USER:PASSWORD)");
	if (r < 0)
		return st_errf(r, "token from %s: %s", url, st_error_detail() ? st_error_detail() : "failed");
	st_error_clear();
	r = json_parse(resp.body, resp.len, &(struct json_limits){ .max_bytes = TOKEN_RESPONSE_MAX }, &doc);
	if (r < 0)
		return st_errf(r, "token from %s: %s", url, st_error_detail() ? st_error_detail() : "not JSON");
	token = json_string(json_get(doc, "token"));
	if (!token)
		token = json_string(json_get(doc, "access_token"));
	if (!token)
		return st_errf(-EUCLEAN, "token from %s: the answer has no \"token\"", url);
	if (!token_valid(token))
		return st_errf(-EUCLEAN, "token from %s: not a token (characters outside [A-Za-z0-9-._~+/=])", url);
	if (asprintf(ret, "Authorization: Bearer %s", token) < 0)
		return -ENOMEM;
	return 0;
}

/* Answer the challenge (the value of WWW-Authenticate) with new credentials. */
static int authenticate(struct registry *reg, const char *challenge)
{
	struct auth_challenge ch = {};
	char *authorization = NULL;
	int r;

	if (!challenge)
		return st_errf(-EACCES, "%s: access denied without a WWW-Authenticate challenge", reg->base);
	if (++reg->auth_rounds > AUTH_ROUNDS_MAX)
		return st_errf(-EACCES, "%s: still access denied after %u rounds of authentication", reg->base,
			       AUTH_ROUNDS_MAX);
	st_error_clear();
	r = auth_challenge_parse(challenge, strlen(challenge), &ch);
	if (r < 0)
		return st_errf(r == -EOPNOTSUPP ? -EACCES : r, "%s: WWW-Authenticate '%.200s': %s", reg->base, challenge,
			       st_error_detail() ? st_error_detail() : "not understood");
	if (ch.scheme == AUTH_BASIC) {
		if (!reg->creds)
			r = st_errf(-EACCES, "%s asks for a user and password (--creds USER:PASSWORD, or an entry in "
				    "$REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json or ~/.docker/config.json)",
				    reg->base);
		else if (reg->authorization && strncmp(reg->authorization, "Authorization: Basic ", 21) == 0)
			r = st_errf(-EACCES, "%s refused the credentials", reg->base);
		else
			r = basic_authorization(reg->creds, &authorization);
	} else
		r = fetch_token(reg, &ch, &authorization);
	if (r < 0) {
		auth_challenge_release(&ch);
		return r;
	}
	if (reg->authorization)
		explicit_bzero(reg->authorization, strlen(reg->authorization));
	free(reg->authorization);
	reg->authorization = authorization;
	auth_challenge_release(&reg->challenge);
	reg->challenge = ch;
	return 0;
}

int registry_get(struct registry *reg, const char *path, const char *accept, size_t max,
		 struct registry_response *ret)
{
	_cleanup_free_ char *url = NULL;
	int r;

	if (asprintf(&url, "%s%s", reg->base, path) < 0)
		return -ENOMEM;
	for (unsigned attempt = 0;; attempt++) {
		_cleanup_free_ char *challenge = NULL;

		r = get_url(reg, url, reg->authorization, accept, max, ret, &challenge);
		if (r != -EACCES || attempt > 0)
			return r;
		r = authenticate(reg, challenge);
		if (r < 0)
			return r;
	}
}

int registry_reauth(struct registry *reg)
{
	_cleanup_(registry_response_done) struct registry_response resp = {};
	_cleanup_free_ char *url = NULL, *challenge = NULL;
	int r;

	/* The challenge of the manifests endpoint carries the scope a blob needs. */
	if (asprintf(&url, "%s/v2/", reg->base) < 0)
		return -ENOMEM;
	r = get_url(reg, url, NULL, NULL, 65536, &resp, &challenge);
	if (r != -EACCES)
		return r < 0 ? r : st_errf(-EACCES, "%s: access denied, but /v2/ asks for no credentials", reg->base);
	return authenticate(reg, challenge);
}

int registry_connect(struct registry *reg)
{
	_cleanup_free_ char *host = NULL;
	bool fallback = !reg->tls_verify && strncmp(reg->base, "https://", 8) == 0;
	int r;

	for (;;) {
		_cleanup_(registry_response_done) struct registry_response resp = {};
		_cleanup_free_ char *url = NULL, *challenge = NULL;

		if (asprintf(&url, "%s/v2/", reg->base) < 0)
			return -ENOMEM;
		r = get_url(reg, url, NULL, NULL, 65536, &resp, &challenge);
		if (r == -EACCES)
			return authenticate(reg, challenge);
		if (r >= 0 || !fallback || r == -ENOENT)
			return r == -ENOENT ? st_errf(-ENOENT, "%s: not a registry (no /v2/)", url) : r;
		/* No TLS there (or none we can talk): plain http, as the user allowed with TLS checks off. */
		fallback = false;
		host = strdup(reg->base + 8);
		if (!host)
			return -ENOMEM;
		free(reg->base);
		if (asprintf(&reg->base, "http://%s", host) < 0) {
			reg->base = NULL;
			return -ENOMEM;
		}
		free(host);
		host = NULL;
	}
}
