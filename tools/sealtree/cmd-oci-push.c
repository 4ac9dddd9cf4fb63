/* SPDX-License-Identifier: MIT */
/* sealtree oci push [OPTIONS] REF REGISTRY/NAME:TAG: see docs/man/sealtree-oci-push.1.md. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealtree.h"
#include "sealtree/oci-push.h"

static void push_help(FILE *f)
{
	fprintf(f,
		"usage: sealtree oci push [OPTIONS] REF [http://|https://]REGISTRY/NAME:TAG\n"
		"\n"
		"Publish the tree of REF (a ref, oci/NAME:TAG or a commit id) as an OCI image\n"
		"of one zstd:chunked layer: each file's contents its own zstd frame, a TOC\n"
		"naming each file's SHA-256 and fs-verity digest, so that a pull fetches only\n"
		"the files it lacks. An image of the repository (oci/NAME:TAG) goes with its\n"
		"own config and original layers, rebuilt from their tar-split records (same\n"
		"diff_ids) and compressed with zstd, unless --flatten.\n"
		"\n"
		"  --creds USER:PASSWORD credentials for Basic auth or the token realm\n"
		"  --tls-verify=BOOL     check the registry's certificate (default true); with\n"
		"                        false and no scheme, plain http if https fails\n"
		"  --platform OS/ARCH    written in the config (default linux/this machine)\n"
		"  --plain-chunked       the layer as other producers write it: no fs-verity\n"
		"                        digests in the TOC, no tar headers frame\n"
		"  --flatten             push an image's merged tree as one layer, as any commit\n"
		"  --delta-from TAG      with the layer, a delta of its TOC and tar headers\n"
		"                        against those of the image at TAG (or @DIGEST) of\n"
		"                        the destination repository\n"
		"  -h, --help            show this help\n");
}

int oci_push(int argc, char **argv)
{
	enum { OPT_CREDS = 0x100, OPT_TLS_VERIFY, OPT_PLATFORM, OPT_PLAIN_CHUNKED, OPT_FLATTEN, OPT_DELTA_FROM };
	static const struct option options[] = {
		{ "creds", required_argument, NULL, OPT_CREDS },
		{ "tls-verify", required_argument, NULL, OPT_TLS_VERIFY },
		{ "platform", required_argument, NULL, OPT_PLATFORM },
		{ "plain-chunked", no_argument, NULL, OPT_PLAIN_CHUNKED },
		{ "flatten", no_argument, NULL, OPT_FLATTEN },
		{ "delta-from", required_argument, NULL, OPT_DELTA_FROM },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct st_oci_push_options opts = {};
	char *platform = NULL;
	struct st_repo *repo;
	int c, r;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (c) {
		case OPT_CREDS:
			if (!strchr(optarg, ':')) {
				log_error("oci push: --creds takes USER:PASSWORD");
				return 2;
			}
			opts.creds = optarg;
			break;
		case OPT_TLS_VERIFY:
			if (strcmp(optarg, "false") == 0 || strcmp(optarg, "0") == 0 || strcmp(optarg, "no") == 0)
				opts.no_tls_verify = true;
			else if (strcmp(optarg, "true") == 0 || strcmp(optarg, "1") == 0 || strcmp(optarg, "yes") == 0)
				opts.no_tls_verify = false;
			else {
				log_error("oci push: --tls-verify takes true or false");
				return 2;
			}
			break;
		case OPT_PLATFORM: {
			char *slash;

			free(platform);
			platform = strdup(optarg);
			if (!platform)
				return log_error("out of memory"), 1;
			slash = strchr(platform, '/');
			if (!slash || slash == platform || slash[1] == '\0' || strchr(slash + 1, '/')) {
				log_error("oci push: --platform takes OS/ARCH");
				free(platform);
				return 2;
			}
			*slash = '\0';
			opts.os = platform;
			opts.architecture = slash + 1;
			break;
		}
		case OPT_PLAIN_CHUNKED:
			opts.plain_chunked = true;
			break;
		case OPT_FLATTEN:
			opts.flatten = true;
			break;
		case OPT_DELTA_FROM:
			/* a tag, or @sha256:... for a digest */
			opts.delta_from = optarg[0] == '@' ? optarg + 1 : optarg;
			break;

		case 'h':
			push_help(stdout);
			free(platform);
			return 0;
		default:
			push_help(stderr);
			free(platform);
			return 2;
		}
	}
	if (optind + 2 != argc) {
		log_error("oci push: expected REF and REGISTRY/NAME:TAG");
		free(platform);
		return 2;
	}
	repo = open_repo_or_fail(REPO_LOCK_SHARED);
	if (!repo) {
		free(platform);
		return 1;
	}
	r = st_oci_push(repo, argv[optind], argv[optind + 1], &opts);
	st_repo_free(repo);
	free(platform);
	if (r < 0)
		return log_error_errno(r, "oci push of '%s' to '%s' failed", argv[optind], argv[optind + 1]), 1;
	printf("%s: manifest %s\n", argv[optind + 1], opts.manifest_digest);
	if (opts.original_manifest)
		printf("oci push: the registry has the %" PRIu64 " original layers: the original manifest, unchanged\n",
		       opts.layers);
	else if (opts.layers)
		printf("oci push: %" PRIu64 " original layers rebuilt (diff_ids checked) and zstd-compressed, %" PRIu64
		       " bytes (tar %" PRIu64 "), %" PRIu64 " files from objects\n",
		       opts.layers, opts.layer_size, opts.tar_size, opts.files);
	else
		printf("oci push: layer %s zstd:chunked, %" PRIu64 " bytes (tar %" PRIu64 "), %" PRIu64 " entries, %" PRIu64
		       " files\n",
		       opts.layer_digest, opts.layer_size, opts.tar_size, opts.entries, opts.files);
	if (opts.delta_bytes)
		printf("oci push: a TOC delta of %" PRIu64 " bytes against %s\n", opts.delta_bytes,
		       opts.delta_from);
	else if (opts.delta_from)
		printf("oci push: no TOC delta: %s has no zstd:chunked layer of ours with a TOC pair\n", opts.delta_from);
	printf("oci push: %" PRIu64 " blobs uploaded (%" PRIu64 " bytes), %" PRIu64 " already there\n",
	       opts.blobs_uploaded, opts.bytes_uploaded, opts.blobs_present);
	return 0;
}
