/* SPDX-License-Identifier: MIT */
/*
 * WWW-Authenticate (RFC 9110 section 11.6.1), as registries send it on a
 * 401: one or more challenges, each a scheme and then either a token68 or
 * comma-separated name=value parameters (value a token or a quoted-string).
 * Commas separate both challenges and parameters, so a name not followed by
 * '=' starts the next challenge. The header is untrusted: every byte is
 * checked against the grammar, control characters are refused (the values
 * end up in URLs and headers), a parameter appears once per challenge, and
 * the whole value, the parameter count and each value are capped.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "basic/error.h"
#include "fundamental/macro.h"
#include "registry-internal.h"

#define CHALLENGE_MAX 16384             /* bytes of one header value */
#define PARAMS_MAX 64                   /* parameters over all challenges */

struct cursor {
	const char *p;
	size_t left, len;
};

static bool is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_token68_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("-._~+/", c));
}

static size_t offset_of(const struct cursor *c)
{
	return c->len - c->left;
}

static void skip_ws(struct cursor *c)
{
	while (c->left > 0 && (*c->p == ' ' || *c->p == '\t')) {
		c->p++;
		c->left--;
	}
}

static bool peek(const struct cursor *c, char ch)
{
	return c->left > 0 && *c->p == ch;
}

static void advance(struct cursor *c, size_t n)
{
	c->p += n;
	c->left -= n;
}

static size_t token_len(const struct cursor *c)
{
	size_t n = 0;

	while (n < c->left && is_tchar(c->p[n]))
		n++;
	return n;
}

/* A quoted-string starting at the cursor's '"': its unescaped text, a new string. */
static int take_quoted(struct cursor *c, char **ret)
{
	_cleanup_free_ char *out = malloc(c->left);
	size_t n = 0;

	if (!out)
		return -ENOMEM;
	advance(c, 1);
	for (;;) {
		unsigned char ch;

		if (c->left == 0)
			return st_errf(-EUCLEAN, "byte %zu: a quoted string does not end", offset_of(c));
		ch = (unsigned char)*c->p;
		if (ch == '"') {
			advance(c, 1);
			break;
		}
		if (ch == '\\') {
			advance(c, 1);
			if (c->left == 0)
				return st_errf(-EUCLEAN, "byte %zu: a quoted string ends in a backslash", offset_of(c));
			ch = (unsigned char)*c->p;
		}
		/* qdtext and quoted-pair both allow HTAB, SP, VCHAR and obs-text: no other control. */
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return st_errf(-EUCLEAN, "byte %zu: control character in a quoted string", offset_of(c));
		out[n++] = (char)ch;
		advance(c, 1);
	}
	out[n] = '\0';
	*ret = TAKE_PTR(out);
	return 0;
}

static char **param_slot(struct auth_challenge *ch, const char *name, size_t len)
{
	if (len == 5 && strncasecmp(name, "realm", 5) == 0)
		return &ch->realm;
	if (len == 7 && strncasecmp(name, "service", 7) == 0)
		return &ch->service;
	if (len == 5 && strncasecmp(name, "scope", 5) == 0)
		return &ch->scope;
	return NULL;
}

static enum auth_scheme scheme_of(const char *s, size_t len)
{
	if (len == 6 && strncasecmp(s, "bearer", 6) == 0)
		return AUTH_BEARER;
	if (len == 5 && strncasecmp(s, "basic", 5) == 0)
		return AUTH_BASIC;
	return AUTH_OTHER;
}

void auth_challenge_release(struct auth_challenge *ch)
{
	free(ch->realm);
	free(ch->service);
	free(ch->scope);
	*ch = (struct auth_challenge){};
}

/*
 * One challenge's parameters, the cursor after its scheme: until the end,
 * or a comma followed by a name without '=' (the next scheme). Values of
 * parameters other than realm, service and scope are checked and dropped;
 * *names (seen over all challenges) is capped.
 */
static int take_params(struct cursor *c, struct auth_challenge *ch, unsigned *names)
{
	bool first = true;
	int r;

	for (;;) {
		struct cursor save;
		size_t n;
		char **slot;
		_cleanup_free_ char *value = NULL;

		skip_ws(c);
		save = *c;
		if (!first) {
			if (c->left == 0)
				return 0;
			if (!peek(c, ','))
				return st_errf(-EUCLEAN, "byte %zu: expected ',' between parameters", offset_of(c));
			while (peek(c, ',') || peek(c, ' ') || peek(c, '\t'))      /* empty list elements are allowed */
				advance(c, 1);
		}
		if (c->left == 0)
			return 0;
		n = token_len(c);
		if (n == 0)
			return st_errf(-EUCLEAN, "byte %zu: expected a parameter name", offset_of(c));
		{
			struct cursor after = *c;

			advance(&after, n);
			skip_ws(&after);
			if (!peek(&after, '=')) {
				if (first)
					return st_errf(-EUCLEAN, "byte %zu: expected '=' after a parameter name",
						       offset_of(&after));
				*c = save;      /* the next challenge's scheme */
				return 1;
			}
			slot = param_slot(ch, c->p, n);
			if (++*names > PARAMS_MAX)
				return st_errf(-EUCLEAN, "more than %d parameters", PARAMS_MAX);
			*c = after;
		}
		advance(c, 1);          /* '=' */
		skip_ws(c);
		if (peek(c, '"')) {
			r = take_quoted(c, &value);
			if (r < 0)
				return r;
		} else {
			n = token_len(c);
			if (n == 0)
				return st_errf(-EUCLEAN, "byte %zu: expected a parameter value", offset_of(c));
			value = strndup(c->p, n);
			if (!value)
				return -ENOMEM;
			advance(c, n);
		}
		if (slot) {
			if (*slot)
				return st_errf(-EUCLEAN, "byte %zu: a parameter appears twice in one challenge",
					       offset_of(c));
			*slot = TAKE_PTR(value);
		}
		first = false;
	}
}

/* Does the cursor stand on name BWS "=" BWS (token or quoted-string), not on a token68? */
static bool at_param(const struct cursor *c)
{
	struct cursor a = *c;
	size_t n = token_len(&a);

	if (n == 0)
		return false;
	advance(&a, n);
	skip_ws(&a);
	if (!peek(&a, '='))
		return false;
	advance(&a, 1);
	skip_ws(&a);
	return peek(&a, '"') || (a.left > 0 && is_tchar(*a.p));
}

/* A token68 after the scheme (Basic/Bearer never send one to a client, but it is valid). */
static bool take_token68(struct cursor *c)
{
	size_t n = 0;
	struct cursor after;

	while (n < c->left && is_token68_char(c->p[n]))
		n++;
	if (n == 0)
		return false;
	while (n < c->left && c->p[n] == '=')
		n++;
	after = *c;
	advance(&after, n);
	skip_ws(&after);
	if (after.left > 0 && !peek(&after, ','))
		return false;
	*c = after;
	return true;
}

int auth_challenge_parse(const char *value, size_t len, struct auth_challenge *ret)
{
	struct cursor c = { .p = value, .left = len, .len = len };
	struct auth_challenge best = {};
	unsigned names = 0;
	int r;

	if (len > CHALLENGE_MAX)
		return st_errf(-EUCLEAN, "longer than %d bytes", CHALLENGE_MAX);
	for (;;) {
		struct auth_challenge ch = {};
		size_t n;

		skip_ws(&c);
		while (peek(&c, ',') || peek(&c, ' ') || peek(&c, '\t'))
			advance(&c, 1);
		if (c.left == 0)
			break;
		n = token_len(&c);
		if (n == 0) {
			auth_challenge_release(&best);
			return st_errf(-EUCLEAN, "byte %zu: expected an authentication scheme", offset_of(&c));
		}
		ch.scheme = scheme_of(c.p, n);
		advance(&c, n);
		if (c.left > 0 && !peek(&c, ' ') && !peek(&c, '\t') && !peek(&c, ',')) {
			auth_challenge_release(&best);
			return st_errf(-EUCLEAN, "byte %zu: expected a space after the scheme", offset_of(&c));
		}
		skip_ws(&c);
		if (c.left == 0 || peek(&c, ','))
			r = 0;                  /* a scheme without parameters */
		else if (at_param(&c))
			r = take_params(&c, &ch, &names);
		else if (take_token68(&c))
			r = 0;
		else
			r = st_errf(-EUCLEAN, "byte %zu: neither a token68 nor parameters", offset_of(&c));
		if (r < 0) {
			auth_challenge_release(&ch);
			auth_challenge_release(&best);
			return r;
		}
		/* The first Bearer wins, else the first Basic. */
		if (best.scheme != AUTH_BEARER && ch.scheme != AUTH_OTHER &&
		    (best.scheme == AUTH_NONE || ch.scheme == AUTH_BEARER)) {
			auth_challenge_release(&best);
			best = ch;
		} else
			auth_challenge_release(&ch);
	}
	if (best.scheme == AUTH_NONE)
		return st_errf(-EOPNOTSUPP, "no Basic or Bearer challenge");
	if (best.scheme == AUTH_BEARER && (!best.realm || best.realm[0] == '\0')) {
		auth_challenge_release(&best);
		return st_errf(-EUCLEAN, "a Bearer challenge without a realm");
	}
	*ret = best;
	return 0;
}
