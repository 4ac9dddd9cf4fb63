/* SPDX-License-Identifier: MIT */
/*
 * Test helper (not installed): give the first external file of an image (a
 * regular, chunk-based inode, in directory order) a shape the reader must
 * refuse, in place, and print that inode's nid.
 *   st-image-mutate IMAGE SHAPE
 * SHAPE is one of:
 *   plain-data      layout "plain data blocks" at block 0, metacopy kept
 *   empty           size 0, metacopy and redirect kept
 *   no-metacopy     the metacopy xattr renamed to user.overlay.metacopy
 *   no-redirect     the redirect xattr renamed to user.overlay.redirect
 *   metacopy-len    the metacopy header claims 32 bytes
 *   digest          one byte of the metacopy's digest flipped
 *   whiteout        the redirect xattr renamed to trusted.overlay.whiteout
 * The image's digest changes: the caller renames it. Exit 1 with a message
 * on any error (no such file, xattr not inline, ...).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "reader-internal.h"

struct find {
	const struct rd_image *img;
	uint64_t dir_nid;               /* of the directory being walked */
	struct rd_inode found;
	bool done;
};

static int on_entry(void *userdata, const struct rd_dirent *de)
{
	struct find *f = userdata;
	struct rd_inode ino;
	uint64_t parent = f->dir_nid;
	int r;

	if (f->done)
		return 0;
	r = rd_inode_read(f->img, de->nid, &ino);
	if (r < 0)
		return r;
	if (S_ISREG(ino.mode) && ino.layout == EROFS_INODE_CHUNK_BASED && ino.size > 0) {
		f->found = ino;
		f->done = true;
		return 0;
	}
	if (!S_ISDIR(ino.mode))
		return 0;
	f->dir_nid = ino.nid;
	r = rd_dir_iterate(f->img, &ino, parent, on_entry, f);
	f->dir_nid = parent;
	return r;
}

/* The inline xattr entry named trusted.<suffix>: offset of its header, or 0. */
static uint64_t find_inline(const struct rd_image *img, const struct rd_inode *ino, const char *suffix)
{
	uint64_t body = ino->xattr_body_off, end = body + ino->xattr_body_size, pos;
	const struct erofs_xattr_ibody_header *h;

	if (ino->xattr_body_size == 0)
		return 0;
	h = (const struct erofs_xattr_ibody_header *)(img->data + body);
	for (pos = body + sizeof(*h) + 4u * h->h_shared_count; pos + 4 <= end;) {
		const struct erofs_xattr_entry *e = (const struct erofs_xattr_entry *)(img->data + pos);
		size_t n = e->e_name_len, v = le16_get(e->e_value_size);

		if (e->e_name_index == EROFS_XATTR_INDEX_TRUSTED && n == strlen(suffix) &&
		    memcmp(img->data + pos + 4, suffix, n) == 0)
			return pos;
		pos += ALIGN_UP(4 + n + v, (size_t)4);
	}
	return 0;
}

static int die(const char *what)
{
	fprintf(stderr, "st-image-mutate: %s\n", what);
	return 1;
}

int main(int argc, char **argv)
{
	struct find f = { 0 };
	struct rd_image img;
	struct rd_inode root;
	struct stat st;
	uint8_t *data, *ip;
	uint64_t at;
	int fd, r;

	if (argc != 3)
		return die("usage: st-image-mutate IMAGE SHAPE");
	fd = open(argv[1], O_RDWR | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return die("cannot open the image");
	data = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (data == MAP_FAILED)
		return die("cannot map the image");
	r = rd_image_init(&img, data, (size_t)st.st_size);
	if (r >= 0)
		r = rd_inode_read(&img, img.root_nid, &root);
	if (r < 0)
		return die("not an image");
	f.img = &img;
	f.dir_nid = img.root_nid;
	r = rd_dir_iterate(&img, &root, img.root_nid, on_entry, &f);
	if (r < 0 || !f.done)
		return die("no external file in the image");
	ip = data + f.found.off;

	if (strcmp(argv[2], "plain-data") == 0) {
		uint16_t format = (uint16_t)(le16_get(*(st_le16 *)ip) & ~(EROFS_I_DATALAYOUT_MASK << EROFS_I_DATALAYOUT_BIT));
		*(st_le16 *)ip = le16_put(format);      /* FLAT_PLAIN is 0 */
		*(st_le32 *)(ip + 16) = le32_put(0);
	} else if (strcmp(argv[2], "empty") == 0) {
		if (f.found.isize == sizeof(struct erofs_inode_compact))
			*(st_le32 *)(ip + 8) = le32_put(0);
		else
			*(st_le64 *)(ip + 8) = le64_put(0);
	} else if (strcmp(argv[2], "no-metacopy") == 0) {
		at = find_inline(&img, &f.found, "overlay.metacopy");
		if (!at)
			return die("no inline metacopy xattr");
		data[at + 1] = EROFS_XATTR_INDEX_USER;
	} else if (strcmp(argv[2], "no-redirect") == 0) {
		at = find_inline(&img, &f.found, "overlay.redirect");
		if (!at)
			return die("no inline redirect xattr");
		data[at + 1] = EROFS_XATTR_INDEX_USER;
	} else if (strcmp(argv[2], "metacopy-len") == 0) {
		at = find_inline(&img, &f.found, "overlay.metacopy");
		if (!at || le16_get(((struct erofs_xattr_entry *)(data + at))->e_value_size) != CFS_METACOPY_SIZE)
			return die("no inline metacopy xattr with a digest");
		data[at + 4 + 16 + 1] = 32;
	} else if (strcmp(argv[2], "digest") == 0) {
		at = find_inline(&img, &f.found, "overlay.metacopy");
		if (!at || le16_get(((struct erofs_xattr_entry *)(data + at))->e_value_size) != CFS_METACOPY_SIZE)
			return die("no inline metacopy xattr with a digest");
		data[at + 4 + 16 + 4] ^= 0xff;
	} else if (strcmp(argv[2], "whiteout") == 0) {
		at = find_inline(&img, &f.found, "overlay.redirect");
		if (!at)
			return die("no inline redirect xattr");
		memcpy(data + at + 4, "overlay.whiteout", 16);
	} else {
		return die("unknown shape");
	}
	if (msync(data, (size_t)st.st_size, MS_SYNC) < 0)
		return die("cannot write the image");
	printf("%" PRIu64 "\n", f.found.nid);
	return 0;
}
