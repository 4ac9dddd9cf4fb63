/* SPDX-License-Identifier: MIT */
/*
 * The xattrs each inode carries in the image, after the reference's rewrite
 * (escaped trusted.overlay.*, metacopy/redirect, whiteout markers, opaque),
 * deduplicated into one table of (name, value) pairs: a pair used by more
 * than one inode goes to the shared table.
 */
#include <string.h>

#include "basic/error.h"
#include "format/erofs-format.h"
#include "writer-internal.h"
#include "xxhash32.h"

#define OVL_PREFIX "trusted.overlay."
#define OVL_PREFIX_LEN 16
#define ESC_PREFIX "trusted.overlay.overlay."
#define ESC_PREFIX_LEN 24

static const uint8_t metacopy_hdr[4] = { 0, CFS_METACOPY_SIZE, 0, FS_VERITY_HASH_ALG_SHA256 };

/* A byte string in two pieces (prefix + data), compared as their concatenation. */
struct seg2 {
	const uint8_t *p[2];
	size_t n[2];
};

static int seg2_cmp(const struct seg2 *a, const struct seg2 *b)
{
	size_t ai = 0, ao = 0, bi = 0, bo = 0;

	for (;;) {
		while (ai < 2 && ao == a->n[ai]) {
			ai++;
			ao = 0;
		}
		while (bi < 2 && bo == b->n[bi]) {
			bi++;
			bo = 0;
		}
		if (ai == 2 || bi == 2)
			return (ai == 2 ? 0 : 1) - (bi == 2 ? 0 : 1);
		size_t k = MIN(a->n[ai] - ao, b->n[bi] - bo);
		int c = memcmp(a->p[ai] + ao, b->p[bi] + bo, k);
		if (c)
			return c;
		ao += k;
		bo += k;
	}
}

static struct seg2 xent_name(const struct xent *x)
{
	struct seg2 s = { .p = { (const uint8_t *)ESC_PREFIX, (const uint8_t *)x->name },
			  .n = { x->name_kind == XN_ESCAPED ? ESC_PREFIX_LEN : 0, x->name_len } };
	return s;
}

static struct seg2 xent_value(const struct xent *x)
{
	struct seg2 s = { .p = { x->value_kind == XV_METACOPY ? metacopy_hdr : (const uint8_t *)"/", x->value },
			  .n = { x->value_kind == XV_METACOPY ? 4 : x->value_kind == XV_SLASH ? 1 : 0,
				 x->value_len } };
	return s;
}

size_t xent_full_name(const struct xent *x, char *buf)
{
	size_t n = 0;

	if (x->name_kind == XN_ESCAPED) {
		memcpy(buf, ESC_PREFIX, ESC_PREFIX_LEN);
		n = ESC_PREFIX_LEN;
	}
	memcpy(buf + n, x->name, x->name_len);
	n += x->name_len;
	buf[n] = 0;
	return n;
}

uint32_t xent_value_len(const struct xent *x)
{
	struct seg2 v = xent_value(x);
	return (uint32_t)(v.n[0] + v.n[1]);
}

uint32_t xent_entry_size(const struct xent *x)
{
	size_t name_len = (x->name_kind == XN_ESCAPED ? ESC_PREFIX_LEN : 0) + x->name_len;

	return (uint32_t)ALIGN_UP(sizeof(struct erofs_xattr_entry) + (name_len - x->skip) + xent_value_len(x), 4);
}

/* EROFS name prefix indexes, tested in the reference's order. */
static void xent_classify(struct xent *x)
{
	static const struct {
		const char *prefix;
		uint8_t index;
	} table[] = {
		{ "user.", EROFS_XATTR_INDEX_USER },
		{ "system.posix_acl_access", EROFS_XATTR_INDEX_POSIX_ACL_ACCESS },
		{ "system.posix_acl_default", EROFS_XATTR_INDEX_POSIX_ACL_DEFAULT },
		{ "trusted.", EROFS_XATTR_INDEX_TRUSTED },
		{ "security.", EROFS_XATTR_INDEX_SECURITY },
	};
	char full[ESC_PREFIX_LEN + ST_XATTR_NAME_MAX + 1];
	size_t len = xent_full_name(x, full);

	x->index = 0;
	x->skip = 0;
	for (size_t i = 0; i < ELEMENTSOF(table); i++) {
		size_t plen = strlen(table[i].prefix);
		if (len >= plen && memcmp(full, table[i].prefix, plen) == 0) {
			x->index = table[i].index;
			x->skip = (uint8_t)plen;
			break;
		}
	}
	x->filter_bit = xxh32(full + x->skip, len - x->skip, EROFS_XATTR_FILTER_SEED + x->index) &
			(EROFS_XATTR_FILTER_BITS - 1);
}

/* A candidate xattr of one inode, before interning. */
struct xcand {
	const char *name;
	const uint8_t *value;
	uint32_t value_len;
	uint16_t name_len;
	uint8_t name_kind, value_kind;
};

static bool cand_same_name(const struct xcand *a, const struct xcand *b)
{
	return a->name_kind == b->name_kind && a->name_len == b->name_len && memcmp(a->name, b->name, a->name_len) == 0;
}

static uint32_t cand_hash(const struct xcand *c)
{
	uint32_t h = xxh32(c->name, c->name_len, 0x5bd1e995U + c->name_kind);
	return xxh32(c->value, c->value_len, h ^ (0x27d4eb2fU * (c->value_kind + 1)));
}

static bool xent_matches(const struct xent *x, const struct xcand *c, uint32_t hash)
{
	return x->hash == hash && x->name_kind == c->name_kind && x->value_kind == c->value_kind &&
	       x->name_len == c->name_len && x->value_len == c->value_len &&
	       memcmp(x->name, c->name, c->name_len) == 0 && memcmp(x->value, c->value, c->value_len) == 0;
}

static int xhash_grow(struct wctx *w)
{
	size_t cap = w->xhash ? (w->xhash_mask + 1) * 2 : 4096;
	struct xslot *t;

	/* Most trees have about one distinct pair per inode (metacopy and
	 * redirect of distinct files): start there to avoid rehashing. */
	while (!w->xhash && cap < w->n_inodes * 2)
		cap *= 2;
	t = new0(struct xslot, cap);

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < w->n_xents; i++) {
		size_t b = w->xents[i].hash & (cap - 1);
		while (t[b].idx1)
			b = (b + 1) & (cap - 1);
		t[b] = (struct xslot){ .hash = w->xents[i].hash, .idx1 = (uint32_t)i + 1 };
	}
	free(w->xhash);
	w->xhash = t;
	w->xhash_mask = cap - 1;
	return 0;
}

/* Find or add the pair; count one more inode using it. Returns the index. */
static int intern(struct wctx *w, const struct xcand *c, uint32_t *ret)
{
	uint32_t h = cand_hash(c);
	size_t b;
	int r;

	if (!w->xhash || (w->n_xents + 1) * 4 > (w->xhash_mask + 1) * 3) {
		r = xhash_grow(w);
		if (r < 0)
			return r;
	}
	for (b = h & w->xhash_mask; w->xhash[b].idx1; b = (b + 1) & w->xhash_mask) {
		struct xent *x;

		/* The hash in the slot avoids touching the entry on a miss. */
		if (w->xhash[b].hash != h)
			continue;
		x = &w->xents[w->xhash[b].idx1 - 1];
		if (xent_matches(x, c, h)) {
			x->count++;
			*ret = w->xhash[b].idx1 - 1;
			return 0;
		}
	}
	if (w->n_xents >= UINT32_MAX - 1)
		return st_errf(-E2BIG, "too many distinct xattrs");
	r = GROW(w->xents, w->cap_xents, w->n_xents + 1);
	if (r < 0)
		return r;
	struct xent *x = &w->xents[w->n_xents];
	*x = (struct xent){
		.name = c->name,
		.value = c->value,
		.value_len = c->value_len,
		.count = 1,
		.hash = h,
		.shared_off = W_NO_INDEX,
		.name_len = c->name_len,
		.name_kind = c->name_kind,
		.value_kind = c->value_kind,
	};
	xent_classify(x);
	w->xhash[b] = (struct xslot){ .hash = h, .idx1 = (uint32_t)w->n_xents + 1 };
	*ret = (uint32_t)w->n_xents++;
	return 0;
}

struct cand_list {
	struct xcand *v;
	size_t n, cap;
	uint32_t budget;        /* the reference's per-node xattr_size */
};

static uint32_t cand_name_len(const struct xcand *c)
{
	return (c->name_kind == XN_ESCAPED ? ESC_PREFIX_LEN : 0) + c->name_len;
}

/* lcfs_node_set_xattr() semantics: replace by name, charge the node's budget. */
static int cand_set(struct cand_list *l, const struct st_node *n, struct xcand c)
{
	uint32_t entry;
	int r;

	for (size_t i = 0; i < l->n; i++) {
		if (cand_same_name(&l->v[i], &c)) {
			if (l->n == 1)
				l->budget = 0;
			else
				l->budget -= MIN(l->budget, 2 * 4 - 1 + cand_name_len(&l->v[i]) + l->v[i].value_len);
			l->v[i] = l->v[--l->n];
			break;
		}
	}
	entry = 2 * 4 - 1 + cand_name_len(&c) + c.value_len + (l->n == 0 ? 12 : 0);
	if (l->budget + entry > ST_XATTR_BUDGET_MAX) {
		_cleanup_free_ char *path = NULL;
		(void)node_get_path(n, &path);
		return st_errf(-ERANGE, "'%s': too many xattrs once the overlay xattrs are added",
			       path ? path : "?");
	}
	l->budget += entry;
	r = GROW(l->v, l->cap, l->n + 1);
	if (r < 0)
		return r;
	l->v[l->n++] = c;
	return 0;
}

static struct xcand plain(const char *name, const void *value, size_t len)
{
	return (struct xcand){ .name = name, .name_len = (uint16_t)strlen(name), .value = value,
			       .value_len = (uint32_t)len };
}
static struct xcand escaped(const char *tail, const void *value, size_t len)
{
	struct xcand c = plain(tail, value, len);
	c.name_kind = XN_ESCAPED;
	return c;
}

static int node_candidates(struct wctx *w, const struct winode *wi, struct cand_list *l)
{
	const struct st_node *n = wi->node;
	int r;

	l->n = 0;
	l->budget = 0;
	if (!n) {
		/* Root whiteout stub: only the root's SELinux label. */
		const struct st_xattr *x = node_get_xattr(w->root, "security.selinux");
		if (x)
			return cand_set(l, w->root, plain(x->name, x->value, x->value_len));
		return 0;
	}

	r = GROW(l->v, l->cap, n->n_xattrs + 8);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n->n_xattrs; i++) {
		const struct st_xattr *x = &n->xattrs[i];
		if (strncmp(x->name, OVL_PREFIX, OVL_PREFIX_LEN) == 0)
			l->v[l->n++] = escaped(x->name + OVL_PREFIX_LEN, x->value, x->value_len);
		else
			l->v[l->n++] = plain(x->name, x->value, x->value_len);
	}
	/* Renaming does not change the reference's budget accounting. */
	l->budget = n->xattr_budget;

	if (w_is_chunked(wi)) {
		struct xcand mc = plain("trusted.overlay.metacopy", "", 0);
		if (n->has_digest) {
			mc.value = n->digest;
			mc.value_len = ST_DIGEST_SIZE;
			mc.value_kind = XV_METACOPY;
		}
		r = cand_set(l, n, mc);
		if (r < 0)
			return r;
		if (n->payload && n->payload[0]) {
			struct xcand rd = plain("trusted.overlay.redirect", n->payload, strlen(n->payload));
			rd.value_kind = XV_SLASH;
			r = cand_set(l, n, rd);
			if (r < 0)
				return r;
		}
	}
	if (node_is_whiteout(n)) {
		r = cand_set(l, n, escaped("whiteout", "", 0));
		if (r >= 0)
			r = cand_set(l, n, plain("user.overlay.whiteout", "", 0));
		if (r < 0)
			return r;
	}
	if (wi->has_whiteout_child) {
		r = cand_set(l, n, escaped("whiteouts", "", 0));
		if (r >= 0)
			r = cand_set(l, n, plain("user.overlay.whiteouts", "", 0));
		if (r >= 0 && w->version >= 1) {
			r = cand_set(l, n, escaped("opaque", "x", 1));
			if (r >= 0)
				r = cand_set(l, n, plain("user.overlay.opaque", "x", 1));
		}
		if (r < 0)
			return r;
	}
	if (n == w->root) {
		r = cand_set(l, n, plain("trusted.overlay.opaque", "y", 1));
		if (r < 0)
			return r;
	}
	return 0;
}

static int cmp_xent_name(const void *a, const void *b, void *userdata)
{
	const struct xent *xs = userdata;
	struct seg2 na = xent_name(&xs[*(const uint32_t *)a]), nb = xent_name(&xs[*(const uint32_t *)b]);

	return seg2_cmp(&na, &nb);
}

int w_collect_xattrs(struct wctx *w)
{
	struct cand_list l = {};
	int r = 0;

	w->min_sec = w->root->mtime_sec;
	w->min_nsec = w->root->mtime_nsec;
	for (size_t i = 0; i < w->n_inodes; i++) {
		struct winode *wi = &w->inodes[i];
		const struct st_node *m = w_meta(w, wi);

		if (m->mtime_sec < w->min_sec || (m->mtime_sec == w->min_sec && m->mtime_nsec < w->min_nsec)) {
			w->min_sec = m->mtime_sec;
			w->min_nsec = m->mtime_nsec;
		}
		r = node_candidates(w, wi, &l);
		if (r < 0)
			break;
		if (l.n > UINT16_MAX) {
			r = st_errf(-E2BIG, "too many xattrs on one inode");
			break;
		}
		r = GROW(w->xrefs, w->cap_xrefs, w->n_xrefs + l.n);
		if (r < 0)
			break;
		wi->xref_start = (uint32_t)w->n_xrefs;
		wi->n_xrefs = (uint16_t)l.n;
		for (size_t k = 0; k < l.n; k++) {
			const struct xcand *c = &l.v[k];
			if (c->name_kind == XN_PLAIN && (strcmp(c->name, "system.posix_acl_access") == 0 ||
							 strcmp(c->name, "system.posix_acl_default") == 0))
				w->has_acl = true;
			r = intern(w, c, &w->xrefs[w->n_xrefs++]);
			if (r < 0)
				goto out;
		}
		if (l.n > 1)
			qsort_r(w->xrefs + wi->xref_start, l.n, sizeof(uint32_t), cmp_xent_name, w->xents);
	}
out:
	free(l.v);
	/* Interning is done: the table is not needed for layout or output. */
	free(w->xhash);
	w->xhash = NULL;
	return r;
}

/* The reference's canonical table order: name, then value length, then value, all descending. */
static int cmp_shared(const void *a, const void *b, void *userdata)
{
	const struct xent *xs = userdata;
	const struct xent *x = &xs[*(const uint32_t *)a], *y = &xs[*(const uint32_t *)b];
	struct seg2 nx = xent_name(x), ny = xent_name(y), vx, vy;
	uint32_t lx, ly;
	int c = seg2_cmp(&ny, &nx);

	if (c)
		return c;
	lx = xent_value_len(x);
	ly = xent_value_len(y);
	if (lx != ly)
		return ly > lx ? 1 : -1;
	vx = xent_value(x);
	vy = xent_value(y);
	return seg2_cmp(&vy, &vx);
}

int w_share_xattrs(struct wctx *w)
{
	uint64_t off = 0;
	size_t n = 0;

	for (size_t i = 0; i < w->n_xents; i++)
		n += w->xents[i].count > 1;
	w->shared = new(uint32_t, n);
	if (!w->shared)
		return -ENOMEM;
	for (size_t i = 0; i < w->n_xents; i++)
		if (w->xents[i].count > 1)
			w->shared[w->n_shared++] = (uint32_t)i;
	qsort_r(w->shared, w->n_shared, sizeof(uint32_t), cmp_shared, w->xents);
	for (size_t i = 0; i < w->n_shared; i++) {
		struct xent *x = &w->xents[w->shared[i]];
		if (off > UINT32_MAX - EROFS_BLKSIZ)
			return st_errf(-EFBIG, "shared xattr table too large");
		x->shared_off = (uint32_t)off;
		off += xent_entry_size(x);
	}
	w->shared_size = off;

	for (size_t i = 0; i < w->n_inodes; i++) {
		struct winode *wi = &w->inodes[i];
		uint64_t size = sizeof(struct erofs_xattr_ibody_header);
		unsigned n_shared = 0;

		if (wi->n_xrefs == 0) {
			wi->xattr_size = 0;
			continue;
		}
		for (size_t k = 0; k < wi->n_xrefs; k++) {
			const struct xent *x = &w->xents[w->xrefs[wi->xref_start + k]];
			if (x->count > 1 && n_shared < W_MAX_SHARED_PER_INODE) {
				n_shared++;
				size += 4;
			} else {
				size += xent_entry_size(x);
			}
		}
		if ((size - sizeof(struct erofs_xattr_ibody_header)) / 4 + 1 > UINT16_MAX)
			return st_errf(-EINVAL, "xattrs of one inode too large for EROFS");
		wi->xattr_size = (uint32_t)size;
	}
	return 0;
}

void xent_free_all(struct wctx *w)
{
	free(w->xents);
	free(w->xhash);
	free(w->xrefs);
	free(w->shared);
}
