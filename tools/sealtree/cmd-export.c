/* SPDX-License-Identifier: MIT */
/* sealtree export REF [-o FILE]: a commit's tree as a tar archive (see docs/man/sealtree-export.1.md). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sealtree.h"

static void help(FILE *f)
{
	fprintf(f,
		"usage: sealtree export [-o FILE] REF\n"
		"\n"
		"Write the tree of a commit as a pax tar archive, to the standard output\n"
		"(never a terminal) or to FILE: a regular file is replaced atomically, a fifo\n"
		"or character device is written through; a symlink to anything else is\n"
		"refused. 'sealtree commit --tar'\n"
		"of the archive gives the same image digest.\n"
		"\n"
		"  -o, --output FILE   write to FILE instead of the standard output\n"
		"  --help              show this help\n");
}

/*
 * Where -o FILE writes (see docs/man/sealtree-export.1.md):
 *  - no FILE, or a regular file: a temporary file next to it, renamed over
 *    it once complete (atomic replacement);
 *  - a fifo or a character device (also through a symlink, e.g.
 *    /dev/stdout when it is a pipe): written through as a stream, never
 *    replaced;
 *  - a symlink to anything else (a regular file, a directory, nothing) and
 *    every other type: refused. Replacing the link would break it, writing
 *    through it would put the archive where the link says, not where the
 *    user asked: neither is safe to guess.
 */
struct output {
	int dir_fd;
	char *dir, *name;
	char tmp[64];
	int fd;
	bool stream;            /* written in place: nothing to rename */
};

static const char *type_name(mode_t m)
{
	return S_ISDIR(m) ? "a directory" : S_ISBLK(m) ? "a block device" : S_ISSOCK(m) ? "a socket" :
	       S_ISLNK(m) ? "a symbolic link" : S_ISREG(m) ? "a regular file" : "a special file";
}

/* A fifo or character device, reached through path (which may be a symlink): written as a stream. */
static int output_open_stream(struct output *o, const char *path)
{
	struct stat st;

	/* No O_CREAT, no O_TRUNC: if path changed under us, nothing is created or cut. */
	o->fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (o->fd < 0)
		return log_error_errno(negative_errno(), "cannot open '%s'", path);
	if (fstat(o->fd, &st) < 0)
		return log_error_errno(negative_errno(), "cannot stat '%s'", path);
	if (!S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode))
		return log_error_errno(-EINVAL, "'%s' changed while it was opened (now %s): not writing", path,
				       type_name(st.st_mode));
	if (isatty(o->fd))
		return log_error_errno(-EINVAL, "refusing to write a tar archive to the terminal '%s'", path);
	o->stream = true;
	return 0;
}

static int output_open(struct output *o, const char *path)
{
	_cleanup_free_ char *d = strdup(path), *b = strdup(path);
	struct stat st, target;
	mode_t mask;

	if (!d || !b)
		return log_error_errno(-ENOMEM, "cannot use '%s'", path);
	if (lstat(path, &st) == 0) {
		if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode))
			return output_open_stream(o, path);
		if (S_ISLNK(st.st_mode)) {
			if (stat(path, &target) == 0 && (S_ISFIFO(target.st_mode) || S_ISCHR(target.st_mode)))
				return output_open_stream(o, path);
			return log_error_errno(-ELOOP, "'%s' is a symbolic link to %s: refusing to replace it or to "
					       "write where it points (give the target's path)", path,
					       stat(path, &target) == 0 ? type_name(target.st_mode) : "nothing");
		}
		if (!S_ISREG(st.st_mode))
			return log_error_errno(S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL,
					       "cannot write the archive to '%s': it is %s", path, type_name(st.st_mode));
	} else if (errno != ENOENT)
		return log_error_errno(negative_errno(), "cannot stat '%s'", path);

	o->dir = strdup(dirname(d));
	o->name = strdup(basename(b));
	if (!o->dir || !o->name)
		return log_error_errno(-ENOMEM, "cannot use '%s'", path);
	if (!*o->name || strcmp(o->name, "/") == 0 || strcmp(o->name, ".") == 0 || strcmp(o->name, "..") == 0 ||
	    path[strlen(path) - 1] == '/')
		return log_error_errno(-EISDIR, "cannot write the archive to '%s'", path);
	o->dir_fd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (o->dir_fd < 0)
		return log_error_errno(negative_errno(), "cannot open directory '%s'", o->dir);
	for (unsigned i = 0; i < 100; i++) {
		snprintf(o->tmp, sizeof(o->tmp), ".sealtree-export.%d.%u", (int)getpid(), i);
		mask = umask(0);
		umask(mask);
		o->fd = openat(o->dir_fd, o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666 & ~mask);
		if (o->fd >= 0 || errno != EEXIST)
			break;
	}
	if (o->fd < 0) {
		o->tmp[0] = '\0';
		return log_error_errno(negative_errno(), "cannot create a file in '%s'", o->dir);
	}
	return 0;
}

static int output_finish(struct output *o, const char *path)
{
	if (o->stream)
		return 0;
	if (fsync(o->fd) < 0)
		return log_error_errno(negative_errno(), "cannot flush '%s'", path);
	if (renameat(o->dir_fd, o->tmp, o->dir_fd, o->name) < 0)
		return log_error_errno(negative_errno(), "cannot rename the archive to '%s'", path);
	o->tmp[0] = '\0';
	if (fsync(o->dir_fd) < 0)
		return log_error_errno(negative_errno(), "cannot flush directory '%s'", o->dir);
	return 0;
}

static void output_done(struct output *o)
{
	if (o->tmp[0])
		(void)unlinkat(o->dir_fd, o->tmp, 0);
	safe_close(o->fd);
	safe_close(o->dir_fd);
	free(o->dir);
	free(o->name);
}

int cmd_export(int argc, char **argv)
{
	enum { OPT_HELP = 0x100 };
	static const struct option options[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, OPT_HELP },
		{}
	};
	struct output out = { .dir_fd = -EBADF, .fd = -EBADF };
	const char *arg_output = NULL, *spec;
	struct st_repo *repo = NULL;
	struct st_node *root = NULL;
	int c, r, ret = 1;

	while ((c = getopt_long(argc, argv, "o:", options, NULL)) >= 0) {
		switch (c) {
		case 'o':
			arg_output = optarg;
			break;
		case OPT_HELP:
			help(stdout);
			return 0;
		default:
			help(stderr);
			return 2;
		}
	}
	if (optind + 1 != argc) {
		log_error("export: expected one REF (see 'sealtree export --help')");
		return 2;
	}
	spec = argv[optind];
	if (arg_output && strcmp(arg_output, "-") == 0)
		arg_output = NULL;
	if (!arg_output && isatty(STDOUT_FILENO)) {
		log_error("refusing to write a tar archive to a terminal (use -o FILE or a redirection)");
		return 2;
	}

	repo = open_repo_or_fail(REPO_LOCK_SHARED);
	if (!repo)
		return 1;
	r = st_repo_read_tree(repo, spec, NULL, &root);
	if (r < 0) {
		log_error_errno(r, "cannot read '%s'", spec);
		goto out;
	}
	if (arg_output && output_open(&out, arg_output) < 0)
		goto out;
	r = st_repo_export_tar(repo, root, arg_output ? out.fd : STDOUT_FILENO);
	if (r < 0) {
		log_error_errno(r, "cannot export '%s' to %s%s%s", spec, arg_output ? "'" : "",
				arg_output ?: "the standard output", arg_output ? "'" : "");
		goto out;
	}
	if (arg_output && output_finish(&out, arg_output) < 0)
		goto out;
	ret = 0;
out:
	output_done(&out);
	st_node_free(root);
	st_repo_free(repo);
	return ret;
}
