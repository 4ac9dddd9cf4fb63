/* SPDX-License-Identifier: MIT */
/* sealtree verify: see docs/man/sealtree-verify.1.md. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "sealtree/error.h"
#include "sealtree/hex.h"
#include "escape.h"
#include "sealtree.h"
#include "sealtree/seal.h"
#include "sealtree/trust.h"
#include "trust-report.h"

static void verify_usage(FILE *f)
{
	fprintf(f,
		"usage: sealtree verify COMMIT|REF [--keys-dir DIR] [--json] [--require-signature]\n"
		"                       [--no-downgrade] [--accept]\n"
		"\n"
		"Walk the trust chain short of mounting: the commit against its id, its\n"
		"signatures against the trust store and the ref's policy, the anti-rollback\n"
		"record, the image's digest. Say which trusted key validated it, or which\n"
		"link broke and why (one 'link' line each). Exit 1 if a link broke.\n"
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
	bool require = false;
	struct st_seal_options opts;
	struct st_seal_result *chain = NULL;
	enum st_seal_link link;
	uint8_t id[ST_COMMIT_ID_SIZE];
	char hex[2 * ST_COMMIT_ID_SIZE + 1];
	struct st_trust_store *store = NULL;
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
			require = true;
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

	r = st_trust_store_load(keys_dir, &store);
	if (r < 0) {
		log_error_errno(r, "verify: cannot load the trust store");
		goto out;
	}
	/* The chain up to the mount (sealtree/seal.h): commit, signature, rollback, image, record. */
	opts = (struct st_seal_options){
		.store = store,
		.ref = ref,
		.flags = ST_SEAL_CHECK_IMAGE | (require ? ST_SEAL_REQUIRE_SIGNATURE : 0) |
			 (no_downgrade ? ST_SEAL_NO_DOWNGRADE : 0) | (accept ? ST_SEAL_RECORD_ACCEPTED : 0),
	};
	r = st_seal_chain(repo, id, &opts, &chain);
	if (r < 0) {
		log_error_errno(r, "verify: cannot check commit %s", hex);
		goto out;
	}
	link = chain->failed_link;
	if (json) {
		if (chain->trust)
			trust_report_json(stdout, chain->trust, ref, chain);
		else {
			/* The commit link failed: scripts get a verdict for it too. */
			printf("{\"commit\":\"%s\",\"ref\":", hex);
			if (ref)
				json_write_string(stdout, ref);
			else
				printf("null");
			printf(",\"verdict\":\"%s\",\"accepted\":false,\"reason\":",
			       chain->links[link].error == -ENOENT ? "missing-commit" : "corrupt-commit");
			json_write_string(stdout, chain->links[link].reason);
			putchar(',');
			seal_report_json_links(stdout, chain);
			putchar('}');
		}
		putchar('\n');
	} else {
		printf("commit %s\n", hex);
		if (ref) {
			fputs("ref ", stdout);
			print_escaped(stdout, ref);
			putchar('\n');
		}
		if (chain->trust)
			trust_report_text(stdout, chain->trust, "");
		if (*chain->rollback) {
			fputs("rollback: refused: ", stdout);
			print_escaped(stdout, chain->rollback);
			putchar('\n');
		}
		seal_report_text(stdout, chain);
	}
	if (!chain->ok) {
		/* log_error() escapes: the reasons quote versions and names from the repository. */
		if (link == ST_SEAL_LINK_COMMIT)
			log_error("verify: commit %s cannot be read: %s", hex, chain->links[link].reason);
		else if (link == ST_SEAL_LINK_ROLLBACK)
			log_error("verify: commit %s is a downgrade: %s", hex, chain->rollback);
		else
			log_error("verify: commit %s is not valid: broken link: %s: %s", hex, st_seal_link_to_string(link),
				  chain->links[link].reason);
		goto out;
	}
	ret = 0;
out:
	st_seal_result_free(chain);
	st_trust_store_free(store);
	st_repo_free(repo);
	return ret;
}
