/* SPDX-License-Identifier: MIT */
/*
 * Test helper (not installed): parse a dumpfile and write its composefs image.
 *   st-image-from-dump [--min-version=N] [--max-version=N] [--print-digest] [--roundtrip[=fixpoint]]
 *                      DUMPFILE|- [IMAGE|-]
 * Parsing is strict when CFS_PARSE_STRICT is set (as for mkcomposefs). As with
 * mkcomposefs, giving one of the version options makes the other default to 0
 * (otherwise min 0, max 1). Without IMAGE only the digest is computed.
 * --print-digest prints the image's fs-verity digest in hex on stdout;
 * --time prints the time st_image_write() took on stderr (benchmarks).
 * --roundtrip also reads the image back (st_image_read_tree) and writes that
 * tree again at the same format version: the bytes must be identical, as the
 * reference's own tests require; exit 1 if not. --roundtrip=fixpoint checks
 * the second round trip instead (for trees with hardlinks, see roundtrip()).
 * Errors go to stderr with exit status 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "basic/error.h"
#include "basic/hex.h"
#include "fundamental/parse-number.h"
#include "sealtree/dump.h"
#include "sealtree/image.h"

static int write_fd(void *userdata, const void *buf, size_t len)
{
	int fd = *(int *)userdata;
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

struct membuf {
	uint8_t *data;
	size_t len;
};

static int write_mem(void *userdata, const void *buf, size_t len)
{
	struct membuf *m = userdata;
	uint8_t *p = realloc(m->data, m->len + len);

	if (!p)
		return -ENOMEM;
	memcpy(p + m->len, buf, len);
	m->data = p;
	m->len += len;
	return 0;
}

/* Write a tree into memory and read the image back as a tree. */
static int write_read(struct st_node *root, const struct st_image_write_options *opts, struct membuf *img,
		      struct st_node **ret_back, uint32_t *ret_version)
{
	int r;

	img->data = NULL;
	img->len = 0;
	struct st_image_read_options ro = { .flags = ST_IMAGE_READ_HARDLINKS_BFS };

	r = st_image_write(root, opts, write_mem, img, NULL, ret_version);
	if (r >= 0)
		r = st_image_read_tree(img->data, img->len, &ro, ret_back, NULL);
	return r;
}

static int same_image(const struct membuf *a, const struct membuf *b, const char *what)
{
	size_t i = 0;

	if (a->len == b->len && memcmp(a->data, b->data, a->len) == 0)
		return 0;
	while (i < a->len && i < b->len && a->data[i] == b->data[i])
		i++;
	return st_errf(-EBADMSG, "%s differs at byte %zu (sizes %zu, %zu)", what, i, a->len, b->len);
}

/*
 * image -> tree -> image must be the identity. The reader puts each
 * hardlinked inode where the writer found it (ST_IMAGE_READ_HARDLINKS_BFS);
 * with the reference's depth-first choice only the second round trip would
 * be the identity, which --roundtrip=fixpoint checks.
 */
static int roundtrip(struct st_node *root, const struct st_image_write_options *opts, bool fixpoint)
{
	struct membuf a = {}, b = {}, c = {};
	struct st_image_write_options o2 = {};
	struct st_node *back = NULL, *back2 = NULL, *back3 = NULL;
	uint32_t version;
	int r;

	r = write_read(root, opts, &a, &back, &version);
	o2.min_version = o2.max_version = version;
	if (r >= 0)
		r = write_read(back, &o2, &b, &back2, NULL);
	if (r >= 0 && !fixpoint)
		r = same_image(&a, &b, "image -> tree -> image");
	if (r >= 0 && fixpoint) {
		r = write_read(back2, &o2, &c, &back3, NULL);
		if (r >= 0)
			r = same_image(&b, &c, "second image -> tree -> image");
	}
	st_node_free(back);
	st_node_free(back2);
	st_node_free(back3);
	free(a.data);
	free(b.data);
	free(c.data);
	return r;
}

int main(int argc, char **argv)
{
	struct st_image_write_options opts = { .min_version = 0, .max_version = 1 };
	bool print_digest = false, print_time = false, check_roundtrip = false, fixpoint = false, have_min = false, have_max = false;
	const char *in = NULL, *out = NULL;
	struct st_node *root = NULL;
	uint8_t digest[32];
	unsigned flags = 0;
	int fd, ofd = -1, r;

	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], "--min-version=", 14) == 0) {
			if (safe_atou32(argv[i] + 14, &opts.min_version) < 0)
				goto usage;
			have_min = true;
		} else if (strncmp(argv[i], "--max-version=", 14) == 0) {
			if (safe_atou32(argv[i] + 14, &opts.max_version) < 0)
				goto usage;
			have_max = true;
		} else if (strcmp(argv[i], "--print-digest") == 0) {
			print_digest = true;
		} else if (strcmp(argv[i], "--roundtrip") == 0) {
			check_roundtrip = true;
		} else if (strcmp(argv[i], "--roundtrip=fixpoint") == 0) {
			check_roundtrip = fixpoint = true;
		} else if (strcmp(argv[i], "--time") == 0) {
			print_time = true;
		} else if (!in) {
			in = argv[i];
		} else if (!out) {
			out = argv[i];
		} else {
			goto usage;
		}
	}
	if (!in)
		goto usage;
	if (have_min && !have_max)
		opts.max_version = 0;
	if (have_max && !have_min)
		opts.min_version = 0;
	if (getenv("CFS_PARSE_STRICT"))
		flags |= ST_DUMP_PARSE_STRICT;

	fd = strcmp(in, "-") == 0 ? STDIN_FILENO : open(in, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perror(in);
		return 1;
	}
	r = st_dump_parse_fd(fd, flags, &root);
	if (fd != STDIN_FILENO)
		close(fd);
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", in, st_error_message(r));
		return 1;
	}
	if (check_roundtrip) {
		r = roundtrip(root, &opts, fixpoint);
		if (r < 0) {
			fprintf(stderr, "%s: %s\n", in, st_error_message(r));
			st_node_free(root);
			return 1;
		}
	}
	if (out) {
		ofd = strcmp(out, "-") == 0 ? STDOUT_FILENO
					    : open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (ofd < 0) {
			perror(out);
			st_node_free(root);
			return 1;
		}
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = st_image_write(root, &opts, ofd >= 0 ? write_fd : NULL, &ofd, print_digest ? digest : NULL, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (print_time)
		fprintf(stderr, "st_image_write: %.3f s\n",
			(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	st_node_free(root);
	if (ofd >= 0 && ofd != STDOUT_FILENO && close(ofd) < 0 && r >= 0)
		r = -errno;
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", in, st_error_message(r));
		if (out && strcmp(out, "-") != 0)
			(void)unlink(out);
		return 1;
	}
	if (print_digest) {
		char hex[2 * sizeof(digest) + 1];

		st_hex_encode(digest, sizeof(digest), hex);
		printf("%s\n", hex);
	}
	return 0;
usage:
	fprintf(stderr, "usage: %s [--min-version=N] [--max-version=N] [--print-digest] [--roundtrip[=fixpoint]] DUMPFILE|- [IMAGE|-]\n",
		argv[0]);
	return 2;
}
