/* SPDX-License-Identifier: MIT */
/*
 * Verity errors in kernel log records (docs/formats/sysroot.md, "Verity
 * errors"). A /dev/kmsg record is "PRI,SEQ,USEC,FLAG[,MORE...];TEXT" and
 * optional "\n KEY=VALUE" lines; TEXT has every byte outside printable
 * ASCII, and '\', written as \xNN. The bytes come from the kernel, but the
 * log also carries what any process with /dev/kmsg write access put there,
 * so a record is parsed as untrusted: bounded, every field checked.
 *
 * The messages, as the 6.12 kernel prints them (facts from fs/verity/init.c,
 * fs/verity/verify.c, fs/overlayfs/util.c; pr_fmt adds "overlayfs: "):
 *   fs-verity (S_ID, inode INO): FILE CORRUPTED! pos=..., level=..., ...  (KERN_ERR)
 *   fs-verity (S_ID, inode INO): Error N reading Merkle tree ...          (KERN_ERR)
 *   overlayfs: lower file 'NAME' has the wrong fs-verity digest           (KERN_WARNING)
 *   overlayfs: lower file 'NAME' has no fs-verity digest
 *   overlayfs: lower file 'NAME' failed to load fs-verity info
 *   overlayfs: metacopy file 'NAME' has no digest specified
 * S_ID is the filesystem's device name; NAME the dentry's own name (%pd),
 * for a data file the object's 62 hex digits. All are rate limited; the
 * kernel then logs "FUNC: N callbacks suppressed" (FUNC fsverity_msg or
 * ovl_validate_verity), which is counted as suppressed.
 */
#include <string.h>

#include "basic/error.h"
#include "basic/hex.h"
#include "deploy-internal.h"
#include "fundamental/parse-number.h"

#define KMSG_RECORD_MAX 8192

const char *st_verity_error_kind_to_string(enum st_verity_error_kind kind)
{
	static const char *const names[ST_VERITY_ERROR_KIND_MAX] = {
		[ST_VERITY_ERROR_CORRUPTED] = "corrupted",
		[ST_VERITY_ERROR_FSVERITY] = "fs-verity",
		[ST_VERITY_ERROR_WRONG_DIGEST] = "wrong-digest",
		[ST_VERITY_ERROR_NO_DIGEST] = "no-digest",
		[ST_VERITY_ERROR_IMAGE_NO_DIGEST] = "image-no-digest",
	};

	if ((unsigned)kind >= ST_VERITY_ERROR_KIND_MAX)
		return NULL;
	return names[kind];
}

static bool starts(const char *p, const char *end, const char *s)
{
	size_t n = strlen(s);

	return (size_t)(end - p) >= n && memcmp(p, s, n) == 0;
}

/* The decimal field at *p up to sep (not past end); moves *p past sep. */
static int take_number(const char **p, const char *end, char sep, uint64_t *ret)
{
	const char *e = memchr(*p, sep, (size_t)(end - *p));

	if (!e || parse_uint_n(*p, (size_t)(e - *p), 10, UINT64_MAX, 0, ret) < 0)
		return -EUCLEAN;
	*p = e + 1;
	return 0;
}

/*
 * Unescape kmsg's \xNN in [p, end) into out (size n, NUL-terminated).
 * -EUCLEAN for a bad escape, a NUL or '/' (no file name holds them), or a
 * name longer than n - 1 bytes.
 */
static int unescape_name(const char *p, const char *end, char *out, size_t n)
{
	size_t o = 0;

	while (p < end) {
		unsigned char ch = (unsigned char)*p++;

		if (ch == '\\') {
			int hi, lo;

			if (end - p < 3 || p[0] != 'x')
				return -EUCLEAN;
			hi = hex_digit_value(p[1]);
			lo = hex_digit_value(p[2]);
			if (hi < 0 || lo < 0)
				return -EUCLEAN;
			ch = (unsigned char)(hi << 4 | lo);
			p += 3;
		}
		if (ch == '\0' || ch == '/' || o + 1 >= n)
			return -EUCLEAN;
		out[o++] = (char)ch;
	}
	if (o == 0)
		return -EUCLEAN;
	out[o] = '\0';
	return 0;
}

/* "fs-verity (S_ID, inode INO): MSG" */
static int parse_fsverity(const char *p, const char *end, unsigned level, struct st_verity_error *e)
{
	const char *comma, *close;
	uint64_t ino;

	if (level > 3)                  /* fsverity_err() is KERN_ERR; warnings are about enabling */
		return 0;
	p += strlen("fs-verity (");
	comma = memchr(p, ',', (size_t)(end - p));
	if (!comma || comma == p || (size_t)(comma - p) >= sizeof(e->device))
		return 0;
	for (const char *q = p; q < comma; q++)
		if (*q <= ' ' || *q > '~' || *q == '\\' || *q == '/')
			return 0;
	if (!starts(comma, end, ", inode "))
		return 0;
	close = memchr(comma, ')', (size_t)(end - comma));
	if (!close || !starts(close, end, "): "))
		return 0;
	if (parse_uint_n(comma + 8, (size_t)(close - comma - 8), 10, UINT64_MAX, 0, &ino) < 0 || ino == 0)
		return 0;
	memcpy(e->device, p, (size_t)(comma - p));
	e->device[comma - p] = '\0';
	e->inode = ino;
	e->kind = starts(close + 3, end, "FILE CORRUPTED!") ? ST_VERITY_ERROR_CORRUPTED : ST_VERITY_ERROR_FSVERITY;
	return 1;
}

/* "overlayfs: (lower|metacopy) file 'NAME' TAIL" */
static int parse_overlayfs(const char *p, const char *end, struct st_verity_error *e)
{
	static const struct {
		const char *head, *tail;
		enum st_verity_error_kind kind;
	} forms[] = {
		{ "overlayfs: lower file '", "' has the wrong fs-verity digest", ST_VERITY_ERROR_WRONG_DIGEST },
		{ "overlayfs: lower file '", "' has no fs-verity digest", ST_VERITY_ERROR_NO_DIGEST },
		{ "overlayfs: lower file '", "' failed to load fs-verity info", ST_VERITY_ERROR_NO_DIGEST },
		{ "overlayfs: metacopy file '", "' has no digest specified", ST_VERITY_ERROR_IMAGE_NO_DIGEST },
	};

	for (size_t i = 0; i < ELEMENTSOF(forms); i++) {
		size_t hl = strlen(forms[i].head), tl = strlen(forms[i].tail);

		/* The tail ends the text: a name holding "' has ..." cannot fool this. */
		if (!starts(p, end, forms[i].head) || (size_t)(end - p) < hl + tl ||
		    memcmp(end - tl, forms[i].tail, tl) != 0)
			continue;
		if (unescape_name(p + hl, end - tl, e->name, sizeof(e->name)) < 0)
			return 0;
		e->kind = forms[i].kind;
		return 1;
	}
	return 0;
}

/* "FUNC: N callbacks suppressed" for the two rate limits above. */
static int parse_suppressed(const char *p, const char *end, uint64_t *ret)
{
	static const char *const funcs[] = { "fsverity_msg: ", "ovl_validate_verity: " };
	static const char tail[] = " callbacks suppressed";
	size_t tl = strlen(tail);

	for (size_t i = 0; i < ELEMENTSOF(funcs); i++) {
		size_t fl = strlen(funcs[i]);
		uint64_t n;

		if (!starts(p, end, funcs[i]) || (size_t)(end - p) < fl + tl || memcmp(end - tl, tail, tl) != 0)
			continue;
		if (parse_uint_n(p + fl, (size_t)(end - tl - p - fl), 10, UINT32_MAX, 0, &n) < 0)
			return 0;
		*ret = n;
		return 2;
	}
	return 0;
}

int st_kmsg_parse_verity(const char *record, size_t len, struct st_verity_error *ret, uint64_t *ret_suppressed)
{
	const char *p = record, *end, *text;
	struct st_verity_error e = {};
	uint64_t pri, seq, usec, suppressed = 0;
	int r;

	if (!record || len == 0 || len > KMSG_RECORD_MAX)
		return st_errf(-EUCLEAN, "kernel log record of %zu bytes", len);
	end = record + len;
	if (take_number(&p, end, ',', &pri) < 0 || take_number(&p, end, ',', &seq) < 0 ||
	    take_number(&p, end, ',', &usec) < 0 || pri > 0x7ffffff)
		return st_errf(-EUCLEAN, "kernel log record without PRI,SEQ,USEC");
	text = memchr(p, ';', (size_t)(end - p));
	if (!text || text == p)
		return st_errf(-EUCLEAN, "kernel log record without FLAG;TEXT");
	text++;
	/* The text ends at the first newline; " KEY=VALUE" lines follow. */
	end = memchr(text, '\n', (size_t)(end - text)) ?: end;
	if (memchr(text, '\0', (size_t)(end - text)))
		return st_errf(-EUCLEAN, "kernel log record with a NUL byte");

	if (starts(text, end, "fs-verity ("))
		r = parse_fsverity(text, end, (unsigned)(pri & 7), &e);
	else if (starts(text, end, "overlayfs: "))
		r = parse_overlayfs(text, end, &e);
	else
		r = parse_suppressed(text, end, &suppressed);
	if (r == 0)
		return 0;
	if (r == 2) {
		if (ret_suppressed)
			*ret_suppressed = suppressed;
		return 2;
	}
	e.seq = seq;
	e.usec = usec;
	len = MIN((size_t)(end - text), sizeof(e.text) - 1);
	memcpy(e.text, text, len);
	e.text[len] = '\0';
	*ret = e;
	return 1;
}

int kmsg_record_seq(const char *record, size_t len, uint64_t *ret)
{
	const char *p = record, *end = record + len;
	uint64_t pri;

	if (!record || len == 0 || len > KMSG_RECORD_MAX)
		return -EUCLEAN;
	if (take_number(&p, end, ',', &pri) < 0 || take_number(&p, end, ',', ret) < 0)
		return -EUCLEAN;
	return 0;
}
