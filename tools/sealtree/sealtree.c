/* SPDX-License-Identifier: MIT */
/* sealtree [--repo PATH] COMMAND [ARGS]: see docs/man/sealtree.1.md. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sealtree.h"

#ifndef ST_VERSION_STRING
#define ST_VERSION_STRING "unknown"
#endif

struct sealtree_globals globals;

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

#define COMMAND_ENTRY(n, s) { #n, cmd_##n, s },
static const struct command commands[] = { SEALTREE_COMMANDS(COMMAND_ENTRY) };
#undef COMMAND_ENTRY

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [--repo PATH] [-q] COMMAND [ARGS...]\n"
		"\n"
		"A composefs object store with commits, refs and history.\n"
		"The repository is --repo PATH, else $SEALTREE_REPO.\n"
		"\n"
		"Commands:\n",
		program_name);
	for (size_t i = 0; i < ELEMENTSOF(commands); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f,
		"\n"
		"  --repo PATH   the repository\n"
		"  -q, --quiet   no progress output\n"
		"  --help        show this help ('sealtree COMMAND --help' for a command)\n"
		"  --version     show the version\n");
}

struct st_repo *open_repo_or_fail(enum repo_lock_mode lock)
{
	struct st_repo *repo = NULL;
	int r;

	if (!globals.repo_path) {
		log_error("no repository: use --repo PATH or set SEALTREE_REPO");
		return NULL;
	}
	r = st_repo_open(globals.repo_path, &repo);
	if (r < 0) {
		log_error_errno(r, "cannot open repository '%s'", globals.repo_path);
		return NULL;
	}
	if (lock == REPO_LOCK_SHARED)
		r = st_repo_lock_shared(repo, true);
	else if (lock == REPO_LOCK_EXCLUSIVE)
		r = st_repo_lock_exclusive(repo, true);
	if (r < 0) {
		log_error_errno(r, "cannot lock repository '%s'", globals.repo_path);
		st_repo_free(repo);
		return NULL;
	}
	return repo;
}

struct st_repo *open_repo_resolved(enum repo_lock_mode lock, const char *spec, uint8_t id[ST_COMMIT_ID_SIZE])
{
	struct st_repo *repo = open_repo_or_fail(lock);
	int r;

	if (!repo)
		return NULL;
	r = st_repo_resolve(repo, spec, id);
	if (r < 0) {
		log_error_errno(r, "cannot resolve '%s'", spec);
		st_repo_free(repo);
		return NULL;
	}
	return repo;
}

bool show_progress(void)
{
	return !globals.quiet && isatty(STDERR_FILENO);
}

int main(int argc, char **argv)
{
	enum { OPT_REPO = 0x100, OPT_HELP, OPT_VERSION };
	static const struct option options[] = {
		{ "repo", required_argument, NULL, OPT_REPO },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, OPT_HELP },
		{ "version", no_argument, NULL, OPT_VERSION },
		{}
	};
	int c;

	program_name = "sealtree";
	globals.repo_path = getenv("SEALTREE_REPO");
	if (globals.repo_path && !*globals.repo_path)
		globals.repo_path = NULL;

	/* '+': stop at the command name; its options belong to it. */
	while ((c = getopt_long(argc, argv, "+q", options, NULL)) >= 0) {
		switch (c) {
		case OPT_REPO:
			globals.repo_path = optarg;
			break;
		case 'q':
			globals.quiet = true;
			break;
		case OPT_HELP:
			usage(stdout);
			return 0;
		case OPT_VERSION:
			printf("sealtree %s\n", ST_VERSION_STRING);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	for (size_t i = 0; i < ELEMENTSOF(commands); i++)
		if (strcmp(argv[optind], commands[i].name) == 0) {
			char **sub_argv = argv + optind;
			int sub_argc = argc - optind;

			optind = 0; /* a full getopt reset for the command */
			return commands[i].run(sub_argc, sub_argv);
		}
	log_error("unknown command '%s' (see 'sealtree --help')", argv[optind]);
	return 2;
}
