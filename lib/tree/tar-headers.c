/* SPDX-License-Identifier: MIT */
/*
 * tar_headers_check(): the raw header blocks of one member, read again by
 * us after libarchive parsed them. libarchive quietly drops or rewrites
 * what our model cannot hold: it skips GNU volume headers and pax global
 * headers, cuts pax names at a NUL byte, drops xattrs with an empty name,
 * saturates numbers that overflow and reads unknown member types as
 * regular files. Each of those is refused here, with the cause, before the
 * member becomes a node (docs/formats/tar-import.md says which and why).
 * It also finds what libarchive does not read at all: star's
 * SCHILY.filetype=socket.
 *
 * The input is untrusted and may end anywhere: every length is checked
 * against what is there.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "basic/error.h"
#include "tar-headers.h"

#define BLOCK 512u

/* Offsets in a ustar header block. */
enum {
	H_MODE = 100, H_UID = 108, H_GID = 116, H_SIZE = 124, H_MTIME = 136, H_TYPE = 156,
	H_DEVMAJOR = 329, H_DEVMINOR = 337,
};

/*
 * A numeric header field: octal digits (with leading spaces, ended by a
 * space or NUL), or base-256 (first byte 0x80 or 0xff). Refuses what
 * libarchive would saturate or read partially.
 */
static int parse_field(const uint8_t *h, size_t off, size_t len, const char *what, int64_t *ret)
{
	const uint8_t *f = h + off;
	uint64_t v = 0;
	size_t i = 0;

	if (f[0] == 0x80 || f[0] == 0xff) {
		bool neg = f[0] == 0xff;

		for (i = 1; i < len; i++) {
			uint8_t b = neg ? (uint8_t)~f[i] : f[i];

			if (v >> 55)
				return st_errf(-EUCLEAN, "the %s field is out of range", what);
			v = v << 8 | b;
		}
		if (v > (uint64_t)INT64_MAX)
			return st_errf(-EUCLEAN, "the %s field is out of range", what);
		*ret = neg ? -(int64_t)v - 1 : (int64_t)v;
		return 0;
	}
	while (i < len && f[i] == ' ')
		i++;
	for (; i < len && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v >> 60)
			return st_errf(-EUCLEAN, "the %s field is out of range", what);
		v = v << 3 | (uint64_t)(f[i] - '0');
	}
	for (; i < len; i++)
		if (f[i] != ' ' && f[i] != '\0')
			return st_errf(-EUCLEAN, "the %s field holds a byte that is not an octal digit", what);
	*ret = (int64_t)v;
	return 0;
}

/* A pax decimal number (optionally signed, optionally with a fraction for times). */
static int check_decimal(const char *v, size_t len, bool sign, bool fraction, const char *key)
{
	size_t i = 0, digits = 0;

	if (sign && i < len && v[i] == '-')
		i++;
	for (; i < len && v[i] >= '0' && v[i] <= '9'; i++)
		digits++;
	if (digits == 0 || digits > 18)
		return st_errf(-EUCLEAN, "pax record '%s' is not a number in range", key);
	if (fraction && i < len && v[i] == '.') {
		size_t f = 0;

		for (i++; i < len && v[i] >= '0' && v[i] <= '9'; i++)
			f++;
		if (f == 0)
			return st_errf(-EUCLEAN, "pax record '%s' is not a number in range", key);
	}
	if (i != len)
		return st_errf(-EUCLEAN, "pax record '%s' is not a number in range", key);
	return 0;
}

static bool has_prefix(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && memcmp(s, prefix, n) == 0;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* An xattr name from a pax key: not empty, no NUL (LIBARCHIVE.xattr names are URL-encoded). */
static int check_xattr_name(const char *name, size_t len, bool encoded)
{
	size_t decoded = 0;

	for (size_t i = 0; i < len; i++, decoded++) {
		if (encoded && name[i] == '%' && i + 2 < len && hexval(name[i + 1]) >= 0 && hexval(name[i + 2]) >= 0) {
			if (hexval(name[i + 1]) == 0 && hexval(name[i + 2]) == 0)
				return st_errf(-EINVAL, "an xattr name holds a NUL byte");
			i += 2;
		}
	}
	if (decoded == 0)
		return st_errf(-EINVAL, "an xattr with an empty name");
	return 0;
}

/* Which SCHILY.filetype values a member type may carry (star writes one for every member in -dump mode). */
static int check_filetype(const char *v, size_t len, char type, struct tar_headers_info *info)
{
	static const struct {
		const char *name;
		const char *types;
	} known[] = {
		{ "file", "07\0" }, { "directory", "5" }, { "symlink", "2" }, { "fifo", "6" },
		{ "character special", "3" }, { "block special", "4" }, { "hardlink", "1" },
	};

	if (len == 6 && memcmp(v, "socket", 6) == 0) {
		if (type != '6')
			return st_errf(-EUCLEAN, "SCHILY.filetype=socket on a member that is not a fifo");
		info->socket = true;
		return 0;
	}
	for (size_t i = 0; i < ELEMENTSOF(known); i++)
		if (strlen(known[i].name) == len && memcmp(known[i].name, v, len) == 0) {
			if (!memchr(known[i].types, type, 3))
				return st_errf(-EUCLEAN, "SCHILY.filetype=%s does not match the member's type", known[i].name);
			return 0;
		}
	return st_errf(-EOPNOTSUPP, "unsupported SCHILY.filetype=%.*s", (int)MIN(len, (size_t)32), v);
}

/* The records of a pax header ("LEN KEY=VALUE\n" each); global ones may only hold comments. */
static int check_pax(const char *p, size_t len, bool global, char *filetype, size_t filetype_cap,
		     size_t *filetype_len, bool *has_filetype)
{
	size_t pos = 0;
	int r;

	while (pos < len) {
		size_t rec_len = 0, i = pos, key_len;
		const char *key, *val, *eq;

		if (p[pos] == '\0') {
			/* Padding after the last record (some writers): only NULs may follow. */
			for (; pos < len; pos++)
				if (p[pos] != '\0')
					return st_errf(-EUCLEAN, "a pax header holds a malformed record");
			break;
		}
		for (; i < len && p[i] >= '0' && p[i] <= '9' && i - pos < 8; i++)
			rec_len = rec_len * 10 + (size_t)(p[i] - '0');
		if (i == pos || i >= len || p[i] != ' ' || rec_len < (i - pos) + 4 || rec_len > len - pos ||
		    p[pos + rec_len - 1] != '\n')
			return st_errf(-EUCLEAN, "a pax header holds a malformed record");
		key = p + i + 1;
		eq = memchr(key, '=', (size_t)(p + pos + rec_len - 1 - key));
		if (!eq || eq == key)
			return st_errf(-EUCLEAN, "a pax header holds a malformed record");
		key_len = (size_t)(eq - key);
		val = eq + 1;
		size_t val_len = (size_t)(p + pos + rec_len - 1 - val);
		char k[64];

		snprintf(k, sizeof(k), "%.*s", (int)MIN(key_len, sizeof(k) - 1), key);
		if (memchr(key, '\0', key_len))
			return st_errf(-EUCLEAN, "a pax record's key holds a NUL byte");
		if (global) {
			/* libarchive ignores global headers: only what changes nothing is accepted. */
			if (!(key_len == 7 && memcmp(key, "comment", 7) == 0))
				return st_errf(-EOPNOTSUPP, "a pax global header sets '%s' (only comments are accepted)", k);
		} else if ((key_len == 4 && memcmp(key, "path", 4) == 0) ||
			   (key_len == 8 && memcmp(key, "linkpath", 8) == 0) ||
			   (key_len == 15 && memcmp(key, "GNU.sparse.name", 15) == 0)) {
			if (memchr(val, '\0', val_len))
				return st_errf(-EINVAL, "the pax '%s' record holds a NUL byte", k);
		} else if (has_prefix(key, key_len, "SCHILY.xattr.")) {
			r = check_xattr_name(key + 13, key_len - 13, false);
			if (r < 0)
				return r;
		} else if (has_prefix(key, key_len, "LIBARCHIVE.xattr.")) {
			r = check_xattr_name(key + 17, key_len - 17, true);
			if (r < 0)
				return r;
		} else if (key_len == 15 && memcmp(key, "SCHILY.filetype", 15) == 0) {
			if (val_len >= filetype_cap)
				return st_errf(-EOPNOTSUPP, "unsupported SCHILY.filetype=%.*s", 32, val);
			memcpy(filetype, val, val_len);
			*filetype_len = val_len;
			*has_filetype = true;
		} else if ((key_len == 3 && memcmp(key, "uid", 3) == 0) || (key_len == 3 && memcmp(key, "gid", 3) == 0) ||
			   (key_len == 4 && memcmp(key, "size", 4) == 0) ||
			   (key_len == 15 && memcmp(key, "SCHILY.devminor", 15) == 0) ||
			   (key_len == 15 && memcmp(key, "SCHILY.devmajor", 15) == 0)) {
			r = check_decimal(val, val_len, false, false, k);
			if (r < 0)
				return r;
		} else if (key_len == 5 && memcmp(key, "mtime", 5) == 0) {
			r = check_decimal(val, val_len, true, true, k);
			if (r < 0)
				return r;
		}
		pos += rec_len;
	}
	return 0;
}

/* A GNU long name or link name: a NUL may only end it. */
static int check_longname(const uint8_t *p, size_t len, char type)
{
	const uint8_t *nul = memchr(p, '\0', len);

	if (nul)
		for (const uint8_t *q = nul; q < p + len; q++)
			if (*q)
				return st_errf(-EINVAL, "the GNU long %s holds a NUL byte", type == 'L' ? "name" : "link name");
	return 0;
}

/* The member's own header: its type and the numbers libarchive would otherwise bend. */
static int check_main(const uint8_t *h, struct tar_headers_info *info)
{
	char type = (char)h[H_TYPE];
	int64_t mode, v;
	int r;

	if (type != '\0' && !strchr("01234567SD", type)) {
		if (type > 0x20 && type < 0x7f)
			return st_errf(-EOPNOTSUPP, "unsupported member type '%c'", type);
		return st_errf(-EOPNOTSUPP, "unsupported member type 0x%02x", (unsigned)(uint8_t)type);
	}
	r = parse_field(h, H_MODE, 8, "mode", &mode);
	if (r < 0)
		return r;
	if (mode < 0 || (mode & ~(int64_t)(S_IFMT | 07777)))
		return st_errf(-EUCLEAN, "mode 0%llo has bits beyond the file type and permissions",
			       (unsigned long long)mode);
	r = parse_field(h, H_UID, 8, "uid", &v);
	if (r >= 0)
		r = parse_field(h, H_GID, 8, "gid", &v);
	if (r >= 0)
		r = parse_field(h, H_SIZE, 12, "size", &v);
	if (r >= 0 && v < 0)
		r = st_errf(-EUCLEAN, "negative size");
	if (r >= 0)
		r = parse_field(h, H_MTIME, 12, "mtime", &v);
	if (r >= 0 && (type == '3' || type == '4')) {
		r = parse_field(h, H_DEVMAJOR, 8, "device major", &v);
		if (r >= 0)
			r = parse_field(h, H_DEVMINOR, 8, "device minor", &v);
	}
	if (r < 0)
		return r;
	info->type = type;
	return 0;
}

static bool block_is_zero(const uint8_t *h)
{
	for (size_t i = 0; i < BLOCK; i++)
		if (h[i])
			return false;
	return true;
}

int tar_headers_check(tar_fetch_fn fetch, void *userdata, struct tar_headers_info *ret)
{
	struct tar_headers_info info = { 0 };
	char filetype[32];
	size_t filetype_len = 0;
	bool seen_x = false, seen_l = false, seen_k = false, has_filetype = false;
	uint64_t pos = 0;
	int r;

	for (unsigned n = 0;; n++) {
		const uint8_t *h, *body;
		int64_t size;
		char type;

		if (n >= TAR_HEADERS_MAX_COUNT)
			return st_errf(-EUCLEAN, "more than %u headers for one member", TAR_HEADERS_MAX_COUNT);
		r = fetch(userdata, pos, BLOCK, &h);
		if (r < 0)
			return st_errf(-EUCLEAN, "the archive ends inside the member's headers");
		if (block_is_zero(h))
			return st_errf(-EUCLEAN, "an end-of-archive block inside the member's headers");
		type = (char)h[H_TYPE];
		if (type == '\0' || !strchr("xXgLKAVMN", type)) {
			r = check_main(h, &info);
			if (r < 0)
				return r;
			break;
		}
		if (type == 'V')
			return st_errf(-EOPNOTSUPP, "a GNU volume header (volume labels are not supported)");
		if (type == 'M')
			return st_errf(-EOPNOTSUPP, "a GNU multi-volume continuation (not supported)");
		if (type == 'N')
			return st_errf(-EOPNOTSUPP, "an old GNU long-names header (not supported)");
		r = parse_field(h, H_SIZE, 12, "size", &size);
		if (r < 0)
			return r;
		if (size < 0 || (uint64_t)size > TAR_HEADER_BODY_MAX)
			return st_errf(-EUCLEAN, "a '%c' header of %lld bytes (at most %u)", type, (long long)size,
				       TAR_HEADER_BODY_MAX);
		/* libarchive keeps only the last of two headers of one kind: refuse what it would drop. */
		if (((type == 'x' || type == 'X') && seen_x) || (type == 'L' && seen_l) || (type == 'K' && seen_k))
			return st_errf(-EUCLEAN, "two '%c' headers for one member", type);
		if (type == 'x' || type == 'X' || type == 'g' || type == 'L' || type == 'K') {
			r = fetch(userdata, pos + BLOCK, (size_t)size, &body);
			if (r < 0)
				return st_errf(-EUCLEAN, "the archive ends inside the member's '%c' header", type);
			if (type == 'L' || type == 'K')
				r = check_longname(body, (size_t)size, type);
			else
				r = check_pax((const char *)body, (size_t)size, type == 'g', filetype, sizeof(filetype),
					      &filetype_len, &has_filetype);
			if (r < 0)
				return r;
		}
		seen_x |= type == 'x' || type == 'X';
		seen_l |= type == 'L';
		seen_k |= type == 'K';
		pos += BLOCK + ALIGN_UP((uint64_t)size, (uint64_t)BLOCK);
	}
	if (has_filetype) {
		r = check_filetype(filetype, filetype_len, info.type, &info);
		if (r < 0)
			return r;
	}
	info.headers_len = pos + BLOCK;
	*ret = info;
	return 0;
}
