/* SPDX-License-Identifier: MIT */
/*
 * The frames of a zstd:chunked layer as chunked-write.c writes them
 * (docs/formats/oci.md, "zstd:chunked layers"): header frames, file
 * frames, our tar headers frame, the TOC and the footer.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zstd.h>

#include "chunked.h"

struct writer {
	int in_fd, out_fd;
	uint64_t in_off, out_off;
	ZSTD_CCtx *cctx;
	struct oci_hash blob_hash;
	uint8_t *zbuf;
	size_t zbuf_size;
	bool in_frame;                  /* a frame is open: in cctx, or headers waiting in hbuf */
	bool file_frame;                /* the frame holds a file's contents (else tar headers) */
	ZSTD_CCtx *hctx;                /* header frames: one shot, their size known */
	uint8_t *hbuf, *hz;             /* header bytes waiting, and their frame */
	size_t hlen, hcap, hzcap;
	/* Every run of tar bytes between two files' contents (headers and padding), for the
	 * headers frame: records of a u32 little-endian length and the bytes. */
	uint8_t *gaps;
	size_t glen, gcap, gap_start;   /* gap_start: where the open record's length goes */
	uint64_t n_gaps;
};

/* Append to the open run of tar bytes between files (the tar headers frame's). */
int gap_append(struct writer *w, const void *data, size_t len);
/* Close the open run (a file's contents start) and open the next one. */
int gap_next(struct writer *w);
/*
 * Compress len bytes: into the open file frame (w->file_frame), or with the
 * header bytes gathered until a file starts (one frame, one shot); end it
 * if end.
 */
int z_feed(struct writer *w, const void *data, size_t len, bool end);
/* The tar headers frame: every run of tar bytes between files, one skippable frame. */
int write_headers(struct writer *w, struct chunked_result *res);
/* The delta frame of the pair (the TOC's JSON, then the headers runs) against base's pair. */
int write_delta(struct writer *w, const char *toc, size_t toc_len, const struct chunked_base *base,
		struct chunked_result *res);
/* The TOC (JSON, toc_len bytes), its skippable frame and the footer; fills the result's TOC fields. */
int write_toc(struct writer *w, const char *toc, size_t toc_len, struct chunked_result *res);
