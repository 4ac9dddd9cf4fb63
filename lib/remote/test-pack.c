/* SPDX-License-Identifier: MIT */
/* The pack index: round trip, and every rule of the decoder refusing what breaks it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "basic/test.h"
#include "format/pack-format.h"
#include "fundamental/macro.h"
#include "pack.h"

/* An index of n entries with digests 1, 2, ... and objects of 1000 bytes in frames of 100. */
static void make(size_t n, void **ret, size_t *ret_len)
{
	struct pack_entry *e = calloc(n + 1, sizeof(*e));
	struct pack_index idx = { .entries = e, .n_entries = n, .has_from = true };

	idx.commit[0] = 0xaa;
	idx.from[31] = 0xbb;
	for (size_t i = 0; i < n; i++) {
		e[i].digest[30] = (uint8_t)(i >> 8);
		e[i].digest[31] = (uint8_t)(i + 1);
		e[i].offset = 100 * i;
		e[i].csize = 100;
		e[i].size = 1000;
	}
	idx.pack_size = 100 * n;
	ASSERT_OK(pack_index_serialize(&idx, ret, ret_len));
	free(e);
}

static struct pack_index_entry *entry(void *data, size_t i)
{
	return (struct pack_index_entry *)((uint8_t *)data + 128 + 56 * i);
}

TEST(roundtrip)
{
	struct pack_index *idx = NULL;
	void *data, *again;
	size_t len, len2;
	uint8_t d[32] = {};

	make(3, &data, &len);
	ASSERT_EQ(len, (size_t)(128 + 3 * 56));
	ASSERT_OK(pack_index_parse(data, len, &idx));
	ASSERT_EQ(idx->n_entries, (size_t)3);
	ASSERT_TRUE(idx->has_from);
	ASSERT_EQ(idx->pack_size, (uint64_t)300);
	d[31] = 2;
	ASSERT_TRUE(pack_index_find(idx, d) == &idx->entries[1]);
	d[31] = 9;
	ASSERT_TRUE(pack_index_find(idx, d) == NULL);
	ASSERT_OK(pack_index_serialize(idx, &again, &len2));
	ASSERT_EQ(len2, len);
	ASSERT_MEMEQ(again, data, len);
	free(again);
	free(data);
	pack_index_free(idx);
}

/* Each mutation of a good index must be refused with err. */
static void refuse(void (*mutate)(void *data, size_t *len), int err)
{
	struct pack_index *idx = NULL;
	void *data;
	size_t len;

	make(3, &data, &len);
	mutate(data, &len);
	ASSERT_ERR(pack_index_parse(data, len, &idx), err);
	ASSERT_TRUE(idx == NULL);
	free(data);
}

static void m_magic(void *d, size_t *len) { (void)len; ((uint8_t *)d)[0] ^= 1; }
static void m_version(void *d, size_t *len) { (void)len; ((struct pack_index_header *)d)->version = le32_put(2); }
static void m_compression(void *d, size_t *len) { (void)len; ((struct pack_index_header *)d)->compression = le32_put(7); }
static void m_flags(void *d, size_t *len) { (void)len; ((struct pack_index_header *)d)->flags = le32_put(1); }
static void m_reserved(void *d, size_t *len) { (void)len; ((struct pack_index_header *)d)->reserved[3] = 1; }
static void m_count_up(void *d, size_t *len) { (void)len; ((struct pack_index_header *)d)->n_entries = le64_put(4); }
static void m_count_huge(void *d, size_t *len) { (void)len; ((struct pack_index_header *)d)->n_entries = le64_put(UINT64_MAX / 56 + 2); }
static void m_short(void *d, size_t *len) { (void)d; *len -= 1; }
static void m_header_only(void *d, size_t *len) { (void)d; *len = 100; }
static void m_pack_size(void *d, size_t *len) { (void)len; ((struct pack_index_header *)d)->pack_size = le64_put(301); }
static void m_unsorted(void *d, size_t *len) { (void)len; entry(d, 1)->digest[31] = 1; }
static void m_offset(void *d, size_t *len) { (void)len; entry(d, 1)->offset = le64_put(101); }
static void m_offset_first(void *d, size_t *len) { (void)len; entry(d, 0)->offset = le64_put(1); }
static void m_csize_zero(void *d, size_t *len) { (void)len; entry(d, 2)->csize = le64_put(0); }
static void m_csize_big(void *d, size_t *len)
{
	(void)len;
	/* A frame larger than any zstd frame of its object. */
	entry(d, 2)->size = le64_put(10);
	entry(d, 2)->csize = le64_put(100);
}
static void m_size_huge(void *d, size_t *len) { (void)len; entry(d, 2)->size = le64_put(UINT64_MAX); }
static void m_overflow(void *d, size_t *len)
{
	(void)len;
	entry(d, 2)->size = le64_put(PACK_OBJECT_SIZE_MAX);
	entry(d, 2)->csize = le64_put(PACK_OBJECT_SIZE_MAX);
	entry(d, 2)->offset = le64_put(200);
	((struct pack_index_header *)d)->pack_size = le64_put(200 + PACK_OBJECT_SIZE_MAX);
}

TEST(refusals)
{
	refuse(m_magic, -EUCLEAN);
	refuse(m_version, -EOPNOTSUPP);
	refuse(m_compression, -EOPNOTSUPP);
	refuse(m_flags, -EOPNOTSUPP);
	refuse(m_reserved, -EUCLEAN);
	refuse(m_count_up, -EUCLEAN);
	refuse(m_count_huge, -EUCLEAN);
	refuse(m_short, -EUCLEAN);
	refuse(m_header_only, -EUCLEAN);
	refuse(m_pack_size, -EUCLEAN);
	refuse(m_unsorted, -EUCLEAN);
	refuse(m_offset, -EUCLEAN);
	refuse(m_offset_first, -EUCLEAN);
	refuse(m_csize_zero, -EUCLEAN);
	refuse(m_csize_big, -EUCLEAN);
	refuse(m_size_huge, -EUCLEAN);
}

TEST(large_values)
{
	struct pack_index *idx = NULL;
	void *data;
	size_t len;

	/* At the limits but consistent: accepted, no overflow on the way. */
	make(3, &data, &len);
	m_overflow(data, &len);
	ASSERT_OK(pack_index_parse(data, len, &idx));
	pack_index_free(idx);
	free(data);
}

TEST(empty)
{
	struct pack_index *idx = NULL;
	void *data;
	size_t len;

	make(0, &data, &len);
	ASSERT_EQ(len, (size_t)128);
	ASSERT_OK(pack_index_parse(data, len, &idx));
	ASSERT_EQ(idx->n_entries, (size_t)0);
	pack_index_free(idx);
	free(data);
}

TEST_MAIN()
