/* SPDX-License-Identifier: MIT */
/* oci push (push.c: a tree; push-image.c: an image with its original layers): the upload steps they share. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "registry-internal.h"
#include "sealtree/oci-push.h"

/* One request with the session's credentials; a 401 renews them once and sends it again. */
int push_send_auth(struct registry *reg, const char *method, const char *url, const char *content_type,
		   const void *body, int fd, uint64_t len, struct http_send_result *ret);
/* Whether the registry has the blob (HEAD answers 200). */
int push_has_blob(struct registry *reg, const char *digest, bool *ret);
/* Put one blob (in memory or in fd) into the registry unless it has it. */
int push_blob(struct registry *reg, const char *digest, const void *body, int fd, uint64_t len,
	      struct st_oci_push_options *o);
/* PUT the manifest under tag (its media type given). */
int push_manifest(struct registry *reg, const char *tag, const char *media_type, const char *manifest, size_t len);

/* Push image (spec "oci/NAME:TAG") with its config and original layers to reg's NAME:tag. */
int push_image(struct st_repo *repo, const char *spec, const struct registry_ref *dest,
	       struct st_oci_push_options *o);
