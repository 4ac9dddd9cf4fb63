/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: tar_headers_check() on untrusted header blocks (the input is
 * one member's headers from its first block on). Whatever it accepts must
 * say where the headers end, within the input.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tar-headers.h"

struct buf {
	const uint8_t *data;
	size_t len;
	uint8_t *copy;          /* each fetch gets its own copy: reads past it are caught by ASan */
};

static int fetch(void *userdata, uint64_t off, size_t len, const uint8_t **ret)
{
	struct buf *b = userdata;

	if (off > b->len || b->len - off < len)
		return -ENODATA;
	free(b->copy);
	b->copy = malloc(len ? len : 1);
	if (!b->copy)
		abort();
	memcpy(b->copy, b->data + off, len);
	*ret = b->copy;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf b = { .data = data, .len = size };
	struct tar_headers_info info;

	if (tar_headers_check(fetch, &b, &info) == 0 && (info.headers_len > size || info.headers_len % 512 != 0))
		abort();
	free(b.copy);
	return 0;
}
