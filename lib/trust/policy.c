/* SPDX-License-Identifier: MIT */
/*
 * policy.conf: one rule per line, "<ref glob> <requirement>", the first
 * matching rule wins, '#' starts a comment line, for example
 *
 *   os/stable      keys=3f2a9c01d4e5b6a7,a1b2c3d4e5f60718
 *   test-[0-9]     none
 *
 * Globs are fnmatch(3) patterns without flags (an asterisk also matches
 * '/'); requirements are none, any-trusted or keys=ID,... where an id is 16
 * to 64 lowercase hex digits, a prefix of the SHA-256 of the raw public key
 * (what `sealtree verify` prints). Refs no rule matches need any-trusted.
 * A ref is matched by its canonical name (st_ref_canonicalize()), a branch
 * also as refs/heads/NAME, so every spelling of one ref gets one rule.
 * Specified in docs/formats/signatures.md.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/error.h"
#include "basic/hex.h"
#include "trust-policy.h"

struct rule {
	char *pattern;
	enum st_policy_kind kind;
	char **key_ids;
	size_t n_key_ids;
};

struct trust_policy {
	struct rule *rules;
	size_t n_rules, cap_rules;
};

static void rule_release(struct rule *r)
{
	free(r->pattern);
	for (size_t i = 0; i < r->n_key_ids; i++)
		free(r->key_ids[i]);
	free(r->key_ids);
}

struct trust_policy *trust_policy_free(struct trust_policy *p)
{
	if (p) {
		for (size_t i = 0; i < p->n_rules; i++)
			rule_release(&p->rules[i]);
		free(p->rules);
		free(p);
	}
	return NULL;
}
static void policyp(struct trust_policy **p)
{
	trust_policy_free(*p);
}

static bool pattern_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("._+-/*?[]!", c) != NULL;
}

static size_t span_token(const char *s, size_t len)
{
	size_t n = 0;
	while (n < len && s[n] != ' ' && s[n] != '\t')
		n++;
	return n;
}

static size_t span_space(const char *s, size_t len)
{
	size_t n = 0;
	while (n < len && (s[n] == ' ' || s[n] == '\t'))
		n++;
	return n;
}

static int parse_key_ids(struct rule *rule, const char *s, size_t len, unsigned lineno)
{
	size_t pos = 0;

	if (len == 0)
		return st_errf(-EUCLEAN, "line %u: keys= lists no key id", lineno);
	while (pos <= len) {
		const char *comma = memchr(s + pos, ',', len - pos);
		size_t n = comma ? (size_t)(comma - (s + pos)) : len - pos;
		char *id;

		if (n < 16 || n > 64)
			return st_errf(-EUCLEAN, "line %u: a key id is 16 to 64 hex digits", lineno);
		if (!hex_valid(s + pos, n, true))
			return st_errf(-EUCLEAN, "line %u: key id not in lowercase hex", lineno);
		if (rule->n_key_ids >= TRUST_POLICY_KEYS_MAX)
			return st_errf(-EUCLEAN, "line %u: more than %d key ids", lineno, TRUST_POLICY_KEYS_MAX);
		id = strndup(s + pos, n);
		if (!id)
			return -ENOMEM;
		char **ids = realloc_array(rule->key_ids, rule->n_key_ids + 1, sizeof(*ids));
		if (!ids) {
			free(id);
			return -ENOMEM;
		}
		rule->key_ids = ids;
		ids[rule->n_key_ids++] = id;
		if (!comma)
			break;
		pos += n + 1;
	}
	return 0;
}

static int parse_line(struct rule *rule, const char *s, size_t len, unsigned lineno)
{
	size_t n, pos;

	n = span_token(s, len);
	for (size_t i = 0; i < n; i++)
		if (!pattern_char_ok(s[i]))
			return st_errf(-EUCLEAN, "line %u: character 0x%02x not allowed in a ref glob", lineno,
				       (unsigned char)s[i]);
	rule->pattern = strndup(s, n);
	if (!rule->pattern)
		return -ENOMEM;
	pos = n + span_space(s + n, len - n);
	if (pos == n || pos == len)
		return st_errf(-EUCLEAN, "line %u: expected '<ref glob> none|any-trusted|keys=ID,...'", lineno);
	n = span_token(s + pos, len - pos);
	if (pos + n + span_space(s + pos + n, len - pos - n) != len)
		return st_errf(-EUCLEAN, "line %u: text after the requirement", lineno);
	if (n == 4 && memcmp(s + pos, "none", 4) == 0)
		rule->kind = ST_POLICY_NONE;
	else if (n == 11 && memcmp(s + pos, "any-trusted", 11) == 0)
		rule->kind = ST_POLICY_ANY_TRUSTED;
	else if (n >= 5 && memcmp(s + pos, "keys=", 5) == 0) {
		rule->kind = ST_POLICY_KEYS;
		return parse_key_ids(rule, s + pos + 5, n - 5, lineno);
	} else
		return st_errf(-EUCLEAN, "line %u: unknown requirement (none, any-trusted or keys=ID,...)", lineno);
	return 0;
}

int trust_policy_parse(const void *data, size_t len, struct trust_policy **ret)
{
	_cleanup_(policyp) struct trust_policy *p = NULL;
	const char *s = data;
	size_t pos = 0;
	unsigned lineno = 0;

	if (len > TRUST_POLICY_FILE_MAX)
		return st_errf(-EFBIG, "policy larger than %d bytes", TRUST_POLICY_FILE_MAX);
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	while (pos < len) {
		const char *nl = memchr(s + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (s + pos)) : len - pos;
		const char *line = s + pos;
		size_t lead;
		int r;

		lineno++;
		pos += n + (nl ? 1 : 0);
		if (memchr(line, '\0', n))
			return st_errf(-EUCLEAN, "line %u: NUL byte", lineno);
		lead = span_space(line, n);
		if (lead == n || line[lead] == '#')
			continue;
		if (p->n_rules >= TRUST_POLICY_RULES_MAX)
			return st_errf(-EUCLEAN, "line %u: more than %d rules", lineno, TRUST_POLICY_RULES_MAX);
		if (GROW(p->rules, p->cap_rules, p->n_rules + 1) < 0)
			return -ENOMEM;
		memset(&p->rules[p->n_rules], 0, sizeof(p->rules[0]));
		r = parse_line(&p->rules[p->n_rules], line + lead, n - lead, lineno);
		p->n_rules++;   /* released with the policy even when half-parsed */
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(p);
	return 0;
}

void trust_policy_lookup(const struct trust_policy *p, const char *ref, struct st_policy_rule *ret)
{
	char canon[ST_REF_NAME_MAX + 1], full[ST_REF_NAME_MAX + sizeof("refs/heads/")];

	*ret = (struct st_policy_rule){ .pattern = NULL, .kind = ST_POLICY_ANY_TRUSTED };
	if (!p || !ref)
		return;
	/* One ref, one answer: match its canonical name, never the spelling the user typed. */
	if (st_ref_canonicalize(ref, canon) < 0) {
		st_error_clear();
		/* Fail closed: a name that is no ref gets a rule no key satisfies. */
		*ret = (struct st_policy_rule){ .pattern = "(invalid ref name)", .kind = ST_POLICY_KEYS };
		return;
	}
	/* A branch is matched as "NAME" and as "refs/heads/NAME", so a glob may use either. */
	if (strncmp(canon, "refs/", 5) != 0)
		(void)snprintf(full, sizeof(full), "refs/heads/%s", canon);
	else
		full[0] = '\0';
	for (size_t i = 0; i < p->n_rules; i++)
		if (fnmatch(p->rules[i].pattern, canon, 0) == 0 || (full[0] && fnmatch(p->rules[i].pattern, full, 0) == 0)) {
			*ret = (struct st_policy_rule){
				.pattern = p->rules[i].pattern,
				.kind = p->rules[i].kind,
				.key_ids = (const char *const *)p->rules[i].key_ids,
				.n_key_ids = p->rules[i].n_key_ids,
			};
			return;
		}
}
