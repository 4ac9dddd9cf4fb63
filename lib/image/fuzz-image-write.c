/* SPDX-License-Identifier: MIT */
/*
 * Round-trip fuzz target for the writer: an untrusted dumpfile that parses
 * becomes a tree, which must either be refused by st_image_write() with an
 * error or give an image that (1) is the same on a second write, (2) reads
 * back with st_image_read_tree(), and (3) is stable under image -> tree ->
 * image from the second round on (the first may renumber hardlinked inodes).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sealtree/dump.h"
#include "sealtree/image.h"

/* Not assert(): these must run even with NDEBUG. */
#define CHECK(x)                    \
	do {                        \
		if (!(x))           \
			abort();    \
	} while (0)

struct membuf {
	uint8_t *data;
	size_t len;
};

static int write_mem(void *userdata, const void *buf, size_t len)
{
	struct membuf *m = userdata;
	uint8_t *p = realloc(m->data, m->len + len);

	if (!p)
		return -12;
	memcpy(p + m->len, buf, len);
	m->data = p;
	m->len += len;
	return 0;
}

static bool same(const struct membuf *a, const struct membuf *b)
{
	return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

/* Write root at version v (pinned) and read it back. */
static void write_read(struct st_node *root, uint32_t v, struct membuf *img, struct st_node **ret_back)
{
	struct st_image_write_options o = { .min_version = v, .max_version = v };
	struct st_image_read_options ro = { .flags = ST_IMAGE_READ_HARDLINKS_BFS };

	CHECK(st_image_write(root, &o, write_mem, img, NULL, NULL) == 0);
	CHECK(st_image_read_tree(img->data, img->len, &ro, ret_back, NULL) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st_image_write_options opts = { .min_version = 0, .max_version = 1 };
	struct membuf a = {}, a2 = {}, b = {}, c = {};
	struct st_node *root = NULL, *back = NULL, *back2 = NULL, *back3 = NULL;
	uint8_t d1[32], d2[32];
	uint32_t version;

	if (st_dump_parse_buffer((const char *)data, size, 0, &root) < 0)
		return 0;
	if (st_image_write(root, &opts, write_mem, &a, d1, &version) < 0)
		goto out;
	CHECK(a.len % 4096 == 0);
	CHECK(st_image_write(root, &opts, write_mem, &a2, d2, NULL) == 0);
	CHECK(same(&a, &a2) && memcmp(d1, d2, sizeof(d1)) == 0);
	CHECK(st_image_read_tree(a.data, a.len, NULL, &back, NULL) == 0);
	write_read(back, version, &b, &back2);
	write_read(back2, version, &c, &back3);
	CHECK(same(&b, &c));
out:
	st_node_free(root);
	st_node_free(back);
	st_node_free(back2);
	st_node_free(back3);
	free(a.data);
	free(a2.data);
	free(b.data);
	free(c.data);
	return 0;
}
