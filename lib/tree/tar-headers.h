/* SPDX-License-Identifier: MIT */
/* The raw headers of one tar member, checked where libarchive would bend them (tar-headers.c). */
#pragma once

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

/* libarchive refuses special headers (pax, GNU long names) over 1 MiB; so do we. */
#define TAR_HEADER_BODY_MAX (1024u * 1024u)
/* At most this many headers (pax, long name, long link, ..., then the member's own) per member. */
#define TAR_HEADERS_MAX_COUNT 8u

struct tar_headers_info {
	size_t headers_len;     /* bytes of all the member's headers, its own included */
	char type;              /* the member's typeflag */
	bool socket;            /* SCHILY.filetype=socket on a fifo member: the node is a socket */
};

/*
 * How the check gets the member's bytes: len bytes at offset off from its
 * first header block, valid until the next call. Returns 0, or < 0 if
 * they are not there.
 */
typedef int (*tar_fetch_fn)(void *userdata, uint64_t off, size_t len, const uint8_t **ret);

/*
 * Check the headers of one member, fetched from its first header block on. Returns 0 and what it
 * found, or a negative errno with a detail (not naming the member: the
 * caller does): -EOPNOTSUPP for a GNU volume header, a pax global header
 * that sets anything but a comment, an unknown member type or
 * SCHILY.filetype; -EINVAL for a NUL byte in a pax or GNU long name or
 * link name, or an xattr with an empty name or a NUL in its name;
 * -EUCLEAN for numbers out of range, mode bits beyond the type and
 * permissions, malformed pax records, two headers of one kind (libarchive
 * would drop one), or headers cut short.
 */
int tar_headers_check(tar_fetch_fn fetch, void *userdata, struct tar_headers_info *ret);
