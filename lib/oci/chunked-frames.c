/* SPDX-License-Identifier: MIT */
/* The frames of a zstd:chunked layer (chunked-frames.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "basic/error.h"
#include "basic/io.h"
#include "chunked-frames.h"
#include "fundamental/macro.h"

#define ZSTD_LEVEL 3
/* The delta is small and made once per push: a slower level that finds more of the base. */
#define DELTA_LEVEL 19
/* Header bytes are compressed in one shot (their size known) at most this many at a time. */
#define HEADER_FRAME_MAX (1u << 20)

int gap_append(struct writer *w, const void *data, size_t len)
{
	if (GROW(w->gaps, w->gcap, w->glen + len + 4) < 0)
		return -ENOMEM;
	memcpy(w->gaps + w->glen, data, len);
	w->glen += len;
	return 0;
}

/* Close the open run (a file's contents start) and open the next one. */
int gap_next(struct writer *w)
{
	size_t len = w->glen - w->gap_start - 4;

	if (len > UINT32_MAX)
		return st_errf(-EFBIG, "more than 4 GiB of tar headers between two files");
	for (unsigned i = 0; i < 4; i++)
		w->gaps[w->gap_start + i] = (uint8_t)(len >> (8 * i));
	w->n_gaps++;
	w->gap_start = w->glen;
	return gap_append(w, "\0\0\0\0", 4);
}


static int out_write(struct writer *w, const void *data, size_t len)
{
	int r = pwrite_full(w->out_fd, data, len, w->out_off);

	if (r < 0)
		return r;
	oci_hash_update(&w->blob_hash, data, len);
	w->out_off += len;
	return 0;
}

/* Compress len bytes into the open frame (opened if none); end it if end. */
int z_feed(struct writer *w, const void *data, size_t len, bool end)
{
	ZSTD_inBuffer in = { data, len, 0 };

	if (!w->file_frame) {
		/* Headers gather until the next file's contents: one frame, compressed knowing its size. */
		if (len > 0 && (GROW(w->hbuf, w->hcap, w->hlen + len) < 0 || gap_append(w, data, len) < 0))
			return -ENOMEM;
		if (len > 0)
			memcpy(w->hbuf + w->hlen, data, len);
		w->hlen += len;
		w->in_frame = !end && w->hlen > 0;
		if ((end || w->hlen >= HEADER_FRAME_MAX) && w->hlen > 0) {
			size_t bound = ZSTD_compressBound(w->hlen), n;

			if (bound > w->hzcap) {
				uint8_t *p = realloc(w->hz, bound);

				if (!p)
					return -ENOMEM;
				w->hz = p;
				w->hzcap = bound;
			}
			n = ZSTD_compressCCtx(w->hctx, w->hz, bound, w->hbuf, w->hlen, ZSTD_LEVEL);
			if (ZSTD_isError(n))
				return st_errf(-EIO, "zstd: %s", ZSTD_getErrorName(n));
			w->hlen = 0;
			w->in_frame = false;
			return out_write(w, w->hz, n);
		}
		return 0;
	}
	for (;;) {
		ZSTD_outBuffer out = { w->zbuf, w->zbuf_size, 0 };
		size_t left = ZSTD_compressStream2(w->cctx, &out, &in, end ? ZSTD_e_end : ZSTD_e_continue);
		int r;

		if (ZSTD_isError(left))
			return st_errf(-EIO, "zstd: %s", ZSTD_getErrorName(left));
		r = out_write(w, w->zbuf, out.pos);
		if (r < 0)
			return r;
		w->in_frame = !end;
		if (end ? left == 0 : in.pos == in.size)
			return 0;
	}
}

static int skippable(struct writer *w, const void *data, size_t len)
{
	uint8_t hdr[8] = { 0x50, 0x2a, 0x4d, 0x18 };
	int r;

	if (len > UINT32_MAX)
		return -EFBIG;
	for (unsigned i = 0; i < 4; i++)
		hdr[4 + i] = (uint8_t)(len >> (8 * i));
	r = out_write(w, hdr, sizeof(hdr));
	return r < 0 ? r : out_write(w, data, len);
}

static void le64(uint8_t *p, uint64_t v)
{
	for (unsigned i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* The headers frame (docs/formats/oci.md, "Tar headers frame"): the runs between files, one skippable frame. */
int write_headers(struct writer *w, struct chunked_result *res)
{
	_cleanup_free_ uint8_t *z = NULL;
	size_t bound, clen;
	uint8_t d[OCI_DIGEST_SIZE];
	int r;

	r = gap_next(w);        /* the last run, after the last file */
	if (r < 0)
		return r;
	w->glen -= 4;           /* no run after it */
	bound = ZSTD_compressBound(w->glen);
	z = malloc(bound);
	if (!z)
		return -ENOMEM;
	clen = ZSTD_compress(z, bound, w->gaps, w->glen, ZSTD_LEVEL);
	if (ZSTD_isError(clen))
		return st_errf(-EIO, "zstd: %s", ZSTD_getErrorName(clen));
	res->hdrs_offset = w->out_off + 8;
	res->hdrs_length = clen;
	res->hdrs_uncompressed = w->glen;
	oci_sha256(z, clen, d);
	oci_digest_format(d, res->hdrs_digest);
	return skippable(w, z, clen);
}

/* The TOC, its skippable frame and the footer; fills the result's TOC fields. */
int write_toc(struct writer *w, const char *toc, size_t toc_len, struct chunked_result *res)
{
	size_t bound = ZSTD_compressBound(toc_len), clen;
	_cleanup_free_ uint8_t *z = malloc(bound), *foot = calloc(1, CHUNKED_FOOTER_SIZE);
	uint8_t d[OCI_DIGEST_SIZE];
	int r;

	if (!z || !foot)
		return -ENOMEM;
	clen = ZSTD_compress(z, bound, toc, toc_len, ZSTD_LEVEL);
	if (ZSTD_isError(clen))
		return st_errf(-EIO, "zstd: %s", ZSTD_getErrorName(clen));
	res->toc_offset = w->out_off + 8;
	res->toc_length = clen;
	res->toc_uncompressed = toc_len;
	oci_sha256(z, clen, d);
	oci_digest_format(d, res->toc_digest);
	r = skippable(w, z, clen);
	if (r < 0)
		return r;
	le64(foot + 0, res->toc_offset);
	le64(foot + 8, res->toc_length);
	le64(foot + 16, res->toc_uncompressed);
	le64(foot + 24, CHUNKED_TOC_TYPE);
	/* no tar-split: its offset and lengths stay 0 (see oci.md) */
	memcpy(foot + 56, CHUNKED_FOOTER_MAGIC, 8);
	return skippable(w, foot, CHUNKED_FOOTER_SIZE);
}

/* The window that covers a prefix of base_len bytes and the target: log2, within zstd's limits. */
unsigned chunked_delta_window_log(size_t base_len, size_t target_len)
{
	unsigned wlog = 10;

	while (wlog < CHUNKED_DELTA_WINDOW_LOG_MAX && ((size_t)1 << wlog) < base_len + target_len)
		wlog++;
	return wlog;
}

/* The delta frame: the pair (toc then the headers runs) compressed with base's pair as prefix. */
int write_delta(struct writer *w, const char *toc, size_t toc_len, const struct chunked_base *base,
		struct chunked_result *res)
{
	_cleanup_free_ uint8_t *target = malloc(toc_len + w->glen + 1), *z = NULL;
	size_t tlen = toc_len + w->glen, bound = ZSTD_compressBound(tlen), clen;
	ZSTD_CCtx *cctx = ZSTD_createCCtx();
	uint8_t d[OCI_DIGEST_SIZE];

	z = malloc(bound);
	if (!target || !z || !cctx) {
		ZSTD_freeCCtx(cctx);
		return -ENOMEM;
	}
	memcpy(target, toc, toc_len);
	memcpy(target + toc_len, w->gaps, w->glen);
	(void)ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, DELTA_LEVEL);
	(void)ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, (int)chunked_delta_window_log(base->len, tlen));
	(void)ZSTD_CCtx_setParameter(cctx, ZSTD_c_enableLongDistanceMatching, 1);
	clen = ZSTD_CCtx_refPrefix(cctx, base->data, base->len);
	if (!ZSTD_isError(clen))
		clen = ZSTD_compress2(cctx, z, bound, target, tlen);
	ZSTD_freeCCtx(cctx);
	if (ZSTD_isError(clen))
		return st_errf(-EIO, "zstd: %s", ZSTD_getErrorName(clen));
	res->delta_offset = w->out_off + 8;
	res->delta_length = clen;
	oci_sha256(z, clen, d);
	oci_digest_format(d, res->delta_digest);
	return skippable(w, z, clen);
}
