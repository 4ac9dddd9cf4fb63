/* SPDX-License-Identifier: MIT */
/* Placeholder: fsck (not implemented yet; the owner replaces this file). */
#include "sealtree.h"

int cmd_fsck(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return log_error("fsck: not implemented yet"), 1;
}
