/* SPDX-License-Identifier: MIT */
/*
 * sealtree admin verity-errors [--json] [--record [--log FILE]]: the fs-verity
 * and overlayfs verity errors of this boot, mapped onto the booted image
 * (docs/man/sealtree-admin.1.md, docs/formats/sysroot.md "Verity errors");
 * and the summary line `admin status` prints.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin-verity.h"
#include "escape.h"
#include "sealtree/error.h"
#include "sealtree/hex.h"

#define DEFAULT_LOG "/var/lib/sealtree/verity-errors.log"

static const char *run_dir(void)
{
	const char *dir = getenv("SEALTREE_RUN_DIR");

	return dir && *dir ? dir : "/run/sealtree";
}

/* $SEALTREE_KMSG (tests, saved logs) or NULL for /dev/kmsg. */
static const char *kmsg_path(void)
{
	const char *p = getenv("SEALTREE_KMSG");

	return p && *p ? p : NULL;
}

static void print_error_json(FILE *f, const struct st_verity_error *e, const char *boot_id)
{
	char hex[2 * ST_DIGEST_SIZE + 1];

	fputc('{', f);
	if (boot_id) {
		fputs("\"boot-id\": ", f);
		json_write_string(f, boot_id);
		fputs(", ", f);
	}
	fprintf(f, "\"seq\": %llu, \"usec\": %llu, \"kind\": \"%s\", ", (unsigned long long)e->seq,
		(unsigned long long)e->usec, st_verity_error_kind_to_string(e->kind));
	if (e->inode) {
		fputs("\"device\": ", f);
		json_write_string(f, e->device);
		fprintf(f, ", \"inode\": %llu, ", (unsigned long long)e->inode);
	} else {
		fputs("\"name\": ", f);
		json_write_string(f, e->name);
		fputs(", ", f);
	}
	if (e->mapped) {
		st_hex_encode(e->digest, ST_DIGEST_SIZE, hex);
		fprintf(f, "\"%s\": \"%s\", ", e->is_image ? "image" : "object", hex);
	} else
		fputs("\"object\": null, ", f);
	fputs("\"paths\": [", f);
	for (size_t i = 0; i < e->n_paths; i++) {
		if (i)
			fputs(", ", f);
		json_write_string(f, e->paths[i]);
	}
	fprintf(f, "], \"paths-total\": %zu, \"message\": ", e->n_paths_total);
	json_write_string(f, e->text);
	fputc('}', f);
}

/* One error as a human line: KIND PATH (object HEX16..., N more paths). */
static void print_error_human(FILE *f, const char *indent, const struct st_verity_error *e)
{
	char hex[2 * ST_DIGEST_SIZE + 1];

	fprintf(f, "%s%s ", indent, st_verity_error_kind_to_string(e->kind));
	if (e->is_image)
		fputs("the booted image", f);
	else if (e->n_paths > 0)
		print_escaped(f, e->paths[0]);
	else if (e->inode)
		fprintf(f, "inode %llu on %s", (unsigned long long)e->inode, e->device);
	else {
		fputs("file '", f);
		print_escaped(f, e->name);
		fputc('\'', f);
	}
	if (e->mapped) {
		st_hex_encode(e->digest, ST_DIGEST_SIZE, hex);
		fprintf(f, " (%s %.16s", e->is_image ? "image" : "object", hex);
		if (e->n_paths_total > 1)
			fprintf(f, ", %zu more path%s", e->n_paths_total - 1, e->n_paths_total == 2 ? "" : "s");
		fputc(')', f);
	} else
		fputs(" (not in the booted image)", f);
	fputc('\n', f);
}

void admin_print_verity_summary(struct st_sysroot *s, const struct st_booted *booted, bool json)
{
	struct st_verity_report *rep = NULL;
	int r;

	if (!booted) {
		if (json)
			printf("\"verity-errors\": null, ");
		return;
	}
	r = st_sysroot_verity_errors(s, kmsg_path(), 0, 3, &rep);
	if (r < 0) {
		const char *m = st_error_message(r);

		if (json) {
			printf("\"verity-errors\": {\"count\": null, \"error\": ");
			json_write_string(stdout, m);
			printf("}, ");
		} else {
			printf("verity errors this boot: unknown (");
			print_escaped(stdout, m);
			printf(")\n");
		}
		st_error_clear();
		return;
	}
	if (json) {
		printf("\"verity-errors\": {\"count\": %llu, \"suppressed\": %llu, \"lost\": %s, \"last\": [",
		       (unsigned long long)rep->count, (unsigned long long)rep->suppressed, rep->lost ? "true" : "false");
		for (size_t i = 0; i < rep->n_errors; i++) {
			if (i)
				fputs(", ", stdout);
			print_error_json(stdout, &rep->errors[i], NULL);
		}
		printf("]}, ");
	} else {
		printf("verity errors this boot: %llu", (unsigned long long)rep->count);
		if (rep->suppressed)
			printf(" (and %llu the kernel did not print)", (unsigned long long)rep->suppressed);
		if (rep->lost)
			printf(" (some log records were overwritten)");
		printf("%s\n", rep->n_errors ? ", the last:" : "");
		for (size_t i = 0; i < rep->n_errors; i++)
			print_error_human(stdout, "  ", &rep->errors[i]);
	}
	st_verity_report_free(rep);
}

/* The last recorded SEQ of this boot ($SEALTREE_RUN_DIR/verity-errors.seq), 0 if none. */
static uint64_t read_recorded_seq(const char *path)
{
	char buf[32];
	uint64_t v = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (safe_atou64(buf, &v) < 0)
		return 0;
	return v;
}

static int write_recorded_seq(const char *path, uint64_t seq)
{
	char tmp[4200], buf[32];
	int fd, n;

	(void)snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%llu\n", (unsigned long long)seq);
	if (write(fd, buf, (size_t)n) != n) {
		close(fd);
		return -EIO;
	}
	close(fd);
	return rename(tmp, path) < 0 ? -errno : 0;
}

static void read_boot_id(char id[64])
{
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, id, 63) : -1;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		n = 0;
	id[n] = '\0';
	id[strcspn(id, "\n")] = '\0';
	for (char *p = id; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || *p == '-'))
			*p = '?';
}

/* Append the new errors to log as JSON lines, then remember the last SEQ read. */
static int record(struct st_sysroot *s, const char *log)
{
	_cleanup_free_ char *dir = NULL, *seq_path = NULL;
	struct st_verity_report *rep = NULL;
	char boot_id[64];
	uint64_t after;
	FILE *f;
	int r;

	if (asprintf(&seq_path, "%s/verity-errors.seq", run_dir()) < 0)
		return log_error("admin verity-errors: out of memory"), 1;
	after = read_recorded_seq(seq_path);
	r = st_sysroot_verity_errors(s, kmsg_path(), after, ST_VERITY_KEEP_MAX, &rep);
	if (r < 0)
		return log_error_errno(r, "admin verity-errors: cannot read the verity errors"), 1;
	read_boot_id(boot_id);
	dir = strdup(log);
	if (!dir) {
		st_verity_report_free(rep);
		return log_error("admin verity-errors: out of memory"), 1;
	}
	if (strrchr(dir, '/') && strrchr(dir, '/') != dir) {
		*strrchr(dir, '/') = '\0';
		(void)mkdir(dir, 0755);
	}
	if (rep->n_errors > 0) {
		int fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);

		f = fd >= 0 ? fdopen(fd, "a") : NULL;
		if (!f) {
			if (fd >= 0)
				close(fd);
			log_error("admin verity-errors: cannot open '%s': %m", log);
			st_verity_report_free(rep);
			return 1;
		}
		for (size_t i = 0; i < rep->n_errors; i++) {
			print_error_json(f, &rep->errors[i], boot_id);
			fputc('\n', f);
		}
		if (fclose(f) != 0) {
			log_error("admin verity-errors: cannot write '%s': %m", log);
			st_verity_report_free(rep);
			return 1;
		}
	}
	(void)mkdir(run_dir(), 0755);
	r = write_recorded_seq(seq_path, rep->last_seq);
	if (r < 0)
		fprintf(stderr, "sealtree: admin verity-errors: cannot write '%s' (errors may be recorded twice): %s\n",
			seq_path, strerror(-r));
	printf("recorded %zu verity error%s in %s", rep->n_errors, rep->n_errors == 1 ? "" : "s", log);
	if (rep->count > rep->n_errors)
		printf(" (%llu more did not fit)", (unsigned long long)(rep->count - rep->n_errors));
	printf("\n");
	for (size_t i = 0; i < rep->n_errors; i++)
		print_error_human(stdout, "  ", &rep->errors[i]);
	st_verity_report_free(rep);
	return 0;
}

int admin_verity_errors(int argc, char **argv)
{
	enum { OPT_JSON = 0x100, OPT_RECORD, OPT_LOG };
	static const struct option options[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "record", no_argument, NULL, OPT_RECORD },
		{ "log", required_argument, NULL, OPT_LOG },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	_cleanup_(sysroot_freep) struct st_sysroot *s = NULL;
	struct st_verity_report *rep = NULL;
	const char *log = DEFAULT_LOG;
	bool json = false, rec = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (c) {
		case OPT_JSON:
			json = true;
			break;
		case OPT_RECORD:
			rec = true;
			break;
		case OPT_LOG:
			log = optarg;
			break;
		case 'h':
			printf("usage: sealtree admin [--sysroot PATH] verity-errors [--json] [--record [--log FILE]]\n\n"
			       "The fs-verity and overlayfs verity errors of this boot (the kernel log), each\n"
			       "mapped onto the booted image: the object's digest and its paths. --record\n"
			       "appends the ones not recorded yet this boot to FILE (" DEFAULT_LOG ").\n");
			return 0;
		default:
			return 2;
		}
	}
	if (optind != argc || (json && rec)) {
		log_error("admin verity-errors: takes no arguments, and --json or --record");
		return 2;
	}
	s = admin_open("verity-errors", false);
	if (!s)
		return 1;
	if (rec)
		return record(s, log);
	r = st_sysroot_verity_errors(s, kmsg_path(), 0, ST_VERITY_KEEP_MAX, &rep);
	if (r < 0) {
		log_error_errno(r, "admin verity-errors: cannot read the verity errors");
		return 1;
	}
	if (json) {
		printf("{\"count\": %llu, \"suppressed\": %llu, \"lost\": %s, \"booted\": %s, \"errors\": [",
		       (unsigned long long)rep->count, (unsigned long long)rep->suppressed, rep->lost ? "true" : "false",
		       rep->booted ? "true" : "false");
		for (size_t i = 0; i < rep->n_errors; i++) {
			printf("%s\n  ", i ? "," : "");
			print_error_json(stdout, &rep->errors[i], NULL);
		}
		printf("\n]}\n");
	} else {
		printf("verity errors this boot: %llu\n", (unsigned long long)rep->count);
		for (size_t i = 0; i < rep->n_errors; i++)
			print_error_human(stdout, "  ", &rep->errors[i]);
	}
	st_verity_report_free(rep);
	return 0;
}
