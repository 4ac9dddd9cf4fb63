/* SPDX-License-Identifier: MIT */
/* sealtree init: create a repository. See docs/man/sealtree-init.1.md. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "sealtree.h"

static void help(FILE *f)
{
	fprintf(f,
		"usage: sealtree [--repo PATH] init [--verity=auto|require|off] [PATH]\n"
		"\n"
		"Create a repository at PATH (else --repo or $SEALTREE_REPO). The directory\n"
		"may exist but must be empty.\n"
		"\n"
		"  --verity=auto     enable fs-verity on every object if the filesystem can (default)\n"
		"  --verity=require  refuse a filesystem without fs-verity\n"
		"  --verity=off      never enable fs-verity\n"
		"  --help            show this help\n");
}

int cmd_init(int argc, char **argv)
{
	enum { OPT_VERITY = 0x100, OPT_HELP };
	static const struct option options[] = {
		{ "verity", required_argument, NULL, OPT_VERITY },
		{ "help", no_argument, NULL, OPT_HELP },
		{}
	};
	enum st_repo_verity_mode mode = ST_REPO_VERITY_AUTO;
	struct st_repo *repo = NULL;
	const char *path = globals.repo_path;
	int c, r;

	while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
		switch (c) {
		case OPT_VERITY:
			if (strcmp(optarg, "auto") == 0)
				mode = ST_REPO_VERITY_AUTO;
			else if (strcmp(optarg, "require") == 0)
				mode = ST_REPO_VERITY_REQUIRE;
			else if (strcmp(optarg, "off") == 0)
				mode = ST_REPO_VERITY_OFF;
			else {
				log_error("init: --verity must be auto, require or off, not '%s'", optarg);
				return 2;
			}
			break;
		case OPT_HELP:
			help(stdout);
			return 0;
		default:
			help(stderr);
			return 2;
		}
	}
	if (optind < argc)
		path = argv[optind++];
	if (optind < argc) {
		log_error("init: unexpected argument '%s'", argv[optind]);
		return 2;
	}
	if (!path) {
		log_error("init: no repository path: give PATH, --repo PATH or set SEALTREE_REPO");
		return 2;
	}
	r = st_repo_init(path, mode, &repo);
	if (r < 0) {
		log_error_errno(r, "cannot create repository '%s'", path);
		return 1;
	}
	if (!globals.quiet)
		printf("initialized repository %s (fs-verity %s)\n", path, st_repo_has_verity(repo) ? "on" : "off");
	st_repo_free(repo);
	return 0;
}
