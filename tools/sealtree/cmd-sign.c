/* SPDX-License-Identifier: MIT */
/* sealtree sign: see docs/man/sealtree-sign.1.md. */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>

#include "sealtree/hex.h"
#include "sealtree.h"
#include "sealtree/trust.h"
#include "trust-report.h"

static void sign_usage(FILE *f)
{
	fprintf(f,
		"usage: sealtree sign COMMIT|REF --key KEY\n"
		"\n"
		"Sign a commit with an Ed25519 private key (PEM or ostree form) and add the\n"
		"signature to the commit's signature file. Signing again with the same key\n"
		"changes nothing.\n"
		"\n"
		"  -k, --key KEY   the private key (from sealtree keygen)\n"
		"  -h, --help      show this help\n");
}

int cmd_sign(int argc, char **argv)
{
	static const struct option options[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *key_path = NULL;
	uint8_t id[ST_COMMIT_ID_SIZE];
	char hex[2 * ST_COMMIT_ID_SIZE + 1], key_id[ST_KEY_ID_SHORT_HEX + 1];
	struct st_key *key = NULL;
	struct st_repo *repo;
	int c, r;

	while ((c = getopt_long(argc, argv, "k:h", options, NULL)) >= 0) {
		switch (c) {
		case 'k':
			key_path = optarg;
			break;
		case 'h':
			sign_usage(stdout);
			return 0;
		default:
			sign_usage(stderr);
			return 2;
		}
	}
	if (!key_path || optind + 1 != argc) {
		log_error("sign: %s", key_path ? "expected one COMMIT or REF" : "missing --key KEY");
		sign_usage(stderr);
		return 2;
	}
	r = st_key_load_private(AT_FDCWD, key_path, &key);
	if (r < 0) {
		log_error_errno(r, "sign: cannot read the private key");
		return 1;
	}
	repo = open_repo_or_fail(REPO_LOCK_SHARED);
	if (!repo) {
		st_key_free(key);
		return 1;
	}
	r = st_repo_resolve(repo, argv[optind], id);
	if (r < 0)
		log_error_errno(r, "sign: cannot resolve '%s'", argv[optind]);
	else {
		r = st_repo_sign_commit(repo, id, key);
		if (r < 0)
			log_error_errno(r, "sign: cannot sign '%s'", argv[optind]);
	}
	if (r >= 0) {
		st_hex_encode(id, ST_COMMIT_ID_SIZE, hex);
		key_id_short_hex(st_key_id(key), key_id);
		if (r == 0)
			printf("commit %s was signed by key %s already\n", hex, key_id);
		else
			printf("commit %s signed by key %s\n", hex, key_id);
	}
	st_key_free(key);
	st_repo_free(repo);
	return r < 0 ? 1 : 0;
}
