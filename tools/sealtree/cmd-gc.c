/* SPDX-License-Identifier: MIT */
/* Placeholder: gc prune (not implemented yet; the owner replaces this file). */
#include "sealtree.h"

int cmd_gc(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return log_error("gc: not implemented yet"), 1;
}

int cmd_prune(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return log_error("prune: not implemented yet"), 1;
}
