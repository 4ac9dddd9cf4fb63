/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: image -> tree -> image -> tree -> image. Whatever the reader
 * accepts, the writer either refuses cleanly or writes an image that the
 * reader accepts again and that reproduces itself exactly (the writer's
 * output is a fixed point of read . write).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sealtree/image.h"

#define CHECK(x)                    \
	do {                        \
		if (!(x))           \
			abort();    \
	} while (0)

struct buf {
	uint8_t *data;
	size_t len, cap;
};

static int append(void *userdata, const void *p, size_t n)
{
	struct buf *b = userdata;

	if (b->len + n > b->cap) {
		size_t cap = (b->len + n) * 2;
		uint8_t *d = realloc(b->data, cap);
		if (!d)
			return -ENOMEM;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

static int write_tree(struct st_node *root, uint32_t version, struct buf *out)
{
	struct st_image_write_options opts = { .min_version = version, .max_version = version };

	return st_image_write(root, &opts, append, out, NULL, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st_image_read_options opts = { .flags = ST_IMAGE_READ_HARDLINKS_BFS };
	struct st_node *root = NULL, *again = NULL;
	struct buf one = { 0 }, two = { 0 };
	uint32_t version, version2;

	if (st_image_read_tree(data, size, &opts, &root, &version) < 0)
		return 0;
	if (write_tree(root, version, &one) == 0) {
		CHECK(st_image_read_tree(one.data, one.len, &opts, &again, &version2) == 0);
		CHECK(version2 == version);
		CHECK(write_tree(again, version, &two) == 0);
		CHECK(one.len == two.len && memcmp(one.data, two.data, one.len) == 0);
		st_node_free(again);
	}
	st_node_free(root);
	free(one.data);
	free(two.data);
	return 0;
}
