/* SPDX-License-Identifier: MIT */
/*
 * Where mkcomposefs writes the image: stdout, an existing special file
 * (written in place, as the reference does), or a regular file replaced
 * atomically - the image is assembled in an unnamed temporary file in the
 * target directory and only gets its name once complete, so a failed run
 * leaves neither a partial image nor a temporary file behind.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct image_output {
	int fd;
	int dir_fd;             /* target directory (atomic mode) */
	char *name;             /* final name in dir_fd (atomic mode) */
	char *tmp_name;         /* named temporary, when O_TMPFILE is unsupported */
	bool atomic;
	bool to_stdout;
	bool try_direct;        /* a new file: whole blocks may go with O_DIRECT */
	bool direct, wrote_direct;
	mode_t mode;            /* for the new file */
	uint8_t *buf;           /* write buffer */
	size_t buf_len;
	const char *path;       /* for messages */
};

/* Prepare to write to path ("-" = stdout). Logs and returns < 0 on failure. */
int image_output_open(struct image_output *o, const char *path);

/* st_image_write_fn: buffer and write bytes. */
int image_output_write(void *userdata, const void *data, size_t len);

/* Flush and give the image its name. Logs and returns < 0 on failure. */
int image_output_commit(struct image_output *o);

/* Drop everything not committed (removes the temporary file). */
void image_output_done(struct image_output *o);
