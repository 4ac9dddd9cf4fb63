/* SPDX-License-Identifier: MIT */
/*
 * A tar stream as a zstd:chunked layer (docs/formats/oci.md, "zstd:chunked
 * layers"): the tar's headers and padding in zstd frames of their own, each
 * regular file's contents in exactly one frame, then our tar headers
 * frame (every run of tar bytes between two files' contents, in one
 * skippable frame, so that a partial pull fetches no frame between files),
 * the TOC (a JSON document, zstd-compressed, in a skippable frame) and the
 * 64-byte footer (in a skippable frame) that says where the TOC is. Decompressed, the
 * layer is the tar byte for byte: every zstd reader and every tar reader
 * take it as a plain tar+zstd layer.
 *
 * The tar is our own writer's (st_repo_export_tar), read back here header
 * by header: ustar fields, pax 'x' records for path, linkpath and size.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "basic/error.h"
#include "basic/hex.h"
#include "basic/io.h"
#include "chunked-frames.h"
#include "chunked.h"
#include "fundamental/macro.h"
#include "fundamental/parse-number.h"
#include "sealtree/verity.h"

#define BLOCK 512u
#define COPY_CHUNK (1u << 20)
#define ZSTD_LEVEL 3

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* A growing string (the TOC's JSON). */
struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = MAX(b->cap * 2, b->len + n + 1024);
		char *p = realloc(b->p, cap);

		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static void sb_printf(struct sbuf *b, const char *fmt, ...) _printf_(2, 3);
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		b->oom = true;
		return;
	}
	sb_add(b, tmp, (size_t)n);
}

/* A JSON string: '"', '\\' and control bytes escaped; other bytes as they are. */
static void sb_json_string(struct sbuf *b, const char *s)
{
	sb_puts(b, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };

			sb_add(b, e, 2);
		} else if (c < 0x20)
			sb_printf(b, "\\u%04x", c);
		else
			sb_add(b, (const char *)&c, 1);
	}
	sb_puts(b, "\"");
}

static int read_at(struct writer *w, void *buf, size_t len)
{
	ssize_t n = pread(w->in_fd, buf, len, (off_t)w->in_off);

	if (n < 0)
		return -errno;
	if ((size_t)n != len)
		return st_errf(-EUCLEAN, "the exported tar ends early at byte %" PRIu64, w->in_off);
	w->in_off += len;
	return 0;
}

static uint64_t parse_num(const uint8_t *f, size_t n)
{
	uint64_t v = 0;

	if (f[0] & 0x80) {              /* base-256 */
		for (size_t i = 1; i < n; i++)
			v = (v << 8) | f[i];
		return v;
	}
	for (size_t i = 0; i < n && f[i] == ' '; i++)
		f++, n--;
	for (size_t i = 0; i < n && f[i] >= '0' && f[i] <= '7'; i++)
		v = (v << 3) | (uint64_t)(f[i] - '0');
	return v;
}

struct pax {
	char *path, *linkpath;
	uint64_t size;
	bool has_size;
};

static void pax_done(struct pax *p)
{
	free(p->path);
	free(p->linkpath);
	*p = (struct pax){};
}

/* "LEN key=value\n" records. */
static int pax_parse(const char *d, size_t len, struct pax *p)
{
	size_t off = 0;

	while (off < len) {
		size_t rl = 0, i = off;
		const char *kv, *eq, *end;

		while (i < len && d[i] >= '0' && d[i] <= '9' && rl < len)
			rl = rl * 10 + (size_t)(d[i++] - '0');
		if (i >= len || d[i] != ' ' || rl == 0 || rl > len - off)
			return st_errf(-EUCLEAN, "the exported tar has a bad pax record");
		kv = d + i + 1;
		end = d + off + rl - 1;
		eq = memchr(kv, '=', (size_t)(end - kv));
		if (!eq || *end != '\n')
			return st_errf(-EUCLEAN, "the exported tar has a bad pax record");
		if ((size_t)(eq - kv) == 4 && memcmp(kv, "path", 4) == 0) {
			free(p->path);
			p->path = strndup(eq + 1, (size_t)(end - eq - 1));
			if (!p->path)
				return -ENOMEM;
		} else if ((size_t)(eq - kv) == 8 && memcmp(kv, "linkpath", 8) == 0) {
			free(p->linkpath);
			p->linkpath = strndup(eq + 1, (size_t)(end - eq - 1));
			if (!p->linkpath)
				return -ENOMEM;
		} else if ((size_t)(eq - kv) == 4 && memcmp(kv, "size", 4) == 0) {
			char tmp[32];
			size_t n = (size_t)(end - eq - 1);

			if (n == 0 || n >= sizeof(tmp))
				return st_errf(-EUCLEAN, "the exported tar has a bad pax size");
			memcpy(tmp, eq + 1, n);
			tmp[n] = '\0';
			if (safe_atou64(tmp, &p->size) < 0)
				return st_errf(-EUCLEAN, "the exported tar has a bad pax size");
			p->has_size = true;
		}
		off += rl;
	}
	return 0;
}

static const char *toc_type(char t)
{
	switch (t) {
	case '0': case '\0': case '7': return "reg";
	case '1': return "hardlink";
	case '2': return "symlink";
	case '3': return "char";
	case '4': return "block";
	case '5': return "dir";
	case '6': return "fifo";
	default: return NULL;
	}
}

/* Copy size bytes of file contents as one frame, hashing them both ways. */
static int copy_file(struct writer *w, uint64_t size, uint8_t sha[OCI_DIGEST_SIZE],
		     uint8_t verity[ST_VERITY_DIGEST_SIZE])
{
	_cleanup_free_ uint8_t *buf = malloc(COPY_CHUNK);
	struct st_verity_hasher *vh = NULL;
	struct oci_hash h;
	uint64_t left = size;
	int r;

	if (!buf || oci_hash_init(&h) < 0)
		return -ENOMEM;
	r = st_verity_hasher_new(&vh);
	if (r < 0) {
		oci_hash_done(&h);
		return r;
	}
	while (left > 0 && r >= 0) {
		size_t n = (size_t)MIN((uint64_t)COPY_CHUNK, left);

		r = read_at(w, buf, n);
		if (r >= 0)
			r = st_verity_hasher_update(vh, buf, n);
		if (r >= 0) {
			oci_hash_update(&h, buf, n);
			left -= n;
			r = z_feed(w, buf, n, left == 0);
		}
	}
	if (r >= 0)
		r = st_verity_hasher_final(vh, verity);
	st_verity_hasher_free(vh);
	oci_hash_final(&h, sha);
	oci_hash_done(&h);
	return r;
}

static void toc_time(struct sbuf *b, int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;
	char s[64];

	if (!gmtime_r(&tt, &tm) || strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		memcpy(s, "1970-01-01T00:00:00Z", 21);
	sb_printf(b, ",\"modtime\":\"%s\"", s);
}


int chunked_write(int tar_fd, int out_fd, unsigned flags, const struct chunked_base *base,
		  struct chunked_result *res)
{
	_cleanup_free_ uint8_t *zbuf = NULL;
	struct sbuf toc = {};
	struct writer w = { .in_fd = tar_fd, .out_fd = out_fd };
	struct oci_hash tar_hash;
	struct pax pax = {};
	uint8_t hdr[BLOCK], d[OCI_DIGEST_SIZE];
	bool first = true, tar_hash_open = false;
	unsigned zeros = 0;
	int r;

	*res = (struct chunked_result){};
	w.zbuf_size = ZSTD_CStreamOutSize();
	zbuf = malloc(w.zbuf_size);
	w.zbuf = zbuf;
	w.cctx = ZSTD_createCCtx();
	w.hctx = ZSTD_createCCtx();
	if (!zbuf || !w.cctx || !w.hctx || oci_hash_init(&w.blob_hash) < 0) {
		ZSTD_freeCCtx(w.cctx);
		ZSTD_freeCCtx(w.hctx);
		return -ENOMEM;
	}
	(void)ZSTD_CCtx_setParameter(w.cctx, ZSTD_c_compressionLevel, ZSTD_LEVEL);
	(void)ZSTD_CCtx_setParameter(w.cctx, ZSTD_c_checksumFlag, 1);
	r = gap_append(&w, "\0\0\0\0", 4);      /* the first run's length */
	if (r < 0)
		goto out;
	sb_puts(&toc, "{\"version\":1,\"entries\":[");
	for (;;) {
		_cleanup_free_ char *name = NULL, *link = NULL;
		uint64_t size, data_off;
		const char *type;
		char t;

		r = read_at(&w, hdr, BLOCK);
		if (r < 0)
			goto out;
		r = z_feed(&w, hdr, BLOCK, false);
		if (r < 0)
			goto out;
		if (all_zero(hdr, BLOCK)) {
			if (++zeros == 2)
				break;
			continue;
		}
		zeros = 0;
		t = (char)hdr[156];
		size = parse_num(hdr + 124, 12);
		if (t == 'x' || t == 'g') {
			_cleanup_free_ char *pd = NULL;
			uint64_t padded = (size + BLOCK - 1) / BLOCK * BLOCK;

			if (size > (1u << 24)) {
				r = st_errf(-EUCLEAN, "the exported tar has a pax header of %" PRIu64 " bytes", size);
				goto out;
			}
			pd = malloc(padded + 1);
			if (!pd) {
				r = -ENOMEM;
				goto out;
			}
			r = read_at(&w, pd, padded);
			if (r >= 0)
				r = z_feed(&w, pd, padded, false);
			if (r >= 0 && t == 'x')
				r = pax_parse(pd, size, &pax);
			if (r < 0)
				goto out;
			continue;
		}
		if (pax.has_size)
			size = pax.size;
		type = toc_type(t);
		if (!type) {
			r = st_errf(-EOPNOTSUPP, "the exported tar has a member of type '%c'", t);
			goto out;
		}
		if (pax.path)
			name = TAKE_PTR(pax.path);
		else {
			char n[101] = {}, pfx[156] = {};

			memcpy(n, hdr, 100);
			memcpy(pfx, hdr + 345, 155);
			if (asprintf(&name, "%s%s%s", pfx, pfx[0] ? "/" : "", n) < 0)
				name = NULL;
		}
		if (pax.linkpath)
			link = TAKE_PTR(pax.linkpath);
		else {
			char l[101] = {};

			memcpy(l, hdr + 157, 100);
			link = strdup(l);
		}
		pax_done(&pax);
		if (!name || !link) {
			r = -ENOMEM;
			goto out;
		}
		if (!first)
			sb_puts(&toc, ",");
		first = false;
		sb_printf(&toc, "{\"type\":\"%s\",\"name\":", type);
		sb_json_string(&toc, strncmp(name, "./", 2) == 0 && name[2] ? name + 2 : name);
		if (link[0]) {
			sb_puts(&toc, ",\"linkName\":");
			sb_json_string(&toc, link);
		}
		sb_printf(&toc, ",\"mode\":%" PRIu64 ",\"uid\":%" PRIu64 ",\"gid\":%" PRIu64,
			  parse_num(hdr + 100, 8) & 07777, parse_num(hdr + 108, 8), parse_num(hdr + 116, 8));
		toc_time(&toc, (int64_t)parse_num(hdr + 136, 12));
		if (t == '3' || t == '4')
			sb_printf(&toc, ",\"devMajor\":%" PRIu64 ",\"devMinor\":%" PRIu64, parse_num(hdr + 329, 8),
				  parse_num(hdr + 337, 8));
		if (strcmp(type, "reg") == 0) {
			uint8_t sha[OCI_DIGEST_SIZE], verity[ST_VERITY_DIGEST_SIZE];
			char sha_s[ST_OCI_DIGEST_STRING_SIZE], verity_s[2 * ST_VERITY_DIGEST_SIZE + 1];
			uint64_t pad = (BLOCK - size % BLOCK) % BLOCK;

			/* The contents start a frame of their own and end it. */
			if (w.in_frame) {
				r = z_feed(&w, NULL, 0, true);
				if (r < 0)
					goto out;
			}
			data_off = w.out_off;
			if (size > 0) {
				r = gap_next(&w);
				if (r < 0)
					goto out;
				w.file_frame = true;
				r = copy_file(&w, size, sha, verity);
				w.file_frame = false;
				if (r < 0)
					goto out;
			} else {
				oci_sha256("", 0, sha);
				r = st_verity_digest_buffer("", 0, verity);
				if (r < 0)
					goto out;
			}
			oci_digest_format(sha, sha_s);
			st_hex_encode(verity, ST_VERITY_DIGEST_SIZE, verity_s);
			sb_printf(&toc, ",\"size\":%" PRIu64 ",\"digest\":\"%s\"", size, sha_s);
			if (size > 0)
				sb_printf(&toc, ",\"offset\":%" PRIu64 ",\"endOffset\":%" PRIu64, data_off, w.out_off);
			if (!(flags & CHUNKED_WRITE_PLAIN))
				sb_printf(&toc, ",\"" CHUNKED_KEY_VERITY "\":\"%s\"", verity_s);
			res->files++;
			res->file_bytes += size;
			if (pad > 0) {
				static const uint8_t zero[BLOCK];

				r = read_at(&w, (void *)hdr, (size_t)pad);
				if (r >= 0)
					r = z_feed(&w, zero, (size_t)pad, false);
				if (r < 0)
					goto out;
			}
		} else if (size > 0 && t != '1') {
			r = st_errf(-EOPNOTSUPP, "the exported tar's member '%s' of type '%c' has data", name, t);
			goto out;
		}
		sb_puts(&toc, "}");
		res->entries++;
	}
	/* The rest of the tar (the second zero block's record padding) ends the last frame. */
	for (;;) {
		ssize_t n = pread(tar_fd, hdr, BLOCK, (off_t)w.in_off);

		if (n < 0) {
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		w.in_off += (uint64_t)n;
		r = z_feed(&w, hdr, (size_t)n, false);
		if (r < 0)
			goto out;
	}
	r = z_feed(&w, NULL, 0, true);
	if (r < 0)
		goto out;
	sb_puts(&toc, "]}");
	if (toc.oom) {
		r = -ENOMEM;
		goto out;
	}
	res->tar_size = w.in_off;
	r = flags & CHUNKED_WRITE_PLAIN ? 0 : write_headers(&w, res);
	if (r >= 0 && !(flags & CHUNKED_WRITE_PLAIN)) {
		struct oci_hash ph;

		/* The pair's digest (a client keeps the pair under it), and its delta against base's. */
		if (oci_hash_init(&ph) < 0) {
			r = -ENOMEM;
			goto out;
		}
		oci_hash_update(&ph, toc.p, toc.len);
		oci_hash_update(&ph, w.gaps, w.glen);
		oci_hash_final(&ph, d);
		oci_hash_done(&ph);
		oci_digest_format(d, res->pair_digest);
		if (base)
			r = write_delta(&w, toc.p, toc.len, base, res);
	}
	if (r >= 0)
		r = write_toc(&w, toc.p, toc.len, res);
	if (r < 0)
		goto out;
	/* diff_id: the tar's SHA-256, read again (the zstd frames decompress to exactly it). */
	r = oci_hash_init(&tar_hash);
	if (r < 0)
		goto out;
	tar_hash_open = true;
	{
		uint64_t off = 0;

		while (off < w.in_off) {
			ssize_t n = pread(tar_fd, w.zbuf, MIN((uint64_t)w.zbuf_size, w.in_off - off), (off_t)off);

			if (n <= 0) {
				r = n < 0 ? -errno : -EIO;
				goto out;
			}
			oci_hash_update(&tar_hash, w.zbuf, (size_t)n);
			off += (uint64_t)n;
		}
	}
	oci_hash_final(&tar_hash, d);
	oci_digest_format(d, res->diff_id);
	oci_hash_final(&w.blob_hash, d);
	oci_digest_format(d, res->blob_digest);
	res->blob_size = w.out_off;
	r = 0;
out:
	if (tar_hash_open)
		oci_hash_done(&tar_hash);
	pax_done(&pax);
	free(toc.p);
	oci_hash_done(&w.blob_hash);
	ZSTD_freeCCtx(w.cctx);
	ZSTD_freeCCtx(w.hctx);
	free(w.hbuf);
	free(w.hz);
	free(w.gaps);
	return r;
}
