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

void json_print_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
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
		trust_failure_reason(res, reason, sizeof(reason));
		fprintf(f, "%sverdict: not valid: %s\n", prefix, reason);
	}
}

void trust_failure_reason(const struct st_trust_result *res, char *buf, size_t size)
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
			(void)snprintf(buf, size, "corrupt signature file (%s)", strerror(-res->sig_file_error));
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
		key_id_short_hex(res->sigs[i].key_id, id);
		n = snprintf(buf + used, size - used, "%s%s %s", i ? "; " : "", what, id);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

void trust_report_json(FILE *f, const struct st_trust_result *res, const char *ref, const char *rollback_error)
{
	char hex[2 * ST_KEY_ID_SIZE + 1], reason[512];

	st_hex_encode(res->commit_id, ST_COMMIT_ID_SIZE, hex);
	fprintf(f, "{\"commit\":\"%s\",\"ref\":", hex);
	if (ref)
		json_print_string(f, ref);
	else
		fprintf(f, "null");
	fprintf(f, ",\"verdict\":\"%s\",\"accepted\":%s,", st_trust_verdict_to_string(res->verdict),
		res->accepted && !rollback_error ? "true" : "false");
	if (rollback_error) {
		fprintf(f, "\"rollback\":");
		json_print_string(f, rollback_error);
		fputc(',', f);
	}
	if (res->valid_index >= 0) {
		st_hex_encode(res->sigs[res->valid_index].key_id, ST_KEY_ID_SIZE, hex);
		fprintf(f, "\"valid_key\":\"%s\",", hex);
	} else
		fprintf(f, "\"valid_key\":null,");
	if (!res->accepted) {
		trust_failure_reason(res, reason, sizeof(reason));
		fprintf(f, "\"reason\":");
		json_print_string(f, reason);
		fputc(',', f);
	}
	fprintf(f, "\"policy\":{\"kind\":\"%s\",\"rule\":", policy_name(res->rule.kind));
	if (res->rule.pattern)
		json_print_string(f, res->rule.pattern);
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
	fprintf(f, "]}");
}
