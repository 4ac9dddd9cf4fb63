/* SPDX-License-Identifier: MIT */
/*
 * The dumpfile's byte escaping (composefs-dump(5)), shared by the parser and
 * the printer so that both sides agree on one table.
 *
 * Output: '\\' '\n' '\r' '\t' get their C escapes, every other byte that is
 * not isgraph() in the C locale (0x21..0x7e) becomes "\xNN" in lowercase.
 * '=' is hex-escaped only where the caller asks (xattr keys and values), and
 * a field that is exactly "-" is written "\x2d" where "-" would mean "none".
 * Input: the same escapes, with upper- or lowercase hex; anything else after
 * a backslash is an error.
 */
#pragma once

#include <stddef.h>
#include <sys/types.h>

enum dump_escape_flags {
	DUMP_ESCAPE_EQUAL = 1u << 0,     /* '=' as \x3d (xattr keys and values) */
	DUMP_ESCAPE_LONE_DASH = 1u << 1, /* exactly "-" as \x2d (optional fields) */
};

/*
 * Decode len escaped bytes from src into out, which must have room for len
 * bytes (decoding never grows the data; out may equal src). Returns the
 * decoded length, or -EINVAL with *ret_why set to a static description.
 */
ssize_t dump_unescape(const char *src, size_t len, char *out, const char **ret_why);

/* Worst-case escaped size of len bytes (every byte as \xNN). */
static inline size_t dump_escaped_size_max(size_t len)
{
	return 4 * len;
}

/*
 * Encode len bytes of data into out (room for dump_escaped_size_max(len)
 * bytes, or 4 for an empty input). Returns the number of bytes written.
 */
size_t dump_escape(const void *data, size_t len, unsigned flags, char *out);
