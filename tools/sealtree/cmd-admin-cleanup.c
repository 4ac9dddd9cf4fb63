/* SPDX-License-Identifier: MIT */
/* sealtree admin cleanup [--no-gc]: see docs/man/sealtree-admin-cleanup.1.md. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "sealtree/error.h"
#include "sealtree/repo-maint.h"

int admin_cleanup(int argc, char **argv)
{
	static const struct option options[] = {
		{ "no-gc", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	_cleanup_(sysroot_freep) struct st_sysroot *s = NULL;
	struct st_cleanup_stats stats = {};
	struct st_gc_stats gc = {};
	bool no_gc = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (c) {
		case 'n':
			no_gc = true;
			break;
		case 'h':
			printf("usage: sealtree admin [--sysroot PATH] cleanup [--no-gc]\n\n"
			       "Keep the booted deployment, the default, one rollback and the pinned ones;\n"
			       "remove the others' entries (one atomic switch), directories, pins and unused\n"
			       "boot files, then run the repository's gc (unless --no-gc).\n");
			return 0;
		default:
			return 2;
		}
	}
	if (optind != argc) {
		log_error("admin cleanup: takes no arguments");
		return 2;
	}
	s = admin_open("cleanup", true);
	if (!s)
		return 1;
	r = st_sysroot_cleanup(s, &stats);
	if (r < 0) {
		log_error_errno(r, "admin cleanup");
		return 1;
	}
	printf("deployments removed: %" PRIu64 "\nboot file directories removed: %" PRIu64
	       "\npins removed: %" PRIu64 "\n", stats.deployments_removed, stats.boot_dirs_removed, stats.pins_removed);
	if (no_gc)
		return 0;
	r = st_repo_lock_exclusive(st_sysroot_repo(s), true);
	if (r >= 0)
		r = st_repo_gc(st_sysroot_repo(s), 0, &gc);
	if (r < 0) {
		log_error_errno(r, "admin cleanup: repository gc");
		return 1;
	}
	printf("gc: %" PRIu64 " commits, %" PRIu64 " images, %" PRIu64 " objects removed\n", gc.commits_removed,
	       gc.images_removed, gc.objects_removed);
	return 0;
}

int admin_boot_complete(int argc, char **argv)
{
	_cleanup_(sysroot_freep) struct st_sysroot *s = NULL;
	int r;

	r = admin_plain_args("boot-complete", argc, argv,
			     "usage: sealtree admin [--sysroot PATH] boot-complete\n\n"
			     "Boot counting: the booted deployment came up, drop its entry's +TRIES counter so\n"
			     "the loader no longer counts its boots (run by sealtree-boot-complete.service).\n", 0, 0);
	if (r <= 0)
		return r < 0 ? 2 : 0;
	s = admin_open("boot-complete", true);
	if (!s)
		return 1;
	r = st_sysroot_boot_complete(s);
	if (r < 0) {
		log_error_errno(r, "admin boot-complete");
		return 1;
	}
	printf("%s\n", r > 0 ? "the booted deployment is marked good" : "the booted deployment is not counted");
	return 0;
}

int admin_finalize_staged(int argc, char **argv)
{
	_cleanup_(sysroot_freep) struct st_sysroot *s = NULL;
	struct st_deploy_options res = {};
	int r;

	r = admin_plain_args("finalize-staged", argc, argv,
			     "usage: sealtree admin [--sysroot PATH] finalize-staged\n\n"
			     "Merge the staged deployment's /etc again from the current one (changes made after\n"
			     "staging are kept) and switch the entries to it. Run at shutdown by\n"
			     "sealtree-finalize-staged.service. A failure is shown by the next 'admin status'.\n",
			     0, 0);
	if (r <= 0)
		return r < 0 ? 2 : 0;
	s = admin_open("finalize-staged", true);
	if (!s)
		return 1;
	r = st_sysroot_finalize_staged(s, &res);
	if (r < 0) {
		log_error_errno(r, "admin finalize-staged");
		return 1;
	}
	if (r == 0) {
		printf("no staged deployment\n");
		return 0;
	}
	printf("finalized %s/%s\n", res.os_used, res.id);
	if (res.merged_from)
		printf("/etc: merged again from %s, %zu conflict%s\n", res.merged_from, res.n_conflicts,
		       res.n_conflicts == 1 ? "" : "s");
	admin_print_conflicts(&res);
	st_deploy_options_release(&res);
	return 0;
}
