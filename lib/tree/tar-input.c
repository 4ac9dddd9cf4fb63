/* SPDX-License-Identifier: MIT */
/*
 * The byte stream under the tar reader. libarchive reads it in two layers:
 * an outer reader decompresses (its "raw" format hands out the
 * decompressed bytes), and the tar reader proper parses those bytes, which
 * it gets through input_read(). Passing through our hands lets us see what
 * libarchive alone does not tell:
 *  - where the decompressor failed, so that the message names the stream
 *    ("the gzip stream is cut short") and the member it was in;
 *  - whether the archive really ended with its end-of-archive block, or
 *    was cut at a member boundary (libarchive takes both as the end);
 *  - the raw headers of each member, kept in a ring of the last
 *    TAR_RING_SIZE bytes, for tar_headers_check().
 * Memory is the ring, one fetch buffer of at most one header's size, and
 * libarchive's own buffers: bounded by the largest member's headers, never
 * by the archive.
 */
#include <archive.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "basic/error.h"
#include "tar-headers.h"
#include "tar-reader-internal.h"
#include "tar-split.h"

#define TAR_RING_SIZE (4u * 1024u * 1024u)
#define OUTER_BLOCK (64u * 1024u)

/*
 * Put the stream's bytes [rec_pos, upto) into the tar-split record: the
 * current member's contents as a reference to its file, every other byte
 * as it is (from the ring, which still holds it).
 */
static int split_flush(struct tar_reader *t, uint64_t upto)
{
	struct tar_input *in = &t->in;
	int r;

	while (in->rec_pos < upto) {
		uint64_t end = upto, first = in->delivered > TAR_RING_SIZE ? in->delivered - TAR_RING_SIZE : 0;

		if (in->skip_pending && in->rec_pos == in->skip_from) {
			r = st_tar_split_add_file(in->split, in->skip_node, in->skip_to - in->skip_from, in->skip_name);
			if (r < 0)
				return r;
			in->rec_pos = in->skip_to;
			in->skip_pending = false;
			continue;
		}
		if (in->skip_pending)
			end = MIN(end, in->skip_from);
		if (in->rec_pos < first || end > in->delivered)
			return st_errf(-E2BIG, "tar-split: a member's headers are too large to record");
		while (in->rec_pos < end) {
			size_t at = (size_t)(in->rec_pos % TAR_RING_SIZE);
			size_t k = (size_t)MIN(end - in->rec_pos, (uint64_t)(TAR_RING_SIZE - at));

			r = st_tar_split_add_bytes(in->split, in->ring + at, k);
			if (r < 0)
				return r;
			in->rec_pos += k;
		}
	}
	return 0;
}

static la_ssize_t input_read(struct archive *a, void *userdata, const void **ret_buf)
{
	struct tar_reader *t = userdata;
	struct tar_input *in = &t->in;
	const void *blk;
	size_t len;
	la_int64_t off;
	int r;

	(void)a;
	if (in->eof)
		return 0;
	for (;;) {
		r = archive_read_data_block(in->outer, &blk, &len, &off);
		if (r == ARCHIVE_EOF) {
			in->eof = true;
			return 0;
		}
		if (r != ARCHIVE_OK) {
			const char *msg = archive_error_string(in->outer);
			const char *filter = archive_filter_name(in->outer, 0);

			in->error = -EUCLEAN;
			if (!filter || strcmp(filter, "none") == 0)
				snprintf(in->error_msg, sizeof(in->error_msg), "cannot read the archive: %s",
					 msg ? msg : "read error");
			else
				snprintf(in->error_msg, sizeof(in->error_msg),
					 "the %s stream is damaged or cut short (%s)", filter, msg ? msg : "no detail");
			archive_set_error(t->a, EIO, "%s", in->error_msg);
			return -1;
		}
		if (len > 0)
			break;
	}
	/* Keep the last TAR_RING_SIZE bytes for the header checks (and the tar-split record). */
	for (size_t done = 0; done < len;) {
		size_t at = (size_t)(in->delivered % TAR_RING_SIZE);
		size_t k = MIN(MIN(len - done, TAR_RING_SIZE - at), TAR_RING_SIZE / 2);

		/* Bytes about to be overwritten go into the record first. */
		if (in->split && in->delivered + k > TAR_RING_SIZE) {
			r = split_flush(t, in->delivered + k - TAR_RING_SIZE);
			if (r < 0) {
				in->error = r;
				snprintf(in->error_msg, sizeof(in->error_msg), "%s", st_error_detail() ?: "tar-split failed");
				archive_set_error(t->a, EIO, "%s", in->error_msg);
				return -1;
			}
		}
		memcpy(in->ring + at, (const uint8_t *)blk + done, k);
		done += k;
		in->delivered += k;
	}
	*ret_buf = blk;
	return (la_ssize_t)len;
}

int tar_input_fetch(void *userdata, uint64_t off, size_t len, const uint8_t **ret)
{
	struct tar_reader *t = userdata;
	struct tar_input *in = &t->in;
	uint64_t first = in->delivered > TAR_RING_SIZE ? in->delivered - TAR_RING_SIZE : 0;
	uint64_t start = in->member_start + off;

	if (len > TAR_RING_SIZE || start < first || start > in->delivered || in->delivered - start < len)
		return -ENODATA;
	if (len > in->fetch_cap) {
		uint8_t *b = realloc(in->fetch, len);

		if (!b)
			return -ENOMEM;
		in->fetch = b;
		in->fetch_cap = len;
	}
	for (size_t done = 0; done < len;) {
		size_t at = (size_t)((start + done) % TAR_RING_SIZE);
		size_t k = MIN(len - done, TAR_RING_SIZE - at);

		memcpy(in->fetch + done, in->ring + at, k);
		done += k;
	}
	*ret = in->fetch;
	return 0;
}

int tar_input_open(struct tar_reader *t, int fd, const void *data, size_t len)
{
	static int (*const filters[])(struct archive *) = {
		archive_read_support_filter_gzip, archive_read_support_filter_bzip2, archive_read_support_filter_xz,
		archive_read_support_filter_lzma, archive_read_support_filter_zstd,
	};
	struct tar_input *in = &t->in;
	struct archive_entry *e;
	int r;

	in->ring = malloc(TAR_RING_SIZE);
	in->outer = archive_read_new();
	if (!in->ring || !in->outer)
		return -ENOMEM;
	/* Only filters built into libarchive: never an external program. */
	for (size_t i = 0; i < ELEMENTSOF(filters); i++)
		if (filters[i](in->outer) != ARCHIVE_OK)
			return st_errf(-EOPNOTSUPP, "tar: libarchive lacks a built-in decompressor: %s",
				       archive_error_string(in->outer));
	if (archive_read_support_format_raw(in->outer) != ARCHIVE_OK ||
	    archive_read_support_format_tar(t->a) != ARCHIVE_OK)
		return st_errf(-EOPNOTSUPP, "tar: libarchive cannot read tar");
	r = fd >= 0 ? archive_read_open_fd(in->outer, fd, OUTER_BLOCK) : archive_read_open_memory(in->outer, data, len);
	if (r == ARCHIVE_OK)
		r = archive_read_next_header(in->outer, &e);
	if (r == ARCHIVE_EOF)
		return st_errf(-EUCLEAN, "tar: the input is empty (not a tar archive)");
	if (r != ARCHIVE_OK) {
		const char *filter = archive_filter_name(in->outer, 0);

		if (filter && strcmp(filter, "none") != 0)
			return st_errf(-EUCLEAN, "tar: the %s stream is damaged or cut short (%s)", filter,
				       archive_error_string(in->outer) ?: "no detail");
		return st_errf(-EUCLEAN, "tar: not a tar archive: %s", archive_error_string(in->outer) ?: "unreadable");
	}
	if (archive_read_open(t->a, t, NULL, input_read, NULL) != ARCHIVE_OK) {
		if (in->error)
			return st_errf(in->error, "tar: %s", in->error_msg);
		return st_errf(-EUCLEAN, "tar: not a tar archive: %s", archive_error_string(t->a) ?: "unreadable");
	}
	return 0;
}

void tar_input_close(struct tar_input *in)
{
	if (in->outer)
		archive_read_free(in->outer);
	free(in->ring);
	free(in->fetch);
}

int tar_input_check_member(struct tar_reader *t, struct tar_headers_info *ret)
{
	int r;

	t->in.member_start = (uint64_t)archive_read_header_position(t->a);
	if (t->in.split) {
		r = split_flush(t, t->in.member_start);
		if (r < 0)
			return member_err(t, r, "%s", st_error_detail() ?: "tar-split failed");
	}
	r = tar_headers_check(tar_input_fetch, t, ret);
	if (r < 0)
		return tar_input_err(t, r);
	return 0;
}

int tar_input_split_file(struct tar_reader *t, struct st_node *n, uint64_t data_start, uint64_t size, const char *path)
{
	struct tar_input *in = &t->in;

	if (!in->split)
		return 0;
	if (in->skip_pending || data_start < in->rec_pos)
		return member_err(t, -EUCLEAN, "tar-split: its contents start before what is recorded");
	in->skip_pending = true;
	in->skip_from = data_start;
	in->skip_to = data_start + size;
	in->skip_node = n;
	snprintf(in->skip_name, sizeof(in->skip_name), "%s", path);
	return 0;
}

/* After the end-of-archive block: record the rest of the stream (more zeros, whatever follows). */
static int split_end(struct tar_reader *t)
{
	struct tar_input *in = &t->in;
	int r;

	r = split_flush(t, in->delivered);
	if (r < 0)
		return r;
	while (!in->eof) {
		const void *blk;
		size_t len;
		la_int64_t off;

		r = archive_read_data_block(in->outer, &blk, &len, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK)
			return st_errf(-EUCLEAN, "tar: cannot read the stream after the end-of-archive block: %s",
				       archive_error_string(in->outer) ?: "read error");
		r = st_tar_split_add_bytes(in->split, blk, len);
		if (r < 0)
			return r;
		in->delivered += len;
		in->rec_pos += len;
	}
	in->eof = true;
	if (in->split->stream_len != in->delivered)
		return st_errf(-EUCLEAN, "tar-split: the record covers %" PRIu64 " bytes of a %" PRIu64 "-byte stream",
			       in->split->stream_len, in->delivered);
	return 0;
}

/* libarchive says the archive ended: only true if an end-of-archive block is where it stopped. */
int tar_input_check_end(struct tar_reader *t)
{
	const uint8_t *blk;
	bool zero = false;

	t->in.member_start = (uint64_t)archive_read_header_position(t->a);
	if (tar_input_fetch(t, 0, 512, &blk) == 0) {
		zero = true;
		for (size_t i = 0; i < 512; i++)
			zero = zero && blk[i] == 0;
	}
	if (zero)
		return t->in.split ? split_end(t) : 0;
	if (t->member[0])
		return st_errf(-EUCLEAN, "tar: the archive ends after member '%s' without an end-of-archive block "
			       "(cut short?)", t->member);
	return st_errf(-EUCLEAN, "tar: the archive holds no member and no end-of-archive block");
}

/* r with the detail of tar_headers_check() or the stream, naming the member. */
int tar_input_err(struct tar_reader *t, int r)
{
	char why[512];

	if (t->in.error)
		return member_err(t, t->in.error, "%s", t->in.error_msg);
	snprintf(why, sizeof(why), "%s", st_error_detail() ?: "bad headers");
	return member_err(t, r, "%s", why);
}
