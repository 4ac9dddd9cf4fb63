/* SPDX-License-Identifier: MIT */
/* Placeholder: diff (not implemented yet; the owner replaces this file). */
#include "sealtree.h"

int cmd_diff(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return log_error("diff: not implemented yet"), 1;
}
