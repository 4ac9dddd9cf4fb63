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

/* xattrs in name order: the writer sorts them, the reader keeps the archive's order. */
static void sort_xattrs(struct st_node *n)
{
	for (size_t i = 1; i < n->n_xattrs; i++)
		for (size_t j = i; j > 0 && strcmp(n->xattrs[j - 1].name, n->xattrs[j].name) > 0; j--) {
			struct st_xattr tmp = n->xattrs[j];
			n->xattrs[j] = n->xattrs[j - 1];
			n->xattrs[j - 1] = tmp;
		}
	for (size_t i = 0; i < n->n_children; i++)
		sort_xattrs(n->children[i]);
}

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
	sort_xattrs(root);
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
		sort_xattrs(again);
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
