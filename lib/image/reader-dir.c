/* SPDX-License-Identifier: MIT */
/*
 * Directory blocks. Each block (or the inline tail) starts with a table of
 * 12-byte dirents; the first nameoff gives the table size, and each name runs
 * from its nameoff to the next one (the last to the first NUL or the block
 * end). Everything is checked before a name is used: table size, monotonic
 * in-block offsets, name length and bytes, strcmp() order across the whole
 * directory without duplicates (the kernel's lookup relies on it), and what
 * '.' and '..' point at.
 */
#include <inttypes.h>
#include <string.h>

#include "reader-internal.h"

struct dir_walk {
	const struct rd_image *img;
	const struct rd_inode *dir;
	uint64_t parent_nid;
	const char *prev;               /* previous name (inside the image), for the order check */
	size_t prev_len;
	rd_dirent_fn fn;
	void *userdata;
};

/* strcmp() order of two names without NUL bytes. */
static int name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, MIN(alen, blen));

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen ? 1 : 0;
}

static int check_dot_entry(const struct dir_walk *w, const struct rd_dirent *de, uint64_t block)
{
	uint64_t want = de->name_len == 1 ? w->dir->nid : w->parent_nid;

	if (de->nid != want)
		return RD_CORRUPT("directory nid %" PRIu64 " block %" PRIu64 ": '%.*s' points at nid %" PRIu64
				  " instead of %" PRIu64,
				  w->dir->nid, block, (int)de->name_len, de->name, de->nid, want);
	if (de->file_type != EROFS_FT_DIR)
		return RD_CORRUPT("directory nid %" PRIu64 " block %" PRIu64 ": '%.*s' has file type %u", w->dir->nid,
				  block, (int)de->name_len, de->name, de->file_type);
	return 0;
}

static int walk_block(struct dir_walk *w, uint64_t block, const uint8_t *data, uint32_t len)
{
	const struct erofs_dirent *d = (const struct erofs_dirent *)data;
	uint64_t nid = w->dir->nid;
	uint32_t first, n;
	int r;

	if (len < sizeof(*d))
		return RD_CORRUPT("directory nid %" PRIu64 " block %" PRIu64 " is %u bytes, too short for a dirent", nid,
				  block, len);
	first = le16_get(d[0].nameoff);
	if (first < sizeof(*d) || first % sizeof(*d) != 0 || first >= len)
		return RD_CORRUPT("directory nid %" PRIu64 " block %" PRIu64 ": first nameoff %u is invalid (block of %u bytes)",
				  nid, block, first, len);
	n = first / (uint32_t)sizeof(*d);

	for (uint32_t i = 0; i < n; i++) {
		uint32_t off = le16_get(d[i].nameoff), end;
		struct rd_dirent de;

		if (off < first || off >= len)
			return RD_CORRUPT("directory nid %" PRIu64 " block %" PRIu64 " dirent %u: nameoff %u out of range",
					  nid, block, i, off);
		if (i + 1 < n) {
			end = le16_get(d[i + 1].nameoff);
			if (end <= off || end > len)
				return RD_CORRUPT("directory nid %" PRIu64 " block %" PRIu64
						  " dirent %u: name offsets %u..%u are not increasing within the block",
						  nid, block, i, off, end);
		} else {
			end = off + (uint32_t)strnlen((const char *)data + off, len - off);
		}
		de = (struct rd_dirent){
			.name = (const char *)data + off,
			.name_len = end - off,
			.nid = le64_get(d[i].nid),
			.file_type = d[i].file_type,
		};
		if (de.name_len == 0 || de.name_len > ST_NAME_MAX)
			return RD_CORRUPT("directory nid %" PRIu64 " block %" PRIu64 " dirent %u: name of %zu bytes", nid,
					  block, i, de.name_len);
		if (memchr(de.name, '/', de.name_len) || memchr(de.name, '\0', de.name_len))
			return RD_CORRUPT("directory nid %" PRIu64 " block %" PRIu64 " dirent %u: name contains '/' or NUL",
					  nid, block, i);
		if (de.file_type >= EROFS_FT_MAX)
			return RD_CORRUPT("directory nid %" PRIu64 " block %" PRIu64 " dirent %u: file type %u", nid, block,
					  i, de.file_type);
		if (w->prev && name_cmp(w->prev, w->prev_len, de.name, de.name_len) >= 0)
			return RD_CORRUPT("directory nid %" PRIu64 " block %" PRIu64
					  " dirent %u: name not sorted after the previous one, or a duplicate",
					  nid, block, i);
		w->prev = de.name;
		w->prev_len = de.name_len;

		if (de.name[0] == '.' && (de.name_len == 1 || (de.name_len == 2 && de.name[1] == '.')))
			r = check_dot_entry(w, &de, block);
		else
			r = w->fn(w->userdata, &de);
		if (r < 0)
			return r;
	}
	return 0;
}

int rd_dir_iterate(const struct rd_image *img, const struct rd_inode *dir, uint64_t parent_nid,
		   rd_dirent_fn fn, void *userdata)
{
	struct dir_walk w = {
		.img = img,
		.dir = dir,
		.parent_nid = parent_nid,
		.fn = fn,
		.userdata = userdata,
	};
	uint64_t n = rd_inode_n_blocks(dir);

	for (uint64_t b = 0; b < n; b++) {
		const uint8_t *data;
		uint32_t len;
		int r;

		rd_inode_block(img, dir, b, &data, &len);
		r = walk_block(&w, b, data, len);
		if (r < 0)
			return r;
	}
	return 0;
}
