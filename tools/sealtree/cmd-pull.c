/* SPDX-License-Identifier: MIT */
/* sealtree pull NAME [REF...] [--jobs N] [--dry-run]: see docs/man/sealtree-pull.1.md. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sealtree.h"
#include "sealtree/remote.h"
#include "sealtree/hex.h"

static void pull_help(FILE *f)
{
	fprintf(f,
		"usage: sealtree pull NAME [REF...] [--jobs N] [--depth N] [--commit-only] [--dry-run]\n"
		"                     [--no-packs] [--stall-timeout SECONDS] [--allow-downgrade]\n"
		"\n"
		"Fetch refs of remote NAME (all of its summary without REF) into\n"
		"refs/remotes/NAME/REF: the summary and commits checked under the remote's\n"
		"trust store first, then only the objects the repository lacks, each\n"
		"verified before it is kept. An interrupted pull resumes where it stopped.\n"
		"\n"
		"  -j, --jobs N    requests in flight (default 32)\n"
		"  -n, --dry-run   print what would be fetched and its size, fetch no object\n"
		"  --no-packs      fetch loose objects only, even where the remote offers packs\n"
		"  --depth N       also fetch N parent commits of each ref, with their images and\n"
		"                  objects (-1: the whole history; default 0)\n"
		"  --commit-only   fetch commits, signatures and images only: no object, no ref moves\n"
		"  --stall-timeout SECONDS\n"
		"                  abandon (and retry) a transfer below 1 byte/s for this long (default 30)\n"
		"  --allow-downgrade\n"
		"                  let a remote ref move to an older commit (refused by default)\n"
		"  -h, --help      show this help\n");
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct progress_state {
	double start, last;
	bool drawn;
};

/* "1:02:03", "2:03" or "3s": the time left at this rate. */
static void format_eta(double secs, char *buf, size_t size)
{
	unsigned long s = secs > 359999 ? 359999 : (unsigned long)(secs + 0.5);

	if (s >= 3600)
		(void)snprintf(buf, size, "%lu:%02lu:%02lu", s / 3600, s / 60 % 60, s % 60);
	else if (s >= 60)
		(void)snprintf(buf, size, "%lu:%02lu", s / 60, s % 60);
	else
		(void)snprintf(buf, size, "%lus", s);
}

/* One line on the terminal, redrawn at most 5 times a second: objects, bytes, rate, time left. */
static void progress_cb(void *userdata, const struct st_pull_progress *p)
{
	struct progress_state *s = userdata;
	double now = now_s(), rate, elapsed;
	char eta[32] = "-";

	if (now - s->last < 0.2 && p->objects_done != p->objects_total)
		return;
	s->last = now;
	s->drawn = true;
	elapsed = now - s->start;
	rate = elapsed > 0.05 ? (double)p->bytes_done / elapsed : 0;
	if (p->bytes_done >= p->bytes_total)
		(void)snprintf(eta, sizeof(eta), "0s");
	else if (rate > 0)
		format_eta((double)(p->bytes_total - p->bytes_done) / rate, eta, sizeof(eta));
	fprintf(stderr, "\r\033[Kpull: %" PRIu64 "/%" PRIu64 " objects, %.1f/%.1f MiB, %.1f MiB/s, ETA %s", p->objects_done,
		p->objects_total, (double)p->bytes_done / 1048576.0, (double)p->bytes_total / 1048576.0, rate / 1048576.0,
		eta);
	fflush(stderr);
}

static void warning_cb(void *userdata, const char *message)
{
	struct progress_state *s = userdata;

	if (s->drawn)
		fputc('\n', stderr);
	s->drawn = false;
	(void)log_error("pull: warning: %s", message);
}

int cmd_pull(int argc, char **argv)
{
	enum { OPT_STALL_TIMEOUT = 0x100, OPT_NO_PACKS, OPT_DEPTH, OPT_COMMIT_ONLY, OPT_ALLOW_DOWNGRADE };
	static const struct option options[] = {
		{ "depth", required_argument, NULL, OPT_DEPTH },
		{ "commit-only", no_argument, NULL, OPT_COMMIT_ONLY },
		{ "jobs", required_argument, NULL, 'j' },
		{ "stall-timeout", required_argument, NULL, OPT_STALL_TIMEOUT },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "no-packs", no_argument, NULL, OPT_NO_PACKS },
		{ "allow-downgrade", no_argument, NULL, OPT_ALLOW_DOWNGRADE },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct st_pull_options opts = {};
	struct progress_state ps = {};
	struct st_repo *repo;
	uint32_t jobs, secs, depth;
	int c, r;

	while ((c = getopt_long(argc, argv, "j:nh", options, NULL)) >= 0) {
		switch (c) {
		case 'j':
			if (parse_option_u32("pull", "--jobs", optarg, 1, 1024, NULL, &jobs) < 0)
				return 2;
			opts.jobs = jobs;
			break;
		case OPT_STALL_TIMEOUT:
			if (parse_option_u32("pull", "--stall-timeout", optarg, 1, 3600, "seconds", &secs) < 0)
				return 2;
			opts.stall_timeout = secs;
			break;
		case 'n':
			opts.flags |= ST_PULL_DRY_RUN;
			break;
		case OPT_NO_PACKS:
			opts.flags |= ST_PULL_NO_PACKS;
			break;
		case OPT_ALLOW_DOWNGRADE:
			opts.flags |= ST_PULL_ALLOW_DOWNGRADE;
			break;
		case OPT_DEPTH:
			if (strcmp(optarg, "-1") == 0)
				opts.depth = -1;
			else if (safe_atou32(optarg, &depth) < 0 || depth > INT32_MAX) {
				log_error("pull: --depth takes a number of parents, or -1 for all");
				return 2;
			} else
				opts.depth = (int)depth;
			break;
		case OPT_COMMIT_ONLY:
			opts.flags |= ST_PULL_COMMIT_ONLY;
			break;
		case 'h':
			pull_help(stdout);
			return 0;
		default:
			pull_help(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		log_error("pull: expected a remote NAME");
		return 2;
	}
	opts.refs = (const char *const *)argv + optind + 1;
	opts.n_refs = (size_t)(argc - optind - 1);
	if (show_progress()) {
		ps.start = now_s();
		opts.progress = progress_cb;
	}
	opts.progress_userdata = &ps;
	opts.warning = warning_cb;
	repo = open_repo_or_fail(REPO_LOCK_SHARED);
	if (!repo)
		return 1;
	r = st_remote_pull(repo, argv[optind], &opts);
	st_repo_free(repo);
	if (opts.progress && ps.drawn)
		fputc('\n', stderr);
	if (r < 0)
		return log_error_errno(r, "pull from '%s' failed", argv[optind]), 1;
	for (size_t i = 0; i < opts.n_results; i++) {
		const struct st_pull_ref_result *res = &opts.results[i];
		char hex[2 * ST_COMMIT_ID_SIZE + 1];

		st_hex_encode(res->commit, ST_COMMIT_ID_SIZE, hex);
		if (res->up_to_date && res->parents == 0)
			printf("%s: %s up to date", res->name, hex);
		else if (opts.flags & ST_PULL_DRY_RUN)
			printf("%s: %s would fetch %" PRIu64 " objects, %" PRIu64 " bytes", res->name, hex,
			       res->objects_missing, res->bytes_missing);
		else if (opts.flags & ST_PULL_COMMIT_ONLY)
			printf("%s: %s commit stored, %" PRIu64 " objects, %" PRIu64 " bytes not fetched", res->name, hex,
			       res->objects_missing, res->bytes_missing);
		else
			printf("%s: %s fetched %" PRIu64 " objects, %" PRIu64 " bytes", res->name, hex,
			       res->objects_missing, res->bytes_missing);
		if (res->parents)
			printf(" (with %" PRIu32 " parent commit%s)", res->parents, res->parents == 1 ? "" : "s");
		putchar('\n');
	}
	if (!(opts.flags & ST_PULL_DRY_RUN)) {
		printf("pull: %" PRIu64 " objects (%" PRIu64 " from packs, %" PRIu64 " bytes of pack ranges), %" PRIu64
		       " bytes, %" PRIu64 " requests", opts.objects_fetched, opts.objects_from_packs, opts.pack_bytes,
		       opts.bytes_fetched, opts.requests);
		if (opts.failovers)
			printf(", %" PRIu64 " handed to the next mirror", opts.failovers);
		putchar('\n');
	}
	free(opts.results);
	return 0;
}
