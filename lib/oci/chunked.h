/* SPDX-License-Identifier: MIT */
/*
 * zstd:chunked layers (docs/formats/oci.md, "zstd:chunked layers"): the
 * writer (chunked-write.c) used by oci push (push.c).
 */
#pragma once

#include <stdint.h>

#include "oci-internal.h"

/* The manifest annotations of a zstd:chunked layer (containers/storage's names). */
#define CHUNKED_ANN_TOC_DIGEST "io.github.containers.zstd-chunked.manifest-checksum"
#define CHUNKED_ANN_TOC_POSITION "io.github.containers.zstd-chunked.manifest-position"
/* Our key in each regular file's TOC entry: its fs-verity digest, 64 hex digits. */
#define CHUNKED_KEY_VERITY "io.sealtree.fsverity"
/* Our annotations: the tar headers frame (docs/formats/oci.md, "The tar headers frame"). */
#define CHUNKED_ANN_HDRS_DIGEST "io.sealtree.tar-headers-checksum"
#define CHUNKED_ANN_HDRS_POSITION "io.sealtree.tar-headers-position"
#define CHUNKED_FOOTER_SIZE 64u
#define CHUNKED_FOOTER_MAGIC "GNUlInUx"
#define CHUNKED_TOC_TYPE 1u            /* the "CRFS" TOC */

struct chunked_result {
	char blob_digest[ST_OCI_DIGEST_STRING_SIZE];
	char diff_id[ST_OCI_DIGEST_STRING_SIZE];
	uint64_t blob_size, tar_size;
	uint64_t toc_offset, toc_length, toc_uncompressed;
	char toc_digest[ST_OCI_DIGEST_STRING_SIZE];     /* SHA-256 of the compressed TOC */
	uint64_t entries, files, file_bytes;
	uint64_t hdrs_offset, hdrs_length, hdrs_uncompressed;   /* the tar headers frame */
	char hdrs_digest[ST_OCI_DIGEST_STRING_SIZE];
};

#define CHUNKED_TOC_MAX (64u * 1024 * 1024)

/* ---- Partial pulls (chunked-toc.c: the untrusted parts; chunked-pull.c) ---- */

/*
 * The TOC annotations of layer index of a manifest (its bytes): -ENOENT if
 * the layer has none (or a TOC of another type), -EUCLEAN for values off
 * the grammar or outside the blob.
 */
int chunked_layer_position(const void *manifest, size_t len, size_t index, uint64_t blob_size,
			   char ret_digest[ST_OCI_DIGEST_STRING_SIZE], uint64_t *ret_offset, uint64_t *ret_length,
			   uint64_t *ret_uncompressed);

/*
 * Our tar headers frame of layer index (docs/formats/oci.md, "The tar
 * headers frame"): -ENOENT if the layer has none, -EUCLEAN for values off
 * the grammar or outside the blob.
 */
#define CHUNKED_HDRS_MAX (256u * 1024 * 1024)
int chunked_headers_position(const void *manifest, size_t len, size_t index, uint64_t blob_size,
			     char ret_digest[ST_OCI_DIGEST_STRING_SIZE], uint64_t *ret_offset, uint64_t *ret_length,
			     uint64_t *ret_uncompressed);

/* One run of tar bytes between two files' contents, in the decompressed headers frame. */
struct chunked_run {
	size_t offset, length;
};
/* Split the decompressed frame (len bytes) into exactly n_runs runs; -EUCLEAN if it does not split so. */
int chunked_headers_split(const uint8_t *data, size_t len, size_t n_runs, struct chunked_run *ret);

/* A regular file with contents, as the TOC says. */
struct chunked_file {
	char *name;
	uint64_t size, offset, end;     /* [offset, end): its zstd frame in the blob */
	uint8_t sha256[OCI_DIGEST_SIZE];
	uint8_t verity[32];
	bool has_verity;
	bool local;                     /* the store has its object */
};

struct chunked_toc {
	struct chunked_file *files;     /* sorted by offset, frames disjoint, all below frames_end */
	size_t n;
};

/* Parse a TOC's JSON (its frames end at frames_end, where the TOC's skippable frame starts). */
int chunked_toc_parse(const void *json, size_t len, uint64_t frames_end, struct chunked_toc *ret);
void chunked_toc_done(struct chunked_toc *t);

struct registry;
struct sha256_index;
struct chunked_stats {
	uint64_t layers, files_fetched, files_local, bytes, requests;
	uint64_t index_wrong;           /* SHA-256 index entries that did not hold (the file was fetched) */
};

/* Does objects/ hold any object? (true when it cannot tell) A first pull fetches whole layers. */
bool chunked_repo_has_objects(struct st_repo *repo);

/*
 * Pull layer index of a manifest partially: its TOC, then only the frames
 * of files the store lacks and the frames between files (tar headers), by
 * merged Range requests; the layer's tar is rebuilt from them and the
 * local objects, each fetched file checked by size, SHA-256 and fs-verity
 * digest, the whole tar by the diff_id. A file without our fs-verity key
 * is local if ix (may be NULL) names an object whose bytes have its
 * SHA-256 (checked here). Written as out_dfd/<diff_id hex>
 * only once it matched. Returns 1 when done, 0 when the layer is to be
 * fetched whole (no TOC, nothing local, a registry that ignores Range),
 * or a negative errno naming the layer and the entry.
 */
int chunked_pull_layer(struct st_repo *repo, struct registry *reg, const void *manifest, size_t manifest_len,
		       size_t index, const struct oci_descriptor *d, const char *diff_id, int out_dfd,
		       const struct sha256_index *ix, struct chunked_stats *stats);

/*
 * Read the tar at tar_fd (from offset 0, our own exporter's pax output) and
 * write it to out_fd (from offset 0) as a zstd:chunked layer.
 */
enum {
	CHUNKED_WRITE_PLAIN = 1u << 0,  /* as other producers write: no CHUNKED_KEY_VERITY, no tar headers frame */
};
int chunked_write(int tar_fd, int out_fd, unsigned flags, struct chunked_result *ret);
