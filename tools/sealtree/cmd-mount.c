/* SPDX-License-Identifier: MIT */
/* Placeholder: mount umount (not implemented yet; the owner replaces this file). */
#include "sealtree.h"

int cmd_mount(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return log_error("mount: not implemented yet"), 1;
}

int cmd_umount(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return log_error("umount: not implemented yet"), 1;
}
