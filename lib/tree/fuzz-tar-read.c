/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: read an untrusted tar stream into a tree (hashing only, no
 * store). Whatever is accepted must satisfy the tree's invariants as the
 * dumpfile printer checks them; a tree whose files are all inline must also
 * survive st_tar_write_fd() and read back to the same dump.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sealtree/dump.h"
#include "tar.h"

#define CHECK(x)                    \
	do {                        \
		if (!(x))           \
			abort();    \
	} while (0)

static char *dump_of(const struct st_node *root, size_t *ret_len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, ret_len);

	CHECK(f);
	CHECK(st_dump_print(f, root) == 0);
	CHECK(fclose(f) == 0);
	return buf;
}

static bool all_inline(const struct st_node *n)
{
	if (node_is_reg(n) && !n->link_target && n->size > 0 && !n->content)
		return false;
	for (size_t i = 0; i < n->n_children; i++)
		if (!all_inline(n->children[i]))
			return false;
	return true;
}

static int no_content(void *userdata, const struct st_node *n)
{
	(void)userdata, (void)n;
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st_node *root = NULL, *again = NULL;
	char *d1, *d2, *out;
	size_t l1, l2;
	off_t len;
	int fd;

	if (st_tar_read_buffer(data, size, NULL, NULL, &root) < 0) {
		CHECK(root == NULL);
		return 0;
	}
	d1 = dump_of(root, &l1);
	if (all_inline(root)) {
		fd = memfd_create("fuzz-tar", MFD_CLOEXEC);
		CHECK(fd >= 0);
		CHECK(st_tar_write_fd(fd, root, no_content, NULL) == 0);
		len = lseek(fd, 0, SEEK_END);
		CHECK(len > 0);
		out = malloc((size_t)len);
		CHECK(out && pread(fd, out, (size_t)len, 0) == len);
		close(fd);
		CHECK(st_tar_read_buffer(out, (size_t)len, NULL, NULL, &again) == 0);
		d2 = dump_of(again, &l2);
		CHECK(l1 == l2 && memcmp(d1, d2, l1) == 0);
		free(d2);
		free(out);
		st_node_free(again);
	}
	free(d1);
	st_node_free(root);
	return 0;
}
