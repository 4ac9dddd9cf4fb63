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
/*
 * Our annotations: the TOC and tar headers frame as one "pair" (the TOC's
 * JSON then the headers frame decompressed), its SHA-256, and a delta of it
 * against the pair of an earlier layer (docs/formats/oci.md, "TOC deltas").
 */
#define CHUNKED_ANN_PAIR_DIGEST "io.sealtree.toc-pair-checksum"
#define CHUNKED_ANN_DELTA_BASE "io.sealtree.toc-delta-base"
#define CHUNKED_ANN_DELTA_DIGEST "io.sealtree.toc-delta-checksum"
#define CHUNKED_ANN_DELTA_POSITION "io.sealtree.toc-delta-position"
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
	char pair_digest[ST_OCI_DIGEST_STRING_SIZE];    /* SHA-256 of the TOC's JSON then the headers decompressed */
	uint64_t delta_offset, delta_length;            /* the delta frame, if a base was given */
	char delta_digest[ST_OCI_DIGEST_STRING_SIZE];
};

/* The pair of an earlier layer, for a delta (chunked_write()). */
struct chunked_base {
	const uint8_t *data;
	size_t len;
	char digest[ST_OCI_DIGEST_STRING_SIZE];
};

#define CHUNKED_TOC_MAX (64u * 1024 * 1024)

struct registry;

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

/*
 * Our pair and delta annotations of layer index: -ENOENT without a pair
 * digest; has_delta when the three delta annotations are there (all or
 * none), -EUCLEAN for values off the grammar or outside the blob.
 */
struct chunked_delta {
	char pair[ST_OCI_DIGEST_STRING_SIZE];
	bool has_delta;
	char base[ST_OCI_DIGEST_STRING_SIZE], digest[ST_OCI_DIGEST_STRING_SIZE];
	uint64_t offset, length;
};
/* zstd's window for a delta: base and target in it, at most 2^CHUNKED_DELTA_WINDOW_LOG_MAX. */
#define CHUNKED_DELTA_WINDOW_LOG_MAX 29u
#define CHUNKED_PAIR_MAX ((size_t)CHUNKED_TOC_MAX + CHUNKED_HDRS_MAX)
unsigned chunked_delta_window_log(size_t base_len, size_t target_len);
int chunked_delta_position(const void *manifest, size_t len, size_t index, uint64_t blob_size,
			   struct chunked_delta *ret);

/*
 * The pair of layer index of a manifest from fd (the blob's bytes at their
 * offsets; at least the TOC and headers frame): each checked against its
 * digest, decompressed to its announced length. -ENOENT without the
 * annotations. *ret (malloc'ed) is the pair, ret_digest its SHA-256.
 */
int chunked_pair_from_fd(int fd, const void *manifest, size_t len, size_t index, uint64_t blob_size,
			 uint8_t **ret, size_t *ret_len, char ret_digest[ST_OCI_DIGEST_STRING_SIZE]);
/*
 * The pair of layer index fetched by two Range requests (the pusher's base):
 * as chunked_pair_from_fd(). tmp_dfd: where the fetched bytes go.
 */
int chunked_fetch_pair(struct registry *reg, int tmp_dfd, const void *manifest, size_t len, size_t index,
		       const struct oci_descriptor *d, uint8_t **ret, size_t *ret_len,
		       char ret_digest[ST_OCI_DIGEST_STRING_SIZE]);
/* Keep a pair in REPO/cache/chunked-pairs/, named by its SHA-256 (a cache: failures are ignored). */
void chunked_pair_keep(struct st_repo *repo, const uint8_t *pair, size_t len);

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

struct sha256_index;
struct chunked_stats {
	uint64_t layers, files_fetched, files_local, bytes, requests;
	uint64_t index_wrong;           /* SHA-256 index entries that did not hold (the file was fetched) */
	uint64_t deltas;                /* TOCs rebuilt from a delta */
	uint64_t deltas_refused;        /* deltas that did not hold (the TOC was fetched) */
	const char *delta_refused_why;  /* the last one's reason (a static string) */
};

/* Does objects/ hold any object? (true when it cannot tell) A first pull fetches whole layers. */
bool chunked_repo_has_objects(struct st_repo *repo);

/*
 * Pull layer index of a manifest partially: its TOC (or, with a TOC delta
 * whose base the store keeps, the TOC and tar headers frame rebuilt from
 * the delta and checked against the pair's digest), then only the frames
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
 * write it to out_fd (from offset 0) as a zstd:chunked layer; with base
 * (may be NULL; not with CHUNKED_WRITE_PLAIN), a delta frame of the pair
 * against base's.
 */
enum {
	CHUNKED_WRITE_PLAIN = 1u << 0,  /* as other producers write: no CHUNKED_KEY_VERITY, no tar headers frame */
};
int chunked_write(int tar_fd, int out_fd, unsigned flags, const struct chunked_base *base,
		  struct chunked_result *ret);
