/* SPDX-License-Identifier: MIT */
/* Placeholder: checkout (not implemented yet; the owner replaces this file). */
#include "sealtree.h"

int cmd_checkout(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return log_error("checkout: not implemented yet"), 1;
}
