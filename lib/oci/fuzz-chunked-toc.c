/* SPDX-License-Identifier: MIT */
/* Fuzz target: an untrusted zstd:chunked TOC (chunked-toc.c), the manifest annotations that locate it and
 * our tar headers frame and
 * TOC delta annotations. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chunked.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct chunked_toc t = {};
	char digest[ST_OCI_DIGEST_STRING_SIZE];
	uint64_t off, len, ulen;

	if (chunked_toc_parse(data, size, 1u << 20, &t) >= 0) {
		for (size_t i = 0; i < t.n; i++)
			if (t.files[i].offset >= t.files[i].end || t.files[i].end > (1u << 20) ||
			    (i > 0 && t.files[i].offset < t.files[i - 1].end))
				abort();
		chunked_toc_done(&t);
	}
	if (chunked_layer_position(data, size, 0, 1u << 20, digest, &off, &len, &ulen) >= 0 &&
	    (off > (1u << 20) || len > (1u << 20) - off))
		abort();
	if (chunked_headers_position(data, size, 0, 1u << 20, digest, &off, &len, &ulen) >= 0 &&
	    (off > (1u << 20) || len > (1u << 20) - off))
		abort();
	{
		struct chunked_delta dl;

		if (chunked_delta_position(data, size, 0, 1u << 20, &dl) >= 0 && dl.has_delta &&
		    (dl.offset > (1u << 20) || dl.length > (1u << 20) - dl.offset || dl.length == 0))
			abort();
	}
	/* The decompressed tar headers frame, split into as many runs as its first byte says. */
	if (size > 0) {
		size_t n = data[0] % 8 + 1, end = 0;
		struct chunked_run runs[8];

		if (chunked_headers_split(data + 1, size - 1, n, runs) >= 0) {
			for (size_t i = 0; i < n; i++) {
				if (runs[i].offset < end + 4 || runs[i].length > size - 1 - runs[i].offset)
					abort();
				end = runs[i].offset + runs[i].length;
			}
			if (end != size - 1)
				abort();
		}
	}
	return 0;
}
