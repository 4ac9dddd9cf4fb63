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
};

/*
 * Read the tar at tar_fd (from offset 0, our own exporter's pax output) and
 * write it to out_fd (from offset 0) as a zstd:chunked layer.
 */
int chunked_write(int tar_fd, int out_fd, struct chunked_result *ret);
