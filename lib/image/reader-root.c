/* SPDX-License-Identifier: MIT */
/*
 * st_image_read_root_fd(): the root directory's inode and xattrs, without
 * reading the rest of the image.
 *
 * The reader works on the image's bytes in memory (struct rd_image). Here
 * that memory is an anonymous private mapping of the image's size: pages
 * never written stay zero and cost nothing. Before each structure is
 * decoded, the blocks it lies in are read from the file into their place
 * (runs of missing blocks in one pread; a bitmap remembers what was read,
 * so no block is read twice and the total never exceeds one read of the
 * image). The decoders then check every offset against the whole length
 * as in a full read; what they look at has always been read first, and no
 * pointer into the file's own pages exists (no mmap of the file: a
 * truncation cannot turn into SIGBUS).
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/macro.h"
#include "reader-internal.h"
#include "shape-internal.h"

struct sparse {
	int fd;
	uint8_t *map;           /* len bytes, anonymous */
	uint64_t len;           /* the file's size when opened */
	uint8_t *loaded;        /* one bit per EROFS_BLKSIZ block */
};

static int read_blocks(struct sparse *s, uint64_t first, uint64_t count)
{
	uint64_t off = first * EROFS_BLKSIZ, want = MIN(count * EROFS_BLKSIZ, s->len - off), done = 0;

	while (done < want) {
		ssize_t n = pread(s->fd, s->map + off + done, (size_t)(want - done), (off_t)(off + done));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return st_errf(negative_errno(), "cannot read the image at offset %" PRIu64, off + done);
		}
		if (n == 0)
			return st_errf(-ENODATA, "the image shrank below %" PRIu64 " bytes while it was read",
				       off + want);
		done += (uint64_t)n;
	}
	for (uint64_t b = first; b < first + count; b++)
		s->loaded[b / 8] |= (uint8_t)(1u << (b % 8));
	return 0;
}

/* Make [off, off + n) (clipped to the file) present in the map. */
static int ensure(struct sparse *s, uint64_t off, uint64_t n)
{
	uint64_t end, b, last;
	int r;

	if (off >= s->len || n == 0)
		return 0;       /* the decoder's range check reports it */
	end = n > s->len - off ? s->len : off + n;
	last = (end - 1) / EROFS_BLKSIZ;
	for (b = off / EROFS_BLKSIZ; b <= last;) {
		uint64_t run = 0;

		while (b + run <= last && !(s->loaded[(b + run) / 8] & (1u << ((b + run) % 8))))
			run++;
		if (run > 0) {
			r = read_blocks(s, b, run);
			if (r < 0)
				return r;
			b += run;
		} else {
			b++;
		}
	}
	return 0;
}

/*
 * The shared xattr entries the root's body names: each entry's 4-byte
 * header first, then its name and value, which the header sizes.
 */
static int ensure_shared(struct sparse *s, const struct rd_image *img, const struct rd_inode *ino)
{
	const struct erofs_xattr_ibody_header *h;
	unsigned n_shared;
	int r;

	if (ino->xattr_body_size < sizeof(*h))
		return 0;
	h = (const struct erofs_xattr_ibody_header *)rd_ptr(img, ino->xattr_body_off);
	n_shared = h->h_shared_count;
	if ((uint64_t)n_shared * 4 > ino->xattr_body_size - sizeof(*h))
		return 0;       /* rd_xattrs_load() reports it */
	for (unsigned i = 0; i < n_shared; i++) {
		const struct erofs_xattr_entry *e;
		st_le32 raw;
		uint64_t off;

		memcpy(&raw, rd_ptr(img, ino->xattr_body_off + sizeof(*h) + 4 * (uint64_t)i), sizeof(raw));
		off = img->xattr_off + (uint64_t)le32_get(raw) * 4;
		r = ensure(s, off, sizeof(*e));
		if (r < 0)
			return r;
		if (!rd_range_ok(img, off, sizeof(*e)))
			continue;
		e = (const struct erofs_xattr_entry *)rd_ptr(img, off);
		r = ensure(s, off, sizeof(*e) + (uint64_t)e->e_name_len + le16_get(e->e_value_size));
		if (r < 0)
			return r;
	}
	return 0;
}

static int read_root(struct sparse *s, struct st_node **ret_root, uint32_t *ret_version)
{
	struct st_node *root = NULL;
	struct rd_image img;
	struct rd_inode ino;
	uint64_t budget, ioff;
	int r;

	r = ensure(s, 0, EROFS_BLKSIZ);
	if (r < 0)
		return r;
	r = rd_image_init(&img, s->map, (size_t)s->len);
	if (r < 0)
		return r;
	/* rd_image_init() checked root_nid against nid_end: no overflow. */
	ioff = img.meta_off + img.root_nid * EROFS_ISLOT;
	r = ensure(s, ioff, sizeof(struct erofs_inode_extended));
	if (r < 0)
		return r;
	r = rd_inode_read(&img, img.root_nid, &ino);
	if (r < 0)
		return r;
	if (!S_ISDIR(ino.mode))
		return RD_CORRUPT("root nid %" PRIu64 " is not a directory (mode 0%o)", img.root_nid, ino.mode);
	r = ensure(s, ino.xattr_body_off, ino.xattr_body_size);
	if (r >= 0)
		r = ensure_shared(s, &img, &ino);
	if (r < 0)
		return r;

	r = st_node_new(&root);
	if (r < 0)
		return r;
	rd_node_set_inode(root, &ino);
	budget = shape_read_budget(img.len);
	r = rd_xattrs_load(&img, &ino, root, &budget);
	if (r < 0) {
		st_node_free(root);
		return r;
	}
	*ret_root = root;
	if (ret_version)
		*ret_version = img.version;
	return 0;
}

int st_image_read_root_fd(int fd, struct st_node **ret_root, uint32_t *ret_version)
{
	struct sparse s = { .fd = fd };
	struct stat st;
	int r;

	if (fd < 0 || !ret_root)
		return -EINVAL;
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (!S_ISREG(st.st_mode))
		return st_errf(-EINVAL, "the image is not a regular file");
	s.len = (uint64_t)st.st_size;
	if (s.len < EROFS_BLKSIZ || s.len % EROFS_BLKSIZ != 0)
		return RD_CORRUPT("image size %" PRIu64 " is not a positive multiple of %u", s.len, EROFS_BLKSIZ);
	if (s.len > SIZE_MAX / 2)
		return st_errf(-EFBIG, "image of %" PRIu64 " bytes does not fit in memory", s.len);
	s.map = mmap(NULL, (size_t)s.len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (s.map == MAP_FAILED)
		return -ENOMEM;
	s.loaded = calloc((size_t)(s.len / EROFS_BLKSIZ + 7) / 8, 1);
	if (!s.loaded)
		r = -ENOMEM;
	else
		r = read_root(&s, ret_root, ret_version);
	free(s.loaded);
	(void)munmap(s.map, (size_t)s.len);
	return r;
}
