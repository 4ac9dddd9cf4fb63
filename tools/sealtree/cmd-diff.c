/* SPDX-License-Identifier: MIT */
/* sealtree diff A B [--stat]: see docs/man/sealtree-diff.1.md. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "read-output.h"
#include "sealtree.h"

struct stat_totals {
	uint64_t n[5];                  /* A D M P T, see slot() */
	uint64_t added_bytes, removed_bytes, old_bytes, new_bytes;
};

static int slot(enum st_diff_status s)
{
	switch (s) {
	case ST_DIFF_ADDED: return 0;
	case ST_DIFF_REMOVED: return 1;
	case ST_DIFF_MODIFIED: return 2;
	case ST_DIFF_METADATA: return 3;
	default: return 4;
	}
}

static uint64_t file_size(const struct st_node *n)
{
	struct st_entry e;

	if (!n)
		return 0;
	st_node_get_entry(n, &e);
	return S_ISREG(e.mode) ? e.size : 0;
}

static unsigned entry_mode(const struct st_node *n)
{
	struct st_entry e;

	st_node_get_entry(n, &e);
	return e.mode;
}

static int count(void *userdata, const struct st_diff_entry *d)
{
	struct stat_totals *t = userdata;

	t->n[slot(d->status)]++;
	if (d->status == ST_DIFF_ADDED)
		t->added_bytes += file_size(d->new_node);
	else if (d->status == ST_DIFF_REMOVED)
		t->removed_bytes += file_size(d->old_node);
	else if (d->status == ST_DIFF_MODIFIED) {
		t->old_bytes += file_size(d->old_node);
		t->new_bytes += file_size(d->new_node);
	}
	return 0;
}

/* STATUS DETAIL PATH, DETAIL being the type (A, D), old->new type (T) or what changed (M, P). */
static int print_line(void *userdata, const struct st_diff_entry *d)
{
	static const struct { unsigned bit; const char *name; } names[] = {
		{ ST_DIFF_CONTENT, "content" }, { ST_DIFF_MODE, "mode" },     { ST_DIFF_OWNER, "owner" },
		{ ST_DIFF_MTIME, "mtime" },     { ST_DIFF_XATTRS, "xattrs" }, { ST_DIFF_TARGET, "target" },
		{ ST_DIFF_RDEV, "rdev" },
	};
	bool first = true;

	(void)userdata;
	printf("%c ", (char)d->status);
	switch (d->status) {
	case ST_DIFF_ADDED:
		fputs(type_name(entry_mode(d->new_node)), stdout);
		break;
	case ST_DIFF_REMOVED:
		fputs(type_name(entry_mode(d->old_node)), stdout);
		break;
	case ST_DIFF_TYPE:
		printf("%s->%s", type_name(entry_mode(d->old_node)), type_name(entry_mode(d->new_node)));
		break;
	default:
		for (size_t i = 0; i < ELEMENTSOF(names); i++)
			if (d->changes & names[i].bit) {
				printf("%s%s", first ? "" : ",", names[i].name);
				first = false;
			}
	}
	putchar(' ');
	print_escaped(stdout, d->path);
	putchar('\n');
	return ferror(stdout) ? -EIO : 0;
}

static void help(FILE *f)
{
	fprintf(f,
		"usage: sealtree diff [--stat] [--ignore-mtime] [--no-recurse] A B\n"
		"\n"
		"Compare the trees of two commits. One line per path, sorted (depth first,\n"
		"names in byte order): STATUS DETAIL PATH, where STATUS is\n"
		"  A added    (DETAIL: its type)\n"
		"  D deleted  (DETAIL: its type)\n"
		"  M content modified (DETAIL: what changed, e.g. content,mtime)\n"
		"  P properties only: mode, owner, mtime, xattrs, target, rdev\n"
		"  T type changed (DETAIL: old->new, e.g. file->dir)\n"
		"\n"
		"      --stat          counts and byte totals instead of the list\n"
		"      --ignore-mtime  do not report mtime-only changes\n"
		"      --no-recurse    an added or deleted directory is one line\n"
		"      --help          show this help\n"
		"Exit status: 0 whether or not the trees differ, 1 on errors.\n");
}

int cmd_diff(int argc, char **argv)
{
	enum { OPT_STAT = 0x100, OPT_IGNORE_MTIME, OPT_NO_RECURSE, OPT_HELP };
	static const struct option options[] = {
		{ "stat", no_argument, NULL, OPT_STAT },
		{ "ignore-mtime", no_argument, NULL, OPT_IGNORE_MTIME },
		{ "no-recurse", no_argument, NULL, OPT_NO_RECURSE },
		{ "help", no_argument, NULL, OPT_HELP },
		{}
	};
	_cleanup_(repo_freep) struct st_repo *repo = NULL;
	_cleanup_(node_freep) struct st_node *a = NULL;
	_cleanup_(node_freep) struct st_node *b = NULL;
	struct stat_totals t = {};
	bool stat = false;
	unsigned flags = 0;
	int c, r;

	while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
		switch (c) {
		case OPT_STAT: stat = true; break;
		case OPT_IGNORE_MTIME: flags |= ST_DIFF_IGNORE_MTIME; break;
		case OPT_NO_RECURSE: flags |= ST_DIFF_NO_RECURSE; break;
		case OPT_HELP: help(stdout); return 0;
		default: help(stderr); return 2;
		}
	if (argc - optind != 2) {
		help(stderr);
		return 2;
	}
	repo = open_repo_or_fail(REPO_LOCK_SHARED);
	if (!repo)
		return 1;
	for (int i = 0; i < 2; i++) {
		r = st_repo_read_tree(repo, argv[optind + i], NULL, i == 0 ? &a : &b);
		if (r < 0)
			return log_error_errno(r, "cannot read the tree of '%s'", argv[optind + i]), 1;
	}
	r = st_tree_diff(a, b, flags, stat ? count : print_line, &t);
	if (r < 0)
		return log_error_errno(r, "diff"), 1;
	if (stat) {
		printf("added:            %" PRIu64 " paths, %" PRIu64 " bytes\n", t.n[0], t.added_bytes);
		printf("deleted:          %" PRIu64 " paths, %" PRIu64 " bytes\n", t.n[1], t.removed_bytes);
		printf("content modified: %" PRIu64 " paths, %" PRIu64 " -> %" PRIu64 " bytes\n", t.n[2], t.old_bytes,
		       t.new_bytes);
		printf("properties only:  %" PRIu64 " paths\n", t.n[3]);
		printf("type changed:     %" PRIu64 " paths\n", t.n[4]);
	}
	if (fflush(stdout) != 0 || ferror(stdout))
		return log_error("error writing to standard output"), 1;
	return 0;
}
