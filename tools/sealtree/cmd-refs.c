/* SPDX-License-Identifier: MIT */
/* Placeholder: refs ref (not implemented yet; the owner replaces this file). */
#include "sealtree.h"

int cmd_refs(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return log_error("refs: not implemented yet"), 1;
}

int cmd_ref(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return log_error("ref: not implemented yet"), 1;
}
