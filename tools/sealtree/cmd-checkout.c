/* SPDX-License-Identifier: MIT */
/* sealtree checkout REF DIR: see docs/man/sealtree-checkout.1.md. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "read-output.h"
#include "sealtree.h"

static void help(FILE *f)
{
	fprintf(f,
		"usage: sealtree checkout [--no-reflink] [--no-verify] [-v] REF DIR\n"
		"\n"
		"Write the commit's tree into DIR, which must not exist or be empty: files\n"
		"cloned from the repository (reflink) or copied, hardlinks, symlinks, fifos,\n"
		"devices (as root); owners, modes, xattrs and mtimes. Without root, owners,\n"
		"devices and xattrs outside user.* are not restored and counted on stderr.\n"
		"Every object is checked against the fs-verity digest the tree names; a\n"
		"corrupt object fails the checkout. The tree is built under a temporary name\n"
		"beside DIR and renamed into place; on failure nothing is left.\n"
		"\n"
		"      --no-reflink  copy file contents even where they could be cloned\n"
		"      --no-verify   do not check objects (unsafe on a repository without\n"
		"                    fs-verity: a corrupt object is copied silently)\n"
		"  -v, --verbose     print what was written\n"
		"      --help        show this help\n");
}

int cmd_checkout(int argc, char **argv)
{
	enum { OPT_NO_REFLINK = 0x100, OPT_NO_VERIFY, OPT_HELP };
	static const struct option options[] = {
		{ "no-reflink", no_argument, NULL, OPT_NO_REFLINK },
		{ "no-verify", no_argument, NULL, OPT_NO_VERIFY },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, OPT_HELP },
		{}
	};
	_cleanup_(repo_freep) struct st_repo *repo = NULL;
	_cleanup_(node_freep) struct st_node *root = NULL;
	struct st_checkout_options o = { .flags = ST_CHECKOUT_ALLOW_EMPTY };
	bool verbose = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "v", options, NULL)) >= 0)
		switch (c) {
		case OPT_NO_REFLINK: o.flags |= ST_CHECKOUT_NO_REFLINK; break;
		case OPT_NO_VERIFY: o.flags |= ST_CHECKOUT_NO_VERIFY; break;
		case 'v': verbose = true; break;
		case OPT_HELP: help(stdout); return 0;
		default: help(stderr); return 2;
		}
	if (argc - optind != 2) {
		help(stderr);
		return 2;
	}
	repo = open_tree_or_fail(argv[optind], &root);
	if (!repo)
		return 1;
	/* The checkout holds one fd per directory level it is in (up to 2048). */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	r = st_repo_checkout(repo, root, argv[optind + 1], &o);
	if (r < 0)
		return log_error_errno(r, "checkout of '%s' into '%s' failed", argv[optind], argv[optind + 1]), 1;
	if (verbose)
		printf("%" PRIu64 " files (%" PRIu64 " bytes, %" PRIu64 " cloned), %" PRIu64 " directories, %" PRIu64
		       " symlinks, %" PRIu64 " hardlinks, %" PRIu64 " special files\n",
		       o.files, o.bytes, o.reflinked, o.dirs, o.symlinks, o.hardlinks, o.specials);
	if (o.xattrs_skipped || o.owners_skipped || o.devices_skipped)
		fprintf(stderr, "%s: %" PRIu64 " xattrs, %" PRIu64 " owners, %" PRIu64 " device nodes not restored: %s\n",
			program_name, o.xattrs_skipped, o.owners_skipped, o.devices_skipped,
			geteuid() == 0 ? "not allowed" : "not root");
	return 0;
}
