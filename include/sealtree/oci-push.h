/* SPDX-License-Identifier: MIT */
/*
 * Publishing a commit to a registry as an OCI image (docs/formats/oci.md,
 * "Pushing"): one zstd:chunked layer (each file's contents its own zstd
 * frame, a TOC whose entries carry each file's SHA-256 and fs-verity
 * digest), an OCI config and manifest, uploaded with the distribution
 * spec (blob uploads by POST then PUT, then PUT of the manifest).
 */
#ifndef SEALTREE_OCI_PUSH_H
#define SEALTREE_OCI_PUSH_H

#include <stdbool.h>
#include <stdint.h>

#include "sealtree/oci.h"
#include "sealtree/repo.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef ST_EXPORT
#define ST_EXPORT __attribute__((visibility("default")))
#endif

struct st_oci_push_options {
	const char *creds;              /* "USER:PASSWORD"; NULL: anonymous */
	bool no_tls_verify;             /* accept any certificate; without a scheme, plain http if https fails */
	const char *os, *architecture;  /* of the config; NULL: linux, this machine's (tree pushes only) */
	/* The layer as other producers write it: no fs-verity digests in the TOC, no tar headers
	 * frame (a client then finds its files by SHA-256; tests and measurements). */
	bool plain_chunked;
	/* An image (spec "oci/NAME:TAG") is pushed with its original layers and config unless flatten:
	 * then, as any other commit, its merged tree as one zstd:chunked layer. */
	bool flatten;
	/* The image whose TOC a tree's layer carries a delta against (docs/formats/oci.md, "TOC
	 * deltas"): a tag or digest in the destination repository; NULL: none (the layer's bytes
	 * then depend on the tree only: a second push of it uploads nothing). */
	const char *delta_from;
	/* Filled on return. */
	uint64_t delta_bytes;           /* the delta frame written, 0 if none */
	uint64_t files, entries;        /* regular files and all entries of the layer */
	uint64_t layer_size, tar_size;  /* the zstd:chunked blob, the tar it decompresses to */
	uint64_t blobs_uploaded, blobs_present;  /* present: the registry had it already (HEAD) */
	uint64_t bytes_uploaded;
	char manifest_digest[ST_OCI_DIGEST_STRING_SIZE];
	char layer_digest[ST_OCI_DIGEST_STRING_SIZE];   /* the (first) layer's */
	uint64_t layers;                /* layers pushed: 0 for a tree (one zstd:chunked layer), else the image's */
	/* 1: an image whose original layers the destination had; its original manifest was put
	 * unchanged (manifest_digest is the image's own), nothing rebuilt. */
	uint32_t original_manifest;
	uint32_t reserved[4];
};

/*
 * Push the tree of spec (a ref, "oci/NAME:TAG" or a commit id) to
 * destination ([http://|https://]REGISTRY/NAME:TAG). An image of the
 * repository ("oci/NAME:TAG") goes with its own config and its original
 * layers, each rebuilt from its tar-split record and the objects (its
 * diff_id checked) and compressed with zstd, unless opts->flatten; when
 * the destination repository has every original layer blob already, its
 * original manifest is put unchanged instead (opts->original_manifest).
 * opts may be NULL.
 * Errors name the URL and the blob; nothing is tagged before every blob
 * is in the registry.
 */
ST_EXPORT int st_oci_push(struct st_repo *repo, const char *spec, const char *destination,
			  struct st_oci_push_options *opts);

#ifdef __cplusplus
}
#endif
#endif
