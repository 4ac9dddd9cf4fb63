/* SPDX-License-Identifier: MIT */
/*
 * sealtree gc [--dry-run] and sealtree prune --keep=N [--dry-run] REF:
 * see docs/man/sealtree-gc.1.md and sealtree-prune.1.md.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sealtree.h"
#include "sealtree/repo-maint.h"

static void repo_freep(struct st_repo **r)
{
	st_repo_free(*r);
}

/* "1234 bytes" below 1 KiB, else "1234567 bytes (1.2 MiB)". */
static const char *format_bytes(uint64_t b, char buf[64])
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	double v = (double)b;
	size_t u = 0;

	if (b < 1024) {
		(void)snprintf(buf, 64, "%" PRIu64 " bytes", b);
		return buf;
	}
	v /= 1024;
	while (v >= 1024 && u + 1 < ELEMENTSOF(units)) {
		v /= 1024;
		u++;
	}
	(void)snprintf(buf, 64, "%" PRIu64 " bytes (%.1f %s)", b, v, units[u]);
	return buf;
}

/*
 * The report is stable, one "KIND: N removed, M kept, B bytes" line per kind
 * (scripts and tests read it), then the total.
 */
static void print_gc_stats(const struct st_gc_stats *s, bool dry_run)
{
	const char *verb = dry_run ? "to remove" : "removed";
	uint64_t total = s->commit_bytes_removed + s->image_bytes_removed + s->object_bytes_removed +
			 s->temp_bytes_removed;
	char buf[64];

	if (dry_run)
		printf("dry run: nothing was deleted\n");
	printf("commits: %" PRIu64 " %s, %" PRIu64 " kept, %" PRIu64 " bytes\n", s->commits_removed, verb,
	       s->commits_kept, s->commit_bytes_removed);
	printf("images: %" PRIu64 " %s, %" PRIu64 " kept, %" PRIu64 " bytes\n", s->images_removed, verb,
	       s->images_kept, s->image_bytes_removed);
	printf("objects: %" PRIu64 " %s, %" PRIu64 " kept, %" PRIu64 " bytes\n", s->objects_removed, verb,
	       s->objects_kept, s->object_bytes_removed);
	printf("temporary files: %" PRIu64 " %s, %" PRIu64 " bytes\n", s->temp_removed, verb,
	       s->temp_bytes_removed);
	printf("%s: %s\n", dry_run ? "would free" : "freed", format_bytes(total, buf));
}

static void gc_help(FILE *f)
{
	fprintf(f,
		"usage: sealtree gc [--dry-run]\n"
		"\n"
		"Delete every commit, image and object that no ref reaches, leftovers in\n"
		"tmp/ and stray temporary files. Waits for the repository's exclusive lock:\n"
		"no other sealtree command runs meanwhile.\n"
		"\n"
		"  -n, --dry-run   count what would be deleted, delete nothing\n"
		"  -h, --help      show this help\n");
}

int cmd_gc(int argc, char **argv)
{
	static const struct option options[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	_cleanup_(repo_freep) struct st_repo *repo = NULL;
	struct st_gc_stats stats = {};
	unsigned flags = 0;
	int c, r;

	while ((c = getopt_long(argc, argv, "nh", options, NULL)) >= 0) {
		switch (c) {
		case 'n':
			flags |= ST_GC_DRY_RUN;
			break;
		case 'h':
			gc_help(stdout);
			return 0;
		default:
			gc_help(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		log_error("gc: unexpected argument '%s'", argv[optind]);
		return 2;
	}
	repo = open_repo_or_fail(REPO_LOCK_EXCLUSIVE);
	if (!repo)
		return 1;
	r = st_repo_gc(repo, flags, &stats);
	if (r < 0)
		return log_error_errno(r, "gc failed"), 1;
	print_gc_stats(&stats, flags & ST_GC_DRY_RUN);
	return 0;
}

static void prune_help(FILE *f)
{
	fprintf(f,
		"usage: sealtree prune --keep=N [--dry-run] REF\n"
		"\n"
		"Keep the newest N commits of REF's history, drop the older ones that no\n"
		"other ref reaches, then run gc. 'sealtree log REF' stops at the oldest kept\n"
		"commit from then on.\n"
		"\n"
		"  --keep=N        commits to keep, N >= 1 (required)\n"
		"  -n, --dry-run   count what would be deleted, delete nothing\n"
		"  -h, --help      show this help\n");
}

int cmd_prune(int argc, char **argv)
{
	enum { OPT_KEEP = 0x100 };
	static const struct option options[] = {
		{ "keep", required_argument, NULL, OPT_KEEP },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	_cleanup_(repo_freep) struct st_repo *repo = NULL;
	struct st_prune_stats stats = {};
	uint64_t keep = 0;
	bool have_keep = false;
	unsigned flags = 0;
	int c, r;

	while ((c = getopt_long(argc, argv, "nh", options, NULL)) >= 0) {
		switch (c) {
		case OPT_KEEP:
			if (safe_atou64_max(optarg, UINT64_MAX, &keep) < 0 || keep < 1) {
				log_error("prune: --keep needs a number of commits, at least 1, not '%s'", optarg);
				return 2;
			}
			have_keep = true;
			break;
		case 'n':
			flags |= ST_GC_DRY_RUN;
			break;
		case 'h':
			prune_help(stdout);
			return 0;
		default:
			prune_help(stderr);
			return 2;
		}
	}
	if (!have_keep) {
		log_error("prune: --keep=N is required");
		return 2;
	}
	if (argc - optind != 1) {
		log_error("prune: expected one REF");
		return 2;
	}
	repo = open_repo_or_fail(REPO_LOCK_EXCLUSIVE);
	if (!repo)
		return 1;
	r = st_repo_prune(repo, argv[optind], keep, flags, &stats);
	if (r < 0)
		return log_error_errno(r, "cannot prune '%s'", argv[optind]), 1;
	printf("%s: %" PRIu64 " commits kept, %" PRIu64 " %s, %" PRIu64 " older ones still reached from other refs\n",
	       argv[optind], stats.commits_kept, stats.commits_dropped,
	       flags & ST_GC_DRY_RUN ? "to drop" : "dropped", stats.commits_shared);
	print_gc_stats(&stats.gc, flags & ST_GC_DRY_RUN);
	return 0;
}
