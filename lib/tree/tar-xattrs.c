/* SPDX-License-Identifier: MIT */
/*
 * The xattrs of one tar import, each distinct (name, value) kept once. An
 * archive of many files carrying one large xattr (a 360 KiB .tar.xz of
 * 64 KiB values) held a copy per file: 1.37 GB. Every node now shares the
 * one copy, and the distinct bytes of the whole archive are capped (they
 * all end up in the image: more is not a tree anyone builds).
 *
 * The table is keyed by SHA-256 of name and value, so that an archive
 * cannot make its buckets collide.
 */
#include <inttypes.h>
#include <string.h>

#include "basic/error.h"
#include "tar-xattrs.h"

static int key_of(struct tar_xattr_table *t, const char *name, size_t name_len, const void *value, size_t value_len,
		  uint64_t *ret)
{
	uint8_t d[SHA256_DIGEST_SIZE];
	size_t need = name_len + 1 + value_len;
	int r;

	if (need > t->key_cap) {
		uint8_t *k = realloc(t->key, need);

		if (!k)
			return -ENOMEM;
		t->key = k;
		t->key_cap = need;
	}
	memcpy(t->key, name, name_len);
	t->key[name_len] = '\0';
	if (value_len)
		memcpy(t->key + name_len + 1, value, value_len);
	if (!t->sha_ready) {
		r = sha256_init(&t->sha);
		if (r < 0)
			return r;
		t->sha_ready = true;
	}
	r = sha256_digest(&t->sha, t->key, need, d);
	if (r < 0)
		return r;
	memcpy(ret, d, sizeof(*ret));
	return 0;
}

static int grow(struct tar_xattr_table *t)
{
	size_t cap = t->cap ? t->cap * 2 : 64;
	struct tar_xattr_slot *s = new0(struct tar_xattr_slot, cap);

	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++) {
		size_t j;

		if (!t->slots[i].x.name)
			continue;
		for (j = t->slots[i].hash & (cap - 1); s[j].x.name; j = (j + 1) & (cap - 1))
			;
		s[j] = t->slots[i];
	}
	free(t->slots);
	t->slots = s;
	t->cap = cap;
	return 0;
}

int tar_xattrs_intern(struct tar_xattr_table *t, const char *name, size_t name_len, const void *value,
		      size_t value_len, const struct st_xattr **ret)
{
	uint64_t h, max = t->max_bytes ? t->max_bytes : TAR_XATTR_BYTES_MAX;
	size_t i;
	int r;

	r = key_of(t, name, name_len, value, value_len, &h);
	if (r < 0)
		return r;
	if (t->cap) {
		for (i = h & (t->cap - 1); t->slots[i].x.name; i = (i + 1) & (t->cap - 1)) {
			const struct st_xattr *x = &t->slots[i].x;

			if (t->slots[i].hash == h && x->value_len == value_len && strlen(x->name) == name_len &&
			    memcmp(x->name, name, name_len) == 0 && memcmp(x->value, value, value_len) == 0) {
				*ret = x;
				return 0;
			}
		}
	}
	if (t->bytes + name_len + value_len > max)
		return st_errf(-EFBIG, "the archive's distinct xattrs take more than %" PRIu64 " bytes", max);
	if ((t->n + 1) * 2 > t->cap) {
		r = grow(t);
		if (r < 0)
			return r;
	}
	for (i = h & (t->cap - 1); t->slots[i].x.name; i = (i + 1) & (t->cap - 1))
		;
	r = node_xattr_new(name, name_len, value, value_len, &t->slots[i].x);
	if (r < 0)
		return r;
	t->slots[i].hash = h;
	t->n++;
	t->bytes += name_len + value_len;
	*ret = &t->slots[i].x;
	return 0;
}

void tar_xattrs_free(struct tar_xattr_table *t)
{
	for (size_t i = 0; i < t->cap; i++)
		node_xattr_unref(&t->slots[i].x);
	free(t->slots);
	free(t->key);
	if (t->sha_ready)
		sha256_release(&t->sha);
	*t = (struct tar_xattr_table){ 0 };
}
