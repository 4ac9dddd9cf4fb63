/* SPDX-License-Identifier: MIT */
/* sealtree verify: see docs/man/sealtree-verify.1.md. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "sealtree/error.h"
#include "sealtree/hex.h"
#include "escape.h"
#include "sealtree.h"
#include "sealtree/trust.h"
#include "trust-report.h"

static void verify_usage(FILE *f)
{
	fprintf(f,
		"usage: sealtree verify COMMIT|REF [--keys-dir DIR] [--json] [--require-signature]\n"
		"                       [--no-downgrade] [--accept]\n"
		"\n"
		"Check a commit's signatures against the trust store and the ref's policy:\n"
		"say which trusted key validated it, or why none did. Exit 1 if the commit\n"
		"is not valid under the policy.\n"
		"\n"
		"  --keys-dir DIR        trust store DIR/trusted.d, DIR/revoked.d, DIR/policy.conf\n"
		"                        (default: /etc/sealtree and /usr/share/sealtree)\n"
		"  --json                print the verdict as JSON\n"
		"  --require-signature   a policy of 'none' still needs a valid signature\n"
		"  --no-downgrade        refuse a commit older than the last accepted for REF\n"
		"  --accept              record the commit as the last accepted for REF if valid\n"
		"  -h, --help            show this help\n");
}

int cmd_verify(int argc, char **argv)
{
	enum { OPT_KEYS_DIR = 0x100, OPT_JSON, OPT_REQUIRE, OPT_NO_DOWNGRADE, OPT_ACCEPT };
	static const struct option options[] = {
		{ "keys-dir", required_argument, NULL, OPT_KEYS_DIR },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "require-signature", no_argument, NULL, OPT_REQUIRE },
		{ "no-downgrade", no_argument, NULL, OPT_NO_DOWNGRADE },
		{ "accept", no_argument, NULL, OPT_ACCEPT },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *keys_dir = NULL, *spec, *ref = NULL;
	_cleanup_free_ char *ref_name = NULL;
	bool json = false, no_downgrade = false, accept = false;
	unsigned flags = 0;
	uint8_t id[ST_COMMIT_ID_SIZE];
	char hex[2 * ST_COMMIT_ID_SIZE + 1], reason[512], rollback[512] = "";
	struct st_trust_store *store = NULL;
	struct st_trust_result *res = NULL;
	struct st_commit *commit = NULL;
	struct st_repo *repo = NULL;
	int c, r, ret = 1;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (c) {
		case OPT_KEYS_DIR:
			keys_dir = optarg;
			break;
		case OPT_JSON:
			json = true;
			break;
		case OPT_REQUIRE:
			flags |= ST_TRUST_REQUIRE_SIGNATURE;
			break;
		case OPT_NO_DOWNGRADE:
			no_downgrade = true;
			break;
		case OPT_ACCEPT:
			accept = true;
			break;
		case 'h':
			verify_usage(stdout);
			return 0;
		default:
			verify_usage(stderr);
			return 2;
		}
	}
	if (optind + 1 != argc) {
		log_error("verify: expected one COMMIT or REF");
		verify_usage(stderr);
		return 2;
	}
	spec = argv[optind];

	repo = open_repo_or_fail(REPO_LOCK_SHARED);
	if (!repo)
		return 1;
	/* A ref gets its policy and its anti-rollback record; anything else is a commit. */
	r = st_repo_resolve_ref(repo, spec, id, &ref_name);
	if (r < 0) {
		log_error_errno(r, "verify: cannot resolve '%s'", spec);
		goto out;
	}
	ref = ref_name;         /* canonical: one policy rule and one record per ref */
	if ((no_downgrade || accept) && !ref) {
		log_error("verify: --no-downgrade and --accept need a ref, not '%s'", spec);
		ret = 2;
		goto out;
	}
	st_hex_encode(id, ST_COMMIT_ID_SIZE, hex);

	/* The commit itself first: its bytes must hash to its id. */
	r = st_repo_read_commit(repo, id, &commit);
	if (r < 0) {
		if (json) {
			/* Scripts get a verdict for this link of the chain too. */
			printf("{\"commit\":\"%s\",\"ref\":", hex);
			if (ref)
				json_print_string(stdout, ref);
			else
				printf("null");
			printf(",\"verdict\":\"%s\",\"accepted\":false,\"reason\":",
			       r == -ENOENT ? "missing-commit" : "corrupt-commit");
			json_print_string(stdout, st_error_message(r));
			printf("}\n");
		}
		log_error_errno(r, "verify: commit %s cannot be read", hex);
		goto out;
	}
	r = st_trust_store_load(keys_dir, &store);
	if (r < 0) {
		log_error_errno(r, "verify: cannot load the trust store");
		goto out;
	}
	r = st_repo_trust_check(repo, store, ref, id, flags, &res);
	if (r < 0) {
		log_error_errno(r, "verify: cannot check commit %s", hex);
		goto out;
	}
	if (no_downgrade) {
		struct st_accepted last;

		r = st_repo_read_accepted(repo, ref, &last);
		if (r >= 0)
			r = st_accepted_check(&last, commit);
		if (r < 0 && r != -ENOENT)
			(void)snprintf(rollback, sizeof(rollback), "%s", st_error_message(r));
		st_error_clear();
	}

	if (json) {
		trust_report_json(stdout, res, ref, *rollback ? rollback : NULL);
		putchar('\n');
	} else {
		printf("commit %s\n", hex);
		if (ref) {
			fputs("ref ", stdout);
			print_escaped(stdout, ref);
			putchar('\n');
		}
		trust_report_text(stdout, res, "");
		if (*rollback) {
			/* Quotes the commit's version: escaped. */
			fputs("rollback: refused: ", stdout);
			print_escaped(stdout, rollback);
			putchar('\n');
		}
	}
	if (!res->accepted) {
		trust_failure_reason(res, reason, sizeof(reason));
		log_error("verify: commit %s is not valid: %s", hex, reason);
		goto out;
	}
	if (*rollback) {
		log_error("verify: commit %s is a downgrade: %s", hex, rollback);
		goto out;
	}
	if (accept) {
		r = st_repo_record_accepted(repo, ref, id, commit);
		if (r < 0) {
			log_error_errno(r, "verify: cannot record commit %s as accepted", hex);
			goto out;
		}
	}
	ret = 0;
out:
	st_trust_result_free(res);
	st_trust_store_free(store);
	st_commit_free(commit);
	st_repo_free(repo);
	return ret;
}
