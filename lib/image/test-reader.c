/* SPDX-License-Identifier: MIT */
/*
 * Reader unit tests. Two kinds of input:
 *  - small images built here byte by byte (struct mini), to hit one rule at
 *    a time: nesting cap, cycles, directory hardlinks, '.'/'..', order,
 *    names, xattr bounds, overlay xattr mapping, filters;
 *  - the reference's images (tests/assets/reference-image.sh), truncated and with every header
 *    and superblock byte corrupted, and with random corruption, which must
 *    fail with -EUCLEAN/-EOPNOTSUPP or read, and never crash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/test.h"
#include "reader-internal.h"

/* ---- building small images ------------------------------------------- */

/* Every inode gets a 128-byte unit; units never cross a 4096 block (1152 = 9 * 128). */
#define UNIT 128U
#define NID(k) (36U + 4U * (k))

struct mini {
	uint8_t *buf;
	size_t len;
};

struct xa {
	uint8_t index;
	const char *suffix;
	const void *value;
	uint16_t vlen;
};

struct ent {
	const char *name;
	uint64_t nid;
	uint8_t ft;
};

static void put16(uint8_t *p, uint16_t v)
{
	st_le16 x = le16_put(v);
	memcpy(p, &x, sizeof(x));
}
static void put32(uint8_t *p, uint32_t v)
{
	st_le32 x = le32_put(v);
	memcpy(p, &x, sizeof(x));
}
static void put64(uint8_t *p, uint64_t v)
{
	st_le64 x = le64_put(v);
	memcpy(p, &x, sizeof(x));
}

static void mini_init(struct mini *m, unsigned n_units)
{
	size_t bytes = ALIGN_UP((size_t)1152 + (size_t)n_units * UNIT, (size_t)4096);
	struct cfs_header h = { 0 };
	struct erofs_super_block sb = { 0 };

	m->buf = calloc(1, bytes);
	m->len = bytes;
	h.magic = le32_put(CFS_MAGIC);
	h.version = le32_put(CFS_HEADER_VERSION);
	memcpy(m->buf, &h, sizeof(h));
	sb.magic = le32_put(EROFS_SUPER_MAGIC);
	sb.feature_compat = le32_put(EROFS_FEATURE_COMPAT_MTIME | EROFS_FEATURE_COMPAT_XATTR_FILTER);
	sb.blkszbits = EROFS_BLKSIZ_BITS;
	sb.root_nid = le16_put(NID(0));
	sb.inos = le64_put(n_units);
	sb.blocks = le32_put((uint32_t)(bytes / 4096));
	memcpy(m->buf + EROFS_SUPER_OFFSET, &sb, sizeof(sb));
}

static size_t put_xattr_body(uint8_t *p, const struct xa *xs, size_t n)
{
	struct erofs_xattr_ibody_header h = { .h_name_filter = le32_put(0) };
	size_t pos = sizeof(h);

	memcpy(p, &h, sizeof(h));
	for (size_t i = 0; i < n; i++) {
		struct erofs_xattr_entry e = {
			.e_name_len = (uint8_t)strlen(xs[i].suffix),
			.e_name_index = xs[i].index,
			.e_value_size = le16_put(xs[i].vlen),
		};
		memcpy(p + pos, &e, sizeof(e));
		memcpy(p + pos + 4, xs[i].suffix, e.e_name_len);
		memcpy(p + pos + 4 + e.e_name_len, xs[i].value, xs[i].vlen);
		pos = ALIGN_UP(pos + 4 + e.e_name_len + xs[i].vlen, (size_t)4);
	}
	return pos;
}

/* Inode (compact) + xattr body + inline tail, all in the node's unit. */
static void put_node(struct mini *m, uint64_t nid, uint16_t mode, unsigned layout, uint64_t size, uint32_t iu,
		     const struct xa *xs, size_t nx, const void *tail, size_t tail_len)
{
	uint8_t *p = m->buf + nid * 32;
	struct erofs_inode_compact c = { 0 };
	size_t body = nx ? put_xattr_body(p + 32, xs, nx) : 0;

	c.i_format = le16_put((uint16_t)(layout << 1));
	c.i_xattr_icount = le16_put(body ? (uint16_t)((body - 12) / 4 + 1) : 0);
	c.i_mode = le16_put(mode);
	c.i_nlink = le16_put(1);
	c.i_size = le32_put((uint32_t)size);
	c.i_u.raw_blkaddr = le32_put(iu);
	memcpy(p, &c, sizeof(c));
	if (tail_len)
		memcpy(p + 32 + body, tail, tail_len);
}

static int ent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ent *)a)->name, ((const struct ent *)b)->name);
}

/* A directory with '.', '..' and ents, sorted, as an inline tail. */
static void put_dir(struct mini *m, uint64_t nid, uint64_t parent, const struct ent *ents, size_t n)
{
	struct ent all[8];
	uint8_t tail[UNIT];
	size_t names = 0, off;

	all[0] = (struct ent){ ".", nid, EROFS_FT_DIR };
	all[1] = (struct ent){ "..", parent, EROFS_FT_DIR };
	memcpy(all + 2, ents, n * sizeof(*ents));
	n += 2;
	qsort(all, n, sizeof(all[0]), ent_cmp);
	off = 12 * n;
	for (size_t i = 0; i < n; i++) {
		struct erofs_dirent d = {
			.nid = le64_put(all[i].nid),
			.nameoff = le16_put((uint16_t)(off + names)),
			.file_type = all[i].ft,
		};
		memcpy(tail + 12 * i, &d, sizeof(d));
		memcpy(tail + off + names, all[i].name, strlen(all[i].name));
		names += strlen(all[i].name);
	}
	put_node(m, nid, S_IFDIR | 0755, EROFS_INODE_FLAT_INLINE, off + names, 0, NULL, 0, tail, off + names);
}

/* Byte offset of the i-th dirent of a directory written by put_dir() (no xattrs). */
static size_t dirent_off(uint64_t dir_nid, size_t i)
{
	return dir_nid * 32 + 32 + 12 * i;
}

static int mini_read(const struct mini *m, const struct st_image_read_options *opts, struct st_node **ret)
{
	struct st_node *root = NULL;
	int r = st_image_read_tree(m->buf, m->len, opts, &root, NULL);

	if (ret)
		*ret = root;
	else
		st_node_free(root);
	return r;
}

/* A root with one regular file "f": units 0 (root) and 1 (f). */
static void mini_simple(struct mini *m)
{
	struct ent e[] = { { "f", NID(1), EROFS_FT_REG_FILE } };

	mini_init(m, 2);
	put_dir(m, NID(0), NID(0), e, 1);
	put_node(m, NID(1), S_IFREG | 0644, EROFS_INODE_FLAT_PLAIN, 0, 0, NULL, 0, NULL, 0);
}

/* ---- synthetic images ---------------------------------------------------- */

TEST(mini_semantics)
{
	static const uint8_t metacopy[36] = { 0, 36, 0, 1, 0xaa, [35] = 0x55 };
	const struct xa ext_x[] = {
		{ EROFS_XATTR_INDEX_TRUSTED, "overlay.metacopy", metacopy, 36 },
		{ EROFS_XATTR_INDEX_TRUSTED, "overlay.redirect", "/abc", 4 },
	};
	const struct xa wh_x[] = { { EROFS_XATTR_INDEX_TRUSTED, "overlay.overlay.whiteout", "", 0 } };
	struct ent e[] = {
		{ "00", NID(1), EROFS_FT_CHRDEV }, { "a", NID(2), EROFS_FT_REG_FILE },
		{ "l", NID(3), EROFS_FT_SYMLINK }, { "w", NID(4), EROFS_FT_REG_FILE },
		{ "y", NID(2), EROFS_FT_REG_FILE },
	};
	struct st_node *root = NULL, *a, *l, *w, *y;
	struct mini m;

	mini_init(&m, 5);
	put_dir(&m, NID(0), NID(0), e, 5);
	put_node(&m, NID(1), S_IFCHR | 0644, EROFS_INODE_FLAT_PLAIN, 0, 0, NULL, 0, NULL, 0);
	put_node(&m, NID(2), S_IFREG | 0644, EROFS_INODE_CHUNK_BASED, 10, 0, ext_x, 2, NULL, 0);
	put_node(&m, NID(3), S_IFLNK | 0777, EROFS_INODE_FLAT_INLINE, 6, 0, NULL, 0, "target", 6);
	put_node(&m, NID(4), S_IFREG | 0600, EROFS_INODE_FLAT_PLAIN, 0, 0, wh_x, 1, NULL, 0);
	ASSERT_OK(mini_read(&m, NULL, &root));

	ASSERT_EQ(root->n_children, 4);         /* "00" (a real whiteout) is skipped */
	ASSERT_EQ(root->n_xattrs, 0);
	a = node_lookup_child(root, "a", 1);
	l = node_lookup_child(root, "l", 1);
	w = node_lookup_child(root, "w", 1);
	y = node_lookup_child(root, "y", 1);
	ASSERT_TRUE(a && l && w && y && !node_lookup_child(root, "00", 2));
	/* Exactly one leading '/' stripped, nothing read past the value. */
	ASSERT_STREQ(a->payload, "abc");
	ASSERT_TRUE(a->has_digest && a->digest[0] == 0xaa && a->digest[31] == 0x55);
	ASSERT_EQ(a->size, 10);
	ASSERT_EQ(a->n_xattrs, 0);
	ASSERT_STREQ(l->payload, "target");
	ASSERT_TRUE(S_ISCHR(w->mode) && w->rdev == 0 && (w->mode & 07777) == 0600 && w->n_xattrs == 0);
	ASSERT_TRUE(y->link_target == a);
	st_node_free(root);
	free(m.buf);
}

TEST(mini_root_xattrs_mapped)
{
	const struct xa root_x[] = {
		{ EROFS_XATTR_INDEX_TRUSTED, "overlay.opaque", "y", 1 },
		{ EROFS_XATTR_INDEX_TRUSTED, "overlay.overlay.opaque", "x", 1 },
		{ EROFS_XATTR_INDEX_USER, "overlay.whiteouts", "", 0 },
		{ EROFS_XATTR_INDEX_USER, "k", "v", 1 },
		{ EROFS_XATTR_INDEX_SECURITY, "selinux", "l", 1 },
	};
	struct st_node *root = NULL;
	struct mini m;

	mini_init(&m, 1);
	/* A directory with xattrs and size 0 (no entries at all is allowed). */
	put_node(&m, NID(0), S_IFDIR | 0755, EROFS_INODE_FLAT_PLAIN, 0, 0, root_x, 5, NULL, 0);
	ASSERT_OK(mini_read(&m, NULL, &root));
	ASSERT_EQ(root->n_xattrs, 3);
	ASSERT_STREQ(root->xattrs[0].name, "trusted.overlay.opaque");
	ASSERT_TRUE(root->xattrs[0].value_len == 1 && root->xattrs[0].value[0] == 'x');
	ASSERT_STREQ(root->xattrs[1].name, "user.k");
	ASSERT_STREQ(root->xattrs[2].name, "security.selinux");
	st_node_free(root);
	free(m.buf);
}

/* ---- inode shapes the kernel would read differently ---------------------- */

static const uint8_t mc_digest[36] = { 0, 36, 0, 1, 0xaa, [35] = 0x55 };

/*
 * A root with one entry "f" at NID(1) of the given shape. want == NULL: it
 * must read; else it must be refused as corrupt, naming nid 40 and `want`.
 */
static void check_shape(unsigned line, uint16_t mode, unsigned layout, uint64_t size, uint32_t iu,
			const struct xa *xs, size_t nx, const void *tail, size_t tail_len, const char *want)
{
	struct ent e[] = { { "f", NID(1), erofs_ftype_from_mode(mode) } };
	struct mini m;
	int r;

	mini_init(&m, 2);
	put_dir(&m, NID(0), NID(0), e, 1);
	put_node(&m, NID(1), mode, layout, size, iu, xs, nx, tail, tail_len);
	st_error_clear();
	r = mini_read(&m, NULL, NULL);
	if (!want) {
		if (r < 0)
			fprintf(stderr, "line %u: %s\n", line, st_error_detail());
		ASSERT_OK(r);
	} else {
		if (r != -EUCLEAN || !strstr(st_error_detail() ?: "", "nid 40") ||
		    !strstr(st_error_detail() ?: "", want))
			fprintf(stderr, "line %u: r=%d, detail '%s', wanted '%s'\n", line, r, st_error_detail(), want);
		ASSERT_ERR(r, -EUCLEAN);
		ASSERT_TRUE(strstr(st_error_detail(), "nid 40") != NULL);
		ASSERT_TRUE(strstr(st_error_detail(), want) != NULL);
	}
	free(m.buf);
}

#define SHAPE(...) check_shape(__LINE__, __VA_ARGS__)
#define MC(v, n) { EROFS_XATTR_INDEX_TRUSTED, "overlay.metacopy", v, n }
#define RD(v) { EROFS_XATTR_INDEX_TRUSTED, "overlay.redirect", v, sizeof(v) - 1 }

TEST(shape_data_and_redirect)
{
	const struct xa ext[] = { MC(mc_digest, 36), RD("/ab/cd") };
	const struct xa mc_only[] = { MC("", 0) };
	const struct xa rd_only[] = { RD("/ab/cd") };
	const uint16_t reg = S_IFREG | 0644;

	/* What the writer writes: chunk-based, metacopy (with or without digest), redirect. */
	SHAPE(reg, EROFS_INODE_CHUNK_BASED, 10, 0, ext, 2, NULL, 0, NULL);
	/* No redirect: the kernel fails the lookup (EIO), the reader has no data: no disagreement. */
	SHAPE(reg, EROFS_INODE_CHUNK_BASED, 10, 0, mc_only, 1, NULL, 0, NULL);

	/* Data in the image and a metacopy: the kernel serves the redirect. */
	SHAPE(reg, EROFS_INODE_FLAT_INLINE, 5, 0, ext, 2, "hello", 5, "inline data");
	SHAPE(reg, EROFS_INODE_FLAT_PLAIN, 4096, 0, ext, 2, NULL, 0, "plain data blocks");
	SHAPE(reg, EROFS_INODE_FLAT_PLAIN, 0, 0, mc_only, 1, NULL, 0, "metacopy");
	/* Size 0 and a metacopy: the redirect target's bytes under size 0. */
	SHAPE(reg, EROFS_INODE_CHUNK_BASED, 0, 0, ext, 2, NULL, 0, "empty file");
	/* A redirect without metacopy is ignored by the kernel. */
	SHAPE(reg, EROFS_INODE_CHUNK_BASED, 10, 0, rd_only, 1, NULL, 0, "without a metacopy");
	SHAPE(reg, EROFS_INODE_FLAT_INLINE, 5, 0, rd_only, 1, "hello", 5, "without a metacopy");
	SHAPE(reg, EROFS_INODE_FLAT_PLAIN, 0, 0, rd_only, 1, NULL, 0, "without a metacopy");
	/* Chunk-based with data and no metacopy: the kernel serves the image's chunks. */
	SHAPE(reg, EROFS_INODE_CHUNK_BASED, 10, 0, NULL, 0, NULL, 0, "chunk-based file of 10 bytes");
	SHAPE(reg, EROFS_INODE_CHUNK_BASED, 0, 0, NULL, 0, NULL, 0, NULL);

	/* Redirect or metacopy on anything but a regular file. */
	SHAPE(S_IFDIR | 0755, EROFS_INODE_FLAT_PLAIN, 0, 0, rd_only, 1, NULL, 0, "non-regular");
	SHAPE(S_IFDIR | 0755, EROFS_INODE_FLAT_PLAIN, 0, 0, mc_only, 1, NULL, 0, "non-regular");
	SHAPE(S_IFLNK | 0777, EROFS_INODE_FLAT_INLINE, 3, 0, ext, 2, "abc", 3, "non-regular");
	SHAPE(S_IFCHR | 0644, EROFS_INODE_FLAT_PLAIN, 0, 5, mc_only, 1, NULL, 0, "non-regular");
	SHAPE(S_IFIFO | 0644, EROFS_INODE_FLAT_PLAIN, 0, 0, rd_only, 1, NULL, 0, "non-regular");
}

TEST(shape_metacopy_and_redirect_values)
{
	static const uint8_t v1[36] = { 1, 36, 0, 1 }, flags[36] = { 0, 36, 1, 1 }, sha512[36] = { 0, 36, 0, 2 },
			     len[36] = { 0, 35, 0, 1 }, short_[32] = { 0, 32, 0, 1 }, hdr[4] = { 0, 4, 0, 1 };
	static const struct {
		const void *v;
		uint16_t n;
		const char *want;
	} mcs[] = {
		{ v1, 36, "header" },     { flags, 36, "header" }, { sha512, 36, "header" },
		{ len, 36, "header" },    { short_, 32, "is 32 bytes" }, { hdr, 4, "is 4 bytes" },
		{ mc_digest, 35, "is 35 bytes" },
	};
	static const char *const bad_redirects[] = {
		"abc", "/", "//abc", "/a//b", "/a/", "/./a", "/a/.", "/a/../b", "/..", "a/b",
	};
	static const char *const good_redirects[] = { "/a", "/ab/cdef", "/..a", "/a../b", "/.a/b." };
	const uint16_t reg = S_IFREG | 0644;

	for (size_t i = 0; i < ELEMENTSOF(mcs); i++) {
		const struct xa x[] = { MC(mcs[i].v, mcs[i].n), RD("/ab/cd") };
		SHAPE(reg, EROFS_INODE_CHUNK_BASED, 10, 0, x, 2, NULL, 0, mcs[i].want);
	}
	for (size_t i = 0; i < ELEMENTSOF(bad_redirects); i++) {
		const struct xa x[] = {
			MC(mc_digest, 36),
			{ EROFS_XATTR_INDEX_TRUSTED, "overlay.redirect", bad_redirects[i],
			  (uint16_t)strlen(bad_redirects[i]) },
		};
		SHAPE(reg, EROFS_INODE_CHUNK_BASED, 10, 0, x, 2, NULL, 0, "redirect xattr");
	}
	{
		const struct xa x[] = { MC(mc_digest, 36), { EROFS_XATTR_INDEX_TRUSTED, "overlay.redirect", "/a\0b", 4 } };
		SHAPE(reg, EROFS_INODE_CHUNK_BASED, 10, 0, x, 2, NULL, 0, "redirect xattr");
	}
	for (size_t i = 0; i < ELEMENTSOF(good_redirects); i++) {
		const struct xa x[] = {
			MC(mc_digest, 36),
			{ EROFS_XATTR_INDEX_TRUSTED, "overlay.redirect", good_redirects[i],
			  (uint16_t)strlen(good_redirects[i]) },
		};
		SHAPE(reg, EROFS_INODE_CHUNK_BASED, 10, 0, x, 2, NULL, 0, NULL);
	}
	/* Twice the same overlay xattr (one inline and one shared, or two inline). */
	{
		const struct xa x[] = { MC(mc_digest, 36), MC("", 0), RD("/ab") };
		SHAPE(reg, EROFS_INODE_CHUNK_BASED, 10, 0, x, 3, NULL, 0, "second metacopy");
	}
	{
		const struct xa x[] = { MC(mc_digest, 36), RD("/ab"), RD("/cd") };
		SHAPE(reg, EROFS_INODE_CHUNK_BASED, 10, 0, x, 3, NULL, 0, "second redirect");
	}
}

TEST(shape_whiteouts_and_unescaped_overlay_xattrs)
{
	const struct xa esc_wh[] = { { EROFS_XATTR_INDEX_TRUSTED, "overlay.overlay.whiteout", "", 0 } };
	const struct xa esc_wh_ext[] = { { EROFS_XATTR_INDEX_TRUSTED, "overlay.overlay.whiteout", "", 0 },
					 MC(mc_digest, 36), RD("/ab") };
	static const struct {
		uint16_t mode;
		const char *suffix, *value;
	} unescaped[] = {
		{ S_IFREG | 0644, "overlay.whiteout", "" },   { S_IFDIR | 0755, "overlay.whiteouts", "" },
		{ S_IFDIR | 0755, "overlay.opaque", "y" },    { S_IFDIR | 0755, "overlay.opaque", "x" },
		{ S_IFREG | 0644, "overlay.opaque", "y" },    { S_IFREG | 0644, "overlay.origin", "" },
		{ S_IFREG | 0644, "overlay.impure", "y" },    { S_IFDIR | 0755, "overlay.impure", "y" },
		{ S_IFREG | 0644, "overlay.nlink", "U+1" },   { S_IFIFO | 0644, "overlay.protattr", "" },
		{ S_IFDIR | 0755, "overlay.upper", "" },      { S_IFREG | 0644, "overlay.uuid", "" },
	};
	const uint16_t reg = S_IFREG | 0644;
	struct st_node *root = NULL;
	struct mini m;

	/* The escaped marker is a whiteout only on an empty, plain file. */
	SHAPE(reg, EROFS_INODE_FLAT_PLAIN, 0, 0, esc_wh, 1, NULL, 0, NULL);
	SHAPE(reg, EROFS_INODE_FLAT_INLINE, 5, 0, esc_wh, 1, "hello", 5, "whiteout xattr");
	SHAPE(reg, EROFS_INODE_CHUNK_BASED, 10, 0, esc_wh_ext, 3, NULL, 0, "whiteout xattr");
	/* On other types it is a user xattr (the user's trusted.overlay.whiteout). */
	SHAPE(S_IFDIR | 0755, EROFS_INODE_FLAT_PLAIN, 0, 0, esc_wh, 1, NULL, 0, NULL);

	for (size_t i = 0; i < ELEMENTSOF(unescaped); i++) {
		const struct xa x[] = { { EROFS_XATTR_INDEX_TRUSTED, unescaped[i].suffix, unescaped[i].value,
					  (uint16_t)strlen(unescaped[i].value) } };
		SHAPE(unescaped[i].mode, EROFS_INODE_FLAT_PLAIN, 0, 0, x, 1, NULL, 0, "overlay xattr 'trusted.overlay.");
	}

	/* The root may carry opaque "y" (the writer's) and nothing else unescaped. */
	{
		const struct xa x[] = { { EROFS_XATTR_INDEX_TRUSTED, "overlay.opaque", "x", 1 } };
		mini_init(&m, 1);
		put_node(&m, NID(0), S_IFDIR | 0755, EROFS_INODE_FLAT_PLAIN, 0, 0, x, 1, NULL, 0);
		ASSERT_ERR(mini_read(&m, NULL, NULL), -EUCLEAN);
		ASSERT_TRUE(strstr(st_error_detail(), "nid 36") && strstr(st_error_detail(), "trusted.overlay.opaque"));
		free(m.buf);
	}
	/* Escaped names of every kind are user data, unescaped once. */
	{
		const struct xa x[] = {
			{ EROFS_XATTR_INDEX_TRUSTED, "overlay.overlay.redirect", "/x", 2 },
			{ EROFS_XATTR_INDEX_TRUSTED, "overlay.overlay.metacopy", "", 0 },
			{ EROFS_XATTR_INDEX_TRUSTED, "overlay.overlay.overlay.opaque", "y", 1 },
		};
		struct ent e[] = { { "f", NID(1), EROFS_FT_REG_FILE } };
		struct st_node *f;

		mini_init(&m, 2);
		put_dir(&m, NID(0), NID(0), e, 1);
		put_node(&m, NID(1), reg, EROFS_INODE_FLAT_INLINE, 2, 0, x, 3, "hi", 2);
		ASSERT_OK(mini_read(&m, NULL, &root));
		f = node_lookup_child(root, "f", 1);
		ASSERT_TRUE(f && !f->payload && !f->has_digest && f->content && f->n_xattrs == 3);
		ASSERT_STREQ(f->xattrs[0].name, "trusted.overlay.redirect");
		ASSERT_STREQ(f->xattrs[1].name, "trusted.overlay.metacopy");
		ASSERT_STREQ(f->xattrs[2].name, "trusted.overlay.overlay.opaque");
		st_node_free(root);
		free(m.buf);
	}
}

/* A chain root/d/d/.../d of n directories. */
static void mini_chain(struct mini *m, unsigned n)
{
	mini_init(m, n);
	for (unsigned k = 0; k < n; k++) {
		struct ent e[] = { { "d", NID(k + 1), EROFS_FT_DIR } };
		put_dir(m, NID(k), k ? NID(k - 1) : NID(0), e, k + 1 < n ? 1 : 0);
	}
}

TEST(mini_depth_cap)
{
	struct mini m;

	mini_chain(&m, RD_DEPTH_MAX + 1);
	ASSERT_OK(mini_read(&m, NULL, NULL));
	free(m.buf);
	mini_chain(&m, RD_DEPTH_MAX + 2);
	ASSERT_ERR(mini_read(&m, NULL, NULL), -EUCLEAN);
	ASSERT_TRUE(strstr(st_error_detail(), "deeper"));
	free(m.buf);
}

TEST(mini_cycle_and_dir_hardlink)
{
	struct mini m;

	/* root/d/x -> root: a cycle. */
	mini_chain(&m, 3);
	{
		struct ent e[] = { { "x", NID(0), EROFS_FT_DIR } };
		put_dir(&m, NID(2), NID(1), e, 1);
	}
	ASSERT_ERR(mini_read(&m, NULL, NULL), -EUCLEAN);
	ASSERT_TRUE(strstr(st_error_detail(), "twice"));
	free(m.buf);

	/* Two names for one directory. */
	mini_init(&m, 2);
	{
		struct ent e[] = { { "a", NID(1), EROFS_FT_DIR }, { "b", NID(1), EROFS_FT_DIR } };
		struct ent none[1];
		put_dir(&m, NID(0), NID(0), e, 2);
		put_dir(&m, NID(1), NID(0), none, 0);
	}
	ASSERT_ERR(mini_read(&m, NULL, NULL), -EUCLEAN);
	free(m.buf);
}

TEST(mini_dirent_rules)
{
	struct mini m;
	struct erofs_dirent d;

	/* Sorted dirents of root: ".", "..", "f". */
	mini_simple(&m);
	ASSERT_OK(mini_read(&m, NULL, NULL));

	/* '.' pointing elsewhere. */
	d = (struct erofs_dirent){ .nid = le64_put(NID(1)), .nameoff = le16_put(36), .file_type = EROFS_FT_DIR };
	memcpy(m.buf + dirent_off(NID(0), 0), &d, sizeof(d));
	ASSERT_ERR(mini_read(&m, NULL, NULL), -EUCLEAN);
	free(m.buf);

	/* '..' of the root not the root. */
	mini_simple(&m);
	memcpy(m.buf + dirent_off(NID(0), 1), &(struct erofs_dirent){ .nid = le64_put(NID(1)),
		.nameoff = le16_put(37), .file_type = EROFS_FT_DIR }, sizeof(d));
	ASSERT_ERR(mini_read(&m, NULL, NULL), -EUCLEAN);
	free(m.buf);

	/* nid out of range, and nid inside the superblock. */
	mini_simple(&m);
	put64(m.buf + dirent_off(NID(0), 2), UINT64_MAX / 2);
	ASSERT_ERR(mini_read(&m, NULL, NULL), -EUCLEAN);
	put64(m.buf + dirent_off(NID(0), 2), 3);
	ASSERT_ERR(mini_read(&m, NULL, NULL), -EUCLEAN);
	free(m.buf);

	/* Bad nameoffs: past the block, not increasing, first not a multiple of 12. */
	for (unsigned v = 0; v < 4; v++) {
		static const uint16_t bad[][2] = { { 2, 0xffff }, { 2, 36 }, { 0, 13 }, { 1, 40 } };
		mini_simple(&m);
		put16(m.buf + dirent_off(NID(0), bad[v][0]) + 8, bad[v][1]);
		ASSERT_ERR(mini_read(&m, NULL, NULL), -EUCLEAN);
		free(m.buf);
	}

	/* Unsorted, duplicate, '/' in a name, empty last name, wrong file type. */
	mini_simple(&m);
	m.buf[dirent_off(NID(0), 3) + 3] = ' ';        /* "f" -> " " sorts before "." */
	ASSERT_ERR(mini_read(&m, NULL, NULL), -EUCLEAN);
	m.buf[dirent_off(NID(0), 3) + 3] = '.';        /* "." twice */
	ASSERT_ERR(mini_read(&m, NULL, NULL), -EUCLEAN);
	m.buf[dirent_off(NID(0), 3) + 3] = '/';
	ASSERT_ERR(mini_read(&m, NULL, NULL), -EUCLEAN);
	m.buf[dirent_off(NID(0), 3) + 3] = '\0';
	ASSERT_ERR(mini_read(&m, NULL, NULL), -EUCLEAN);
	m.buf[dirent_off(NID(0), 3) + 3] = 'f';
	m.buf[dirent_off(NID(0), 2) + 10] = EROFS_FT_DIR;
	ASSERT_ERR(mini_read(&m, NULL, NULL), -EUCLEAN);
	m.buf[dirent_off(NID(0), 2) + 10] = EROFS_FT_MAX;
	ASSERT_ERR(mini_read(&m, NULL, NULL), -EUCLEAN);
	free(m.buf);
}

TEST(mini_inode_rules)
{
	const struct xa one[] = { { EROFS_XATTR_INDEX_USER, "k", "value", 5 } };
	struct mini m;
	uint8_t *f;

	mini_simple(&m);
	f = m.buf + NID(1) * 32;
	f[0] = 0x10;                                    /* unknown i_format bit */
	ASSERT_ERR(mini_read(&m, NULL, NULL), -EUCLEAN);
	f[0] = EROFS_INODE_FLAT_COMPRESSION << 1;
	ASSERT_ERR(mini_read(&m, NULL, NULL), -EOPNOTSUPP);
	f[0] = 5 << 1;
	ASSERT_ERR(mini_read(&m, NULL, NULL), -EUCLEAN);
	f[0] = 0;
	f[5] = 0xf0;                                    /* mode type 0170000 */
	ASSERT_ERR(mini_read(&m, NULL, NULL), -EUCLEAN);
	f[5] = 0x81;
	put32(f + 8, 5001); /* flat content > 5000 */
	ASSERT_ERR(mini_read(&m, NULL, NULL), -EUCLEAN);
	put32(f + 8, 4096); /* plain data block past the end */
	put32(f + 16, UINT32_MAX);
	ASSERT_ERR(mini_read(&m, NULL, NULL), -EUCLEAN);
	put32(f + 8, 0);
	put16(f + 2, 0xffff); /* huge xattr icount */
	ASSERT_ERR(mini_read(&m, NULL, NULL), -EUCLEAN);
	free(m.buf);

	/* An xattr entry whose value runs past the body, and a shared id past the end. */
	mini_simple(&m);
	put_node(&m, NID(1), S_IFREG | 0644, EROFS_INODE_FLAT_PLAIN, 0, 0, one, 1, NULL, 0);
	ASSERT_OK(mini_read(&m, NULL, NULL));
	f = m.buf + NID(1) * 32;
	put16(f + 32 + 12 + 2, 200);
	ASSERT_ERR(mini_read(&m, NULL, NULL), -EUCLEAN);
	put16(f + 32 + 12 + 2, 5);
	f[32 + 12 + 1] = 9;                             /* unknown name index */
	ASSERT_ERR(mini_read(&m, NULL, NULL), -EUCLEAN);
	f[32 + 12 + 1] = EROFS_XATTR_INDEX_USER;
	f[32 + 4] = 1;                                  /* one shared id, overlapping the entry */
	put32(f + 32 + 12, UINT32_MAX);
	ASSERT_ERR(mini_read(&m, NULL, NULL), -EUCLEAN);
	f[32 + 4] = 200;                                /* more ids than the body holds */
	ASSERT_ERR(mini_read(&m, NULL, NULL), -EUCLEAN);
	free(m.buf);

	/* Symlinks: empty, NUL inside, too long. */
	mini_init(&m, 2);
	{
		struct ent e[] = { { "l", NID(1), EROFS_FT_SYMLINK } };
		put_dir(&m, NID(0), NID(0), e, 1);
	}
	put_node(&m, NID(1), S_IFLNK | 0777, EROFS_INODE_FLAT_INLINE, 3, 0, NULL, 0, "a\0b", 3);
	ASSERT_ERR(mini_read(&m, NULL, NULL), -EUCLEAN);
	put_node(&m, NID(1), S_IFLNK | 0777, EROFS_INODE_FLAT_INLINE, 0, 0, NULL, 0, NULL, 0);
	ASSERT_ERR(mini_read(&m, NULL, NULL), -EUCLEAN);
	put_node(&m, NID(1), S_IFLNK | 0777, EROFS_INODE_FLAT_PLAIN, 4096, 0, NULL, 0, NULL, 0);
	ASSERT_ERR(mini_read(&m, NULL, NULL), -EUCLEAN);
	put_node(&m, NID(1), S_IFLNK | 0777, EROFS_INODE_FLAT_INLINE, 3, 0, NULL, 0, "abc", 3);
	ASSERT_OK(mini_read(&m, NULL, NULL));
	free(m.buf);

	/* An inline tail that would cross from block 0 into block 1. */
	mini_init(&m, 30);
	{
		struct ent e[] = { { "l", 126, EROFS_FT_SYMLINK } };
		put_dir(&m, NID(0), NID(0), e, 1);
	}
	put_node(&m, 126, S_IFLNK | 0777, EROFS_INODE_FLAT_INLINE, 40, 0, NULL, 0,
		 "0123456789012345678901234567890123456789", 40);
	ASSERT_ERR(mini_read(&m, NULL, NULL), -EUCLEAN);
	ASSERT_TRUE(strstr(st_error_detail(), "crosses"));
	put_node(&m, 126, S_IFLNK | 0777, EROFS_INODE_FLAT_INLINE, 32, 0, NULL, 0,
		 "01234567890123456789012345678901", 32);
	ASSERT_OK(mini_read(&m, NULL, NULL));
	free(m.buf);
}

TEST(mini_filters)
{
	static const char *const keep[] = { "b", "zz" };
	struct st_image_read_options opts = { .filters = keep, .n_filters = 2 };
	struct ent e[] = {
		{ "a", NID(1), EROFS_FT_REG_FILE }, { "b", NID(2), EROFS_FT_REG_FILE }, { "c", NID(1), EROFS_FT_REG_FILE },
	};
	struct st_node *root = NULL;
	struct mini m;

	mini_init(&m, 3);
	put_dir(&m, NID(0), NID(0), e, 3);
	put_node(&m, NID(1), S_IFREG | 0644, EROFS_INODE_FLAT_PLAIN, 0, 0, NULL, 0, NULL, 0);
	put_node(&m, NID(2), S_IFREG | 0644, EROFS_INODE_FLAT_PLAIN, 0, 0, NULL, 0, NULL, 0);
	ASSERT_OK(mini_read(&m, &opts, &root));
	ASSERT_EQ(root->n_children, 1);
	ASSERT_STREQ(root->children[0]->name, "b");
	st_node_free(root);
	/* Without the filter, "c" is an alias of "a". */
	ASSERT_OK(mini_read(&m, NULL, &root));
	ASSERT_EQ(root->n_children, 3);
	ASSERT_TRUE(root->children[2]->link_target == root->children[0]);
	st_node_free(root);
	free(m.buf);
}

/* ST_IMAGE_READ_FILTER_PATHS: only the inodes on the paths are read. */
TEST(mini_filter_paths)
{
	static const char *const star[] = { "a/*/x" }, *const whole[] = { "a/b" }, *const miss[] = { "a/nope/x" };
	static const char *const bad1[] = { "a/../b" }, *const bad2[] = { "a//b" }, *const bad3[] = { "" };
	struct ent top[] = { { "a", NID(1), EROFS_FT_DIR }, { "q", NID(6), EROFS_FT_DIR } };
	struct ent ea[] = { { "b", NID(2), EROFS_FT_DIR }, { "c", NID(3), EROFS_FT_DIR }, { "z", NID(5), EROFS_FT_REG_FILE } };
	struct ent eb[] = { { "x", NID(4), EROFS_FT_REG_FILE }, { "y", NID(7), EROFS_FT_REG_FILE } };
	struct ent ec[] = { { "x", NID(8), EROFS_FT_REG_FILE } };
	struct st_image_read_options o = { .flags = ST_IMAGE_READ_FILTER_PATHS, .n_filters = 1 };
	struct st_node *root = NULL, *a, *n;
	struct mini m;

	mini_init(&m, 9);
	put_dir(&m, NID(0), NID(0), top, 2);
	put_dir(&m, NID(1), NID(0), ea, 3);
	put_dir(&m, NID(2), NID(1), eb, 2);
	put_dir(&m, NID(3), NID(1), ec, 1);
	put_dir(&m, NID(6), NID(1), ea, 0);     /* corrupt: its '..' is not the root */
	for (unsigned k = 4; k <= 8; k++)
		if (k != 6)
			put_node(&m, NID(k), S_IFREG | 0644, EROFS_INODE_FLAT_INLINE, 2, 0, NULL, 0, "hi", 2);

	/* A full read meets the corrupt directory q; no path below reaches it. */
	ASSERT_ERR(mini_read(&m, NULL, NULL), -EUCLEAN);

	o.filters = star;
	ASSERT_OK(mini_read(&m, &o, &root));
	ASSERT_EQ(root->n_children, 1);
	a = node_lookup_child(root, "a", 1);
	ASSERT_TRUE(a && a->n_children == 2);                   /* b and c, not z */
	n = node_lookup_child(a, "b", 1);
	ASSERT_TRUE(n && n->n_children == 1 && node_lookup_child(n, "x", 1));
	n = node_lookup_child(a, "c", 1);
	ASSERT_TRUE(n && n->n_children == 1 && node_lookup_child(n, "x", 1));
	st_node_free(root);

	o.filters = whole;
	ASSERT_OK(mini_read(&m, &o, &root));
	a = node_lookup_child(root, "a", 1);
	ASSERT_TRUE(a && a->n_children == 1);
	n = node_lookup_child(a, "b", 1);
	ASSERT_TRUE(n && n->n_children == 2);                   /* loaded whole */
	st_node_free(root);

	o.filters = miss;                                       /* nothing there: the ancestors only */
	ASSERT_OK(mini_read(&m, &o, &root));
	a = node_lookup_child(root, "a", 1);
	ASSERT_TRUE(root->n_children == 1 && a && a->n_children == 0);
	st_node_free(root);

	o.filters = bad1;
	ASSERT_ERR(mini_read(&m, &o, NULL), -EINVAL);
	o.filters = bad2;
	ASSERT_ERR(mini_read(&m, &o, NULL), -EINVAL);
	o.filters = bad3;
	ASSERT_ERR(mini_read(&m, &o, NULL), -EINVAL);
	o.n_filters = 65;
	ASSERT_ERR(mini_read(&m, &o, NULL), -EINVAL);
	o.n_filters = 0;
	ASSERT_ERR(mini_read(&m, &o, NULL), -EINVAL);
	free(m.buf);
}

TEST(mini_hardlinks_bfs)
{
	struct st_image_read_options bfs = { .flags = ST_IMAGE_READ_HARDLINKS_BFS };
	struct ent top[] = { { "a", NID(1), EROFS_FT_DIR }, { "z", NID(2), EROFS_FT_REG_FILE } };
	struct ent sub[] = { { "x", NID(2), EROFS_FT_REG_FILE } };
	struct st_node *root = NULL, *a, *x, *z;
	struct mini m;

	/* /a/x and /z are one inode, numbered after /a: the writer had it at /z. */
	mini_init(&m, 3);
	put_dir(&m, NID(0), NID(0), top, 2);
	put_dir(&m, NID(1), NID(0), sub, 1);
	put_node(&m, NID(2), S_IFREG | 0644, EROFS_INODE_FLAT_INLINE, 3, 0, NULL, 0, "abc", 3);

	ASSERT_OK(mini_read(&m, NULL, &root));
	a = node_lookup_child(root, "a", 1);
	z = node_lookup_child(root, "z", 1);
	ASSERT_TRUE(a && z);
	x = node_lookup_child(a, "x", 1);
	ASSERT_TRUE(x && !x->link_target && z->link_target == x);       /* depth first */
	st_node_free(root);

	ASSERT_OK(mini_read(&m, &bfs, &root));
	a = node_lookup_child(root, "a", 1);
	z = node_lookup_child(root, "z", 1);
	ASSERT_TRUE(a && z);
	x = node_lookup_child(a, "x", 1);
	ASSERT_TRUE(x && !z->link_target && x->link_target == z);       /* breadth first */
	ASSERT_TRUE(z->parent == root && x->parent == a);
	ASSERT_TRUE(z->content && memcmp(z->content, "abc", 3) == 0);
	ASSERT_EQ(z->scratch, 0);
	ASSERT_EQ(a->scratch, 0);
	st_node_free(root);
	free(m.buf);
}

TEST(mini_header_fields)
{
	struct mini m;

	mini_simple(&m);
	ASSERT_OK(mini_read(&m, NULL, NULL));
	m.buf[0] ^= 1;
	ASSERT_ERR(mini_read(&m, NULL, NULL), -EUCLEAN);        /* composefs magic */
	m.buf[0] ^= 1;
	m.buf[4] = 2;
	ASSERT_ERR(mini_read(&m, NULL, NULL), -EOPNOTSUPP);     /* header version */
	m.buf[4] = 1;
	m.buf[12] = 2;
	ASSERT_ERR(mini_read(&m, NULL, NULL), -EOPNOTSUPP);     /* composefs_version */
	m.buf[12] = 1;
	ASSERT_OK(mini_read(&m, NULL, NULL));
	m.buf[1024] ^= 1;
	ASSERT_ERR(mini_read(&m, NULL, NULL), -EUCLEAN);        /* EROFS magic */
	m.buf[1024] ^= 1;
	m.buf[1024 + 12] = 13;
	ASSERT_ERR(mini_read(&m, NULL, NULL), -EOPNOTSUPP);     /* blkszbits */
	m.buf[1024 + 12] = 12;
	m.buf[1024 + 80] = 1;
	ASSERT_ERR(mini_read(&m, NULL, NULL), -EOPNOTSUPP);     /* feature_incompat */
	m.buf[1024 + 80] = 0;
	m.buf[1024 + 36] = 2;
	ASSERT_ERR(mini_read(&m, NULL, NULL), -EUCLEAN);        /* blocks != size */
	m.buf[1024 + 36] = 1;
	m.buf[1024 + 14] = 0xff;
	ASSERT_ERR(mini_read(&m, NULL, NULL), -EUCLEAN);        /* root nid */
	m.buf[1024 + 14] = 0;
	ASSERT_ERR(mini_read(&m, NULL, NULL), -EUCLEAN);        /* root nid 0: in the header */
	m.buf[1024 + 14] = NID(1);
	ASSERT_ERR(mini_read(&m, NULL, NULL), -EUCLEAN);        /* root not a directory */
	m.buf[1024 + 14] = NID(0);
	m.buf[1024 + 40] = 5;
	ASSERT_ERR(mini_read(&m, NULL, NULL), -EUCLEAN);        /* meta_blkaddr */
	m.buf[1024 + 40] = 0;
	m.buf[1024 + 23] = 1;
	ASSERT_ERR(mini_read(&m, NULL, NULL), -EUCLEAN);        /* inos */
	m.buf[1024 + 23] = 0;
	ASSERT_OK(mini_read(&m, NULL, NULL));
	ASSERT_ERR(st_image_read_tree(m.buf, m.len - 1, NULL, &(struct st_node *){ NULL }, NULL), -EUCLEAN);
	ASSERT_ERR(st_image_read_tree(m.buf, 0, NULL, &(struct st_node *){ NULL }, NULL), -EUCLEAN);
	free(m.buf);
}

/* ---- the reference's images ---------------------------------------------- */

static int load_reference(unsigned seed, uint8_t **ret, size_t *ret_len)
{
	const char *dir = getenv("ASSETS_DIR");
	char cmd[4096];
	size_t len = 0, cap = 1 << 20;
	uint8_t *buf;
	FILE *p;

	if (!dir)
		return -ENOENT;
	/* Rebuilt by our mkcomposefs and checked against the reference's sha256. */
	snprintf(cmd, sizeof(cmd), "bash '%s/reference-image.sh' %u", dir, seed);
	p = popen(cmd, "re");
	if (!p)
		return -errno;
	buf = malloc(cap);
	for (size_t n; buf && (n = fread(buf + len, 1, cap - len, p)) > 0;) {
		len += n;
		if (len == cap)
			buf = realloc(buf, cap *= 2);
	}
	if (pclose(p) != 0 || !buf || len == 0) {
		free(buf);
		return -EIO;
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}

static bool acceptable(int r)
{
	return r == 0 || r == -EUCLEAN || r == -EOPNOTSUPP;
}

TEST(reference_truncated)
{
	struct st_node *whole = NULL;
	uint8_t *img, *copy;
	size_t len;

	if (!getenv("ASSETS_DIR"))
		TEST_SKIP("ASSETS_DIR not set");
	ASSERT_OK(load_reference(2, &img, &len));
	ASSERT_OK(st_image_read_tree(img, len, NULL, &whole, NULL));
	whole = st_node_free(whole);
	copy = malloc(len);
	/* Cut at every block, with the superblock patched to agree: the walk must catch it. */
	for (size_t cut = 4096; cut < len; cut += 4096) {
		struct st_node *root = NULL;
		int r;

		memcpy(copy, img, cut);
		put32(copy + 1024 + 36, (uint32_t)(cut / 4096));
		r = st_image_read_tree(copy, cut, NULL, &root, NULL);
		if (r != -EUCLEAN)
			TEST_FAIL_("cut at %zu: %d", cut, r);
		ASSERT_TRUE(root == NULL);
	}
	for (size_t cut = 0; cut < len; cut += 997)
		ASSERT_ERR(st_image_read_tree(img, cut, NULL, &(struct st_node *){ NULL }, NULL), -EUCLEAN);
	free(copy);
	free(img);
}

TEST(reference_corrupt_bytes)
{
	uint8_t *img;
	size_t len;
	unsigned seed = 12345;

	if (!getenv("ASSETS_DIR"))
		TEST_SKIP("ASSETS_DIR not set");
	ASSERT_OK(load_reference(1, &img, &len));
	/* Every header and superblock byte, a few patterns each. */
	for (size_t off = 0; off < 1024 + 128; off++) {
		if (off == 32)
			off = 1024;
		for (unsigned v = 0; v < 3; v++) {
			static const uint8_t pat[] = { 0xff, 0x00, 0x80 };
			uint8_t saved = img[off];
			struct st_node *root = NULL;
			int r;

			img[off] = v == 0 ? saved ^ pat[0] : pat[v];
			r = st_image_read_tree(img, len, NULL, &root, NULL);
			img[off] = saved;
			st_node_free(root);
			if (!acceptable(r))
				TEST_FAIL_("byte %zu pattern %u: %d", off, v, r);
		}
	}
	/* Random damage anywhere in the inode/xattr/dirent area. */
	for (unsigned i = 0; i < 4000; i++) {
		size_t off[4];
		uint8_t saved[4];
		struct st_node *root = NULL;
		int r;

		for (unsigned k = 0; k < 4; k++) {
			seed = seed * 1103515245u + 12345u;
			off[k] = 1152 + (seed >> 4) % (len - 1152);
			saved[k] = img[off[k]];
			img[off[k]] = (uint8_t)(seed >> 20);
		}
		r = st_image_read_tree(img, len, NULL, &root, NULL);
		for (unsigned k = 4; k-- > 0;)
			img[off[k]] = saved[k];
		st_node_free(root);
		if (!acceptable(r))
			TEST_FAIL_("iteration %u: %d", i, r);
	}
	free(img);
}

/* ---- st_image_read_root_fd() ---------------------------------------------- */

/* The bytes as a file: a memfd holding them. */
static int image_fd(const void *buf, size_t len)
{
	int fd = memfd_create("image", MFD_CLOEXEC);

	if (fd >= 0 && (size_t)write(fd, buf, len) != len) {
		close(fd);
		return -EIO;
	}
	return fd;
}

/* The root node of a full read and of a root-only read agree. */
static void check_same_root(const struct st_node *a, const struct st_node *b)
{
	ASSERT_EQ(a->mode, b->mode);
	ASSERT_EQ(a->uid, b->uid);
	ASSERT_EQ(a->gid, b->gid);
	ASSERT_EQ(a->mtime_sec, b->mtime_sec);
	ASSERT_EQ(a->n_xattrs, b->n_xattrs);
	for (size_t i = 0; i < a->n_xattrs; i++) {
		ASSERT_STREQ(a->xattrs[i].name, b->xattrs[i].name);
		ASSERT_EQ(a->xattrs[i].value_len, b->xattrs[i].value_len);
		ASSERT_TRUE(memcmp(a->xattrs[i].value, b->xattrs[i].value, a->xattrs[i].value_len) == 0);
	}
	ASSERT_EQ(b->n_children, 0);
}

TEST(root_only_reads_root_blocks)
{
	const struct xa root_x[] = {
		{ EROFS_XATTR_INDEX_TRUSTED, "sealtree.verity-policy", "/usr/bin", 8 },
		{ EROFS_XATTR_INDEX_USER, "k", "v", 1 },
	};
	struct st_node *root = NULL;
	struct mini m;
	int fd;

	/* The root's entries in block 1, which holds garbage: a full read refuses it. */
	mini_init(&m, 40);
	ASSERT_EQ(m.len, 8192);
	put_node(&m, NID(0), S_IFDIR | 0755, EROFS_INODE_FLAT_PLAIN, 4096, 1, root_x, 2, NULL, 0);
	memset(m.buf + 4096, 0xff, 4096);
	ASSERT_ERR(mini_read(&m, NULL, NULL), -EUCLEAN);
	fd = image_fd(m.buf, m.len);
	ASSERT_TRUE(fd >= 0);
	/* The root alone never looks at block 1. */
	ASSERT_OK(st_image_read_root_fd(fd, &root, NULL));
	ASSERT_TRUE(S_ISDIR(root->mode));
	ASSERT_EQ(root->n_xattrs, 2);
	ASSERT_STREQ(root->xattrs[0].name, "trusted.sealtree.verity-policy");
	ASSERT_TRUE(root->xattrs[0].value_len == 8 && memcmp(root->xattrs[0].value, "/usr/bin", 8) == 0);
	ASSERT_STREQ(root->xattrs[1].name, "user.k");
	st_node_free(root);
	/* A file shorter than its superblock says, or not a whole block. */
	ASSERT_OK(ftruncate(fd, 4096));
	ASSERT_ERR(st_image_read_root_fd(fd, &(struct st_node *){ NULL }, NULL), -EUCLEAN);
	ASSERT_OK(ftruncate(fd, 4000));
	ASSERT_ERR(st_image_read_root_fd(fd, &(struct st_node *){ NULL }, NULL), -EUCLEAN);
	close(fd);
	free(m.buf);
	/* A root that is not a directory. */
	mini_init(&m, 1);
	put_node(&m, NID(0), S_IFREG | 0644, EROFS_INODE_FLAT_PLAIN, 0, 0, root_x, 2, NULL, 0);
	fd = image_fd(m.buf, m.len);
	ASSERT_ERR(st_image_read_root_fd(fd, &(struct st_node *){ NULL }, NULL), -EUCLEAN);
	close(fd);
	free(m.buf);
	ASSERT_ERR(st_image_read_root_fd(-1, &(struct st_node *){ NULL }, NULL), -EINVAL);
}

TEST(root_only_matches_full_read)
{
	uint8_t *img;
	size_t len;
	unsigned seed = 777;

	if (!getenv("ASSETS_DIR"))
		TEST_SKIP("ASSETS_DIR not set");
	for (unsigned ref = 0; ref < 4; ref++) {
		struct st_node *whole = NULL, *root = NULL;
		int fd;

		if (load_reference(ref, &img, &len) < 0)
			continue;
		ASSERT_OK(st_image_read_tree(img, len, NULL, &whole, NULL));
		fd = image_fd(img, len);
		ASSERT_TRUE(fd >= 0);
		ASSERT_OK(st_image_read_root_fd(fd, &root, NULL));
		check_same_root(whole, root);
		st_node_free(root);
		st_node_free(whole);
		/* Damage anywhere: a clean verdict, never a crash. */
		for (unsigned i = 0; i < 500; i++) {
			size_t off = (seed = seed * 1103515245u + 12345u) >> 4;
			uint8_t saved;
			int r;

			off %= len;
			saved = img[off];
			img[off] = (uint8_t)(seed >> 20);
			ASSERT_OK(lseek(fd, 0, SEEK_SET) < 0 ? -1 : 0);
			ASSERT_TRUE(pwrite(fd, img, len, 0) == (ssize_t)len);
			root = NULL;
			r = st_image_read_root_fd(fd, &root, NULL);
			st_node_free(root);
			img[off] = saved;
			if (!acceptable(r))
				TEST_FAIL_("reference %u, byte %zu: %d", ref, off, r);
		}
		close(fd);
		free(img);
	}
}

TEST_MAIN()
