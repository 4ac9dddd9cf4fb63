/* SPDX-License-Identifier: MIT */
/* sealtree fsck [--repair] [--quiet] [--threads=N]: see docs/man/sealtree-fsck.1.md. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "escape.h"
#include "sealtree.h"
#include "sealtree/repo-maint.h"

static bool arg_quiet;

static void repo_freep(struct st_repo **r)
{
	st_repo_free(*r);
}

/* One line per problem on stdout: "error: PATH: MESSAGE[ (what --repair did)]". */
static void print_problem(void *userdata, const struct st_fsck_problem *p)
{
	static const char *const severity[ST_FSCK_SEVERITY_COUNT] = {
		[ST_FSCK_ERROR] = "error",
		[ST_FSCK_WARNING] = "warning",
		[ST_FSCK_NOTE] = "note",
	};

	(void)userdata;
	if (arg_quiet && p->severity == ST_FSCK_NOTE)
		return;
	/* Paths and messages name what is in the repository: escaped (escape.h). */
	printf("%s: ", severity[p->severity]);
	print_escaped(stdout, p->path);
	fputs(": ", stdout);
	print_escaped(stdout, p->message);
	switch (p->action) {
	case ST_FSCK_QUARANTINED:
		fputs(" (quarantined as ", stdout);
		print_escaped(stdout, p->quarantine_path);
		putchar(')');
		break;
	case ST_FSCK_FIXED:
		printf(" (fixed)");
		break;
	case ST_FSCK_UNFIXABLE:
		printf(" (--repair cannot fix this)");
		break;
	default:
		break;
	}
	putchar('\n');
	fflush(stdout);
}

static void help(FILE *f)
{
	fprintf(f,
		"usage: sealtree fsck [--repair] [--quiet] [--threads=N]\n"
		"\n"
		"Check every object, image, commit and ref of the repository; print each\n"
		"problem on its own line. Exit 0 if no error remains, 1 otherwise.\n"
		"\n"
		"  --repair        move what is bad into REPO/quarantine/, drop refs to\n"
		"                  missing commits (takes the exclusive lock)\n"
		"  -q, --quiet     print errors and warnings only, no notes or summary\n"
		"  --threads=N     threads hashing objects (default: the CPUs available)\n"
		"  -h, --help      show this help\n");
}

int cmd_fsck(int argc, char **argv)
{
	enum { OPT_REPAIR = 0x100, OPT_THREADS };
	static const struct option options[] = {
		{ "repair", no_argument, NULL, OPT_REPAIR },
		{ "quiet", no_argument, NULL, 'q' },
		{ "threads", required_argument, NULL, OPT_THREADS },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	_cleanup_(repo_freep) struct st_repo *repo = NULL;
	struct st_fsck_options opts = { .report = print_problem };
	uint64_t threads;
	int c, r;

	arg_quiet = globals.quiet;
	while ((c = getopt_long(argc, argv, "qh", options, NULL)) >= 0) {
		switch (c) {
		case OPT_REPAIR:
			opts.flags |= ST_FSCK_REPAIR;
			break;
		case 'q':
			arg_quiet = true;
			break;
		case OPT_THREADS:
			if (safe_atou64_max(optarg, 1024, &threads) < 0 || threads < 1) {
				log_error("fsck: --threads needs a number from 1 to 1024, not '%s'", optarg);
				return 2;
			}
			opts.threads = (unsigned)threads;
			break;
		case 'h':
			help(stdout);
			return 0;
		default:
			help(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		log_error("fsck: unexpected argument '%s'", argv[optind]);
		return 2;
	}
	repo = open_repo_or_fail(opts.flags & ST_FSCK_REPAIR ? REPO_LOCK_EXCLUSIVE : REPO_LOCK_SHARED);
	if (!repo)
		return 1;
	r = st_repo_fsck(repo, &opts);
	if (r < 0)
		return log_error_errno(r, "fsck could not finish"), 1;
	if (!arg_quiet) {
		printf("checked %" PRIu64 " objects (%" PRIu64 " bytes), %" PRIu64 " images, %" PRIu64
		       " commits, %" PRIu64 " refs\n",
		       opts.objects_checked, opts.object_bytes, opts.images_checked, opts.commits_checked,
		       opts.refs_checked);
		printf("%" PRIu64 " errors, %" PRIu64 " warnings, %" PRIu64 " notes", opts.counts[ST_FSCK_ERROR],
		       opts.counts[ST_FSCK_WARNING], opts.counts[ST_FSCK_NOTE]);
		if (opts.flags & ST_FSCK_REPAIR)
			printf("; %" PRIu64 " errors remain after repair", opts.errors_remaining);
		printf("\n");
	}
	return opts.errors_remaining > 0 ? 1 : 0;
}
