/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: read an untrusted image into a tree, whole, with a
 * top-level filter, with breadth-first hardlink targets and with the path
 * filters a deployment uses (ST_IMAGE_READ_FILTER_PATHS); when it reads,
 * print it as a dump (which walks every node, alias and xattr the reader
 * produced). Then the root alone from a file of the same bytes
 * (st_image_read_root_fd()): it must never crash, and where the whole image
 * reads, it must read too, with the same xattrs on the root.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sealtree/dump.h"
#include "sealtree/image.h"

#define CHECK(x)                    \
	do {                        \
		if (!(x))           \
			abort();    \
	} while (0)

static void read_and_print(const uint8_t *data, size_t size, const struct st_image_read_options *opts)
{
	struct st_node *root = NULL;
	uint32_t version = UINT32_MAX;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (st_image_read_tree(data, size, opts, &root, &version) < 0) {
		CHECK(root == NULL);
		return;
	}
	CHECK(root && version <= ST_IMAGE_VERSION_MAX);
	f = open_memstream(&buf, &len);
	CHECK(f);
	CHECK(st_dump_print(f, root) == 0);
	CHECK(fclose(f) == 0);
	CHECK(len > 0);
	free(buf);
	st_node_free(root);
}

static void root_only(const uint8_t *data, size_t size)
{
	struct st_node *whole = NULL, *root = NULL;
	int fd = memfd_create("image", MFD_CLOEXEC);
	int rw, rr;

	CHECK(fd >= 0);
	CHECK(size == 0 || write(fd, data, size) == (ssize_t)size);
	rw = st_image_read_tree(data, size, NULL, &whole, NULL);
	rr = st_image_read_root_fd(fd, &root, NULL);
	close(fd);
	CHECK(rr < 0 || root);
	if (rw >= 0) {
		const char *an, *bn;
		const uint8_t *av, *bv;
		size_t al, bl, i;

		CHECK(rr >= 0);
		for (i = 0; st_node_get_xattr(whole, i, &an, &av, &al) >= 0; i++) {
			CHECK(st_node_get_xattr(root, i, &bn, &bv, &bl) >= 0);
			CHECK(strcmp(an, bn) == 0 && al == bl && (al == 0 || memcmp(av, bv, al) == 0));
		}
		CHECK(st_node_get_xattr(root, i, &bn, &bv, &bl) < 0);
	}
	st_node_free(whole);
	st_node_free(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const filters[] = { "00", "a", "usr" };
	struct st_image_read_options opts = { .filters = filters, .n_filters = 3 };
	static const char *const paths[] = { "usr/etc", "usr/lib/modules/*/vmlinuz", "*/*", "a/*/b" };
	struct st_image_read_options bfs = { .flags = ST_IMAGE_READ_HARDLINKS_BFS };
	struct st_image_read_options sub = {
		.filters = paths,
		.n_filters = 4,
		.flags = ST_IMAGE_READ_HARDLINKS_BFS | ST_IMAGE_READ_FILTER_PATHS,
	};

	read_and_print(data, size, NULL);
	read_and_print(data, size, &opts);
	read_and_print(data, size, &bfs);
	read_and_print(data, size, &sub);
	root_only(data, size);
	return 0;
}
