/* SPDX-License-Identifier: MIT */
/*
 * sealtree oci verify IMAGE...: rebuild each layer's tar from its
 * tar-split record and the objects and check it against the config's
 * diff_id (docs/man/sealtree-oci.1.md).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "read-output.h"
#include "sealtree.h"
#include "sealtree/oci.h"

static void report(void *userdata, const struct st_oci_verify_layer *l)
{
	(void)userdata;
	if (l->result == 0)
		printf("layer %zu/%zu %s: ok, diff_id %s (%" PRIu64 " bytes, %" PRIu64 " files from objects)\n",
		       l->index + 1, l->n_layers, l->digest, l->diff_id, l->bytes, l->files);
	else
		printf("layer %zu/%zu %s: FAILED: %s\n", l->index + 1, l->n_layers, l->digest,
		       l->detail ? l->detail : "?");
	fflush(stdout);
}

int oci_verify(int argc, char **argv)
{
	_cleanup_(repo_freep) struct st_repo *repo = NULL;
	int ret = 0, r;

	for (int i = 1; i < argc; i++)
		if (argv[i][0] == '-' && strcmp(argv[i], "--help") != 0 && strcmp(argv[i], "-h") != 0) {
			log_error("oci verify: unknown option '%s' (sealtree oci verify --help)", argv[i]);
			return 2;
		}
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fprintf(argc < 2 ? stderr : stdout,
			"usage: sealtree oci verify IMAGE...\n"
			"\n"
			"Rebuild every layer's tar from its tar-split record and the objects, each\n"
			"object checked against its fs-verity digest, and check the tar against the\n"
			"config's diff_id. Exit status 1 if any layer does not match.\n");
		return argc < 2 ? 2 : 0;
	}
	repo = open_repo_or_fail(REPO_LOCK_SHARED);
	if (!repo)
		return 1;
	for (int i = 1; i < argc; i++) {
		if (argc > 2)
			printf("image %s:\n", argv[i]);
		r = st_oci_verify_image(repo, argv[i], report, NULL);
		if (r < 0) {
			log_error_errno(r, "oci verify '%s'", argv[i]);
			ret = 1;
		}
	}
	return ret;
}
