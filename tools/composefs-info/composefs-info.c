/* SPDX-License-Identifier: MIT */
/*
 * composefs-info: inspect composefs images (drop-in for the reference tool,
 * same commands and byte-identical output).
 *
 *   composefs-info [--basedir=PATH] [--filter=NAME]... ls|objects|missing-objects|dump IMAGE...
 *   composefs-info measure-file FILE...
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sealtree/dump.h"
#include "sealtree/hex.h"
#include "sealtree/image.h"
#include "sealtree/tree.h"
#include "sealtree/verity.h"
#include "tool-util.h"

#ifndef ST_VERSION_STRING
#define ST_VERSION_STRING "unknown"
#endif

static const char *arg_basedir;
static char **arg_filters;
static size_t arg_n_filters, arg_cap_filters;

/* A set of object paths, sorted and deduplicated when printed. */
struct objects {
	char **v;
	size_t n, cap;
	int basedir_fd;                 /* -EBADF: every object counts as missing */
	bool only_missing;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [--basedir=PATH] [--filter=NAME]... ls|objects|missing-objects|dump IMAGE...\n"
		"       %s measure-file FILE...\n"
		"\n"
		"  ls                list the files of the images\n"
		"  objects           list the backing objects the images refer to\n"
		"  missing-objects   list the backing objects absent from --basedir\n"
		"  dump              print the images as composefs dumpfiles\n"
		"  measure-file      print the fs-verity digest of each FILE\n"
		"\n"
		"  --basedir=PATH    object directory for missing-objects\n"
		"  --filter=NAME     load only this top-level entry (repeatable)\n"
		"  --help            show this help\n"
		"  --version         show the version\n",
		program_name, program_name);
}

/* The reference's escaping for `ls`: C escapes, \xNN for bytes that are not isprint() in the C locale. */
static void put_escaped(const char *s, bool keep_space, FILE *out)
{
	while (*s) {
		unsigned char c = (unsigned char)*s;
		size_t run = 0;

		/* Plain bytes in one go: paths are mostly plain. */
		while ((unsigned char)s[run] > 0x20 && (unsigned char)s[run] < 0x7f && s[run] != '\\')
			run++;
		if (run > 0) {
			fwrite(s, 1, run, out);
			s += run;
			continue;
		}
		s++;
		switch (c) {
		case '\\':
			fputs("\\\\", out);
			break;
		case '\n':
			fputs("\\n", out);
			break;
		case '\r':
			fputs("\\r", out);
			break;
		case '\t':
			fputs("\\t", out);
			break;
		default:
			if (c > 0x20 && c < 0x7f)
				putc(c, out);
			else if (c == ' ' && keep_space)
				putc(c, out);
			else
				fprintf(out, "\\x%.2x", c);
			break;
		}
	}
}

/* Paths below the root, depth first; path holds the parent's path ("" for the root). */
static int print_ls(const struct st_node *dir, char **path, size_t *cap, size_t len, FILE *out)
{
	const struct st_node *c;

	for (size_t i = 0; (c = st_node_get_child(dir, i)); i++) {
		struct st_entry e;
		size_t name_len, need;
		int r;

		st_node_get_entry(c, &e);
		name_len = strlen(e.name);
		if (ADD_OVERFLOW(len, name_len + 2, &need) || GROW(*path, *cap, need) < 0)
			return -ENOMEM;
		(*path)[len] = '/';
		memcpy(*path + len + 1, e.name, name_len + 1);
		put_escaped(*path, true, out);
		/* A hardlink alias prints as a bare path, as in the reference. */
		if (e.is_hardlink)
			;
		else if (S_ISDIR(e.mode))
			fputs("/\t", out);
		else if (S_ISLNK(e.mode) && e.symlink_target) {
			fputs("\t-> ", out);
			put_escaped(e.symlink_target, false, out);
		} else if (S_ISREG(e.mode) && e.payload) {
			fputs("\t@ ", out);
			put_escaped(e.payload, false, out);
		}
		putc('\n', out);
		r = print_ls(c, path, cap, len + 1 + name_len, out);
		if (r < 0)
			return r;
	}
	return 0;
}

static int cmd_ls(const struct st_node *root)
{
	_cleanup_free_ char *path = NULL;
	size_t cap = 0;
	int r;

	if (GROW(path, cap, 256) < 0)
		return -ENOMEM;
	path[0] = '\0';
	r = print_ls(root, &path, &cap, 0, stdout);
	return r;
}

static int collect_objects(const struct st_node *node, struct objects *o)
{
	const struct st_node *c;
	struct st_entry e;

	st_node_get_entry(node, &e);
	if (!e.is_hardlink && S_ISREG(e.mode) && e.payload) {
		const char *rel = e.payload;
		struct stat st;
		bool present = false;

		while (*rel == '/')
			rel++;
		if (o->only_missing && o->basedir_fd >= 0)
			present = fstatat(o->basedir_fd, rel, &st, AT_EMPTY_PATH) == 0;
		if (!present) {
			char *copy;
			if (GROW(o->v, o->cap, o->n + 1) < 0)
				return -ENOMEM;
			copy = strdup(e.payload);
			if (!copy)
				return -ENOMEM;
			o->v[o->n++] = copy;
		}
	}
	for (size_t i = 0; (c = st_node_get_child(node, i)); i++) {
		int r = collect_objects(c, o);
		if (r < 0)
			return r;
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void print_objects(struct objects *o)
{
	qsort(o->v, o->n, sizeof(o->v[0]), cmp_str);
	for (size_t i = 0; i < o->n; i++)
		if (i == 0 || strcmp(o->v[i], o->v[i - 1]) != 0)
			printf("%s\n", o->v[i]);
}

static int measure_files(int argc, char **argv)
{
	if (argc < 1) {
		log_error("no files specified");
		usage(stderr);
		return EXIT_FAILURE;
	}
	for (int i = 0; i < argc; i++) {
		_cleanup_close_ int fd = open(argv[i], O_RDONLY | O_CLOEXEC | O_NOCTTY);
		uint8_t digest[ST_DIGEST_SIZE];
		char hex[2 * ST_DIGEST_SIZE + 1];
		int r;

		if (fd < 0)
			return log_error_errno(negative_errno(), "failed to open '%s'", argv[i]), EXIT_FAILURE;
		r = st_verity_measure_or_digest_fd(fd, digest);
		if (r < 0)
			return log_error_errno(r, "failed to measure '%s'", argv[i]), EXIT_FAILURE;
		st_hex_encode(digest, sizeof(digest), hex);
		printf("%s\n", hex);
	}
	return EXIT_SUCCESS;
}

static int parse_argv(int argc, char **argv)
{
	enum { ARG_BASEDIR = 0x100, ARG_FILTER, ARG_HELP, ARG_VERSION };
	static const struct option options[] = {
		{ "basedir", required_argument, NULL, ARG_BASEDIR },
		{ "filter", required_argument, NULL, ARG_FILTER },
		{ "help", no_argument, NULL, ARG_HELP },
		{ "version", no_argument, NULL, ARG_VERSION },
		{},
	};
	int c;

	/* '+': options end at the command, like the reference's usage shows. */
	while ((c = getopt_long(argc, argv, "+", options, NULL)) >= 0) {
		switch (c) {
		case ARG_BASEDIR:
			arg_basedir = optarg;
			break;
		case ARG_FILTER:
			if (strchr(optarg, '/'))
				return log_error("filter must be a single name: '%s'", optarg), -EINVAL;
			if (GROW(arg_filters, arg_cap_filters, arg_n_filters + 1) < 0)
				return log_error("out of memory"), -ENOMEM;
			arg_filters[arg_n_filters++] = optarg;
			break;
		case ARG_HELP:
			usage(stdout);
			return 0;
		case ARG_VERSION:
			printf("composefs-info (sealtree) %s\n", ST_VERSION_STRING);
			return 0;
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	return 1;
}

int main(int argc, char **argv)
{
	struct objects objs = { .basedir_fd = -EBADF };
	const char *command;
	int r, ret = EXIT_FAILURE;

	program_name = "composefs-info";
	r = parse_argv(argc, argv);
	if (r <= 0)
		return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
	if (optind >= argc) {
		log_error("no command specified");
		usage(stderr);
		return EXIT_FAILURE;
	}
	command = argv[optind++];
	if (strcmp(command, "measure-file") == 0)
		return measure_files(argc - optind, argv + optind);
	if (strcmp(command, "ls") != 0 && strcmp(command, "dump") != 0 && strcmp(command, "objects") != 0 &&
	    strcmp(command, "missing-objects") != 0) {
		log_error("unknown command '%s'", command);
		return EXIT_FAILURE;
	}
	if (arg_basedir) {
		objs.basedir_fd = open(arg_basedir, O_RDONLY | O_CLOEXEC | O_DIRECTORY | O_PATH);
		if (objs.basedir_fd < 0)
			return log_error_errno(negative_errno(), "cannot open basedir '%s'", arg_basedir), EXIT_FAILURE;
	}
	objs.only_missing = strcmp(command, "missing-objects") == 0;
	if (optind >= argc) {
		log_error("no image path specified");
		usage(stderr);
		goto finish;
	}

	for (int i = optind; i < argc; i++) {
		struct st_image_read_options opts = {
			.filters = (const char *const *)arg_filters,
			.n_filters = arg_n_filters,
		};
		_cleanup_close_ int fd = open(argv[i], O_RDONLY | O_CLOEXEC | O_NOCTTY);
		struct st_node *root = NULL;

		if (fd < 0) {
			log_error_errno(negative_errno(), "failed to open '%s'", argv[i]);
			goto finish;
		}
		r = st_image_read_tree_fd(fd, arg_n_filters ? &opts : NULL, &root, NULL);
		if (r < 0) {
			log_error_errno(r, "failed to load '%s'", argv[i]);
			goto finish;
		}
		if (strcmp(command, "ls") == 0)
			r = cmd_ls(root);
		else if (strcmp(command, "dump") == 0)
			r = st_dump_print(stdout, root);
		else
			r = collect_objects(root, &objs);
		st_node_free(root);
		if (r < 0) {
			log_error_errno(r, "failed to print '%s'", argv[i]);
			goto finish;
		}
	}
	if (strstr(command, "objects"))
		print_objects(&objs);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		log_error_errno(-EIO, "cannot write the output");
		goto finish;
	}
	ret = EXIT_SUCCESS;
finish:
	for (size_t i = 0; i < objs.n; i++)
		free(objs.v[i]);
	free(objs.v);
	free(arg_filters);
	safe_close(objs.basedir_fd);
	return ret;
}
