/* SPDX-License-Identifier: MIT */
/*
 * An inode's xattrs: the inline entries of its body, then the shared entries
 * it references, each bounds-checked before its name or value is touched.
 * The overlay xattrs the writer generates are turned back into tree data as
 * the reference reader does (spec 1.15): redirect -> payload, metacopy ->
 * digest, escaped whiteout -> chardev 0/0, escaped names unescaped, the
 * other overlay xattrs dropped.
 */
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>

#include "reader-internal.h"
#include "shape-internal.h"

#define OVL_PREFIX "trusted.overlay."
#define OVL_ESCAPE_PREFIX "trusted.overlay.overlay."
#define OVL_REDIRECT "trusted.overlay.redirect"
#define OVL_METACOPY "trusted.overlay.metacopy"
#define OVL_OPAQUE "trusted.overlay.opaque"
#define OVL_ESC_WHITEOUT "trusted.overlay.overlay.whiteout"
#define OVL_ESC_WHITEOUTS "trusted.overlay.overlay.whiteouts"
#define OVL_USER_WHITEOUT "user.overlay.whiteout"
#define OVL_USER_WHITEOUTS "user.overlay.whiteouts"

/* e_name_index -> prefix; index 0 means the full name is stored. */
static const char *const name_prefixes[] = {
	[0] = "",
	[EROFS_XATTR_INDEX_USER] = "user.",
	[EROFS_XATTR_INDEX_POSIX_ACL_ACCESS] = "system.posix_acl_access",
	[EROFS_XATTR_INDEX_POSIX_ACL_DEFAULT] = "system.posix_acl_default",
	[EROFS_XATTR_INDEX_TRUSTED] = "trusted.",
	[EROFS_XATTR_INDEX_LUSTRE] = "lustre.",
	[EROFS_XATTR_INDEX_SECURITY] = "security.",
};

struct xattr_ref {
	uint8_t index;
	const uint8_t *suffix;
	uint8_t suffix_len;
	const uint8_t *value;
	uint16_t value_len;
};

/*
 * Parse the entry at off; it must end at or before end. Returns the entry's
 * size padded to 4 bytes (what the next inline entry is offset by).
 */
static int64_t parse_entry(const struct rd_image *img, uint64_t off, uint64_t end, uint64_t nid,
			   const char *where, struct xattr_ref *ret)
{
	const struct erofs_xattr_entry *e;
	uint64_t total;

	if (off > end || end - off < sizeof(*e))
		return RD_CORRUPT("nid %" PRIu64 ": %s xattr entry header at offset %" PRIu64 " runs past its end", nid,
				  where, off);
	e = (const struct erofs_xattr_entry *)rd_ptr(img, off);
	total = sizeof(*e) + (uint64_t)e->e_name_len + le16_get(e->e_value_size);
	if (end - off < total)
		return RD_CORRUPT("nid %" PRIu64 ": %s xattr entry at offset %" PRIu64 " (%" PRIu64
				  " bytes) runs past its end",
				  nid, where, off, total);
	*ret = (struct xattr_ref){
		.index = e->e_name_index,
		.suffix = rd_ptr(img, off + sizeof(*e)),
		.suffix_len = e->e_name_len,
		.value = rd_ptr(img, off + sizeof(*e) + e->e_name_len),
		.value_len = le16_get(e->e_value_size),
	};
	return (int64_t)ALIGN_UP(total, (uint64_t)4);
}

/*
 * On disk a name is a known prefix plus up to 255 suffix bytes. The escaped
 * form of a user's trusted.overlay.X (trusted.overlay.overlay.X) is 8 bytes
 * longer than the name it stands for, so a legitimate on-disk name may exceed
 * ST_XATTR_NAME_MAX; the limit applies once it is unescaped.
 */
#define RAW_NAME_MAX (ST_XATTR_NAME_MAX + 32)

/* Full name into buf (RAW_NAME_MAX + 1 bytes), NUL-terminated; returns its length. */
static int build_name(const struct xattr_ref *x, uint64_t nid, uint64_t off, char *buf)
{
	const char *prefix;
	size_t plen;

	if (x->index >= ELEMENTSOF(name_prefixes))
		return RD_CORRUPT("nid %" PRIu64 ": xattr at offset %" PRIu64 " has unknown name index %u", nid, off,
				  x->index);
	prefix = name_prefixes[x->index];
	plen = strlen(prefix);
	if (plen + x->suffix_len == 0)
		return RD_CORRUPT("nid %" PRIu64 ": xattr at offset %" PRIu64 " has an empty name", nid, off);
	if (plen + x->suffix_len > RAW_NAME_MAX)
		return RD_CORRUPT("nid %" PRIu64 ": xattr name at offset %" PRIu64 " is %zu bytes (at most %u)", nid,
				  off, plen + x->suffix_len, RAW_NAME_MAX);
	if (memchr(x->suffix, '\0', x->suffix_len))
		return RD_CORRUPT("nid %" PRIu64 ": xattr name at offset %" PRIu64 " contains a NUL byte", nid, off);
	memcpy(buf, prefix, plen);
	memcpy(buf + plen, x->suffix, x->suffix_len);
	buf[plen + x->suffix_len] = '\0';
	return (int)(plen + x->suffix_len);
}

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int charge(uint64_t *budget, uint64_t n, uint64_t nid)
{
	if (*budget < n)
		return RD_CORRUPT("nid %" PRIu64 ": the tree grows far larger than the image (xattrs shared by many "
				  "files are copied into each)",
				  nid);
	*budget -= n;
	return 0;
}

/*
 * The overlay xattrs seen on one inode, checked together once all are read
 * (the kernel looks at them as a set, whatever their order on disk).
 */
struct ovl_seen {
	uint64_t nid;
	uint32_t mode;                  /* the on-disk mode, before any whiteout mapping */
	bool is_root;
	bool metacopy, redirect, whiteout;
	uint64_t metacopy_off, redirect_off, whiteout_off;
};

static int set_payload_from_redirect(struct st_node *node, const struct xattr_ref *x, uint64_t nid, uint64_t off)
{
	/* Written as "/" + payload. */
	if (x->value_len < 2 || x->value[0] != '/' ||
	    !shape_payload_ok((const char *)x->value + 1, x->value_len - 1u))
		return RD_CORRUPT("nid %" PRIu64 ": redirect xattr at offset %" PRIu64 " (%u bytes) is not an absolute path "
				  "of non-empty components other than '.' and '..': the kernel would not follow it",
				  nid, off, x->value_len);
	return node_set_payload(node, (const char *)x->value + 1, x->value_len - 1u);
}

/*
 * The metacopy value the kernel accepts and the writer writes: empty (no
 * digest), or the 36-byte struct ovl_metacopy {version 0, len 36, flags 0,
 * algorithm SHA-256} followed by the fs-verity digest.
 */
static int set_digest_from_metacopy(struct st_node *node, const struct xattr_ref *x, uint64_t nid, uint64_t off)
{
	if (x->value_len == 0)
		return 0;
	if (x->value_len != CFS_METACOPY_SIZE)
		return RD_CORRUPT("nid %" PRIu64 ": metacopy xattr at offset %" PRIu64 " is %u bytes (0, or %u with a "
				  "SHA-256 digest)",
				  nid, off, x->value_len, CFS_METACOPY_SIZE);
	if (x->value[0] != 0 || x->value[1] != CFS_METACOPY_SIZE || x->value[2] != 0 ||
	    x->value[3] != FS_VERITY_HASH_ALG_SHA256)
		return RD_CORRUPT("nid %" PRIu64 ": metacopy xattr at offset %" PRIu64 " has header %u/%u/%u/%u "
				  "(version 0, length %u, flags 0, SHA-256 expected)",
				  nid, off, x->value[0], x->value[1], x->value[2], x->value[3], CFS_METACOPY_SIZE);
	memcpy(node->digest, x->value + 4, ST_DIGEST_SIZE);
	node->has_digest = true;
	return 0;
}

/* A regular file carrying the escaped whiteout xattr is a whiteout (chardev 0/0). */
static void make_whiteout(struct st_node *node)
{
	node->mode = (node->mode & ~(uint32_t)S_IFMT) | S_IFCHR;
	node->rdev = 0;
	(void)node_set_content(node, NULL, 0);
	(void)node_set_payload(node, NULL, 0);
	node->size = 0;
	node->has_digest = false;
}

/*
 * An unescaped trusted.overlay.* xattr is an instruction to the kernel's
 * overlayfs. The writer writes only redirect and metacopy (regular files) and
 * opaque "y" (the root); any other one (whiteout, whiteouts, opaque elsewhere,
 * origin, ...) could make the mounted tree differ from the one read here.
 */
static int apply_overlay(struct st_node *node, const struct xattr_ref *x, const char *name, uint64_t off,
			 struct ovl_seen *seen, uint64_t *budget)
{
	uint64_t nid = seen->nid;
	int r;

	if (strcmp(name, OVL_REDIRECT) == 0) {
		if (seen->redirect)
			return RD_CORRUPT("nid %" PRIu64 ": a second redirect xattr at offset %" PRIu64, nid, off);
		seen->redirect = true;
		seen->redirect_off = off;
		if (!S_ISREG(seen->mode))
			return 0;       /* refused by check_overlay_shape() */
		r = charge(budget, x->value_len, nid);
		return r < 0 ? r : set_payload_from_redirect(node, x, nid, off);
	}
	if (strcmp(name, OVL_METACOPY) == 0) {
		if (seen->metacopy)
			return RD_CORRUPT("nid %" PRIu64 ": a second metacopy xattr at offset %" PRIu64, nid, off);
		seen->metacopy = true;
		seen->metacopy_off = off;
		return S_ISREG(seen->mode) ? set_digest_from_metacopy(node, x, nid, off) : 0;
	}
	if (strcmp(name, OVL_OPAQUE) == 0 && seen->is_root && x->value_len == 1 && x->value[0] == 'y')
		return 0;
	return RD_CORRUPT("nid %" PRIu64 ": overlay xattr '%s' at offset %" PRIu64 " (mode 0%o), which the kernel "
			  "acts on and this format never writes there",
			  nid, name, off, seen->mode);
}

static int apply_xattr(struct st_node *node, const struct xattr_ref *x, uint64_t off, struct ovl_seen *seen,
		       uint64_t *budget)
{
	char name[RAW_NAME_MAX + 1];
	uint64_t nid = seen->nid;
	int name_len, r;

	name_len = build_name(x, nid, off, name);
	if (name_len < 0)
		return name_len;

	if (strcmp(name, OVL_ESC_WHITEOUT) == 0 && S_ISREG(seen->mode)) {
		seen->whiteout = true;
		seen->whiteout_off = off;
		return 0;
	}
	if (strcmp(name, OVL_ESC_WHITEOUTS) == 0 || strcmp(name, OVL_USER_WHITEOUT) == 0 ||
	    strcmp(name, OVL_USER_WHITEOUTS) == 0)
		return 0;
	if (has_prefix(name, OVL_PREFIX)) {
		const size_t keep = strlen(OVL_PREFIX), drop = strlen(OVL_ESCAPE_PREFIX) - keep;

		/* Only the escaped ones are user data; the rest speak to the kernel. */
		if (!has_prefix(name, OVL_ESCAPE_PREFIX))
			return apply_overlay(node, x, name, off, seen, budget);
		memmove(name + keep, name + keep + drop, (size_t)name_len - keep - drop + 1);
		name_len -= (int)drop;
	}
	if (name_len > (int)ST_XATTR_NAME_MAX)
		return RD_CORRUPT("nid %" PRIu64 ": xattr name at offset %" PRIu64 " is %d bytes (at most %u)", nid, off,
				  name_len, ST_XATTR_NAME_MAX);

	r = charge(budget, shape_cost_xattr((size_t)name_len, x->value_len), nid);
	if (r < 0)
		return r;
	r = node_set_xattr(node, name, (size_t)name_len, x->value, x->value_len);
	if (r == -ERANGE)
		return RD_CORRUPT("nid %" PRIu64 ": xattrs exceed the %u-byte per-inode budget (at offset %" PRIu64 ")",
				  nid, ST_XATTR_BUDGET_MAX, off);
	return r;
}

static const char *layout_name(unsigned layout)
{
	switch (layout) {
	case EROFS_INODE_FLAT_PLAIN:
		return "plain data blocks";
	case EROFS_INODE_FLAT_INLINE:
		return "inline data";
	default:
		return "chunk-based";
	}
}

/*
 * The inode shapes for which the kernel (erofs below overlayfs, mounted as
 * composefs does) would show other bytes than this reader: refused, so that
 * the tree read here is the tree a mount serves (see composefs-image.md).
 */
static int check_overlay_shape(const struct rd_inode *ino, const struct ovl_seen *seen, struct st_node *node)
{
	uint64_t nid = ino->nid;

	if (!S_ISREG(ino->mode)) {
		if (seen->redirect || seen->metacopy)
			return RD_CORRUPT("nid %" PRIu64 ": %s xattr at offset %" PRIu64 " on a non-regular file (mode "
					  "0%o)",
					  nid, seen->redirect ? "redirect" : "metacopy",
					  seen->redirect ? seen->redirect_off : seen->metacopy_off, ino->mode);
		return 0;
	}
	if (seen->redirect && !seen->metacopy)
		return RD_CORRUPT("nid %" PRIu64 ": redirect xattr at offset %" PRIu64 " without a metacopy xattr: the "
				  "kernel ignores the redirect and serves the image's own bytes",
				  nid, seen->redirect_off);
	if (seen->metacopy && ino->layout != EROFS_INODE_CHUNK_BASED)
		return RD_CORRUPT("nid %" PRIu64 ": file with %s (%" PRIu64 " bytes) and a metacopy xattr at offset "
				  "%" PRIu64 ": the kernel serves the redirect target instead of that data",
				  nid, layout_name(ino->layout), ino->size, seen->metacopy_off);
	if (seen->metacopy && ino->size == 0)
		return RD_CORRUPT("nid %" PRIu64 ": empty file with a metacopy xattr at offset %" PRIu64 ": the kernel "
				  "serves the redirect target's bytes under size 0",
				  nid, seen->metacopy_off);
	if (ino->layout == EROFS_INODE_CHUNK_BASED && ino->size > 0 && !seen->metacopy)
		return RD_CORRUPT("nid %" PRIu64 ": chunk-based file of %" PRIu64 " bytes without a metacopy xattr: the "
				  "kernel serves the image's empty chunks",
				  nid, ino->size);
	if (seen->whiteout) {
		if (ino->size > 0 || seen->metacopy)
			return RD_CORRUPT("nid %" PRIu64 ": whiteout xattr at offset %" PRIu64 " on a file with data (%"
					  PRIu64 " bytes%s)",
					  nid, seen->whiteout_off, ino->size, seen->metacopy ? ", metacopy" : "");
		make_whiteout(node);
	}
	return 0;
}

int rd_xattrs_load(const struct rd_image *img, const struct rd_inode *ino, struct st_node *node, uint64_t *budget)
{
	struct ovl_seen seen = { .nid = ino->nid, .mode = ino->mode, .is_root = ino->nid == img->root_nid };
	const struct erofs_xattr_ibody_header *h;
	uint64_t body = ino->xattr_body_off, end, pos;
	const uint8_t *ids;
	unsigned n_shared;
	int r;

	if (ino->xattr_body_size == 0)
		return check_overlay_shape(ino, &seen, node);
	/* The body's range was checked by rd_inode_read(); it is >= 12 bytes. */
	end = body + ino->xattr_body_size;
	h = (const struct erofs_xattr_ibody_header *)rd_ptr(img, body);
	n_shared = h->h_shared_count;
	if ((uint64_t)n_shared * 4 > ino->xattr_body_size - sizeof(*h))
		return RD_CORRUPT("nid %" PRIu64 ": %u shared xattr ids do not fit in a %u-byte xattr body", ino->nid,
				  n_shared, ino->xattr_body_size);
	ids = rd_ptr(img, body + sizeof(*h));

	for (pos = body + sizeof(*h) + (uint64_t)n_shared * 4; pos < end;) {
		struct xattr_ref x;
		int64_t step = parse_entry(img, pos, end, ino->nid, "inline", &x);

		if (step < 0)
			return (int)step;
		r = apply_xattr(node, &x, pos, &seen, budget);
		if (r < 0)
			return r;
		pos += (uint64_t)step;
	}

	for (unsigned i = 0; i < n_shared; i++) {
		st_le32 raw;
		uint64_t off;
		struct xattr_ref x;
		int64_t step;

		memcpy(&raw, ids + 4 * i, sizeof(raw));
		/* xattr_off < 2^44 and id * 4 < 2^34: no overflow. */
		off = img->xattr_off + (uint64_t)le32_get(raw) * 4;
		step = parse_entry(img, off, img->len, ino->nid, "shared", &x);
		if (step < 0)
			return (int)step;
		r = apply_xattr(node, &x, off, &seen, budget);
		if (r < 0)
			return r;
	}
	return check_overlay_shape(ino, &seen, node);
}
