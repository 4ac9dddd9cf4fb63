/* SPDX-License-Identifier: MIT */
/*
 * admin deploy oci:IMAGE | oci:[http(s)://]REGISTRY/NAME:TAG (see
 * docs/man/sealtree-admin.1.md): an image already in the sysroot's
 * repository, or pulled first from a registry (st_oci_pull(): every blob
 * checked against its digest, nothing fetched if the tag's manifest is the
 * one stored), then deployed like any other commit through its ref
 * oci/NAME:TAG.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "sealtree.h"
#include "sealtree/oci-registry.h"

/* Does s name a registry: a scheme, or a first component with '.' or ':', or localhost? */
static bool is_registry_reference(const char *s)
{
	size_t n;

	if (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0)
		return true;
	n = strcspn(s, "/");
	if (s[n] != '/')
		return false;
	return memchr(s, '.', n) || memchr(s, ':', n) || (n == 9 && strncmp(s, "localhost", 9) == 0);
}

int admin_oci_spec(const char *verb, struct st_sysroot *s, const char *spec, char **ret_local)
{
	const char *image = spec + strlen("oci:");
	char *local;

	if (!is_registry_reference(image)) {
		struct st_oci_image *img = NULL;
		int r = st_oci_get_image(st_sysroot_repo(s), image, &img);

		if (r < 0)
			return log_error_errno(r, "admin %s: no image '%s' in the repository (oci:REGISTRY/NAME:TAG pulls "
					       "one)", verb, image), r;
		st_oci_image_list_free(img, 1);
		if (asprintf(&local, "oci/%s", image) < 0)
			return log_error_errno(-ENOMEM, "admin %s", verb), -ENOMEM;
	} else {
		struct st_oci_pull_options o = {};
		int r = st_oci_pull(st_sysroot_repo(s), image, &o);

		if (r < 0)
			return log_error_errno(r, "admin %s: cannot pull '%s'", verb, image), r;
		fprintf(stderr, "oci/%s: %s (%" PRIu64 " blobs fetched, %" PRIu64 " bytes)\n", o.name_used,
			o.up_to_date ? "up to date" : "pulled", o.blobs_fetched, o.bytes_fetched);
		if (asprintf(&local, "oci/%s", o.name_used) < 0)
			return log_error_errno(-ENOMEM, "admin %s", verb), -ENOMEM;
	}
	*ret_local = local;
	return 0;
}
