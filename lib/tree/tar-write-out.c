/* SPDX-License-Identifier: MIT */
/*
 * The byte stream under the tar writer (tar-write.c): libarchive writes
 * unblocked into our callback, we write to the fd in whole 10240-byte
 * records (the last one padded with zeros, as libarchive's own blocking
 * would), and a member's headers can be captured and patched before they
 * go out. The patch: star's SCHILY.filetype=socket record, which
 * libarchive cannot write (its pax writer refuses sockets), added to the
 * pax header of a member written as a fifo.
 */
#include <archive.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "basic/error.h"
#include "tar-write-internal.h"

#define RECORD 10240u
#define OUT_CAP (16u * RECORD)
#define BLOCK 512u

static int flush_out(struct tar_out *o, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t k = write(o->fd, o->buf + done, len - done);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return negative_errno();
		done += (size_t)k;
	}
	memmove(o->buf, o->buf + len, o->len - len);
	o->len -= len;
	return 0;
}

static int put(struct tar_out *o, const void *data, size_t len)
{
	const uint8_t *p = data;
	int r;

	while (len > 0) {
		size_t k = MIN(len, OUT_CAP - o->len);

		memcpy(o->buf + o->len, p, k);
		o->len += k;
		p += k;
		len -= k;
		if (o->len == OUT_CAP) {
			r = flush_out(o, OUT_CAP);
			if (r < 0)
				return r;
		}
	}
	o->written += (uint64_t)(p - (const uint8_t *)data);
	return 0;
}

static la_ssize_t out_write(struct archive *a, void *userdata, const void *data, size_t len)
{
	struct tar_out *o = userdata;
	int r;

	if (o->capturing) {
		if (o->cap_len + len > o->cap_cap) {
			size_t cap = MAX(o->cap_len + len, o->cap_cap * 2);
			uint8_t *b = realloc(o->cap, cap);

			if (!b) {
				archive_set_error(a, ENOMEM, "out of memory");
				return -1;
			}
			o->cap = b;
			o->cap_cap = cap;
		}
		memcpy(o->cap + o->cap_len, data, len);
		o->cap_len += len;
		return (la_ssize_t)len;
	}
	r = put(o, data, len);
	if (r < 0) {
		archive_set_error(a, -r, "%s", strerror(-r));
		return -1;
	}
	return (la_ssize_t)len;
}

int tar_out_open(struct tar_out *o, struct archive *a, int fd)
{
	o->fd = fd;
	o->buf = malloc(OUT_CAP);
	if (!o->buf)
		return -ENOMEM;
	if (archive_write_set_bytes_per_block(a, 0) != ARCHIVE_OK ||
	    archive_write_open(a, o, NULL, out_write, NULL) != ARCHIVE_OK)
		return st_errf(-EIO, "cannot start the archive: %s", archive_error_string(a));
	return 0;
}

int tar_out_finish(struct tar_out *o)
{
	static const uint8_t zeros[BLOCK];
	int r;

	/* Pad to whole records, like GNU tar, whether fd is a file or a pipe. */
	while (o->written % RECORD) {
		r = put(o, zeros, MIN((size_t)(RECORD - o->written % RECORD), sizeof(zeros)));
		if (r < 0)
			return r;
	}
	return flush_out(o, o->len);
}

void tar_out_free(struct tar_out *o)
{
	free(o->buf);
	free(o->cap);
}

void tar_out_capture(struct tar_out *o)
{
	o->capturing = true;
	o->cap_len = 0;
}

static void set_octal(uint8_t *f, size_t len, uint64_t v)
{
	for (size_t i = len - 1; i-- > 0; v >>= 3)
		f[i] = (uint8_t)('0' + (v & 7));
	f[len - 1] = '\0';
}

static void set_checksum(uint8_t *h)
{
	unsigned sum = 0;

	memset(h + 148, ' ', 8);
	for (size_t i = 0; i < BLOCK; i++)
		sum += h[i];
	set_octal(h + 148, 7, sum);
	h[155] = ' ';
}

/* The captured headers of a fifo member, with SCHILY.filetype=socket added to its pax header. */
int tar_out_release_socket(struct tar_out *o)
{
	static const char rec[] = "26 SCHILY.filetype=socket\n";
	const size_t rec_len = sizeof(rec) - 1;
	uint8_t *h = o->cap, xh[BLOCK];
	uint64_t size = 0;
	int r;

	o->capturing = false;
	if (o->cap_len < BLOCK || o->cap_len % BLOCK)
		return st_errf(-EIO, "unexpected header layout from libarchive (%zu bytes)", o->cap_len);
	if (h[156] == 'x') {
		for (size_t i = 124; i < 135 && h[i] >= '0' && h[i] <= '7'; i++)
			size = size * 8 + (uint64_t)(h[i] - '0');
		if (size > o->cap_len - BLOCK)
			return st_errf(-EIO, "unexpected pax header size from libarchive");
		memcpy(xh, h, BLOCK);
		set_octal(xh + 124, 12, size + rec_len);
		set_checksum(xh);
		r = put(o, xh, BLOCK);
		if (r >= 0)
			r = put(o, h + BLOCK, (size_t)size);
		if (r >= 0)
			r = put(o, rec, rec_len);
		if (r >= 0) {
			static const uint8_t zeros[BLOCK];
			size_t body = (size_t)size + rec_len;

			r = put(o, zeros, ALIGN_UP(body, (size_t)BLOCK) - body);
		}
		if (r >= 0)
			r = put(o, h + BLOCK + ALIGN_UP((size_t)size, (size_t)BLOCK),
				o->cap_len - BLOCK - ALIGN_UP((size_t)size, (size_t)BLOCK));
		return r;
	}
	/* No pax header: one of our own, named as libarchive names them. */
	memset(xh, 0, BLOCK);
	memcpy(xh, "PaxHeader/socket", 16);
	memcpy(xh + 100, "0000644", 8);
	memcpy(xh + 108, "0000000", 8);
	memcpy(xh + 116, "0000000", 8);
	set_octal(xh + 124, 12, rec_len);
	memcpy(xh + 136, "00000000000", 12);
	xh[156] = 'x';
	memcpy(xh + 257, "ustar\0" "00", 8);
	set_checksum(xh);
	r = put(o, xh, BLOCK);
	if (r >= 0) {
		uint8_t body[BLOCK] = { 0 };

		memcpy(body, rec, rec_len);
		r = put(o, body, BLOCK);
	}
	if (r >= 0)
		r = put(o, o->cap, o->cap_len);
	return r;
}
