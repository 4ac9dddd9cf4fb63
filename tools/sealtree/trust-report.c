/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "sealtree/hex.h"
#include "escape.h"
#include "trust-report.h"

void key_id_short_hex(const uint8_t id[ST_KEY_ID_SIZE], char buf[ST_KEY_ID_SHORT_HEX + 1])
{
	st_hex_encode(id, ST_KEY_ID_SHORT_HEX / 2, buf);
}

static const char *policy_name(enum st_policy_kind k)
{
	switch (k) {
	case ST_POLICY_NONE:
		return "none";
	case ST_POLICY_ANY_TRUSTED:
		return "any-trusted";
	case ST_POLICY_KEYS:
		return "keys";
	default:
		return "unknown";
	}
}

static const char *status_words(enum st_sig_status s)
{
	switch (s) {
	case ST_SIG_VALID:
		return "valid";
	case ST_SIG_UNTRUSTED:
		return "untrusted key";
	case ST_SIG_REVOKED:
		return "revoked key";
	case ST_SIG_BAD:
		return "bad signature";
	case ST_SIG_NOT_ALLOWED:
		return "valid, but the key is not one the policy lists";
	default:
		return "unknown";
	}
}

static void print_policy_text(FILE *f, const struct st_trust_result *res, const char *prefix)
{
	fprintf(f, "%spolicy: %s", prefix, policy_name(res->rule.kind));
	for (size_t i = 0; i < res->rule.n_key_ids; i++)
		fprintf(f, "%s%s", i ? "," : "=", res->rule.key_ids[i]);
	if (res->rule.pattern) {
		fputs(" (rule '", f);
		print_escaped(f, res->rule.pattern);
		fputs("')\n", f);
	}
	else
		fprintf(f, " (default)\n");
}

void trust_report_text(FILE *f, const struct st_trust_result *res, const char *prefix)
{
	char id[ST_KEY_ID_SHORT_HEX + 1], reason[512];

	print_policy_text(f, res, prefix);
	for (size_t i = 0; i < res->n_sigs; i++) {
		key_id_short_hex(res->sigs[i].key_id, id);
		fprintf(f, "%ssignature: key %s: %s\n", prefix, id, status_words(res->sigs[i].status));
	}
	if (res->verdict == ST_TRUST_VALID) {
		key_id_short_hex(res->sigs[res->valid_index].key_id, id);
		fprintf(f, "%sverdict: valid (key %s)\n", prefix, id);
	} else if (res->verdict == ST_TRUST_UNSIGNED_OK) {
		fprintf(f, "%sverdict: accepted without signature (policy none)\n", prefix);
	} else {
		st_trust_result_reason(res, reason, sizeof(reason));
		fprintf(f, "%sverdict: not valid: %s\n", prefix, reason);
	}
}

void seal_report_text(FILE *f, const struct st_seal_result *chain)
{
	for (enum st_seal_link l = 0; l < ST_SEAL_LINK_COUNT; l++) {
		fprintf(f, "link %s: %s: ", st_seal_link_to_string(l), st_seal_state_to_string(chain->links[l].state));
		print_escaped(f, chain->links[l].reason);
		fputc('\n', f);
	}
}

void seal_report_json_links(FILE *f, const struct st_seal_result *chain)
{
	fprintf(f, "\"links\":[");
	for (enum st_seal_link l = 0; l < ST_SEAL_LINK_COUNT; l++) {
		fprintf(f, "%s{\"link\":\"%s\",\"state\":\"%s\",\"reason\":", l ? "," : "", st_seal_link_to_string(l),
			st_seal_state_to_string(chain->links[l].state));
		json_write_string(f, chain->links[l].reason);
		fputc('}', f);
	}
	fputc(']', f);
}

void trust_report_json(FILE *f, const struct st_trust_result *res, const char *ref,
		       const struct st_seal_result *chain)
{
	const char *rollback_error = chain && *chain->rollback ? chain->rollback : NULL;
	char hex[2 * ST_KEY_ID_SIZE + 1], reason[512];

	st_hex_encode(res->commit_id, ST_COMMIT_ID_SIZE, hex);
	fprintf(f, "{\"commit\":\"%s\",\"ref\":", hex);
	if (ref)
		json_write_string(f, ref);
	else
		fprintf(f, "null");
	fprintf(f, ",\"verdict\":\"%s\",\"accepted\":%s,", st_trust_verdict_to_string(res->verdict),
		res->accepted && (!chain || chain->ok) ? "true" : "false");
	if (rollback_error) {
		fprintf(f, "\"rollback\":");
		json_write_string(f, rollback_error);
		fputc(',', f);
	}
	if (res->valid_index >= 0) {
		st_hex_encode(res->sigs[res->valid_index].key_id, ST_KEY_ID_SIZE, hex);
		fprintf(f, "\"valid_key\":\"%s\",", hex);
	} else
		fprintf(f, "\"valid_key\":null,");
	if (!res->accepted) {
		st_trust_result_reason(res, reason, sizeof(reason));
		fprintf(f, "\"reason\":");
		json_write_string(f, reason);
		fputc(',', f);
	} else if (chain && !chain->ok) {
		char why[ST_SEAL_REASON_MAX + 64];

		(void)snprintf(why, sizeof(why), "broken link: %s: %s", st_seal_link_to_string(chain->failed_link),
			       chain->links[chain->failed_link].reason);
		fprintf(f, "\"reason\":");
		json_write_string(f, why);
		fputc(',', f);
	}
	fprintf(f, "\"policy\":{\"kind\":\"%s\",\"rule\":", policy_name(res->rule.kind));
	if (res->rule.pattern)
		json_write_string(f, res->rule.pattern);
	else
		fprintf(f, "null");
	fprintf(f, ",\"keys\":[");
	for (size_t i = 0; i < res->rule.n_key_ids; i++)
		fprintf(f, "%s\"%s\"", i ? "," : "", res->rule.key_ids[i]);
	fprintf(f, "]},\"signatures\":[");
	for (size_t i = 0; i < res->n_sigs; i++) {
		st_hex_encode(res->sigs[i].key_id, ST_KEY_ID_SIZE, hex);
		fprintf(f, "%s{\"key_id\":\"%s\",\"status\":\"%s\"}", i ? "," : "", hex,
			st_sig_status_to_string(res->sigs[i].status));
	}
	fputc(']', f);
	if (chain) {
		fputc(',', f);
		seal_report_json_links(f, chain);
	}
	fputc('}', f);
}
