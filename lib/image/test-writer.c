/* SPDX-License-Identifier: MIT */
/*
 * Writer unit tests on trees built in C: each test writes an image into
 * memory and checks the bytes the spec (section 1) pins down. The golden
 * vectors (t0201, t0202) cover whole images; these name the rules.
 */
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "basic/test.h"
#include "format/erofs-format.h"
#include "sealtree/image.h"
#include "tree/tree-internal.h"
#include "image/xxhash32.h"

struct img {
	uint8_t *d;
	size_t n;
};

static int sink(void *userdata, const void *buf, size_t len)
{
	struct img *im = userdata;
	uint8_t *p = realloc(im->d, im->n + len);

	if (!p)
		return -ENOMEM;
	memcpy(p + im->n, buf, len);
	im->d = p;
	im->n += len;
	return 0;
}

static int write_img(struct st_node *root, uint32_t min, uint32_t max, struct img *im, uint32_t *ver)
{
	struct st_image_write_options o = { .min_version = min, .max_version = max };
	im->d = NULL;
	im->n = 0;
	return st_image_write(root, &o, sink, im, NULL, ver);
}

static struct st_node *mk(struct st_node *parent, const char *name, uint32_t mode)
{
	struct st_node *n;

	if (st_node_new(&n) < 0)
		abort();
	n->mode = mode;
	n->mtime_sec = 1000;
	if (parent && node_add_child(parent, n, name, strlen(name)) < 0)
		abort();
	return n;
}

static struct st_node *mkfile(struct st_node *parent, const char *name, size_t content_len)
{
	struct st_node *n = mk(parent, name, S_IFREG | 0644);
	uint8_t *buf = malloc(content_len ? content_len : 1);

	for (size_t i = 0; i < content_len; i++)
		buf[i] = (uint8_t)(i * 7 + 1);
	if (content_len && node_set_content(n, buf, content_len) < 0)
		abort();
	free(buf);
	return n;
}

/* ---- a tiny reader for assertions -------------------------------------- */

static uint16_t g16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t g32(const uint8_t *p) { return (uint32_t)g16(p) | (uint32_t)g16(p + 2) << 16; }
static uint64_t g64(const uint8_t *p) { return (uint64_t)g32(p) | (uint64_t)g32(p + 4) << 32; }

static const uint8_t *ino(const struct img *im, uint64_t nid) { return im->d + nid * 32; }
static bool is_compact(const uint8_t *i) { return (g16(i) & 1) == 0; }
static unsigned layout(const uint8_t *i) { return (g16(i) >> 1) & 7; }
static uint64_t isz(const uint8_t *i) { return is_compact(i) ? g32(i + 8) : g64(i + 8); }
static uint32_t xsz(const uint8_t *i) { uint16_t c = g16(i + 2); return c ? 12 + (c - 1u) * 4 : 0; }
static const uint8_t *inl(const uint8_t *i) { return i + (is_compact(i) ? 32 : 64) + xsz(i); }
static uint64_t root_nid(const struct img *im) { return g16(im->d + 1024 + 14); }

/* Visit the dirents of one chunk; returns the nid of name or 0. */
static uint64_t chunk_find(const uint8_t *b, size_t len, const char *name, char *order, size_t *olen)
{
	uint16_t first = g16(b + 8);
	size_t n = first / 12;

	for (size_t k = 0; k < n; k++) {
		size_t off = g16(b + 12 * k + 8), end = k + 1 < n ? g16(b + 12 * (k + 1) + 8) : len;
		if (k + 1 == n)
			while (end > off && b[end - 1] == 0)
				end--;
		if (order) {
			memcpy(order + *olen, b + off, end - off);
			*olen += end - off;
			order[(*olen)++] = '|';
		}
		if (name && end - off == strlen(name) && memcmp(b + off, name, end - off) == 0)
			return g64(b + 12 * k);
	}
	return 0;
}

static uint64_t lookup(const struct img *im, uint64_t dir, const char *name, char *order)
{
	const uint8_t *i = ino(im, dir);
	uint64_t size = isz(i), full = layout(i) == EROFS_INODE_FLAT_INLINE ? size / 4096 : (size + 4095) / 4096;
	size_t olen = 0;
	uint64_t r = 0;

	for (uint64_t b = 0; b < full && !r; b++)
		r = chunk_find(im->d + (g32(i + 16) + b) * 4096, 4096, name, order, &olen);
	if (!r && layout(i) == EROFS_INODE_FLAT_INLINE)
		r = chunk_find(inl(i), size % 4096, name, order, &olen);
	if (order)
		order[olen] = 0;
	return r;
}

static struct st_node *basic_root(void)
{
	return mk(NULL, NULL, S_IFDIR | 0755);
}

TEST(header_and_superblock)
{
	struct st_node *root = basic_root();
	struct img im;
	uint32_t ver = 99;

	mkfile(root, "f", 10);
	ASSERT_OK(write_img(root, 0, 1, &im, &ver));
	ASSERT_EQ(ver, 0);
	ASSERT_EQ(g32(im.d), CFS_MAGIC);
	ASSERT_EQ(g32(im.d + 4), 1);
	ASSERT_EQ(g32(im.d + 12), 0);
	ASSERT_EQ(g32(im.d + 1024), EROFS_SUPER_MAGIC);
	ASSERT_EQ(g32(im.d + 1024 + 8), 6);
	ASSERT_EQ(root_nid(&im), 36);
	ASSERT_EQ(g64(im.d + 1024 + 16), 2 + 256);     /* root, f and the 256 stubs */
	ASSERT_EQ(g64(im.d + 1024 + 24), 1000);        /* build_time = min mtime */
	ASSERT_EQ(im.n % 4096, 0);
	ASSERT_EQ(g32(im.d + 1024 + 36), im.n / 4096);
	free(im.d);
	st_node_free(root);
}

TEST(compact_vs_extended)
{
	struct st_node *root = basic_root();
	struct st_node *a = mkfile(root, "a", 1), *b = mkfile(root, "b", 1), *c = mkfile(root, "c", 1),
		       *d = mkfile(root, "d", 1);
	struct img im;

	b->mtime_nsec = 1;       /* differs from the minimum */
	c->uid = 65536;
	d->nlink = 65536;
	(void)a;
	ASSERT_OK(write_img(root, 0, 1, &im, NULL));
	ASSERT_TRUE(is_compact(ino(&im, root_nid(&im))));
	ASSERT_TRUE(is_compact(ino(&im, lookup(&im, root_nid(&im), "a", NULL))));
	ASSERT_TRUE(!is_compact(ino(&im, lookup(&im, root_nid(&im), "b", NULL))));
	ASSERT_TRUE(!is_compact(ino(&im, lookup(&im, root_nid(&im), "c", NULL))));
	ASSERT_TRUE(!is_compact(ino(&im, lookup(&im, root_nid(&im), "d", NULL))));
	ASSERT_EQ(g32(ino(&im, lookup(&im, root_nid(&im), "c", NULL)) + 24), 65536);
	free(im.d);
	st_node_free(root);
}

TEST(inline_content_boundaries)
{
	static const struct {
		size_t size;
		unsigned layout;
		uint64_t tail;
	} cases[] = {
		{ 2048, EROFS_INODE_FLAT_INLINE, 2048 }, { 2049, EROFS_INODE_FLAT_PLAIN, 0 },
		{ 4096, EROFS_INODE_FLAT_PLAIN, 0 },     { 4097, EROFS_INODE_FLAT_INLINE, 1 },
		{ 5000, EROFS_INODE_FLAT_INLINE, 904 },
	};
	for (size_t k = 0; k < ELEMENTSOF(cases); k++) {
		struct st_node *root = basic_root(), *f;
		struct img im;
		const uint8_t *i;

		f = mkfile(root, "f", cases[k].size);
		ASSERT_OK(write_img(root, 0, 1, &im, NULL));
		i = ino(&im, lookup(&im, root_nid(&im), "f", NULL));
		ASSERT_EQ(layout(i), cases[k].layout);
		ASSERT_EQ(isz(i), cases[k].size);
		/* Content reads back: full blocks at raw_blkaddr, the tail inline. */
		size_t full = cases[k].size - cases[k].tail;
		if (full)
			ASSERT_MEMEQ(im.d + (size_t)g32(i + 16) * 4096, f->content, full);
		if (cases[k].tail) {
			ASSERT_MEMEQ(inl(i), f->content + full, cases[k].tail);
			/* the tail never crosses a block boundary */
			ASSERT_EQ((inl(i) - im.d) / 4096, (inl(i) - im.d + cases[k].tail - 1) / 4096);
		}
		free(im.d);
		st_node_free(root);
	}

	struct st_node *root = basic_root();
	struct img im;
	struct st_node *f = mk(root, "f", S_IFREG | 0644);
	f->content = calloc(1, 5001);
	f->size = 5001;
	ASSERT_ERR(write_img(root, 0, 1, &im, NULL), -EINVAL);
	free(im.d);
	st_node_free(root);
}

TEST(symlinks)
{
	struct st_node *root = basic_root();
	char target[4096];
	struct img im;

	/* Many symlinks of 3000 bytes: each one's inode+target must sit in one block. */
	memset(target, 't', sizeof(target));
	for (int k = 0; k < 4; k++) {
		char name[8] = { 'l', (char)('0' + k), 0 };
		struct st_node *l = mk(root, name, S_IFLNK | 0777);
		ASSERT_OK(node_set_payload(l, target, 3000));
	}
	struct st_node *big = mk(root, "long", S_IFLNK | 0777);
	ASSERT_OK(node_set_payload(big, target, 4080));
	ASSERT_OK(write_img(root, 0, 1, &im, NULL));
	for (int k = 0; k < 4; k++) {
		char name[8] = { 'l', (char)('0' + k), 0 };
		uint64_t nid = lookup(&im, root_nid(&im), name, NULL);
		const uint8_t *i = ino(&im, nid);
		ASSERT_EQ(layout(i), EROFS_INODE_FLAT_INLINE);
		ASSERT_EQ(nid * 32 / 4096, (inl(i) - im.d + 3000 - 1) / 4096);
		ASSERT_MEMEQ(inl(i), target, 3000);
	}
	/* Too big for one block: the target goes to a data block, the inode is
	 * still moved to a block start. */
	uint64_t nid = lookup(&im, root_nid(&im), "long", NULL);
	const uint8_t *i = ino(&im, nid);
	ASSERT_EQ(layout(i), EROFS_INODE_FLAT_PLAIN);
	ASSERT_EQ(nid * 32 % 4096, 0);
	ASSERT_EQ(isz(i), 4080);
	ASSERT_MEMEQ(im.d + (size_t)g32(i + 16) * 4096, target, 4080);
	free(im.d);

	ASSERT_OK(node_set_payload(big, target, 4095));
	ASSERT_OK(write_img(root, 0, 1, &im, NULL));
	free(im.d);
	free(big->payload);
	big->payload = calloc(1, 4097);
	memset(big->payload, 'x', 4096);
	ASSERT_ERR(write_img(root, 0, 1, &im, NULL), -EINVAL);
	free(im.d);
	big->payload[0] = 0;
	ASSERT_ERR(write_img(root, 0, 1, &im, NULL), -EINVAL);
	free(im.d);
	st_node_free(root);
}

TEST(chunk_bits)
{
	static const struct {
		uint64_t size;
		unsigned format, chunks;
	} cases[] = {
		{ 1, 0, 1 },          { 4096, 0, 1 },        { 4097, 1, 1 },
		{ 1ull << 30, 18, 1 }, { (1ull << 30) + 1, 19, 1 }, { (1ull << 43) + 1, 31, 2 },
	};
	for (size_t k = 0; k < ELEMENTSOF(cases); k++) {
		struct st_node *root = basic_root(), *f = mk(root, "f", S_IFREG | 0644);
		struct img im;
		const uint8_t *i;

		f->size = cases[k].size;
		ASSERT_OK(write_img(root, 0, 1, &im, NULL));
		i = ino(&im, lookup(&im, root_nid(&im), "f", NULL));
		ASSERT_EQ(layout(i), EROFS_INODE_CHUNK_BASED);
		ASSERT_EQ(g16(i + 16), cases[k].format);
		ASSERT_EQ(isz(i), cases[k].size);
		for (unsigned c = 0; c < cases[k].chunks; c++)
			ASSERT_EQ(g32(inl(i) + 4 * c), EROFS_NULL_ADDR);
		free(im.d);
		st_node_free(root);
	}

	struct st_node *root = basic_root(), *f = mk(root, "f", S_IFREG | 0644);
	struct img im;
	f->size = (1ull << 43) * 1024 + 1;
	ASSERT_ERR(write_img(root, 0, 1, &im, NULL), -EFBIG);
	free(im.d);
	st_node_free(root);
}

/* Count the inline xattr entries of an inode whose full name is name (index + suffix). */
static const uint8_t *find_inline_xattr(const uint8_t *i, uint8_t index, const char *suffix)
{
	const uint8_t *p, *end;

	if (!xsz(i))
		return NULL;
	p = i + (is_compact(i) ? 32 : 64);
	end = p + xsz(i);
	p += 12 + 4 * p[4];
	while (p + 4 <= end) {
		uint8_t nl = p[0], idx = p[1];
		uint16_t vl = g16(p + 2);
		if (idx == index && nl == strlen(suffix) && memcmp(p + 4, suffix, nl) == 0)
			return p;
		p += (4 + nl + vl + 3) & ~3u;
	}
	return NULL;
}

TEST(whiteouts_and_versions)
{
	struct st_node *root = basic_root(), *d = mk(root, "d", S_IFDIR | 0755);
	struct st_node *wo = mk(d, "gone", S_IFCHR | 0600);
	struct img im;
	uint32_t ver;

	(void)wo;
	ASSERT_OK(write_img(root, 0, 1, &im, &ver));
	ASSERT_EQ(ver, 1);
	ASSERT_EQ(g32(im.d + 12), 1);
	uint64_t dn = lookup(&im, root_nid(&im), "d", NULL);
	const uint8_t *wi = ino(&im, lookup(&im, dn, "gone", NULL));
	ASSERT_EQ(g16(wi + 4), S_IFREG | 0600);
	ASSERT_TRUE(find_inline_xattr(wi, EROFS_XATTR_INDEX_TRUSTED, "overlay.overlay.whiteout") != NULL);
	ASSERT_TRUE(find_inline_xattr(wi, EROFS_XATTR_INDEX_USER, "overlay.whiteout") != NULL);
	ASSERT_TRUE(find_inline_xattr(ino(&im, dn), EROFS_XATTR_INDEX_TRUSTED, "overlay.overlay.opaque") != NULL);
	ASSERT_TRUE(find_inline_xattr(ino(&im, dn), EROFS_XATTR_INDEX_USER, "overlay.whiteouts") != NULL);
	/* The root's stubs stay real chardev whiteouts. */
	const uint8_t *stub = ino(&im, lookup(&im, root_nid(&im), "7f", NULL));
	ASSERT_EQ(g16(stub + 4), S_IFCHR | 0644);
	ASSERT_TRUE(find_inline_xattr(ino(&im, root_nid(&im)), EROFS_XATTR_INDEX_TRUSTED, "overlay.opaque") != NULL);
	free(im.d);

	/* Pinned to version 0: no opaque=x. */
	ASSERT_OK(write_img(root, 0, 0, &im, &ver));
	ASSERT_EQ(ver, 0);
	dn = lookup(&im, root_nid(&im), "d", NULL);
	ASSERT_TRUE(find_inline_xattr(ino(&im, dn), EROFS_XATTR_INDEX_TRUSTED, "overlay.overlay.opaque") == NULL);
	ASSERT_TRUE(find_inline_xattr(ino(&im, dn), EROFS_XATTR_INDEX_USER, "overlay.whiteouts") != NULL);
	free(im.d);

	/* The caller's tree is not rewritten. */
	ASSERT_EQ(wo->mode, S_IFCHR | 0600);
	ASSERT_EQ(d->n_xattrs, 0);
	ASSERT_EQ(root->n_children, 1);
	ASSERT_ERR(write_img(root, 2, 2, &im, &ver), -EINVAL);
	free(im.d);
	st_node_free(root);
}

TEST(xattr_indexes_and_sharing)
{
	struct st_node *root = basic_root();
	struct st_node *a = mkfile(root, "a", 1), *b = mkfile(root, "b", 1);
	struct img im;

	ASSERT_OK(node_set_xattr(a, "user.same", 9, "v", 1));
	ASSERT_OK(node_set_xattr(b, "user.same", 9, "v", 1));
	ASSERT_OK(node_set_xattr(a, "security.selinux", 16, "ctx", 3));
	ASSERT_OK(node_set_xattr(a, "trusted.overlay.redirect", 24, "/x", 2));
	ASSERT_OK(node_set_xattr(a, "system.posix_acl_default", 24, "acl", 3));
	ASSERT_OK(node_set_xattr(a, "other.name", 10, "o", 1));
	ASSERT_OK(write_img(root, 0, 1, &im, NULL));
	const uint8_t *ia = ino(&im, lookup(&im, root_nid(&im), "a", NULL));
	const uint8_t *ib = ino(&im, lookup(&im, root_nid(&im), "b", NULL));
	ASSERT_EQ(ia[is_compact(ia) ? 32 + 4 : 64 + 4], 1);   /* h_shared_count */
	ASSERT_EQ(ib[is_compact(ib) ? 32 + 4 : 64 + 4], 1);
	ASSERT_TRUE(find_inline_xattr(ia, EROFS_XATTR_INDEX_SECURITY, "selinux") != NULL);
	ASSERT_TRUE(find_inline_xattr(ia, EROFS_XATTR_INDEX_TRUSTED, "overlay.overlay.redirect") != NULL);
	ASSERT_TRUE(find_inline_xattr(ia, EROFS_XATTR_INDEX_POSIX_ACL_DEFAULT, "") != NULL);
	ASSERT_TRUE(find_inline_xattr(ia, 0, "other.name") != NULL);
	ASSERT_TRUE(find_inline_xattr(ia, EROFS_XATTR_INDEX_USER, "same") == NULL);
	ASSERT_EQ(g32(im.d + 8), CFS_FLAGS_HAS_ACL);
	/* Both point at the same shared entry. */
	ASSERT_EQ(g32(ia + (is_compact(ia) ? 32 : 64) + 12), g32(ib + (is_compact(ib) ? 32 : 64) + 12));
	/* The bloom filter clears at least one bit per xattr. */
	ASSERT_TRUE(g32(ia + (is_compact(ia) ? 32 : 64)) != 0xFFFFFFFFu);
	free(im.d);
	st_node_free(root);
}

TEST(longest_escaped_xattr_name)
{
	struct st_node *root = basic_root(), *f = mkfile(root, "f", 1);
	char name[ST_XATTR_NAME_MAX + 1], suffix[ST_XATTR_NAME_MAX + 1];
	struct img im;

	/* trusted.overlay.X of 255 bytes grows by 8 when escaped: its suffix
	 * after "trusted." is then exactly 255 bytes, still fits e_name_len. */
	memset(name, 'a', sizeof(name));
	memcpy(name, "trusted.overlay.", 16);
	name[ST_XATTR_NAME_MAX] = 0;
	ASSERT_OK(node_set_xattr(f, name, ST_XATTR_NAME_MAX, "v", 1));
	memset(suffix, 'a', sizeof(suffix));
	memcpy(suffix, "overlay.overlay.", 16);
	suffix[ST_XATTR_NAME_MAX] = 0;
	ASSERT_OK(write_img(root, 0, 1, &im, NULL));
	const uint8_t *e = find_inline_xattr(ino(&im, lookup(&im, root_nid(&im), "f", NULL)),
					     EROFS_XATTR_INDEX_TRUSTED, suffix);
	ASSERT_TRUE(e != NULL);
	ASSERT_EQ(e[0], 255);
	free(im.d);
	st_node_free(root);
}

TEST(dirent_order_and_determinism)
{
	struct st_node *root = basic_root();
	struct img im1, im2;
	char order[8192];

	mkfile(root, "-dash", 1);
	mkfile(root, "zz", 1);
	mkfile(root, ".-x", 1);
	mkfile(root, "0a", 1);        /* replaces the stub of that name */
	ASSERT_OK(write_img(root, 0, 1, &im1, NULL));
	ASSERT_OK(write_img(root, 0, 1, &im2, NULL));
	ASSERT_EQ(im1.n, im2.n);
	ASSERT_MEMEQ(im1.d, im2.d, im1.n);
	lookup(&im1, root_nid(&im1), NULL, order);
	ASSERT_TRUE(strncmp(order, "-dash|.|.-x|..|00|01|", 21) == 0);
	ASSERT_TRUE(strstr(order, "|09|0a|0b|") != NULL);
	ASSERT_TRUE(strstr(order, "|ff|zz|") != NULL);
	ASSERT_EQ(g64(im1.d + 1024 + 16), 1 + 4 + 255);
	free(im1.d);
	free(im2.d);
	st_node_free(root);
}

TEST(bad_trees)
{
	struct st_node *root = basic_root(), *a = mkfile(root, "a", 1), *l1, *l2, *other;
	struct img im;

	a->mode = 0170000 | 0644;
	ASSERT_ERR(write_img(root, 0, 1, &im, NULL), -EINVAL);
	ASSERT_TRUE(strstr(st_error_detail(), "/a") != NULL);
	free(im.d);
	a->mode = S_IFREG | 0644;

	l1 = mk(root, "l1", S_IFREG);
	l2 = mk(root, "l2", S_IFREG);
	l1->link_target = l2;
	l2->link_target = l1;
	ASSERT_ERR(write_img(root, 0, 1, &im, NULL), -ELOOP);
	free(im.d);
	other = mk(NULL, NULL, S_IFREG | 0644);
	l1->link_target = other;
	l2->link_target = a;
	ASSERT_ERR(write_img(root, 0, 1, &im, NULL), -EINVAL);
	free(im.d);
	l1->link_target = a;
	ASSERT_OK(write_img(root, 0, 1, &im, NULL));
	/* Aliases carry the target's nid. */
	ASSERT_EQ(lookup(&im, root_nid(&im), "l1", NULL), lookup(&im, root_nid(&im), "a", NULL));
	free(im.d);
	st_node_free(other);
	st_node_free(root);
}

/* Trees whose image the kernel would read differently than our reader. */
TEST(refuse_contradictory_shapes)
{
	static const char *const bad[] = { "/ab", "ab/", "a//b", ".", "..", "a/./b", "a/..", "/" };
	static const char *const good[] = { "ab/cd", "a", "..a/b..", ".x" };
	struct st_node *root = basic_root(), *f = mk(root, "f", S_IFREG | 0644), *back = NULL;
	struct img im;

	f->size = 100;
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		ASSERT_OK(node_set_payload(f, bad[i], strlen(bad[i])));
		ASSERT_ERR(write_img(root, 0, 1, &im, NULL), -EINVAL);
		ASSERT_TRUE(strstr(st_error_detail(), "'/f': payload") != NULL);
		free(im.d);
	}
	for (size_t i = 0; i < ELEMENTSOF(good); i++) {
		ASSERT_OK(node_set_payload(f, good[i], strlen(good[i])));
		ASSERT_OK(write_img(root, 0, 1, &im, NULL));
		ASSERT_OK(st_image_read_tree(im.d, im.n, NULL, &back, NULL));
		ASSERT_STREQ(node_lookup_child(back, "f", 1)->payload, good[i]);
		st_node_free(back);
		free(im.d);
	}

	/* A regular file with the whiteout marker would read back as a whiteout. */
	ASSERT_OK(node_set_xattr(f, "trusted.overlay.whiteout", 24, "", 0));
	ASSERT_ERR(write_img(root, 0, 1, &im, NULL), -EINVAL);
	ASSERT_TRUE(strstr(st_error_detail(), "'/f'") && strstr(st_error_detail(), "whiteout"));
	free(im.d);
	/* On a directory it is an ordinary (escaped) xattr. */
	f->mode = S_IFDIR | 0755;
	f->size = 0;
	ASSERT_OK(write_img(root, 0, 1, &im, NULL));
	ASSERT_OK(st_image_read_tree(im.d, im.n, NULL, &back, NULL));
	ASSERT_TRUE(node_get_xattr(node_lookup_child(back, "f", 1), "trusted.overlay.whiteout") != NULL);
	st_node_free(back);
	free(im.d);
	st_node_free(root);
}

static int count_sink(void *userdata, const void *buf, size_t len)
{
	(void)buf;
	*(size_t *)userdata += len;
	return 0;
}

/*
 * Many files sharing one large xattr: the image stores it once, the reader
 * copies it into every file. Whatever the count, the writer either refuses
 * before writing a byte or writes an image the reader accepts.
 */
TEST(shared_xattr_expansion_is_refused_first)
{
	static const size_t counts[] = { 100, 1500, 2100, 2200, 2250, 2300, 2350, 2400, 2600, 3000 };
	const size_t vlen = 30000;
	uint8_t *value = malloc(vlen);
	bool refused = false, accepted = false;

	ASSERT_TRUE(value);
	memset(value, 'v', vlen);
	for (size_t c = 0; c < ELEMENTSOF(counts); c++) {
		struct st_node *root = basic_root(), *back = NULL;
		size_t written = 0;
		struct img im;
		int r;

		for (size_t i = 0; i < counts[c]; i++) {
			char name[32];
			struct st_node *f;

			snprintf(name, sizeof(name), "f%05zu", i);
			f = mk(root, name, S_IFREG | 0644);
			ASSERT_OK(node_set_xattr(f, "user.big", 8, value, vlen));
		}
		r = st_image_write(root, NULL, count_sink, &written, NULL, NULL);
		if (r < 0) {
			ASSERT_ERR(r, -EFBIG);
			ASSERT_EQ(written, 0);
			ASSERT_TRUE(strstr(st_error_detail(), "'user.big' (30000 bytes)") != NULL);
			refused = true;
		} else {
			ASSERT_OK(write_img(root, 0, 1, &im, NULL));
			r = st_image_read_tree(im.d, im.n, NULL, &back, NULL);
			if (r < 0)
				fprintf(stderr, "%zu files: written, then refused: %s\n", counts[c], st_error_detail());
			ASSERT_OK(r);
			ASSERT_EQ(back->n_children, counts[c]);
			st_node_free(back);
			free(im.d);
			accepted = true;
		}
		st_node_free(root);
	}
	ASSERT_TRUE(refused && accepted);
	free(value);
}

TEST(xxh32_known_answers)
{
	static const char spam[] = "Nobody inspects the spammish repetition";

	ASSERT_EQ(xxh32("", 0, 0), 0x02CC5D05u);
	ASSERT_EQ(xxh32("abc", 3, 0), 0x32D153FFu);
	ASSERT_EQ(xxh32(spam, sizeof(spam) - 1, 0), 0xE2293B2Fu);
}

TEST_MAIN()
