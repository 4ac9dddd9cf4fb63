/* SPDX-License-Identifier: MIT */
/* Placeholder: init (not implemented yet; the owner replaces this file). */
#include "sealtree.h"

int cmd_init(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return log_error("init: not implemented yet"), 1;
}
