/* SPDX-License-Identifier: MIT */
/* sealtree mount REF DIR, sealtree umount DIR: see docs/man/sealtree-mount.1.md. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "read-output.h"
#include "sealtree.h"

static void mount_help(FILE *f)
{
	fprintf(f,
		"usage: sealtree mount [--verity|--no-verity] REF DIR\n"
		"\n"
		"Mount the commit read-only on DIR with the kernel (EROFS + overlayfs, the\n"
		"repository's objects/ as data layer). The image's digest is checked against\n"
		"the commit before it is mounted. A ref refs/mounts/<DIR> keeps the commit\n"
		"from gc until 'sealtree umount DIR'. Needs root.\n"
		"\n"
		"      --verity     every object must carry the fs-verity digest the image\n"
		"                   names (default on a repository with fs-verity)\n"
		"      --no-verity  do not require it\n"
		"      --help       show this help\n");
}

int cmd_mount(int argc, char **argv)
{
	enum { OPT_VERITY = 0x100, OPT_NO_VERITY, OPT_HELP };
	static const struct option options[] = {
		{ "verity", no_argument, NULL, OPT_VERITY },
		{ "no-verity", no_argument, NULL, OPT_NO_VERITY },
		{ "help", no_argument, NULL, OPT_HELP },
		{}
	};
	_cleanup_(repo_freep) struct st_repo *repo = NULL;
	_cleanup_free_ char *target = NULL;
	uint8_t id[ST_COMMIT_ID_SIZE];
	unsigned flags = 0;
	int c, r;

	while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
		switch (c) {
		case OPT_VERITY: flags = ST_REPO_MOUNT_VERITY; break;
		case OPT_NO_VERITY: flags = ST_REPO_MOUNT_NO_VERITY; break;
		case OPT_HELP: mount_help(stdout); return 0;
		default: mount_help(stderr); return 2;
		}
	if (argc - optind != 2) {
		mount_help(stderr);
		return 2;
	}
	target = realpath(argv[optind + 1], NULL);
	if (!target)
		return log_error_errno(-errno, "mount point '%s'", argv[optind + 1]), 1;
	repo = open_repo_or_fail(REPO_LOCK_SHARED);
	if (!repo)
		return 1;
	r = st_repo_resolve(repo, argv[optind], id);
	if (r < 0)
		return log_error_errno(r, "cannot resolve '%s'", argv[optind]), 1;
	r = st_repo_mount(repo, id, target, flags);
	if (r < 0)
		return log_error_errno(r, "cannot mount '%s' on '%s'", argv[optind], target), 1;
	return 0;
}

static void umount_help(FILE *f)
{
	fprintf(f,
		"usage: sealtree umount [--lazy] DIR\n"
		"\n"
		"Unmount what 'sealtree mount' mounted on DIR and delete its pin ref. A DIR\n"
		"whose pin is gone is still unmounted; a stale pin of a DIR that is no\n"
		"longer mounted is deleted (and reported).\n"
		"\n"
		"      --lazy  detach now, clean up when no longer busy (MNT_DETACH)\n"
		"      --help  show this help\n");
}

int cmd_umount(int argc, char **argv)
{
	enum { OPT_LAZY = 0x100, OPT_HELP };
	static const struct option options[] = {
		{ "lazy", no_argument, NULL, OPT_LAZY },
		{ "help", no_argument, NULL, OPT_HELP },
		{}
	};
	_cleanup_(repo_freep) struct st_repo *repo = NULL;
	_cleanup_free_ char *target = NULL;
	bool lazy = false, removed = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
		switch (c) {
		case OPT_LAZY: lazy = true; break;
		case OPT_HELP: umount_help(stdout); return 0;
		default: umount_help(stderr); return 2;
		}
	if (argc - optind != 1) {
		umount_help(stderr);
		return 2;
	}
	/* A mount point whose directory was removed below it still has its absolute name. */
	target = realpath(argv[optind], NULL);
	if (!target && argv[optind][0] == '/')
		target = strdup(argv[optind]);
	if (!target)
		return log_error_errno(-errno, "mount point '%s'", argv[optind]), 1;
	repo = open_repo_or_fail(REPO_LOCK_SHARED);
	if (!repo)
		return 1;
	r = st_repo_umount(repo, target, lazy, &removed);
	if (r < 0)
		return log_error_errno(r, "umount"), 1;
	return 0;
}
