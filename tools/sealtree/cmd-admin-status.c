/* SPDX-License-Identifier: MIT */
/* sealtree admin status [--json] and config-diff [INDEX]: see docs/man/sealtree-admin-status.1.md and sealtree-admin-config-diff.1.md. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "admin-verity.h"
#include "sealtree/error.h"
#include "sealtree/hex.h"
#include "read-output.h"
#include "sealtree/trust.h"
#include "trust-report.h"

/* The signature state of d's commit under the trust store: a word and the key, if one. */
/*
 * The deployment's signature under the trust store: its verdict in one word,
 * the signing key when valid, and when not accepted why, in words (a status
 * that says only "invalid" leaves the reader guessing between a bad signature
 * and a key this trust store does not know).
 */
static void signature_state(struct st_sysroot *s, const char *keys_dir, const struct st_deployment *d,
			    char word[32], char key[17], char reason[256])
{
	struct st_trust_result *res = NULL;
	int r;

	key[0] = reason[0] = '\0';
	r = st_trust_commit_state(st_sysroot_repo(s), keys_dir, d->ref, d->commit, &res);
	if (r < 0) {
		st_error_clear();
		(void)snprintf(word, 32, "unknown");
		return;
	}
	(void)snprintf(word, 32, "%s", st_trust_verdict_to_string(res->verdict));
	if (res->verdict == ST_TRUST_VALID) {
		char kid[2 * ST_KEY_ID_SIZE + 1];

		st_hex_encode(res->sigs[res->valid_index].key_id, ST_KEY_ID_SIZE, kid);
		(void)snprintf(key, 17, "%.16s", kid);
	} else if (!res->accepted)
		st_trust_result_reason(res, reason, 256);
	st_trust_result_free(res);
}

/* The default that the next boot starts while another deployment is booted. */
static bool is_pending(const struct st_deploy_list *l, size_t i)
{
	bool any_booted = false;

	for (size_t j = 0; j < l->n; j++)
		any_booted |= l->d[j].booted;
	return i == 0 && l->n > 0 && any_booted && !l->d[0].booted;
}

static void json_field(FILE *f, const char *name, const char *value, bool comma)
{
	fprintf(f, "\"%s\": ", name);
	if (value)
		json_write_string(f, value);
	else
		fputs("null", f);
	if (comma)
		fputs(", ", f);
}

static void print_json(struct st_sysroot *s, const struct st_deploy_list *l, const char *keys_dir)
{
	printf("{");
	admin_print_verity_summary(s, l->booted, true);
	printf("\"deployments\": [");
	for (size_t i = 0; i < l->n; i++) {
		const struct st_deployment *d = &l->d[i];
		char hex[2 * ST_COMMIT_ID_SIZE + 1], word[32], key[17], reason[256];

		st_hex_encode(d->commit, ST_COMMIT_ID_SIZE, hex);
		signature_state(s, keys_dir, d, word, key, reason);
		printf("%s\n  {\"index\": %zu, ", i ? "," : "", i);
		json_field(stdout, "os", d->os, true);
		json_field(stdout, "id", d->id, true);
		json_field(stdout, "commit", hex, true);
		json_field(stdout, "version", d->version, true);
		json_field(stdout, "ref", d->ref, true);
		printf("\"default\": %s, \"rollback\": %s, \"booted\": %s, \"pending\": %s, \"pinned\": %s, ",
		       i == 0 ? "true" : "false", i == 1 ? "true" : "false", d->booted ? "true" : "false",
		       is_pending(l, i) ? "true" : "false", d->pinned ? "true" : "false");
		json_field(stdout, "kargs", d->kargs, true);
		json_field(stdout, "boot", d->boot_dir, true);
		json_field(stdout, "kernel", d->kernel, true);
		json_field(stdout, "merged-from", d->merged_from, true);
		json_field(stdout, "signature", word, true);
		json_field(stdout, "signed-by", *key ? key : NULL, true);
		json_field(stdout, "signature-problem", *reason ? reason : NULL, true);
		json_field(stdout, "entry", d->entry_name, true);
		json_field(stdout, "boot-counter", d->boot_counter, true);
		json_field(stdout, "broken", d->broken, true);
		printf("\"conflicts\": [");
		for (size_t j = 0; j < d->n_conflicts; j++) {
			if (j)
				fputs(", ", stdout);
			json_write_string(stdout, d->conflicts[j]);
		}
		printf("]}");
	}
	printf("\n], \"foreign\": [");
	for (size_t i = 0; i < l->n_foreign; i++) {
		printf("%s{", i ? ", " : "");
		json_field(stdout, "name", l->foreign[i].name, true);
		json_field(stdout, "title", l->foreign[i].title, false);
		printf("}");
	}
	printf("], ");
	json_field(stdout, "staged", l->staged, true);
	json_field(stdout, "staged-failed", l->staged_failed, true);
	printf("\"booted\": ");
	if (l->booted) {
		printf("{");
		json_field(stdout, "os", l->booted->os, true);
		json_field(stdout, "deployment", l->booted->deployment, true);
		json_field(stdout, "root", l->booted->root, true);
		printf("\"verity\": %s, ", l->booted->verity ? "true" : "false");
		json_field(stdout, "signed-by", l->booted->signed_by, true);
		json_field(stdout, "fallback-reason", l->booted->fallback_reason, false);
		printf("}");
	} else
		printf("null");
	printf("}\n");
}

/* "How do we know that we are in fallback mode?": a root that prepare-root
 * did not assemble from a deployment is said on the first line. */
static void print_fallback(const struct st_booted *b)
{
	if (!b || !b->root || strcmp(b->root, "composefs") == 0)
		return;
	printf("FALLBACK: the root is not a sealtree deployment (booted.json root: ");
	print_escaped(stdout, b->root);
	printf(")");
	if (b->fallback_reason) {
		printf(": ");
		print_escaped(stdout, b->fallback_reason);
	}
	printf("\n");
}

static void print_human(struct st_sysroot *s, const struct st_deploy_list *l, const char *keys_dir)
{
	print_fallback(l->booted);
	admin_print_verity_summary(s, l->booted, false);
	if (l->n == 0)
		printf("no deployments\n");
	for (size_t i = 0; i < l->n; i++) {
		const struct st_deployment *d = &l->d[i];
		char hex[2 * ST_COMMIT_ID_SIZE + 1], word[32], key[17], reason[256];

		st_hex_encode(d->commit, ST_COMMIT_ID_SIZE, hex);
		signature_state(s, keys_dir, d, word, key, reason);
		printf("%c %zu %s/%s%s%s%s%s\n", d->booted ? '*' : ' ', i, d->os, d->id, i == 0 ? " (default)" : "",
		       is_pending(l, i) ? " (pending)" : "", i == 1 ? " (rollback)" : "", d->pinned ? " (pinned)" : "");
		printf("    version: %s\n", d->version ? d->version : "-");
		printf("    commit: %s\n", hex);
		if (d->ref)
			printf("    ref: %s\n", d->ref);
		printf("    signature: %s%s%s%s%s%s\n", word, *key ? ", key " : "", key, *reason ? " (" : "", reason,
		       *reason ? ")" : "");
		printf("    kernel: %s (boot/sealtree/%s)\n", d->kernel ? d->kernel : "-", d->boot_dir ? d->boot_dir : "-");
		printf("    kargs: %s\n", d->kargs ? d->kargs : "");
		if (d->booted && l->booted)
			printf("    root: %s%s%s%s%s\n", l->booted->root ? l->booted->root : "?",
			       l->booted->verity ? ", verity" : ", no verity",
			       l->booted->signed_by ? ", signed by " : "", l->booted->signed_by ? l->booted->signed_by : "",
			       l->booted->fallback_reason ? " (fallback)" : "");
		if (d->boot_counter) {
			unsigned left = 0, done = 0;

			(void)sscanf(d->boot_counter, "+%u-%u", &left, &done);
			if (left == 0)
				printf("    boot counting: BAD, failed to boot %u times\n", done);
			else
				printf("    boot counting: %u tries left, %u used\n", left, done);
		}
		if (d->n_conflicts)
			printf("    /etc conflicts: %zu\n", d->n_conflicts);
		for (size_t j = 0; j < d->n_conflicts; j++)
			printf("      %s\n", d->conflicts[j]);
		if (d->broken)
			printf("    BROKEN: %s\n", d->broken);
	}
	if (l->staged)
		printf("  staged: %s (switched to at shutdown by finalize-staged)\n", l->staged);
	if (l->staged_failed)
		printf("  LAST FINALIZE-STAGED FAILED: %s\n", l->staged_failed);
	for (size_t i = 0; i < l->n_foreign; i++) {
		printf("  foreign entry %s: ", l->foreign[i].name);
		print_escaped(stdout, l->foreign[i].title ? l->foreign[i].title : "(no title)");
		printf("\n");
	}
}

int admin_status(int argc, char **argv)
{
	enum { OPT_JSON = 0x100, OPT_KEYS_DIR };
	static const struct option options[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "keys-dir", required_argument, NULL, OPT_KEYS_DIR },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	_cleanup_(sysroot_freep) struct st_sysroot *s = NULL;
	_cleanup_(deploy_list_freep) struct st_deploy_list *l = NULL;
	const char *keys_dir = NULL;
	bool json = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (c) {
		case OPT_JSON:
			json = true;
			break;
		case OPT_KEYS_DIR:
			keys_dir = optarg;
			break;
		case 'h':
			printf("usage: sealtree admin [--sysroot PATH] status [--json] [--keys-dir DIR]\n\n"
			       "The deployments in boot order (0 is the default, 1 the rollback; '*' the booted one),\n"
			       "then the boot entries written by others.\n");
			return 0;
		default:
			return 2;
		}
	}
	if (optind != argc) {
		log_error("admin status: takes no arguments");
		return 2;
	}
	s = admin_open("status", false);
	if (!s)
		return 1;
	r = st_sysroot_load(s, &l);
	if (r < 0) {
		log_error_errno(r, "admin status: cannot read the deployments");
		return 1;
	}
	if (json)
		print_json(s, l, keys_dir);
	else
		print_human(s, l, keys_dir);
	return 0;
}

static int print_change(void *userdata, char status, const char *path)
{
	(void)userdata;
	printf("%c /etc/", status);
	print_escaped(stdout, path);
	printf("\n");
	return 0;
}

int admin_config_diff(int argc, char **argv)
{
	_cleanup_(sysroot_freep) struct st_sysroot *s = NULL;
	_cleanup_(deploy_list_freep) struct st_deploy_list *l = NULL;
	const char *index_arg;
	size_t index = 0;
	int r;

	r = admin_plain_args("config-diff", argc, argv,
			     "usage: sealtree admin [--sysroot PATH] config-diff [INDEX]\n\n"
			     "Local /etc changes of deployment INDEX (default: the booted one, else 0) against\n"
			     "its commit's usr/etc: A added, D removed, M changed, T type changed.\n", 0, 1);
	if (r <= 0)
		return r < 0 ? 2 : 0;
	index_arg = optind < argc ? argv[optind] : NULL;
	s = admin_open("config-diff", false);
	if (!s)
		return 1;
	r = st_sysroot_load(s, &l);
	if (r < 0) {
		log_error_errno(r, "admin config-diff: cannot read the deployments");
		return 1;
	}
	if (l->n == 0) {
		log_error("admin config-diff: no deployments");
		return 1;
	}
	if (index_arg) {
		if (admin_parse_index("config-diff", index_arg, l, &index) < 0)
			return 1;
	} else
		for (size_t i = 0; i < l->n; i++)
			if (l->d[i].booted)
				index = i;
	r = st_sysroot_config_diff(s, &l->d[index], print_change, NULL);
	if (r < 0) {
		log_error_errno(r, "admin config-diff: %s/%s", l->d[index].os, l->d[index].id);
		return 1;
	}
	return 0;
}
