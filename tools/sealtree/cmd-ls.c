/* SPDX-License-Identifier: MIT */
/*
 * sealtree ls REF [PATH], cat REF PATH, dump REF: look inside a commit.
 * See docs/man/sealtree-ls.1.md, sealtree-cat.1.md, sealtree-dump.1.md.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "read-output.h"
#include "sealtree.h"
#include "sealtree/dump.h"

/* One ls line: MODE NLINK UID GID SIZE|MAJ,MIN MTIME NAME [-> TARGET] */
static int print_entry(const struct st_node *node, const char *name)
{
	struct st_entry e;
	struct tm tm;
	time_t t;
	char mode[11], when[32];

	st_node_get_entry(node, &e);
	format_mode(e.mode, mode);
	t = (time_t)e.mtime_sec;
	if (!gmtime_r(&t, &tm) || strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		(void)snprintf(when, sizeof(when), "@%" PRId64, e.mtime_sec);
	printf("%s %" PRIu32 " %" PRIu32 " %" PRIu32 " ", mode, e.nlink, e.uid, e.gid);
	if (S_ISCHR(e.mode) || S_ISBLK(e.mode))
		printf("%u,%u", major((dev_t)e.rdev), minor((dev_t)e.rdev));
	else
		printf("%" PRIu64, e.size);
	printf(" %s.%09" PRIu32 "Z ", when, e.mtime_nsec);
	print_escaped(stdout, name);
	if (e.symlink_target) {
		fputs(" -> ", stdout);
		print_escaped(stdout, e.symlink_target);
	}
	putchar('\n');
	return 0;
}

/* -R: every entry below dir, as full paths, parents before children. */
static int list_recursive(const struct st_node *dir)
{
	struct st_node *child;
	int r;

	for (size_t i = 0; (child = st_node_get_child(dir, i)); i++) {
		_cleanup_free_ char *path = NULL;
		struct st_entry e;

		r = st_node_path(child, &path);
		if (r < 0)
			return r;
		print_entry(child, path);
		st_node_get_entry(child, &e);
		if (S_ISDIR(e.mode) && !e.is_hardlink) {
			r = list_recursive(child);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static void ls_help(FILE *f)
{
	fprintf(f,
		"usage: sealtree ls [-R] [-d] REF [PATH]\n"
		"\n"
		"List a directory of a commit (default /), one entry per line:\n"
		"MODE NLINK UID GID SIZE MTIME NAME [-> TARGET]; devices show MAJOR,MINOR\n"
		"as SIZE, MTIME is UTC with nanoseconds. A file PATH lists that file.\n"
		"\n"
		"  -R, --recursive  everything below PATH, as full paths\n"
		"  -d, --directory  the entry PATH itself, not its contents\n"
		"      --help       show this help\n");
}

int cmd_ls(int argc, char **argv)
{
	static const struct option options[] = {
		{ "recursive", no_argument, NULL, 'R' },
		{ "directory", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	_cleanup_(repo_freep) struct st_repo *repo = NULL;
	_cleanup_(node_freep) struct st_node *root = NULL;
	struct st_node *node = NULL, *child;
	_cleanup_free_ char *path = NULL;
	bool recursive = false, directory = false;
	struct st_entry e;
	int c, r;

	while ((c = getopt_long(argc, argv, "Rd", options, NULL)) >= 0)
		switch (c) {
		case 'R': recursive = true; break;
		case 'd': directory = true; break;
		case 'h': ls_help(stdout); return 0;
		default: ls_help(stderr); return 2;
		}
	if (argc - optind < 1 || argc - optind > 2) {
		ls_help(stderr);
		return 2;
	}
	repo = open_tree_or_fail(argv[optind], &root);
	if (!repo)
		return 1;
	const char *arg = optind + 1 < argc ? argv[optind + 1] : "/";
	r = st_tree_lookup(root, arg, &node);
	if (r < 0)
		return log_error_errno(r, "in '%s'", argv[optind]), 1;
	st_node_get_entry(node, &e);
	if (directory || !S_ISDIR(e.mode) || e.is_hardlink) {
		r = st_node_path(node, &path);
		if (r < 0)
			return log_error_errno(r, "ls"), 1;
		print_entry(node, path);
	} else if (recursive) {
		r = list_recursive(node);
		if (r < 0)
			return log_error_errno(r, "ls"), 1;
	} else
		for (size_t i = 0; (child = st_node_get_child(node, i)); i++) {
			st_node_get_entry(child, &e);
			print_entry(child, e.name);
		}
	if (fflush(stdout) != 0 || ferror(stdout))
		return log_error("error writing to standard output"), 1;
	return 0;
}

static void cat_help(FILE *f)
{
	fprintf(f,
		"usage: sealtree cat REF PATH...\n"
		"\n"
		"Write the contents of regular files of a commit to standard output,\n"
		"one after the other. Object contents are checked against their fs-verity\n"
		"digest as they are copied; a mismatch fails (after the bytes were written).\n"
		"\n"
		"  --help  show this help\n");
}

int cmd_cat(int argc, char **argv)
{
	static const struct option options[] = { { "help", no_argument, NULL, 'h' }, {} };
	_cleanup_(repo_freep) struct st_repo *repo = NULL;
	_cleanup_(node_freep) struct st_node *root = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
		switch (c) {
		case 'h': cat_help(stdout); return 0;
		default: cat_help(stderr); return 2;
		}
	if (argc - optind < 2) {
		cat_help(stderr);
		return 2;
	}
	repo = open_tree_or_fail(argv[optind], &root);
	if (!repo)
		return 1;
	/* The commit is read once for all the paths; the first failure ends the output. */
	for (int i = optind + 1; i < argc; i++) {
		const char *path = argv[i];
		struct st_node *node = NULL;
		struct st_entry e;

		r = st_tree_lookup(root, path, &node);
		if (r < 0)
			return log_error_errno(r, "in '%s'", argv[optind]), 1;
		st_node_get_entry(node, &e);
		if (S_ISDIR(e.mode))
			return log_error("'%s' is a directory", path), 1;
		if (S_ISLNK(e.mode))
			return log_error("'%s' is a symlink (to '%s'), not a regular file", path, e.symlink_target), 1;
		if (!S_ISREG(e.mode))
			return log_error("'%s' is a %s, not a regular file", path, type_name(e.mode)), 1;
		r = st_repo_write_file_contents(repo, node, STDOUT_FILENO);
		if (r < 0)
			return log_error_errno(r, "cannot read '%s'", path), 1;
	}
	return 0;
}

static void dump_help(FILE *f)
{
	fprintf(f,
		"usage: sealtree dump REF\n"
		"\n"
		"Print the commit's tree as a composefs dumpfile (composefs-dump(5)),\n"
		"the input 'sealtree commit --dumpfile' and 'mkcomposefs --from-file' take.\n"
		"\n"
		"  --help  show this help\n");
}

int cmd_dump(int argc, char **argv)
{
	static const struct option options[] = { { "help", no_argument, NULL, 'h' }, {} };
	_cleanup_(repo_freep) struct st_repo *repo = NULL;
	_cleanup_(node_freep) struct st_node *root = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
		switch (c) {
		case 'h': dump_help(stdout); return 0;
		default: dump_help(stderr); return 2;
		}
	if (argc - optind != 1) {
		dump_help(stderr);
		return 2;
	}
	repo = open_tree_or_fail(argv[optind], &root);
	if (!repo)
		return 1;
	r = st_dump_print(stdout, root);
	if (r < 0)
		return log_error_errno(r, "cannot print the dumpfile"), 1;
	return 0;
}
