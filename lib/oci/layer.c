/* SPDX-License-Identifier: MIT */
/*
 * One layer, read once: a feeder thread reads the blob, hashes it (its
 * digest), decompresses it with libarchive (gzip, zstd or none, as the
 * media type says, and nothing else), hashes the stream (its diff_id),
 * enforces the size limits, and writes the stream into a socket; the
 * repository's tar reader (lib/tree/tar-read.c) reads the other end and
 * stores every file as an object. The blob is never read twice and never
 * decompressed to disk.
 *
 * Objects are content-addressed: those stored from a layer that then fails
 * its digest are complete, correctly named and unreferenced (gc removes
 * them); nothing that references them is published.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "basic/error.h"
#include "oci-internal.h"
#include "repo/repo-internal.h"
#include "repo/sha256-index.h"
#include "tree/tar.h"
#include "tree/tar-split.h"

#define FEED_BLOCK (256u * 1024)

struct feeder {
	int blob_fd, out_fd;
	enum oci_compression compression;
	uint64_t limit;                 /* most uncompressed bytes allowed */
	const char *layer;              /* its digest, for messages */
	struct oci_hash blob_hash, stream_hash;
	uint64_t blob_bytes, stream_bytes;
	uint8_t blob_digest[OCI_DIGEST_SIZE], stream_digest[OCI_DIGEST_SIZE];
	uint8_t buf[FEED_BLOCK];
	int error;
	char error_msg[512];
};

static void feed_fail(struct feeder *f, int r, const char *fmt, const char *arg)
{
	if (f->error)
		return;
	f->error = r;
	snprintf(f->error_msg, sizeof(f->error_msg), fmt, arg);
}

/* libarchive's read callback: the blob's bytes, hashed as they pass. */
static la_ssize_t blob_read(struct archive *a, void *userdata, const void **ret)
{
	struct feeder *f = userdata;
	ssize_t n;

	(void)a;
	do
		n = read(f->blob_fd, f->buf, sizeof(f->buf));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		feed_fail(f, -errno, "cannot read the blob: %s", strerror(errno));
		return -1;
	}
	oci_hash_update(&f->blob_hash, f->buf, (size_t)n);
	f->blob_bytes += (uint64_t)n;
	*ret = f->buf;
	return n;
}

static int send_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static bool compressed_magic(const uint8_t *p, size_t len)
{
	static const uint8_t gz[] = { 0x1f, 0x8b }, zs[] = { 0x28, 0xb5, 0x2f, 0xfd }, xz[] = { 0xfd, '7', 'z', 'X', 'Z' },
			     bz[] = { 'B', 'Z', 'h' };

	return (len >= sizeof(gz) && memcmp(p, gz, sizeof(gz)) == 0) ||
	       (len >= sizeof(zs) && memcmp(p, zs, sizeof(zs)) == 0) ||
	       (len >= sizeof(xz) && memcmp(p, xz, sizeof(xz)) == 0) ||
	       (len >= sizeof(bz) && memcmp(p, bz, sizeof(bz)) == 0);
}

static void feed(struct feeder *f)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	bool sent_eof_ok = true, first = true;
	int expect, r;

	if (!a) {
		feed_fail(f, -ENOMEM, "%s", "out of memory");
		return;
	}
	switch (f->compression) {
	case OCI_COMPRESSION_GZIP:
		archive_read_support_filter_gzip(a);
		expect = ARCHIVE_FILTER_GZIP;
		break;
	case OCI_COMPRESSION_ZSTD:
		archive_read_support_filter_zstd(a);
		expect = ARCHIVE_FILTER_ZSTD;
		break;
	default:
		expect = ARCHIVE_FILTER_NONE;
		break;
	}
	archive_read_support_format_raw(a);
	if (archive_read_open(a, f, NULL, blob_read, NULL) != ARCHIVE_OK ||
	    archive_read_next_header(a, &e) != ARCHIVE_OK) {
		feed_fail(f, -EUCLEAN, "cannot decompress: %s", archive_error_string(a) ?: "unreadable");
		goto out;
	}
	if (archive_filter_code(a, 0) != expect) {
		feed_fail(f, -EUCLEAN, "its media type says one compression, its bytes are another (%s)",
			  archive_filter_name(a, 0) ?: "?");
		goto out;
	}
	for (;;) {
		const void *blk;
		size_t len;
		la_int64_t off;

		r = archive_read_data_block(a, &blk, &len, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK) {
			feed_fail(f, -EUCLEAN, "cannot decompress: %s", archive_error_string(a) ?: "damaged data");
			goto out;
		}
		if (first && len > 0) {
			first = false;
			if (compressed_magic(blk, len)) {
				feed_fail(f, -EUCLEAN, "%s", "its uncompressed stream is compressed again (not a tar)");
				goto out;
			}
		}
		if (f->stream_bytes + len > f->limit) {
			char why[160];

			snprintf(why, sizeof(why), "decompresses to more than %" PRIu64 " bytes (a compression bomb?); "
				 "stopped there", f->limit);
			feed_fail(f, -EFBIG, "%s", why);
			goto out;
		}
		oci_hash_update(&f->stream_hash, blk, len);
		f->stream_bytes += len;
		if (sent_eof_ok && send_all(f->out_fd, blk, len) < 0)
			sent_eof_ok = false;    /* the reader stopped: keep hashing for the digest checks */
	}
	/* The blob may go on after the compressed stream ends (a gzip with trailing bytes): all of it is the blob. */
	while (blob_read(a, f, &(const void *){ NULL }) > 0)
		;
out:
	archive_read_free(a);
}

static void *feeder_main(void *userdata)
{
	struct feeder *f = userdata;

	feed(f);
	oci_hash_final(&f->blob_hash, f->blob_digest);
	oci_hash_final(&f->stream_hash, f->stream_digest);
	/* EOF for the reader, whatever happened. */
	shutdown(f->out_fd, SHUT_WR);
	return NULL;
}

static uint64_t layer_limit(const struct oci_descriptor *d, const struct st_oci_import_options *opts)
{
	uint64_t ratio = opts && opts->max_layer_ratio ? opts->max_layer_ratio : 100, limit;

	if (__builtin_mul_overflow(d->size, ratio, &limit) || __builtin_add_overflow(limit, 1ull << 30, &limit))
		limit = UINT64_MAX;
	if (opts && opts->max_layer_bytes && opts->max_layer_bytes < limit)
		limit = opts->max_layer_bytes;
	return limit;
}

/* Each stored file's SHA-256 and object, for the repository's SHA-256 index (any thread). */
static void learn_sha256(void *userdata, const uint8_t sha256[32], const uint8_t digest[32])
{
	sha256_pairs_push(userdata, sha256, digest);
}

static int keep_outside_link(void *userdata, struct st_node *node, const char *target)
{
	struct oci_layer_result *res = userdata;
	char *t;

	if (GROW(res->lower_links, res->cap_lower_links, res->n_lower_links + 1) < 0)
		return -ENOMEM;
	t = strdup(target);
	if (!t)
		return -ENOMEM;
	res->lower_links[res->n_lower_links++] = (struct oci_lower_link){ .node = node, .target = t };
	return 0;
}

void oci_layer_result_done(struct oci_layer_result *r)
{
	st_tar_split_done(&r->split);
	for (size_t i = 0; i < r->n_lower_links; i++)
		free(r->lower_links[i].target);
	free(r->lower_links);
	r->lower_links = NULL;
	r->n_lower_links = r->cap_lower_links = 0;
}

int oci_layer_read(struct st_repo *repo, int fd, const struct oci_descriptor *d, const char *diff_id,
		   const struct st_oci_import_options *opts, struct sha256_pairs *learned, struct st_node **ret_tree,
		   struct oci_layer_result *ret)
{
	struct st_tar_read_options to = { .keep_dir_marks = true, .file_sha256_userdata = learned };
	struct st_tar_split split;
	struct oci_layer_result links = { 0 };  /* the hardlinks to the layers below, until success */
	struct st_tar_read_stats stats = { 0 };
	struct st_node *tree = NULL;
	struct feeder *f;
	char got[ST_OCI_DIGEST_STRING_SIZE], detail[768];
	int sv[2], r, rr;
	pthread_t th;

	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	st_tar_split_init(&split);
	to.split = &split;
	to.outside_link = keep_outside_link;
	to.outside_link_userdata = &links;
	*f = (struct feeder){ .blob_fd = fd, .layer = d->digest, .limit = layer_limit(d, opts) };
	r = oci_layer_compression(d->media_type, &f->compression);
	if (r >= 0)
		r = oci_hash_init(&f->blob_hash);
	if (r >= 0)
		r = oci_hash_init(&f->stream_hash);
	if (r >= 0)
		r = repo_object_store(repo, &to.store);
	if (learned)
		to.file_sha256 = learn_sha256;
	if (r >= 0 && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		r = -errno;
	if (r < 0)
		goto out_hash;
	f->out_fd = sv[1];
	/* Larger socket buffers: fewer wake-ups between the feeder and the reader (best effort). */
	(void)setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &(int){ 1 << 20 }, sizeof(int));
	(void)setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &(int){ 1 << 20 }, sizeof(int));
	r = -pthread_create(&th, NULL, feeder_main, f);
	if (r < 0) {
		close(sv[0]);
		close(sv[1]);
		goto out_hash;
	}

	rr = st_tar_read_fd(sv[0], &to, &stats, &tree);
	snprintf(detail, sizeof(detail), "%s", st_error_detail() ?: "");
	/* Whatever the reader did, the feeder reads the whole blob: the digests decide first. */
	{
		uint8_t sink[65536];
		ssize_t n;

		while ((n = read(sv[0], sink, sizeof(sink))) > 0 || (n < 0 && errno == EINTR))
			;
	}
	pthread_join(th, NULL);
	close(sv[0]);
	close(sv[1]);

	oci_digest_format(f->blob_digest, got);
	if (f->error && f->error != -EFBIG && f->error != -EUCLEAN)
		r = st_errf(f->error, "layer %s: %s", d->digest, f->error_msg);
	else if (f->error == -EFBIG)
		r = st_errf(-EFBIG, "layer %s: %s", d->digest, f->error_msg);
	else if (strcmp(got, d->digest) != 0)
		r = st_errf(-EBADMSG, "layer %s does not match its digest (its %" PRIu64 " bytes hash to %s)", d->digest,
			    f->blob_bytes, got);
	else if (f->blob_bytes != d->size)
		r = st_errf(-EBADMSG, "layer %s has %" PRIu64 " bytes, its descriptor says %" PRIu64, d->digest,
			    f->blob_bytes, d->size);
	else if (f->error)
		r = st_errf(f->error, "layer %s: %s", d->digest, f->error_msg);
	else if (oci_digest_format(f->stream_digest, got), strcmp(got, diff_id) != 0)
		r = st_errf(-EBADMSG, "layer %s: its uncompressed tar hashes to %s, the config's diff_id is %s", d->digest,
			    got, diff_id);
	else if (rr < 0)
		r = st_errf(rr, "layer %s: %s", d->digest, detail[0] ? detail : "cannot read the tar stream");
	else
		r = 0;
	if (r < 0) {
		st_node_free(tree);
		goto out_hash;
	}
	memcpy(ret->diff_id, got, sizeof(ret->diff_id));
	ret->uncompressed = f->stream_bytes;
	ret->files = stats.files;
	ret->objects_written = stats.objects_written;
	ret->split = split;
	st_tar_split_init(&split);
	ret->lower_links = TAKE_PTR(links.lower_links);
	ret->n_lower_links = links.n_lower_links;
	ret->cap_lower_links = links.cap_lower_links;
	links.n_lower_links = 0;
	*ret_tree = tree;
out_hash:
	st_tar_split_done(&split);
	oci_layer_result_done(&links);
	oci_hash_done(&f->blob_hash);
	oci_hash_done(&f->stream_hash);
	free(f);
	return r;
}
