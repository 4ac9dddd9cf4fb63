/* SPDX-License-Identifier: MIT */
/* Judging a commit's signatures against the trust store and the ref's policy. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "basic/error.h"
#include "basic/hex.h"
#include "trust-internal.h"

const char *st_sig_status_to_string(enum st_sig_status s)
{
	static const char *const names[ST_SIG_STATUS_COUNT] = {
		[ST_SIG_VALID] = "valid",
		[ST_SIG_UNTRUSTED] = "untrusted-key",
		[ST_SIG_REVOKED] = "revoked-key",
		[ST_SIG_BAD] = "bad-signature",
		[ST_SIG_NOT_ALLOWED] = "key-not-allowed",
	};
	return (unsigned)s < ST_SIG_STATUS_COUNT ? names[s] : "unknown";
}

const char *st_trust_verdict_to_string(enum st_trust_verdict v)
{
	static const char *const names[ST_TRUST_VERDICT_COUNT] = {
		[ST_TRUST_VALID] = "valid",
		[ST_TRUST_UNSIGNED_OK] = "not-required",
		[ST_TRUST_NO_SIGNATURE] = "no-signature",
		[ST_TRUST_CORRUPT] = "corrupt-signature-file",
		[ST_TRUST_INVALID] = "invalid",
	};
	return (unsigned)v < ST_TRUST_VERDICT_COUNT ? names[v] : "unknown";
}

struct st_trust_result *st_trust_result_free(struct st_trust_result *res)
{
	if (res) {
		free((char *)res->rule.pattern);
		for (size_t i = 0; i < res->rule.n_key_ids; i++)
			free((char *)res->rule.key_ids[i]);
		free((char **)res->rule.key_ids);
		free(res->sigs);
		free(res);
	}
	return NULL;
}

static bool key_allowed(const struct st_policy_rule *rule, const uint8_t key_id[ST_KEY_ID_SIZE])
{
	char hex[2 * ST_KEY_ID_SIZE + 1];

	if (rule->kind != ST_POLICY_KEYS)
		return true;
	st_hex_encode(key_id, ST_KEY_ID_SIZE, hex);
	for (size_t i = 0; i < rule->n_key_ids; i++)
		if (strncmp(hex, rule->key_ids[i], strlen(rule->key_ids[i])) == 0)
			return true;
	return false;
}

/* The store's rule for ref, copied so that the result outlives the store. */
static int copy_rule(const struct st_trust_store *store, const char *ref, struct st_policy_rule *ret)
{
	struct st_policy_rule rule;
	char **ids = NULL;

	st_trust_store_policy_for(store, ref, &rule);
	*ret = (struct st_policy_rule){ .kind = rule.kind };
	if (rule.pattern && !(ret->pattern = strdup(rule.pattern)))
		return -ENOMEM;
	if (rule.n_key_ids > 0) {
		ids = calloc(rule.n_key_ids, sizeof(*ids));
		if (!ids)
			return -ENOMEM;
		ret->key_ids = (const char *const *)ids;
		for (size_t i = 0; i < rule.n_key_ids; i++) {
			if (!(ids[i] = strdup(rule.key_ids[i])))
				return -ENOMEM;
			ret->n_key_ids = i + 1;
		}
	}
	return 0;
}

/* Verify one signature over the commit with a raw public key. */
static int verify_raw(const uint8_t public_key[ST_ED25519_PUBLIC_SIZE], const uint8_t commit_id[ST_COMMIT_ID_SIZE],
		      const uint8_t sig[ST_ED25519_SIGNATURE_SIZE])
{
	struct st_key *key = NULL;
	int r;

	r = st_key_from_public_raw(public_key, &key);
	if (r < 0)
		return -EKEYREJECTED;   /* not a usable public key: nothing can verify */
	r = st_key_verify_commit(key, commit_id, sig);
	st_key_free(key);
	return r;
}

int st_trust_check(const struct st_trust_store *store, const char *ref, const uint8_t commit_id[ST_COMMIT_ID_SIZE],
		   const struct st_signature_set *set, int sig_file_error, unsigned flags, struct st_trust_result **ret)
{
	struct st_trust_result *res = calloc(1, sizeof(*res));

	if (!res)
		return -ENOMEM;
	memcpy(res->commit_id, commit_id, ST_COMMIT_ID_SIZE);
	if (copy_rule(store, ref, &res->rule) < 0) {
		st_trust_result_free(res);
		return -ENOMEM;
	}
	if ((flags & ST_TRUST_REQUIRE_SIGNATURE) && res->rule.kind == ST_POLICY_NONE)
		res->rule.kind = ST_POLICY_ANY_TRUSTED;
	res->valid_index = -1;
	res->sig_file_error = sig_file_error;

	if (set && memcmp(set->commit_id, commit_id, ST_COMMIT_ID_SIZE) != 0) {
		/* A file copied or renamed from another commit: none of it applies here. */
		res->wrong_commit = true;
		memcpy(res->file_commit_id, set->commit_id, ST_COMMIT_ID_SIZE);
		res->sig_file_error = -EUCLEAN;
		set = NULL;
	}
	if (set && set->n_sigs > 0) {
		res->sigs = calloc(set->n_sigs, sizeof(*res->sigs));
		if (!res->sigs) {
			st_trust_result_free(res);
			return -ENOMEM;
		}
		res->n_sigs = set->n_sigs;
	}
	for (size_t i = 0; i < res->n_sigs; i++) {
		struct st_sig_report *rep = &res->sigs[i];

		memcpy(rep->public_key, set->sigs[i].public_key, ST_ED25519_PUBLIC_SIZE);
		st_key_id_of(rep->public_key, rep->key_id);
		switch (st_trust_store_lookup(store, rep->public_key)) {
		case ST_KEY_TRUSTED:
			if (verify_raw(rep->public_key, commit_id, set->sigs[i].signature) < 0)
				rep->status = ST_SIG_BAD;
			else if (!key_allowed(&res->rule, rep->key_id))
				rep->status = ST_SIG_NOT_ALLOWED;
			else
				rep->status = ST_SIG_VALID;
			break;
		case ST_KEY_REVOKED:
			rep->status = ST_SIG_REVOKED;
			break;
		default:
			rep->status = ST_SIG_UNTRUSTED;
			break;
		}
		if (rep->status == ST_SIG_VALID && res->valid_index < 0)
			res->valid_index = (int)i;
	}

	if (res->valid_index >= 0)
		res->verdict = ST_TRUST_VALID;
	else if (res->rule.kind == ST_POLICY_NONE)
		res->verdict = ST_TRUST_UNSIGNED_OK;
	else if (res->wrong_commit || (res->sig_file_error < 0 && res->sig_file_error != -ENOENT))
		res->verdict = ST_TRUST_CORRUPT;
	else if (res->n_sigs == 0)
		res->verdict = ST_TRUST_NO_SIGNATURE;
	else
		res->verdict = ST_TRUST_INVALID;
	res->accepted = res->verdict == ST_TRUST_VALID || res->verdict == ST_TRUST_UNSIGNED_OK;
	*ret = res;
	return 0;
}

void st_trust_result_reason(const struct st_trust_result *res, char *buf, size_t size)
{
	size_t used = 0;
	char id[ST_KEY_ID_SHORT_HEX + 1], hex[2 * ST_COMMIT_ID_SIZE + 1];

	buf[0] = '\0';
	switch (res->verdict) {
	case ST_TRUST_VALID:
	case ST_TRUST_UNSIGNED_OK:
		(void)snprintf(buf, size, "accepted");
		return;
	case ST_TRUST_NO_SIGNATURE:
		(void)snprintf(buf, size, "no signature");
		return;
	case ST_TRUST_CORRUPT:
		if (res->wrong_commit) {
			st_hex_encode(res->file_commit_id, ST_COMMIT_ID_SIZE, hex);
			(void)snprintf(buf, size, "the signature file belongs to commit %s", hex);
		} else
			(void)snprintf(buf, size, "corrupt signature file: %s",
				       *res->sig_file_reason ? res->sig_file_reason : strerror(-res->sig_file_error));
		return;
	default:
		break;
	}
	for (size_t i = 0; i < res->n_sigs && used + 1 < size; i++) {
		const char *what;
		int n;

		switch (res->sigs[i].status) {
		case ST_SIG_UNTRUSTED:
			what = "untrusted key";
			break;
		case ST_SIG_REVOKED:
			what = "revoked key";
			break;
		case ST_SIG_BAD:
			what = "bad signature by key";
			break;
		case ST_SIG_NOT_ALLOWED:
			what = "key not allowed by the policy:";
			break;
		default:
			what = "key";
			break;
		}
		key_id_short(res->sigs[i].key_id, id);
		n = snprintf(buf + used, size - used, "%s%s %s", i ? "; " : "", what, id);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

/* "1000 (1970-01-01T00:16:40Z)". */
static void format_timestamp(int64_t ts, char buf[80])
{
	time_t t = (time_t)ts;
	struct tm tm;
	char date[64];

	if ((int64_t)t == ts && gmtime_r(&t, &tm) && strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &tm) > 0)
		(void)snprintf(buf, 80, "%" PRId64 " (%s)", ts, date);
	else
		(void)snprintf(buf, 80, "%" PRId64, ts);
}

int st_accepted_check(const struct st_accepted *last, const struct st_commit *c)
{
	char mine[80], theirs[80], id[17];

	/* Plain words naming both commits: the refusal must say what it compared. */
	st_hex_encode(last->commit_id, 8, id);
	format_timestamp(c->timestamp, mine);
	format_timestamp(last->timestamp, theirs);
	if (c->timestamp < last->timestamp)
		return st_errf(-ESTALE,
			       "commit timestamp %s is older than the last accepted commit's timestamp %s "
			       "(commit %s%s%s%s)",
			       mine, theirs, id, *last->version ? ", version '" : "", last->version,
			       *last->version ? "'" : "");
	if (c->version && *c->version && *last->version && strverscmp(c->version, last->version) < 0)
		return st_errf(-ESTALE,
			       "commit version '%s' is lower (older) than the last accepted version '%s' "
			       "(commit %s, timestamp %s)",
			       c->version, last->version, id, theirs);
	return 0;
}
