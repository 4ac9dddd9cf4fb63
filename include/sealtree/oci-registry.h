/* SPDX-License-Identifier: MIT */
/*
 * Pulling OCI images from a registry (distribution spec), the client of
 * `sealtree oci pull`; see docs/formats/oci.md, "Pulling from a registry".
 *
 * The manifest is negotiated (OCI and Docker manifests and indexes; an
 * index gives the manifest of the platform asked for), authentication
 * follows the registry's 401 (Basic with the credentials, or a Bearer
 * token from the realm it names, anonymous or with the credentials),
 * redirects are followed (to blob storage), the manifest is checked against
 * its digest and every blob is hashed as it arrives and named only once its
 * size and digest match. Blobs in flight: several at once; an interrupted
 * blob is continued with Range, by the next attempt or the next pull; blobs
 * already in the pull cache are not fetched again. The verified image is
 * then imported (sealtree/oci.h, st_oci_import()): nothing is published
 * under the image's ref before everything was verified.
 */
#ifndef SEALTREE_OCI_REGISTRY_H
#define SEALTREE_OCI_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sealtree/oci.h"
#include "sealtree/repo.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef ST_EXPORT
#define ST_EXPORT __attribute__((visibility("default")))
#endif

struct st_oci_pull_options {
	/* The image name to store under (NAME[:TAG], see sealtree/oci.h); NULL: REGISTRY/NAME:TAG of the
	 * reference, or REGISTRY/NAME:sha256-HEX for a reference by digest. */
	const char *name;
	const char *creds;              /* "USER:PASSWORD" for Basic or the token realm; NULL: anonymous */
	bool no_tls_verify;             /* accept any certificate; without a scheme, plain http if https fails */
	unsigned jobs;                  /* blobs in flight; 0: 6 */
	unsigned stall_timeout;         /* seconds below 1 byte/s before an attempt is abandoned; 0: 30 */
	const char *os, *architecture, *variant;        /* platform from an index; NULL: linux, this machine's, any */
	/* Filled on return. */
	bool up_to_date;                /* the image was there with this manifest: nothing fetched */
	uint64_t blobs_fetched, blobs_cached;
	uint64_t bytes_fetched;         /* body bytes of blobs received (resumed bytes not counted again) */
	uint64_t bytes_resumed;         /* bytes of partial blobs from an earlier pull that were kept */
	uint64_t requests;              /* HTTP requests, retries included */
	uint64_t layers, files, objects_written;        /* what the import read and newly stored */
	char manifest_digest[ST_OCI_DIGEST_STRING_SIZE];
	char name_used[ST_REF_NAME_MAX + 1];            /* NAME:TAG the image was stored as */
	/* zstd:chunked layers pulled partially (docs/formats/oci.md, "Partial pulls"): their files
	 * fetched, and found in the store; their bytes and requests are in bytes_fetched, requests. */
	uint64_t partial_layers, partial_files_fetched, partial_files_local;
	uint8_t commit[ST_COMMIT_ID_SIZE];
	/* Entries of the repository's SHA-256 index that did not hold (stale or wrong): fetched instead. */
	uint64_t partial_index_wrong;
	/* TOCs rebuilt from a delta against a TOC the store kept; deltas that did not hold (the TOC was
	 * fetched instead) and the last one's reason (docs/formats/oci.md, "TOC deltas"). */
	uint64_t partial_deltas, partial_deltas_refused;
	const char *partial_delta_refused_why;
	uint32_t reserved[6];
};

/*
 * Pull reference ([http://|https://]REGISTRY/NAME[:TAG|@sha256:HEX]) into
 * repo. Errors name the URL and the blob or manifest; -EBADMSG for a digest
 * or size that does not match, -EACCES for refused credentials, -ENOENT for
 * a missing image or platform, -EFBIG for an oversized manifest.
 */
ST_EXPORT int st_oci_pull(struct st_repo *repo, const char *reference, struct st_oci_pull_options *opts);

#ifdef __cplusplus
}
#endif
#endif
