/* SPDX-License-Identifier: MIT */
/* Placeholder: export (not implemented yet; the owner replaces this file). */
#include "sealtree.h"

int cmd_export(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return log_error("export: not implemented yet"), 1;
}
