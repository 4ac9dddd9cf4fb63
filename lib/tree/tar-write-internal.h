/* SPDX-License-Identifier: MIT */
/* The tar writer's output stream (tar-write-out.c). */
#pragma once

#include <archive.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tar_out {
	int fd;
	uint8_t *buf;                   /* pending output, written in whole records */
	size_t len;
	uint64_t written;               /* bytes of the archive so far */
	bool capturing;                 /* libarchive's output goes to cap */
	uint8_t *cap;
	size_t cap_len, cap_cap;
};

/* Open a (pax) archive writer a on fd through our stream. */
int tar_out_open(struct tar_out *o, struct archive *a, int fd);
/* After archive_write_close(): pad to whole 10240-byte records and write out. */
int tar_out_finish(struct tar_out *o);
void tar_out_free(struct tar_out *o);
/* Keep what libarchive writes next (one member's headers) ... */
void tar_out_capture(struct tar_out *o);
/* ... and send it out with SCHILY.filetype=socket in its pax header. */
int tar_out_release_socket(struct tar_out *o);
