/* SPDX-License-Identifier: MIT */
/*
 * mkcomposefs: build a composefs image from a directory or a dumpfile.
 * Drop-in for the reference tool (same options, output bytes, digest line
 * and exit status 1 on failure), plus --hardlinks, --help and --version.
 */
#include <inttypes.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "sealtree/hex.h"
#include "cpus.h"
#include "image-output.h"
#include "sealtree/dump.h"
#include "sealtree/image.h"
#include "sealtree/scan.h"
#include "tool-util.h"

#ifndef ST_VERSION_STRING
#define ST_VERSION_STRING "unknown"
#endif

/* The reference's defaults when neither --min-version nor --max-version is given. */
#define DEFAULT_MIN_VERSION 0
#define DEFAULT_MAX_VERSION 1

static struct {
	const char *digest_store;
	bool print_digest, print_digest_only, from_file;
	unsigned scan_flags;
	bool min_set, max_set;
	uint64_t min_version, max_version;
	unsigned threads;
	int progress;                   /* -1 auto (stderr is a tty), 0 off, 1 on */
	const char *source, *image;
} arg = { .progress = -1 };

enum {
	OPT_SKIP_XATTRS = 0x100,
	OPT_USER_XATTRS,
	OPT_SKIP_DEVICES,
	OPT_USE_EPOCH,
	OPT_DIGEST_STORE,
	OPT_PRINT_DIGEST,
	OPT_PRINT_DIGEST_ONLY,
	OPT_FROM_FILE,
	OPT_MIN_VERSION,
	OPT_MAX_VERSION,
	OPT_THREADS,
	OPT_HARDLINKS,
	OPT_PROGRESS,
	OPT_NO_PROGRESS,
	OPT_VERSION,
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [OPTIONS] SOURCE IMAGE\n"
		"Build a composefs image from the directory (or with --from-file, the dumpfile) SOURCE.\n"
		"IMAGE '-' writes to stdout. Options:\n"
		"  --digest-store=PATH   Store content files in this directory\n"
		"  --use-epoch           Make all mtimes zero\n"
		"  --skip-devices        Don't store device nodes\n"
		"  --skip-xattrs         Don't store file xattrs\n"
		"  --user-xattrs         Only store user.* xattrs\n"
		"  --print-digest        Print the digest of the image\n"
		"  --print-digest-only   Print the digest of the image, don't write image\n"
		"  --from-file           The source is a dump file, not a directory\n"
		"  --min-version=N       Use this minimal format version (default=%d)\n"
		"  --max-version=N       Use this maximum format version (default=%d)\n"
		"  --threads=N           Threads used to compute digests and copy files\n"
		"                        (default=%u, 4 times that with --digest-store)\n"
		"  --hardlinks           Keep hardlinks of the source directory (default: split them)\n"
		"  --progress, --no-progress\n"
		"                        Show a status line on stderr while scanning\n"
		"                        (default: when stderr is a terminal)\n"
		"  --help                Show this help\n"
		"  --version             Show the version\n",
		program_name, DEFAULT_MIN_VERSION, DEFAULT_MAX_VERSION, cpus_available(0));
}

static int parse_version(const char *s, const char *which, uint64_t *ret)
{
	int r = safe_atou64_max(s, UINT32_MAX, ret);

	if (r < 0)
		return log_error("Invalid %s version '%s'", which, s);
	if (*ret > ST_IMAGE_VERSION_MAX)
		return log_error("Unsupported %s version %s (the highest is %d)", which, s, ST_IMAGE_VERSION_MAX);
	return 0;
}

/* One status line on stderr, rewritten in place, while a directory is scanned. */
static void show_progress(void *userdata, uint64_t files_done, uint64_t files_total, uint64_t bytes_done,
			  uint64_t bytes_total)
{
	(void)userdata;
	fprintf(stderr, "\r\033[Kmkcomposefs: hashed %" PRIu64 "/%" PRIu64 " files, %.1f/%.1f MiB", files_done,
		files_total, (double)bytes_done / (1024.0 * 1024.0), (double)bytes_total / (1024.0 * 1024.0));
}

/* Returns 1 to run, 0 to exit successfully (--help), < 0 on error. */
static int parse_argv(int argc, char **argv)
{
	static const struct option options[] = {
		{ "skip-xattrs", no_argument, NULL, OPT_SKIP_XATTRS },
		{ "user-xattrs", no_argument, NULL, OPT_USER_XATTRS },
		{ "skip-devices", no_argument, NULL, OPT_SKIP_DEVICES },
		{ "use-epoch", no_argument, NULL, OPT_USE_EPOCH },
		{ "digest-store", required_argument, NULL, OPT_DIGEST_STORE },
		{ "print-digest", no_argument, NULL, OPT_PRINT_DIGEST },
		{ "print-digest-only", no_argument, NULL, OPT_PRINT_DIGEST_ONLY },
		{ "from-file", no_argument, NULL, OPT_FROM_FILE },
		{ "min-version", required_argument, NULL, OPT_MIN_VERSION },
		{ "max-version", required_argument, NULL, OPT_MAX_VERSION },
		{ "threads", required_argument, NULL, OPT_THREADS },
		{ "hardlinks", no_argument, NULL, OPT_HARDLINKS },
		{ "progress", no_argument, NULL, OPT_PROGRESS },
		{ "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{}
	};
	uint64_t v;
	int c;

	while ((c = getopt_long(argc, argv, ":h", options, NULL)) >= 0) {
		switch (c) {
		case OPT_SKIP_XATTRS:
			arg.scan_flags |= ST_SCAN_SKIP_XATTRS;
			break;
		case OPT_USER_XATTRS:
			arg.scan_flags |= ST_SCAN_USER_XATTRS;
			break;
		case OPT_SKIP_DEVICES:
			arg.scan_flags |= ST_SCAN_SKIP_DEVICES;
			break;
		case OPT_USE_EPOCH:
			arg.scan_flags |= ST_SCAN_USE_EPOCH;
			break;
		case OPT_HARDLINKS:
			arg.scan_flags |= ST_SCAN_HARDLINKS;
			break;
		case OPT_PROGRESS:
			arg.progress = 1;
			break;
		case OPT_NO_PROGRESS:
			arg.progress = 0;
			break;
		case OPT_DIGEST_STORE:
			arg.digest_store = optarg;
			break;
		case OPT_PRINT_DIGEST:
			arg.print_digest = true;
			break;
		case OPT_PRINT_DIGEST_ONLY:
			arg.print_digest = arg.print_digest_only = true;
			break;
		case OPT_FROM_FILE:
			arg.from_file = true;
			break;
		case OPT_MIN_VERSION:
			if (parse_version(optarg, "min", &arg.min_version) < 0)
				return -EINVAL;
			arg.min_set = true;
			break;
		case OPT_MAX_VERSION:
			if (parse_version(optarg, "max", &arg.max_version) < 0)
				return -EINVAL;
			arg.max_set = true;
			break;
		case OPT_THREADS:
			if (safe_atou64_max(optarg, 4096, &v) < 0 || v == 0)
				return log_error("Invalid threads count '%s'", optarg);
			arg.threads = (unsigned)v;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case OPT_VERSION:
			printf("mkcomposefs (sealtree) %s\n", ST_VERSION_STRING);
			return 0;
		case ':':
			return log_error("option '%s' needs a value", argv[optind - 1]);
		default:
			log_error("unrecognized option '%s'", argv[optind - 1]);
			usage(stderr);
			return -EINVAL;
		}
	}

	argc -= optind;
	argv += optind;
	if (argc < 1) {
		log_error("No source path specified");
		usage(stderr);
		return -EINVAL;
	}
	if (argc > 2) {
		log_error("Too many arguments");
		usage(stderr);
		return -EINVAL;
	}
	arg.source = argv[0];
	if (!*arg.source)
		return log_error("Empty source path specified");
	if (argc == 1 && !arg.print_digest_only) {
		log_error("No destination path specified");
		usage(stderr);
		return -EINVAL;
	}
	if (argc == 2 && arg.print_digest_only) {
		log_error("Cannot specify destination path with --print-digest-only");
		usage(stderr);
		return -EINVAL;
	}
	arg.image = argc == 2 ? argv[1] : NULL;
	if ((arg.scan_flags & ST_SCAN_SKIP_XATTRS) && (arg.scan_flags & ST_SCAN_USER_XATTRS))
		return log_error("--skip-xattrs and --user-xattrs conflict");

	/* Spec 1.13: giving either bound makes the other default to 0. */
	if (!arg.min_set && !arg.max_set) {
		arg.min_version = DEFAULT_MIN_VERSION;
		arg.max_version = DEFAULT_MAX_VERSION;
	}
	return 1;
}

/* Each level of a deep tree holds a directory fd open: allow as many as we may. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int load_tree(struct st_node **ret)
{
	int r;

	if (arg.from_file) {
		unsigned flags = getenv("CFS_PARSE_STRICT") ? ST_DUMP_PARSE_STRICT : 0;
		_cleanup_close_ int fd = -EBADF;

		if (strcmp(arg.source, "-") == 0)
			r = st_dump_parse_fd(STDIN_FILENO, flags, ret);
		else {
			fd = open(arg.source, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				return log_error_errno(negative_errno(), "failed to open '%s'", arg.source);
			r = st_dump_parse_fd(fd, flags, ret);
		}
		if (r < 0)
			return log_error_errno(r, "cannot parse '%s'", arg.source);
		return 0;
	}

	struct st_scan_options opts = {
		.flags = arg.scan_flags,
		.threads = arg.threads,
		.digest_store = arg.digest_store,
	};
	bool show = arg.progress > 0 || (arg.progress < 0 && isatty(STDERR_FILENO));
	if (show)
		opts.progress = show_progress;
	r = st_scan_directory(arg.source, &opts, ret);
	if (show)
		fputs("\r\033[K", stderr);
	if (r < 0)
		return log_error_errno(r, "scanning the source directory failed"); /* the detail names the file */
	return 0;
}

static int run(void)
{
	struct image_output out = { .fd = -EBADF, .dir_fd = -EBADF };
	struct st_image_write_options wopts = {
		.min_version = (uint32_t)arg.min_version,
		.max_version = (uint32_t)arg.max_version,
	};
	struct st_node *root = NULL;
	uint8_t digest[ST_DIGEST_SIZE];
	char hex[2 * ST_DIGEST_SIZE + 1];
	int r;

	/* Fail on an unwritable output before a long scan, like the reference. */
	if (arg.image) {
		r = image_output_open(&out, arg.image);
		if (r < 0)
			goto out;
	}
	r = load_tree(&root);
	if (r < 0)
		goto out;
	r = st_image_write(root, &wopts, arg.image ? image_output_write : NULL, &out,
			   arg.print_digest ? digest : NULL, NULL);
	if (r < 0) {
		log_error_errno(r, "cannot write the image%s%s", arg.image ? " to " : "", arg.image ? arg.image : "");
		goto out;
	}
	if (arg.image) {
		r = image_output_commit(&out);
		if (r < 0)
			goto out;
	}
	if (arg.print_digest) {
		st_hex_encode(digest, sizeof(digest), hex);
		printf("%s\n", hex);
		if (fflush(stdout) != 0 || ferror(stdout)) {
			r = log_error_errno(-EIO, "cannot print the digest");
			goto out;
		}
	}
	r = 0;
out:
	image_output_done(&out);
	st_node_free(root);
	return r;
}

int main(int argc, char **argv)
{
	int r;

	program_name = "mkcomposefs";
	r = parse_argv(argc, argv);
	if (r <= 0)
		return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
	raise_fd_limit();
	return run() < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
