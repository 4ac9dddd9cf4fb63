/* SPDX-License-Identifier: MIT */
/* sealtree summary [--sign KEY]... [--packs]: see docs/man/sealtree-summary.1.md. */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "sealtree.h"
#include "sealtree/remote.h"

static void summary_help(FILE *f)
{
	fprintf(f,
		"usage: sealtree summary [--sign KEY]... [--packs [--level N] [--recompress]]\n"
		"\n"
		"Write REPO/summary (every branch, its commit, timestamp and version) and,\n"
		"with --sign, REPO/summary.sig, so that the repository directory can be\n"
		"served as static files and pulled from (sealtree pull). The packs of\n"
		"REPO/packs/ are listed too.\n"
		"\n"
		"  -k, --sign KEY  sign the summary with this private key (repeatable)\n"
		"  -p, --packs     first bring REPO/packs/ up to date: for each branch a full\n"
		"                  pack and one from its parent commit; remove stale packs\n"
		"  -l, --level N   zstd level of new packs, 1..19 (default 6)\n"
		"  -r, --recompress  compress every object of new packs, copy no frame of an\n"
		"                  existing pack (by default they are copied, checked)\n"
		"  -h, --help      show this help\n");
}

int cmd_summary(int argc, char **argv)
{
	static const struct option options[] = {
		{ "sign", required_argument, NULL, 'k' },
		{ "packs", no_argument, NULL, 'p' },
		{ "level", required_argument, NULL, 'l' },
		{ "recompress", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct st_key *keys[16];
	struct st_summary *s = NULL;
	struct st_repo *repo = NULL;
	size_t n_keys = 0, written = 0, removed = 0;
	bool packs = false;
	uint32_t level = 0;
	unsigned flags = 0;
	int c, r, ret = 1;

	while ((c = getopt_long(argc, argv, "k:pl:rh", options, NULL)) >= 0) {
		switch (c) {
		case 'p':
			packs = true;
			break;
		case 'l':
			if (parse_option_u32("summary", "--level", optarg, 1, 19, NULL, &level) < 0) {
				ret = 2;
				goto out;
			}
			break;
		case 'r':
			flags |= ST_PACK_RECOMPRESS;
			break;
		case 'k':
			if (n_keys == ELEMENTSOF(keys)) {
				log_error("summary: at most %zu keys", ELEMENTSOF(keys));
				ret = 2;
				goto out;
			}
			r = st_key_load_private(AT_FDCWD, optarg, &keys[n_keys]);
			if (r < 0) {
				log_error_errno(r, "summary: cannot read the private key");
				goto out;
			}
			n_keys++;
			break;
		case 'h':
			summary_help(stdout);
			ret = 0;
			goto out;
		default:
			summary_help(stderr);
			ret = 2;
			goto out;
		}
	}
	if (optind != argc) {
		log_error("summary: unexpected argument '%s'", argv[optind]);
		ret = 2;
		goto out;
	}
	repo = open_repo_or_fail(REPO_LOCK_SHARED);
	if (!repo)
		goto out;
	/* Stale packs go only after the summary that stops offering them is out (clients of the old one use them). */
	if (packs) {
		r = st_repo_update_packs(repo, (int)level, flags | ST_PACK_KEEP_STALE, &written, NULL);
		if (r < 0) {
			log_error_errno(r, "summary: cannot bring the packs up to date");
			goto out;
		}
	}
	r = st_repo_write_summary(repo, (const struct st_key *const *)keys, n_keys, &s);
	if (r < 0) {
		log_error_errno(r, "summary: cannot write the summary");
		goto out;
	}
	if (packs) {
		r = st_repo_update_packs(repo, (int)level, flags, NULL, &removed);
		if (r < 0) {
			log_error_errno(r, "summary: cannot remove the stale packs");
			goto out;
		}
	}
	printf("summary: %zu refs, %zu packs, %zu signatures\n", s->n_refs, s->n_packs, n_keys);
	if (packs)
		printf("packs: %zu written, %zu removed\n", written, removed);
	ret = 0;
out:
	st_summary_free(s);
	st_repo_free(repo);
	for (size_t i = 0; i < n_keys; i++)
		st_key_free(keys[i]);
	return ret;
}
