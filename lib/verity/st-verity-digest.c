/* SPDX-License-Identifier: MIT */
/*
 * Test and benchmark helper (not installed): print `sha256:<hex> <path>` for
 * each file, the way `fsverity digest` does, through one of the library's
 * code paths so the shell tests can compare each against fsverity-utils.
 *
 *   st-verity-digest [MODE] [--quiet] [--files-from LIST|-] FILE...
 *   modes: (default) st_verity_digest_fd, one file after the other
 *          --jobs N            st_verity_digest_many over N threads (0 = all CPUs)
 *          --stream N          read(2) the file and feed the hasher N bytes at a time
 *          --threads N         st_verity_digest_fd_threads, N threads per file
 *          --buffer-size N     like the default with an N-byte read buffer
 *          --measure           FS_IOC_MEASURE_VERITY only
 *          --measure-or-digest kernel measurement, else userspace digest
 *          --enable            FS_IOC_ENABLE_VERITY, then print the measurement
 */
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <string.h>

#include "basic/error.h"
#include "basic/hex.h"
#include "basic/macro.h"
#include "fundamental/parse-number.h"
#include "verity/verity-internal.h"

enum mode { MODE_FD, MODE_JOBS, MODE_THREADS, MODE_STREAM, MODE_BUFFER, MODE_MEASURE, MODE_MEASURE_OR_DIGEST, MODE_ENABLE };

static enum mode arg_mode = MODE_FD;
static unsigned long arg_number;
static bool arg_quiet;
static const char *arg_files_from;

static char **paths;
static size_t n_paths, cap_paths;

static int add_path(const char *p)
{
	char *copy = strdup(p);

	if (!copy || GROW(paths, cap_paths, n_paths + 1) < 0) {
		free(copy);
		return -ENOMEM;
	}
	paths[n_paths++] = copy;
	return 0;
}

static int read_list(const char *name)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	f = strcmp(name, "-") == 0 ? fdopen(dup(STDIN_FILENO), "re") : fopen(name, "re");
	if (!f)
		return negative_errno();
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		if (n > 0 && add_path(line) < 0)
			return -ENOMEM;
	}
	return ferror(f) ? -EIO : 0;
}

static int digest_stream(int fd, size_t chunk, uint8_t digest[ST_VERITY_DIGEST_SIZE])
{
	struct st_verity_hasher *h = NULL;
	_cleanup_free_ uint8_t *buf = malloc(chunk);
	int r;

	if (!buf)
		return -ENOMEM;
	r = st_verity_hasher_new(&h);
	if (r < 0)
		return r;
	for (;;) {
		ssize_t n = read(fd, buf, chunk);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? negative_errno() : 0;
			break;
		}
		r = st_verity_hasher_update(h, buf, (size_t)n);
		if (r < 0)
			break;
	}
	if (r >= 0)
		r = st_verity_hasher_final(h, digest);
	st_verity_hasher_free(h);
	return r;
}

static int digest_one(const char *path, uint8_t digest[ST_VERITY_DIGEST_SIZE])
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ void *buf = NULL;
	struct st_verity_hasher *h = NULL;
	int r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();

	switch (arg_mode) {
	case MODE_STREAM:
		return digest_stream(fd, arg_number, digest);
	case MODE_BUFFER:
		buf = verity_read_buffer_new(arg_number);
		if (!buf)
			return -ENOMEM;
		r = st_verity_hasher_new(&h);
		if (r < 0)
			return r;
		r = st_verity_hasher_digest_fd(h, fd, buf, arg_number, digest);
		st_verity_hasher_free(h);
		return r;
	case MODE_THREADS:
		return st_verity_digest_fd_threads(fd, (unsigned)arg_number, digest);
	case MODE_MEASURE:
		return st_verity_measure_fd(fd, digest);
	case MODE_MEASURE_OR_DIGEST:
		return st_verity_measure_or_digest_fd(fd, digest);
	case MODE_ENABLE:
		r = st_verity_enable_fd(fd);
		if (r < 0)
			return r;
		return st_verity_measure_fd(fd, digest);
	default:
		return st_verity_digest_fd(fd, digest);
	}
}

static void print_result(const char *path, int r, const uint8_t digest[ST_VERITY_DIGEST_SIZE])
{
	char hex[2 * ST_VERITY_DIGEST_SIZE + 1];

	if (r < 0) {
		fprintf(stderr, "st-verity-digest: '%s': %s\n", path, st_error_message(r));
		return;
	}
	if (arg_quiet)
		return;
	st_hex_encode(digest, ST_VERITY_DIGEST_SIZE, hex);
	printf("sha256:%s %s\n", hex, path);
}

static int parse_args(int argc, char **argv)
{
	static const struct option options[] = {
		{ "jobs", required_argument, NULL, 'j' },
		{ "stream", required_argument, NULL, 's' },
		{ "threads", required_argument, NULL, 't' },
		{ "buffer-size", required_argument, NULL, 'b' },
		{ "measure", no_argument, NULL, 'm' },
		{ "measure-or-digest", no_argument, NULL, 'M' },
		{ "enable", no_argument, NULL, 'e' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "files-from", required_argument, NULL, 'f' },
		{}
	};
	uint64_t v;
	int c;

	while ((c = getopt_long(argc, argv, "j:s:t:b:mMeqf:", options, NULL)) >= 0) {
		switch (c) {
		case 'j':
		case 't':
		case 's':
		case 'b':
			if (safe_atou64_max(optarg, INT_MAX, &v) < 0 || ((c == 's' || c == 'b') && v == 0)) {
				fprintf(stderr, "st-verity-digest: bad number '%s'\n", optarg);
				return -EINVAL;
			}
			arg_number = (unsigned long)v;
			arg_mode = c == 'j' ? MODE_JOBS : c == 't' ? MODE_THREADS :
				   c == 's' ? MODE_STREAM : MODE_BUFFER;
			break;
		case 'm':
			arg_mode = MODE_MEASURE;
			break;
		case 'M':
			arg_mode = MODE_MEASURE_OR_DIGEST;
			break;
		case 'e':
			arg_mode = MODE_ENABLE;
			break;
		case 'q':
			arg_quiet = true;
			break;
		case 'f':
			arg_files_from = optarg;
			break;
		default:
			return -EINVAL;
		}
	}
	for (int i = optind; i < argc; i++)
		if (add_path(argv[i]) < 0)
			return -ENOMEM;
	if (arg_files_from && read_list(arg_files_from) < 0) {
		fprintf(stderr, "st-verity-digest: cannot read '%s'\n", arg_files_from);
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int failed = 0;

	if (parse_args(argc, argv) < 0)
		return 2;

	if (arg_mode == MODE_JOBS) {
		struct st_verity_job *jobs = new0(struct st_verity_job, n_paths);
		int r;

		if (!jobs)
			return 1;
		for (size_t i = 0; i < n_paths; i++)
			jobs[i] = (struct st_verity_job){ .dirfd = AT_FDCWD, .path = paths[i] };
		r = st_verity_digest_many(jobs, n_paths, (unsigned)arg_number);
		if (r < 0) {
			fprintf(stderr, "st-verity-digest: %s\n", st_error_message(r));
			return 1;
		}
		for (size_t i = 0; i < n_paths; i++) {
			print_result(paths[i], jobs[i].result, jobs[i].digest);
			failed |= jobs[i].result < 0;
		}
		free(jobs);
	} else {
		for (size_t i = 0; i < n_paths; i++) {
			uint8_t digest[ST_VERITY_DIGEST_SIZE];
			int r = digest_one(paths[i], digest);

			print_result(paths[i], r, digest);
			failed |= r < 0;
		}
	}
	for (size_t i = 0; i < n_paths; i++)
		free(paths[i]);
	free(paths);
	return failed ? 1 : 0;
}
