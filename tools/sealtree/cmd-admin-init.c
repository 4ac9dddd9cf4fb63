/* SPDX-License-Identifier: MIT */
/* sealtree admin init-fs PATH and os-init OS: see docs/man/sealtree-admin.1.md. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "sealtree/error.h"

int admin_init_fs(int argc, char **argv)
{
	static const struct option options[] = {
		{ "verity", required_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	enum st_repo_verity_mode mode = ST_REPO_VERITY_AUTO;
	int c, r;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (c) {
		case 'v':
			if (strcmp(optarg, "auto") == 0)
				mode = ST_REPO_VERITY_AUTO;
			else if (strcmp(optarg, "require") == 0)
				mode = ST_REPO_VERITY_REQUIRE;
			else if (strcmp(optarg, "off") == 0)
				mode = ST_REPO_VERITY_OFF;
			else {
				log_error("admin init-fs: --verity is auto, require or off, not '%s'", optarg);
				return 2;
			}
			break;
		case 'h':
			printf("usage: sealtree admin init-fs [--verity=auto|require|off] PATH\n"
			       "\n"
			       "Create PATH/sealtree/repo, PATH/sealtree/deploy, PATH/boot/loader/entries\n"
			       "and PATH/boot/sealtree.\n");
			return 0;
		default:
			return 2;
		}
	}
	if (optind + 1 != argc) {
		log_error("admin init-fs: expected one PATH");
		return 2;
	}
	r = st_sysroot_init_fs(argv[optind], mode);
	if (r < 0) {
		log_error_errno(r, "admin init-fs: cannot create sysroot '%s'", argv[optind]);
		return 1;
	}
	printf("initialized sysroot %s\n", argv[optind]);
	return 0;
}

int admin_os_init(int argc, char **argv)
{
	_cleanup_(sysroot_freep) struct st_sysroot *s = NULL;
	int r;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("usage: sealtree admin [--sysroot PATH] os-init OS\n\n"
		       "Create the stateroot SYSROOT/sealtree/deploy/OS and its shared var/.\n");
		return 0;
	}
	if (argc != 2) {
		log_error("admin os-init: expected one OS name");
		return 2;
	}
	if (!st_os_name_valid(argv[1])) {
		log_error("admin os-init: '%s' is not a valid OS name (1 to %d bytes of [A-Za-z0-9._+-], not "
			  "starting with '.' or '-')", argv[1], ST_OS_NAME_MAX);
		return 1;
	}
	s = admin_open("os-init", true);
	if (!s)
		return 1;
	r = st_sysroot_os_init(s, argv[1]);
	if (r < 0) {
		log_error_errno(r, "admin os-init");
		return 1;
	}
	printf("created stateroot %s\n", argv[1]);
	return 0;
}
