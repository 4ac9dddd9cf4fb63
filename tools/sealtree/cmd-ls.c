/* SPDX-License-Identifier: MIT */
/* Placeholder: ls cat dump (not implemented yet; the owner replaces this file). */
#include "sealtree.h"

int cmd_ls(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return log_error("ls: not implemented yet"), 1;
}

int cmd_cat(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return log_error("cat: not implemented yet"), 1;
}

int cmd_dump(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return log_error("dump: not implemented yet"), 1;
}
