/* SPDX-License-Identifier: MIT */
/* sealtree refs / ref: list, create, move and delete refs. See docs/man/sealtree-refs.1.md. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "sealtree/error.h"
#include "sealtree/hex.h"
#include "escape.h"
#include "sealtree.h"

static void refs_help(FILE *f)
{
	fprintf(f,
		"usage: sealtree refs [--all]\n"
		"\n"
		"List refs, one per line: the commit id, a space, the name.\n"
		"\n"
		"  --all    also refs outside refs/heads (refs/mounts/...), by full name\n"
		"  --help   show this help\n");
}

int cmd_refs(int argc, char **argv)
{
	enum { OPT_ALL = 0x100, OPT_HELP };
	static const struct option options[] = {
		{ "all", no_argument, NULL, OPT_ALL },
		{ "help", no_argument, NULL, OPT_HELP },
		{}
	};
	struct st_repo *repo;
	struct st_ref *refs = NULL;
	bool all = false;
	size_t n = 0;
	int c, r;

	while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
		switch (c) {
		case OPT_ALL:
			all = true;
			break;
		case OPT_HELP:
			refs_help(stdout);
			return 0;
		default:
			refs_help(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		log_error("refs: unexpected argument '%s'", argv[optind]);
		return 2;
	}
	repo = open_repo_or_fail(REPO_LOCK_SHARED);
	if (!repo)
		return 1;
	r = st_repo_list_refs(repo, all, &refs, &n);
	if (r < 0) {
		log_error_errno(r, "cannot list refs");
		st_repo_free(repo);
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		char hex[65];

		st_hex_encode(refs[i].id, ST_COMMIT_ID_SIZE, hex);
		printf("%s ", hex);
		print_escaped(stdout, refs[i].name);   /* names come from the repository */
		putchar('\n');
	}
	st_ref_list_free(refs, n);
	st_repo_free(repo);
	return fflush(stdout) == 0 ? 0 : 1;
}

static void ref_help(FILE *f)
{
	fprintf(f,
		"usage: sealtree ref REF COMMIT\n"
		"       sealtree ref --delete REF\n"
		"\n"
		"Point REF at COMMIT (a ref, an id, a unique id prefix, NAME^ or NAME~N),\n"
		"creating it if needed, or delete it.\n"
		"\n"
		"  --delete   delete REF\n"
		"  --help     show this help\n");
}

int cmd_ref(int argc, char **argv)
{
	enum { OPT_DELETE = 0x100, OPT_HELP };
	static const struct option options[] = {
		{ "delete", no_argument, NULL, OPT_DELETE },
		{ "help", no_argument, NULL, OPT_HELP },
		{}
	};
	uint8_t id[ST_COMMIT_ID_SIZE];
	char name[ST_REF_NAME_MAX + 1];
	struct st_repo *repo;
	bool delete = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "d", options, NULL)) >= 0) {
		switch (c) {
		case 'd':
		case OPT_DELETE:
			delete = true;
			break;
		case OPT_HELP:
			ref_help(stdout);
			return 0;
		default:
			ref_help(stderr);
			return 2;
		}
	}
	if (argc - optind != (delete ? 1 : 2)) {
		ref_help(stderr);
		return 2;
	}
	if (st_ref_canonicalize(argv[optind], name) < 0) {
		log_error("ref: %s", st_error_message(-EINVAL));
		return 2;
	}
	repo = open_repo_or_fail(REPO_LOCK_SHARED);
	if (!repo)
		return 1;
	if (delete) {
		r = st_repo_delete_ref(repo, argv[optind]);
		if (r < 0)
			log_error_errno(r, "cannot delete ref '%s'", argv[optind]);
	} else {
		r = st_repo_resolve(repo, argv[optind + 1], id);
		if (r < 0)
			log_error_errno(r, "cannot resolve '%s'", argv[optind + 1]);
		else {
			r = st_repo_write_ref(repo, argv[optind], id, NULL);
			if (r < 0)
				log_error_errno(r, "cannot write ref '%s'", argv[optind]);
		}
	}
	st_repo_free(repo);
	return r < 0 ? 1 : 0;
}
