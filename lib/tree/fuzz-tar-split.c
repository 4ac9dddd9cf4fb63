/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: a tar-split record read back (st_tar_split_next()), as
 * `oci verify`, `oci push` and gc read them. Whatever it accepts must say
 * segments within the record, and an end that is the bytes they make.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "basic/error.h"
#include "tar-split.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st_tar_split_iter it;
	struct st_tar_split_seg seg;
	uint64_t covered = 0;
	int r;

	if (st_tar_split_iter_init(&it, data, size) < 0) {
		st_error_clear();
		return 0;
	}
	while ((r = st_tar_split_next(&it, &seg)) > 0) {
		if (seg.len == 0 || it.pos > size)
			abort();
		if (seg.tag == ST_TAR_SPLIT_RAW &&
		    (seg.data < data || seg.data + seg.len > data + it.pos || seg.len > ST_TAR_SPLIT_RAW_MAX))
			abort();
		if (seg.tag == ST_TAR_SPLIT_FILE &&
		    ((const uint8_t *)seg.name + seg.name_len > data + it.pos || memchr(seg.name, 0, seg.name_len)))
			abort();
		covered += seg.len;
	}
	if (r == 0 && (it.pos != size || seg.len != covered))
		abort();
	st_error_clear();
	return 0;
}
