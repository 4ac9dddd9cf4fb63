/* SPDX-License-Identifier: MIT */
/*
 * Test helper: parse a dumpfile (a path, or "-" for stdin) and print the tree
 * back as a dump on stdout. Options: --strict (ST_DUMP_PARSE_STRICT),
 * --quiet (parse only, print nothing). On failure prints the error on stderr
 * and exits 1, so the shell tests can check both outcomes and messages.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "basic/error.h"
#include "sealtree/dump.h"

int main(int argc, char **argv)
{
	unsigned flags = 0;
	bool quiet = false;
	const char *path = NULL;
	struct st_node *root = NULL;
	int fd, r;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--strict") == 0)
			flags |= ST_DUMP_PARSE_STRICT;
		else if (strcmp(argv[i], "--quiet") == 0)
			quiet = true;
		else
			path = argv[i];
	}
	if (!path) {
		fprintf(stderr, "usage: %s [--strict] [--quiet] DUMPFILE|-\n", argv[0]);
		return 2;
	}
	fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	r = st_dump_parse_fd(fd, flags, &root);
	if (fd != STDIN_FILENO)
		close(fd);
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", path, st_error_message(r));
		return 1;
	}
	if (!quiet)
		r = st_dump_print(stdout, root);
	st_node_free(root);
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", path, st_error_message(r));
		return 1;
	}
	return 0;
}
