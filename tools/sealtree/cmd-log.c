/* SPDX-License-Identifier: MIT */
/* Placeholder: log show (not implemented yet; the owner replaces this file). */
#include "sealtree.h"

int cmd_log(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return log_error("log: not implemented yet"), 1;
}

int cmd_show(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return log_error("show: not implemented yet"), 1;
}
