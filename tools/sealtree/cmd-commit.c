/* SPDX-License-Identifier: MIT */
/* Placeholder: commit (not implemented yet; the owner replaces this file). */
#include "sealtree.h"

int cmd_commit(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return log_error("commit: not implemented yet"), 1;
}
