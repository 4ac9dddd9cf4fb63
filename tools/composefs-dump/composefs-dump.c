/* SPDX-License-Identifier: MIT */
/*
 * composefs-dump SRC DEST: read a composefs image and write it again, with
 * the same format version, to DEST ("-" = stdout). A re-serializer, not a
 * text dumper: for an image the reference wrote, DEST is byte-identical.
 *
 * DEST is replaced atomically: the image goes to a temporary file in DEST's
 * directory, which is synced and renamed over DEST only once complete, so a
 * failure never leaves a partial image under DEST's name.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "write-full.h"
#include "sealtree/image.h"
#include "tool-util.h"

#ifndef ST_VERSION_STRING
#define ST_VERSION_STRING "unknown"
#endif

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s SRC DEST\n"
		"\n"
		"Read the composefs image SRC and write it again, with the same format\n"
		"version, to DEST (\"-\" for standard output).\n"
		"\n"
		"  --help       show this help\n"
		"  --version    show the version\n",
		program_name);
}

/* st_image_write sink: userdata points at the output fd. */
static int write_to_fd(void *userdata, const void *buf, size_t len)
{
	return write_full(*(int *)userdata, buf, len);
}

static int write_image(struct st_node *root, uint32_t version, int fd)
{
	struct st_image_write_options opts = { .min_version = version, .max_version = version };

	return st_image_write(root, &opts, write_to_fd, &fd, NULL, NULL);
}

/* Write to a temporary file next to dest, then rename it into place. */
static int write_image_atomic(struct st_node *root, uint32_t version, const char *dest)
{
	_cleanup_free_ char *dir_copy = strdup(dest), *base_copy = strdup(dest), *tmp = NULL;
	_cleanup_close_ int fd = -EBADF;
	mode_t mask;
	int r;

	if (!dir_copy || !base_copy ||
	    asprintf(&tmp, "%s/.%s.tmpXXXXXX", dirname(dir_copy), basename(base_copy)) < 0)
		return log_error("out of memory"), -ENOMEM;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return log_error_errno(negative_errno(), "cannot create a temporary file for '%s'", dest);

	/* The permissions fopen() would give: 0666 minus the umask. */
	mask = umask(0);
	umask(mask);
	r = RET_NERRNO(fchmod(fd, 0666 & ~mask));
	if (r >= 0) {
		r = write_image(root, version, fd);
		if (r < 0)
			log_error_errno(r, "cannot write '%s'", dest);
	} else {
		log_error_errno(r, "cannot set the mode of '%s'", tmp);
	}
	if (r >= 0 && (r = RET_NERRNO(fsync(fd))) < 0)
		log_error_errno(r, "cannot sync '%s'", tmp);
	if (r >= 0 && (r = RET_NERRNO(rename(tmp, dest))) < 0)
		log_error_errno(r, "cannot rename '%s' to '%s'", tmp, dest);
	if (r < 0)
		(void)unlink(tmp);
	return r;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{},
	};
	_cleanup_close_ int fd = -EBADF;
	struct st_node *root = NULL;
	const char *src, *dest;
	uint32_t version;
	int c, r;

	program_name = "composefs-dump";
	while ((c = getopt_long(argc, argv, "+", options, NULL)) >= 0) {
		switch (c) {
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		case 'V':
			printf("composefs-dump (sealtree) %s\n", ST_VERSION_STRING);
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			return EXIT_FAILURE;
		}
	}
	if (argc - optind < 1) {
		log_error("no source path specified");
		usage(stderr);
		return EXIT_FAILURE;
	}
	if (argc - optind < 2) {
		log_error("no destination path specified");
		usage(stderr);
		return EXIT_FAILURE;
	}
	if (argc - optind > 2) {
		log_error("too many arguments");
		usage(stderr);
		return EXIT_FAILURE;
	}
	src = argv[optind];
	dest = argv[optind + 1];

	fd = open(src, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return log_error_errno(negative_errno(), "failed to open '%s'", src), EXIT_FAILURE;
	/* Breadth-first hardlink targets: the writer then numbers inodes as the image did. */
	r = st_image_read_tree_fd(fd, &(struct st_image_read_options){ .flags = ST_IMAGE_READ_HARDLINKS_BFS },
				  &root, &version);
	if (r < 0)
		return log_error_errno(r, "failed to load '%s'", src), EXIT_FAILURE;

	if (strcmp(dest, "-") == 0) {
		if (isatty(STDOUT_FILENO)) {
			log_error("refusing to write an image to a terminal");
			r = -EINVAL;
		} else {
			r = write_image(root, version, STDOUT_FILENO);
			if (r < 0)
				log_error_errno(r, "cannot write the image to standard output");
		}
	} else {
		r = write_image_atomic(root, version, dest);
	}
	st_node_free(root);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
