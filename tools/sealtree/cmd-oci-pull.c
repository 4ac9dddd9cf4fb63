/* SPDX-License-Identifier: MIT */
/* sealtree oci pull [OPTIONS] REGISTRY/NAME[:TAG|@DIGEST]: see docs/man/sealtree-oci-pull.1.md. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealtree.h"
#include "sealtree/hex.h"
#include "sealtree/oci-registry.h"

static void pull_help(FILE *f)
{
	fprintf(f,
		"usage: sealtree oci pull [OPTIONS] [http://|https://]REGISTRY/NAME[:TAG|@sha256:HEX]\n"
		"\n"
		"Fetch an image from a registry into the repository as oci/NAME:TAG: the\n"
		"manifest (an index gives this platform's) and every blob checked against its\n"
		"digest as it arrives, several blobs at once, an interrupted blob continued\n"
		"where it stopped, then imported (each file stored once, by fs-verity digest).\n"
		"\n"
		"  --name NAME:TAG       store as this image name (default REGISTRY/NAME:TAG;\n"
		"                        for @DIGEST REGISTRY/NAME:sha256-HEX)\n"
		"  --creds USER:PASSWORD credentials for Basic auth or the token realm\n"
		"  --tls-verify=BOOL     check the registry's certificate (default true); with\n"
		"                        false and no scheme, plain http if https fails\n"
		"  --platform OS/ARCH[/VARIANT]\n"
		"                        the platform taken from an index (default linux/this machine)\n"
		"  -j, --jobs N          blobs in flight (default 6)\n"
		"  --stall-timeout SECONDS\n"
		"                        abandon (and retry) a transfer below 1 byte/s for this long (default 30)\n"
		"  -h, --help            show this help\n");
}

static int parse_bool(const char *s, bool *ret)
{
	if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0 || strcmp(s, "yes") == 0)
		*ret = true;
	else if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0 || strcmp(s, "no") == 0)
		*ret = false;
	else
		return -1;
	return 0;
}

int oci_pull(int argc, char **argv)
{
	enum { OPT_NAME = 0x100, OPT_CREDS, OPT_TLS_VERIFY, OPT_PLATFORM, OPT_STALL_TIMEOUT };
	static const struct option options[] = {
		{ "name", required_argument, NULL, OPT_NAME },
		{ "creds", required_argument, NULL, OPT_CREDS },
		{ "tls-verify", required_argument, NULL, OPT_TLS_VERIFY },
		{ "platform", required_argument, NULL, OPT_PLATFORM },
		{ "jobs", required_argument, NULL, 'j' },
		{ "stall-timeout", required_argument, NULL, OPT_STALL_TIMEOUT },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct st_oci_pull_options opts = {};
	char *platform = NULL;
	struct st_repo *repo;
	bool verify = true;
	uint32_t v;
	int c, r;

	while ((c = getopt_long(argc, argv, "j:h", options, NULL)) >= 0) {
		switch (c) {
		case OPT_NAME:
			opts.name = optarg;
			break;
		case OPT_CREDS:
			if (!strchr(optarg, ':')) {
				log_error("oci pull: --creds takes USER:PASSWORD");
				return 2;
			}
			opts.creds = optarg;
			break;
		case OPT_TLS_VERIFY:
			if (parse_bool(optarg, &verify) < 0) {
				log_error("oci pull: --tls-verify takes true or false");
				return 2;
			}
			opts.no_tls_verify = !verify;
			break;
		case OPT_PLATFORM: {
			char *slash;

			free(platform);
			platform = strdup(optarg);
			if (!platform)
				return log_error("out of memory"), 1;
			slash = strchr(platform, '/');
			if (!slash || slash == platform || slash[1] == '\0' || slash[1] == '/') {
				log_error("oci pull: --platform takes OS/ARCH[/VARIANT]");
				free(platform);
				return 2;
			}
			*slash = '\0';
			opts.os = platform;
			opts.architecture = slash + 1;
			slash = strchr(slash + 1, '/');
			if (slash) {
				*slash = '\0';
				opts.variant = slash + 1;
			}
			break;
		}
		case 'j':
			if (parse_option_u32("oci pull", "--jobs", optarg, 1, 64, NULL, &v) < 0)
				return 2;
			opts.jobs = v;
			break;
		case OPT_STALL_TIMEOUT:
			if (parse_option_u32("oci pull", "--stall-timeout", optarg, 1, 3600, "seconds", &v) < 0)
				return 2;
			opts.stall_timeout = v;
			break;
		case 'h':
			pull_help(stdout);
			return 0;
		default:
			pull_help(stderr);
			return 2;
		}
	}
	if (optind + 1 != argc) {
		log_error("oci pull: expected one REGISTRY/NAME[:TAG|@DIGEST]");
		free(platform);
		return 2;
	}
	repo = open_repo_or_fail(REPO_LOCK_SHARED);
	if (!repo) {
		free(platform);
		return 1;
	}
	r = st_oci_pull(repo, argv[optind], &opts);
	st_repo_free(repo);
	free(platform);
	if (r < 0)
		return log_error_errno(r, "oci pull of '%s' failed", argv[optind]), 1;
	{
		char hex[2 * ST_COMMIT_ID_SIZE + 1];

		st_hex_encode(opts.commit, ST_COMMIT_ID_SIZE, hex);
		if (opts.up_to_date)
			printf("oci/%s: %s up to date (manifest %s)\n", opts.name_used, hex, opts.manifest_digest);
		else
			printf("oci/%s: %s manifest %s\n", opts.name_used, hex, opts.manifest_digest);
		printf("oci pull: %" PRIu64 " blobs fetched, %" PRIu64 " cached, %" PRIu64 " bytes (%" PRIu64
		       " resumed), %" PRIu64 " requests\n",
		       opts.blobs_fetched, opts.blobs_cached, opts.bytes_fetched, opts.bytes_resumed, opts.requests);
		if (opts.partial_layers)
			printf("oci pull: %" PRIu64 " zstd:chunked layers partially: %" PRIu64 " files fetched, %" PRIu64
			       " found in the store\n",
			       opts.partial_layers, opts.partial_files_fetched, opts.partial_files_local);
		if (opts.partial_deltas)
			printf("oci pull: %" PRIu64 " TOCs rebuilt from a delta\n", opts.partial_deltas);
		if (opts.partial_deltas_refused)
			printf("oci pull: %" PRIu64 " TOC deltas refused (%s): the TOC was fetched\n",
			       opts.partial_deltas_refused, opts.partial_delta_refused_why ?: "?");
		if (opts.partial_index_wrong)
			printf("oci pull: %" PRIu64 " entries of the SHA-256 index did not hold: those files were fetched\n",
			       opts.partial_index_wrong);
		if (!opts.up_to_date)
			printf("oci import: %" PRIu64 " layers, %" PRIu64 " files, %" PRIu64 " objects new\n", opts.layers,
			       opts.files, opts.objects_written);
	}
	return 0;
}
