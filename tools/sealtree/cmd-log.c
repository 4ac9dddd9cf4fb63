/* SPDX-License-Identifier: MIT */
/* sealtree log / show: the history of a ref, one commit in full. See docs/man/sealtree-log.1.md. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sealtree/error.h"
#include "sealtree/hex.h"
#include "escape.h"
#include "sealtree.h"
#include "sealtree/trust.h"
#include "trust-report.h"

static void format_date(int64_t ts, char buf[64])
{
	time_t t = (time_t)ts;
	struct tm tm;

	if (!gmtime_r(&t, &tm) || strftime(buf, 64, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, 64, "@%" PRId64, ts);
}

/* "label<value escaped>\n": a field of a commit, one line whatever it holds. */
static void print_field(const char *label, const char *value)
{
	fputs(label, stdout);
	print_escaped(stdout, value);
	putchar('\n');
}

/* ---- log ---- */

static void log_help(FILE *f)
{
	fprintf(f,
		"usage: sealtree log [--oneline] [-n N] COMMIT|REF\n"
		"\n"
		"Show a commit and its ancestors, newest first: id, date, version, subject.\n"
		"Stops at the first commit without a parent, or one whose parent was pruned.\n"
		"\n"
		"  --oneline       one line per commit: id, date, version, subject\n"
		"  -n, --max-count=N  at most N commits\n"
		"  --help          show this help\n");
}

int cmd_log(int argc, char **argv)
{
	enum { OPT_ONELINE = 0x100, OPT_HELP };
	static const struct option options[] = {
		{ "oneline", no_argument, NULL, OPT_ONELINE },
		{ "max-count", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, OPT_HELP },
		{}
	};
	uint8_t id[ST_COMMIT_ID_SIZE];
	uint64_t max = UINT64_MAX, shown = 0;
	bool oneline = false;
	struct st_repo *repo;
	int c, r, ret = 0;

	while ((c = getopt_long(argc, argv, "n:", options, NULL)) >= 0) {
		switch (c) {
		case OPT_ONELINE:
			oneline = true;
			break;
		case 'n':
			if (safe_atou64_max(optarg, UINT64_MAX, &max) < 0) {
				log_error("log: bad --max-count '%s'", optarg);
				return 2;
			}
			break;
		case OPT_HELP:
			log_help(stdout);
			return 0;
		default:
			log_help(stderr);
			return 2;
		}
	}
	if (argc - optind != 1) {
		log_help(stderr);
		return 2;
	}
	repo = open_repo_resolved(REPO_LOCK_SHARED, argv[optind], id);
	if (!repo)
		return 1;
	while (shown < max) {
		struct st_commit *cm = NULL;
		char hex[65], date[64];

		st_hex_encode(id, ST_COMMIT_ID_SIZE, hex);
		r = st_repo_read_commit(repo, id, &cm);
		if (r == -ENOENT && shown > 0) {
			printf("%s(parent %s is not in the repository: older history was pruned)\n", oneline ? "" : "\n",
			       hex);
			break;
		}
		if (r < 0) {
			log_error_errno(r, "cannot read commit %s", hex);
			ret = 1;
			break;
		}
		format_date(cm->timestamp, date);
		/* Version and subject are the commit's text: printed escaped (escape.h). */
		if (oneline) {
			printf("%s %s ", hex, date);
			print_escaped(stdout, cm->version ? cm->version : "-");
			putchar(' ');
			print_escaped(stdout, cm->subject ? cm->subject : "");
			putchar('\n');
		} else {
			printf("%scommit %s\nDate:    %s\n", shown ? "\n" : "", hex, date);
			if (cm->version)
				print_field("Version: ", cm->version);
			if (cm->subject)
				print_field("\n    ", cm->subject);
		}
		shown++;
		if (!cm->has_parent) {
			st_commit_free(cm);
			break;
		}
		memcpy(id, cm->parent, ST_COMMIT_ID_SIZE);
		st_commit_free(cm);
	}
	st_repo_free(repo);
	if (fflush(stdout) != 0)
		return 1;
	return ret;
}

/* ---- show ---- */

static void show_help(FILE *f)
{
	fprintf(f,
		"usage: sealtree show [--json] [--keys-dir DIR] COMMIT|REF\n"
		"\n"
		"Show every field of one commit: id, parent, date, version, subject, image\n"
		"digest and format version, sizes, metadata and body, and the state of its\n"
		"signatures under the trust policy (see sealtree verify).\n"
		"\n"
		"  --json           one JSON object instead of text\n"
		"  --keys-dir DIR   trust store for the signature state (default: the system's)\n"
		"  --help   show this help\n");
}

static void show_json(const char *hex, const struct st_commit *c, const struct st_trust_result *trust,
		      const char *ref, const char *trust_error)
{
	char buf[65], date[64];

	format_date(c->timestamp, date);
	printf("{\n  \"id\": \"%s\",\n", hex);
	if (c->has_parent) {
		st_hex_encode(c->parent, ST_COMMIT_ID_SIZE, buf);
		printf("  \"parent\": \"%s\",\n", buf);
	} else
		printf("  \"parent\": null,\n");
	printf("  \"timestamp\": %" PRId64 ",\n  \"date\": \"%s\",\n", c->timestamp, date);
	printf("  \"version\": ");
	c->version ? json_write_string(stdout, c->version) : (void)fputs("null", stdout);
	printf(",\n  \"subject\": ");
	c->subject ? json_write_string(stdout, c->subject) : (void)fputs("null", stdout);
	printf(",\n  \"body\": ");
	c->body ? json_write_string(stdout, c->body) : (void)fputs("null", stdout);
	st_hex_encode(c->image_digest, ST_DIGEST_SIZE, buf);
	printf(",\n  \"image\": \"%s\",\n  \"image_version\": %u,\n  \"image_size\": %" PRIu64
	       ",\n  \"content_size\": %" PRIu64 ",\n  \"inodes\": %" PRIu64 ",\n  \"metadata\": {",
	       buf, c->image_version, c->image_size, c->content_size, c->n_inodes);
	for (size_t i = 0; i < c->n_metadata; i++) {
		printf("%s\n    ", i ? "," : "");
		json_write_string(stdout, c->metadata[i].key);
		printf(": ");
		json_write_string(stdout, c->metadata[i].value);
	}
	printf("%s},\n  \"signature\": ", c->n_metadata ? "\n  " : "");
	if (trust)
		trust_report_json(stdout, trust, ref, NULL);
	else {
		printf("{\"error\":");
		json_write_string(stdout, trust_error);
		putchar('}');
	}
	printf("\n}\n");
}

static void show_text(const char *hex, const struct st_commit *c, const struct st_trust_result *trust,
		      const char *trust_error)
{
	char buf[65], date[64];

	format_date(c->timestamp, date);
	printf("commit       %s\n", hex);
	if (c->has_parent) {
		st_hex_encode(c->parent, ST_COMMIT_ID_SIZE, buf);
		printf("parent       %s\n", buf);
	}
	printf("date         %s (%" PRId64 ")\n", date, c->timestamp);
	/* Every string of the commit is untrusted: escaped, so it cannot forge a line (escape.h). */
	if (c->version)
		print_field("version      ", c->version);
	if (c->subject)
		print_field("subject      ", c->subject);
	st_hex_encode(c->image_digest, ST_DIGEST_SIZE, buf);
	printf("image        %s\n", buf);
	printf("image-format %u\n", c->image_version);
	printf("image-size   %" PRIu64 "\n", c->image_size);
	printf("content-size %" PRIu64 "\n", c->content_size);
	printf("inodes       %" PRIu64 "\n", c->n_inodes);
	for (size_t i = 0; i < c->n_metadata; i++) {
		fputs("meta         ", stdout);
		print_escaped(stdout, c->metadata[i].key);
		putchar('=');
		print_field("", c->metadata[i].value);
	}
	if (!trust) {
		fputs("signature    unknown (", stdout);
		print_escaped(stdout, trust_error);
		puts(")");
	} else if (trust->verdict == ST_TRUST_VALID) {
		key_id_short_hex(trust->sigs[trust->valid_index].key_id, buf);
		printf("signature    valid (key %s)\n", buf);
	} else if (trust->n_sigs == 0 && trust->verdict != ST_TRUST_CORRUPT)
		printf("signature    none%s\n", trust->accepted ? " (not required)" : "");
	else {
		char reason[512];

		st_trust_result_reason(trust, reason, sizeof(reason));
		printf("signature    not valid: %s%s\n", reason, trust->accepted ? " (not required)" : "");
	}
	if (c->body) {
		/* Indented like log's subject: no line of the body can pass for a field. */
		putchar('\n');
		print_escaped_lines(stdout, c->body, "    ");
	}
}

int cmd_show(int argc, char **argv)
{
	enum { OPT_JSON = 0x100, OPT_HELP, OPT_KEYS_DIR };
	static const struct option options[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "keys-dir", required_argument, NULL, OPT_KEYS_DIR },
		{ "help", no_argument, NULL, OPT_HELP },
		{}
	};
	uint8_t id[ST_COMMIT_ID_SIZE];
	struct st_trust_result *trust = NULL;
	const char *keys_dir = NULL, *ref = NULL;
	_cleanup_free_ char *ref_name = NULL;
	char trust_error[512] = "";
	struct st_commit *cm = NULL;
	struct st_repo *repo;
	bool json = false;
	char hex[65];
	int c, r;

	while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
		switch (c) {
		case OPT_JSON:
			json = true;
			break;
		case OPT_KEYS_DIR:
			keys_dir = optarg;
			break;
		case OPT_HELP:
			show_help(stdout);
			return 0;
		default:
			show_help(stderr);
			return 2;
		}
	}
	if (argc - optind != 1) {
		show_help(stderr);
		return 2;
	}
	repo = open_repo_or_fail(REPO_LOCK_SHARED);
	if (!repo)
		return 1;
	/* The signature state: a ref's policy applies when a ref was named (its canonical name). */
	r = st_repo_resolve_ref(repo, argv[optind], id, &ref_name);
	if (r < 0) {
		log_error_errno(r, "cannot resolve '%s'", argv[optind]);
		st_repo_free(repo);
		return 1;
	}
	ref = ref_name;
	st_hex_encode(id, ST_COMMIT_ID_SIZE, hex);
	r = st_repo_read_commit(repo, id, &cm);
	if (r < 0) {
		log_error_errno(r, "cannot read commit %s", hex);
		st_repo_free(repo);
		return 1;
	}
	r = st_trust_commit_state(repo, keys_dir, ref, id, &trust);
	if (r < 0) {
		(void)snprintf(trust_error, sizeof(trust_error), "%s", st_error_message(r));
		st_error_clear();
	}
	if (json)
		show_json(hex, cm, trust, ref, trust_error);
	else
		show_text(hex, cm, trust, trust_error);
	st_trust_result_free(trust);
	st_commit_free(cm);
	st_repo_free(repo);
	return fflush(stdout) == 0 ? 0 : 1;
}
