/* SPDX-License-Identifier: MIT */
/*
 * The pack index (lib/format/pack-format.h, docs/formats/remote.md): the one
 * decoder of untrusted index bytes and the one encoder. The whole geometry
 * is checked before anything is looked up: the exact length for the entry
 * count, digests strictly ascending, frames back to back from offset 0 to
 * the pack's size, every size and offset within its limit, all with
 * overflow-checked sums.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/error.h"
#include "basic/hex.h"
#include "format/pack-format.h"
#include "fundamental/macro.h"
#include "pack.h"

struct pack_index *pack_index_free(struct pack_index *idx)
{
	if (!idx)
		return NULL;
	free(idx->entries);
	free(idx);
	return NULL;
}

static void pack_index_freep(struct pack_index **p)
{
	pack_index_free(*p);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* Checks shared by the decoder and the encoder: entry i after entry i - 1, ending at *end. */
static int check_entry(const struct pack_entry *e, const struct pack_entry *prev, uint64_t *end, size_t i)
{
	if (prev && memcmp(prev->digest, e->digest, 32) >= 0)
		return st_errf(-EUCLEAN, "pack index entry %zu: digests not sorted or not unique", i);
	if (e->size > PACK_OBJECT_SIZE_MAX)
		return st_errf(-EUCLEAN, "pack index entry %zu: object size %llu beyond the limit", i,
			       (unsigned long long)e->size);
	if (e->csize == 0 || e->csize > pack_csize_max(e->size))
		return st_errf(-EUCLEAN, "pack index entry %zu: compressed size %llu impossible for %llu bytes", i,
			       (unsigned long long)e->csize, (unsigned long long)e->size);
	if (e->offset != *end)
		return st_errf(-EUCLEAN, "pack index entry %zu: offset %llu, expected %llu (frames back to back)", i,
			       (unsigned long long)e->offset, (unsigned long long)*end);
	if (__builtin_add_overflow(*end, e->csize, end))
		return st_errf(-EUCLEAN, "pack index entry %zu: offset overflows", i);
	return 0;
}

int pack_index_parse(const void *data, size_t len, struct pack_index **ret)
{
	_cleanup_(pack_index_freep) struct pack_index *idx = NULL;
	const struct pack_index_header *h = data;
	const uint8_t *p = data;
	uint64_t n, want, end = 0;
	int r;

	if (!data || !ret)
		return -EINVAL;
	if (len < sizeof(*h) || memcmp(h->magic, PACK_INDEX_MAGIC, 8) != 0)
		return st_errf(-EUCLEAN, "pack index: not a pack index (%zu bytes)", len);
	if (le32_get(h->version) != PACK_INDEX_VERSION)
		return st_errf(-EOPNOTSUPP, "pack index: unknown version %u", le32_get(h->version));
	if (le32_get(h->compression) != PACK_COMPRESSION_ZSTD)
		return st_errf(-EOPNOTSUPP, "pack index: unknown compression %u", le32_get(h->compression));
	if (le32_get(h->flags) & ~PACK_INDEX_FLAGS_SUPPORTED)
		return st_errf(-EOPNOTSUPP, "pack index: unknown feature flags 0x%x", le32_get(h->flags));
	if (le32_get(h->reserved0) != 0 || !all_zero(h->reserved, sizeof(h->reserved)))
		return st_errf(-EUCLEAN, "pack index: reserved header bytes are not zero");
	n = le64_get(h->n_entries);
	if (n > PACK_ENTRIES_MAX)
		return st_errf(-EUCLEAN, "pack index: %llu entries, more than %llu", (unsigned long long)n,
			       (unsigned long long)PACK_ENTRIES_MAX);
	want = sizeof(*h) + n * sizeof(struct pack_index_entry);      /* no overflow: n is capped */
	if ((uint64_t)len != want)
		return st_errf(-EUCLEAN, "pack index: %zu bytes, %llu entries take %llu", len, (unsigned long long)n,
			       (unsigned long long)want);
	idx = calloc(1, sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	idx->entries = calloc(n ? (size_t)n : 1, sizeof(*idx->entries));
	if (!idx->entries)
		return -ENOMEM;
	memcpy(idx->commit, h->commit, 32);
	idx->has_from = !all_zero(h->from, 32);
	memcpy(idx->from, h->from, 32);
	idx->pack_size = le64_get(h->pack_size);
	for (size_t i = 0; i < (size_t)n; i++) {
		struct pack_index_entry raw;
		struct pack_entry *e = &idx->entries[i];

		memcpy(&raw, p + sizeof(*h) + i * sizeof(raw), sizeof(raw));
		memcpy(e->digest, raw.digest, 32);
		e->offset = le64_get(raw.offset);
		e->csize = le64_get(raw.csize);
		e->size = le64_get(raw.size);
		r = check_entry(e, i ? e - 1 : NULL, &end, i);
		if (r < 0)
			return r;
	}
	idx->n_entries = (size_t)n;
	if (end != idx->pack_size)
		return st_errf(-EUCLEAN, "pack index: the frames end at %llu, the header says the pack has %llu bytes",
			       (unsigned long long)end, (unsigned long long)idx->pack_size);
	*ret = TAKE_PTR(idx);
	return 0;
}

int pack_index_serialize(const struct pack_index *idx, void **ret, size_t *ret_len)
{
	struct pack_index_header h = {};
	uint64_t end = 0;
	uint8_t *out;
	size_t len;

	if (!idx || !ret || !ret_len || idx->n_entries > PACK_ENTRIES_MAX)
		return -EINVAL;
	for (size_t i = 0; i < idx->n_entries; i++)
		if (check_entry(&idx->entries[i], i ? &idx->entries[i - 1] : NULL, &end, i) < 0)
			return -EINVAL;
	if (end != idx->pack_size || (idx->has_from && all_zero(idx->from, 32)))
		return -EINVAL;
	memcpy(h.magic, PACK_INDEX_MAGIC, 8);
	h.version = le32_put(PACK_INDEX_VERSION);
	h.compression = le32_put(PACK_COMPRESSION_ZSTD);
	h.n_entries = le64_put(idx->n_entries);
	h.pack_size = le64_put(idx->pack_size);
	memcpy(h.commit, idx->commit, 32);
	if (idx->has_from)
		memcpy(h.from, idx->from, 32);
	len = sizeof(h) + idx->n_entries * sizeof(struct pack_index_entry);
	out = malloc(len);
	if (!out)
		return -ENOMEM;
	memcpy(out, &h, sizeof(h));
	for (size_t i = 0; i < idx->n_entries; i++) {
		const struct pack_entry *e = &idx->entries[i];
		struct pack_index_entry raw;

		memcpy(raw.digest, e->digest, 32);
		raw.offset = le64_put(e->offset);
		raw.csize = le64_put(e->csize);
		raw.size = le64_put(e->size);
		memcpy(out + sizeof(h) + i * sizeof(raw), &raw, sizeof(raw));
	}
	*ret = out;
	*ret_len = len;
	return 0;
}

const struct pack_entry *pack_index_find(const struct pack_index *idx, const uint8_t digest[32])
{
	size_t lo = 0, hi = idx->n_entries;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(idx->entries[mid].digest, digest, 32);

		if (c == 0)
			return &idx->entries[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void pack_relpath(const uint8_t index_sha256[32], bool body, char buf[80])
{
	char hex[65];

	st_hex_encode(index_sha256, 32, hex);
	(void)snprintf(buf, 80, "packs/%s.%s", hex, body ? "pack" : "index");
}
