/* SPDX-License-Identifier: MIT */
/*
 * The fs-verity Merkle tree, built bottom-up while data streams in.
 *
 * Only the block in progress at each level is kept: a level's 4096-byte
 * buffer collects the 32-byte hashes of the blocks below it and is hashed
 * into the level above when its 128 slots are full. Memory is therefore
 * fixed (ST_VERITY_MAX_LEVELS blocks) whatever the file size.
 *
 * Runs of zero bytes (holes in sparse files) are not hashed: a zero data
 * block always hashes to zero_hash[0], a hash block holding 128 copies of
 * zero_hash[i] always hashes to zero_hash[i + 1], so a run of zero blocks
 * aligned to a level's block boundary is carried up as one count. A 20 GiB
 * hole costs a few hundred hash operations instead of five million.
 */
#include <assert.h>
#include <pthread.h>
#include <string.h>

#include "basic/error.h"
#include "basic/macro.h"
#include "verity/sha256.h"
#include "verity/verity-internal.h"

#define BLOCK ST_VERITY_BLOCK_SIZE
#define HASHES_PER_BLOCK (BLOCK / SHA256_DIGEST_SIZE)

/*
 * Level i collects the hashes of the blocks of level i-1 (level 0: of the
 * data blocks). 2^64 bytes are 2^52 data blocks; 2^52 / 128^8 < 1, so the
 * root hash sits at level 8 at the latest. One spare level for safety.
 */
#define MAX_LEVELS 10

struct st_verity_hasher {
	struct sha256 sha;
	uint64_t data_size;
	size_t partial_len;             /* bytes in partial[] */
	uint64_t count[MAX_LEVELS];     /* hashes received by each level */
	uint8_t partial[BLOCK];         /* data block in progress */
	uint8_t level[MAX_LEVELS][BLOCK];
};

static uint8_t zero_hash[MAX_LEVELS][SHA256_DIGEST_SIZE];
static int zero_hash_result;
static pthread_once_t zero_hash_once = PTHREAD_ONCE_INIT;

static void compute_zero_hashes(void)
{
	static uint8_t block[BLOCK]; /* only touched once, under pthread_once */
	struct sha256 sha;
	int r;

	r = sha256_init(&sha);
	if (r < 0) {
		zero_hash_result = r;
		return;
	}
	memset(block, 0, sizeof(block));
	for (size_t i = 0; i < MAX_LEVELS && r >= 0; i++) {
		r = sha256_digest(&sha, block, BLOCK, zero_hash[i]);
		for (size_t j = 0; j < HASHES_PER_BLOCK; j++)
			memcpy(block + j * SHA256_DIGEST_SIZE, zero_hash[i], SHA256_DIGEST_SIZE);
	}
	sha256_release(&sha);
	zero_hash_result = r;
}

int st_verity_hasher_new(struct st_verity_hasher **ret)
{
	struct st_verity_hasher *h;
	int r;

	if (pthread_once(&zero_hash_once, compute_zero_hashes) != 0)
		return -EIO;
	if (zero_hash_result < 0)
		return zero_hash_result;

	/* Not calloc: the level buffers are fully written before they are read. */
	h = malloc(sizeof(*h));
	if (!h)
		return -ENOMEM;
	r = sha256_init(&h->sha);
	if (r < 0) {
		free(h);
		return r;
	}
	st_verity_hasher_reset(h);
	*ret = h;
	return 0;
}

struct st_verity_hasher *st_verity_hasher_free(struct st_verity_hasher *h)
{
	if (h) {
		sha256_release(&h->sha);
		free(h);
	}
	return NULL;
}

void st_verity_hasher_reset(struct st_verity_hasher *h)
{
	h->data_size = 0;
	h->partial_len = 0;
	memset(h->count, 0, sizeof(h->count));
}

/* Hash one block and append its hash to level lvl, carrying full blocks up. */
static int push_block(struct st_verity_hasher *h, const uint8_t *block, size_t lvl)
{
	for (;;) {
		uint8_t *slot;
		int r;

		if (_unlikely_(lvl >= MAX_LEVELS))
			return st_errf(-EFBIG, "fs-verity tree deeper than %d levels", MAX_LEVELS);
		slot = h->level[lvl] + (h->count[lvl] % HASHES_PER_BLOCK) * SHA256_DIGEST_SIZE;
		r = sha256_digest_block(&h->sha, block, slot);
		if (r < 0)
			return r;
		if (++h->count[lvl] % HASHES_PER_BLOCK != 0)
			return 0;
		block = h->level[lvl];
		lvl++;
	}
}

/* Append n copies of zero_hash[lvl] (n zero blocks of level lvl-1) to level lvl. */
static int push_zero_hashes(struct st_verity_hasher *h, size_t lvl, uint64_t n)
{
	while (n > 0) {
		uint8_t *slot;
		int r;

		if (_unlikely_(lvl >= MAX_LEVELS))
			return st_errf(-EFBIG, "fs-verity tree deeper than %d levels", MAX_LEVELS);

		if (h->count[lvl] % HASHES_PER_BLOCK == 0 && n >= HASHES_PER_BLOCK) {
			/* Whole blocks of zero hashes: each hashes to zero_hash[lvl + 1]. */
			uint64_t blocks = n / HASHES_PER_BLOCK;

			r = push_zero_hashes(h, lvl + 1, blocks);
			if (r < 0)
				return r;
			h->count[lvl] += blocks * HASHES_PER_BLOCK;
			n -= blocks * HASHES_PER_BLOCK;
			continue;
		}

		slot = h->level[lvl] + (h->count[lvl] % HASHES_PER_BLOCK) * SHA256_DIGEST_SIZE;
		memcpy(slot, zero_hash[lvl], SHA256_DIGEST_SIZE);
		n--;
		if (++h->count[lvl] % HASHES_PER_BLOCK == 0) {
			r = push_block(h, h->level[lvl], lvl + 1);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* Append one ready hash to level lvl, carrying a full block up. */
static int push_hash(struct st_verity_hasher *h, size_t lvl, const uint8_t hash[SHA256_DIGEST_SIZE])
{
	uint8_t *slot = h->level[lvl] + (h->count[lvl] % HASHES_PER_BLOCK) * SHA256_DIGEST_SIZE;

	memcpy(slot, hash, SHA256_DIGEST_SIZE);
	if (++h->count[lvl] % HASHES_PER_BLOCK != 0)
		return 0;
	return push_block(h, h->level[lvl], lvl + 1);
}

/*
 * Two data blocks hashed together (interleaved on SHA-NI), then appended in
 * order. Upper-level blocks stay one at a time: a level fills one block per
 * 128 below it, so pairing them would mean holding a full block back for
 * under 1% of the hashing.
 */
static int push_data_blocks2(struct st_verity_hasher *h, const uint8_t *b0, const uint8_t *b1)
{
	uint8_t hash[2][SHA256_DIGEST_SIZE];
	int r;

	r = sha256_digest_block2(&h->sha, b0, b1, hash[0], hash[1]);
	if (r < 0)
		return r;
	r = push_hash(h, 0, hash[0]);
	if (r < 0)
		return r;
	return push_hash(h, 0, hash[1]);
}

int verity_hasher_subtree_root(struct st_verity_hasher *h, uint8_t root[SHA256_DIGEST_SIZE])
{
	/* After exactly one unit, its root hash is the only hash at that level. */
	if (h->data_size != VERITY_SUBTREE_BYTES || h->partial_len != 0 ||
	    h->count[VERITY_SUBTREE_LEVEL] != 1)
		return st_errf(-EINVAL, "hasher does not hold exactly one subtree");
	memcpy(root, h->level[VERITY_SUBTREE_LEVEL], SHA256_DIGEST_SIZE);
	st_verity_hasher_reset(h);
	return 0;
}

int verity_hasher_inject_subtrees(struct st_verity_hasher *h, const uint8_t *roots, size_t n)
{
	uint64_t bytes;
	int r;

	static_assert(VERITY_SUBTREE_LEVEL < MAX_LEVELS, "subtree level inside the tree");
	if (h->data_size != 0 || h->partial_len != 0)
		return st_errf(-EINVAL, "subtrees must come first");
	if (MUL_OVERFLOW((uint64_t)n, VERITY_SUBTREE_BYTES, &bytes))
		return st_errf(-EFBIG, "fs-verity data size overflows 64 bits");

	/* The levels below saw whole blocks only: counts, nothing buffered. */
	h->data_size = bytes;
	for (size_t lvl = 0, per = VERITY_SUBTREE_BYTES / BLOCK; lvl < VERITY_SUBTREE_LEVEL;
	     lvl++, per /= HASHES_PER_BLOCK)
		h->count[lvl] = (uint64_t)n * per;
	for (size_t i = 0; i < n; i++) {
		r = push_hash(h, VERITY_SUBTREE_LEVEL, roots + i * SHA256_DIGEST_SIZE);
		if (r < 0)
			return r;
	}
	return 0;
}

static int add_size(struct st_verity_hasher *h, uint64_t len)
{
	uint64_t total;

	if (ADD_OVERFLOW(h->data_size, len, &total))
		return st_errf(-EFBIG, "fs-verity data size overflows 64 bits");
	h->data_size = total;
	return 0;
}

int st_verity_hasher_update(struct st_verity_hasher *h, const void *data, size_t len)
{
	const uint8_t *p = data;
	int r;

	if (len == 0)
		return 0; /* data may be NULL then */
	r = add_size(h, len);
	if (r < 0)
		return r;

	if (h->partial_len > 0) {
		size_t n = MIN(len, BLOCK - h->partial_len);

		memcpy(h->partial + h->partial_len, p, n);
		h->partial_len += n;
		p += n;
		len -= n;
		if (h->partial_len < BLOCK)
			return 0;
		h->partial_len = 0;
		if (len >= BLOCK) {
			r = push_data_blocks2(h, h->partial, p);
			p += BLOCK;
			len -= BLOCK;
		} else
			r = push_block(h, h->partial, 0);
		if (r < 0)
			return r;
	}

	/* Whole blocks straight from the caller's memory, no copy, in pairs. */
	for (; len >= 2 * BLOCK; p += 2 * BLOCK, len -= 2 * BLOCK) {
		r = push_data_blocks2(h, p, p + BLOCK);
		if (r < 0)
			return r;
	}
	if (len >= BLOCK) {
		r = push_block(h, p, 0);
		if (r < 0)
			return r;
		p += BLOCK;
		len -= BLOCK;
	}

	memcpy(h->partial, p, len);
	h->partial_len = len;
	return 0;
}

int st_verity_hasher_update_zeros(struct st_verity_hasher *h, uint64_t len)
{
	int r;

	r = add_size(h, len);
	if (r < 0)
		return r;

	if (h->partial_len > 0) {
		size_t n = (size_t)MIN(len, (uint64_t)(BLOCK - h->partial_len));

		memset(h->partial + h->partial_len, 0, n);
		h->partial_len += n;
		len -= n;
		if (h->partial_len < BLOCK)
			return 0;
		h->partial_len = 0;
		r = push_block(h, h->partial, 0);
		if (r < 0)
			return r;
	}

	r = push_zero_hashes(h, 0, len / BLOCK);
	if (r < 0)
		return r;

	h->partial_len = len % BLOCK;
	memset(h->partial, 0, h->partial_len);
	return 0;
}

/* The root hash: the hash of the single block at the top of the tree. */
static int finish_tree(struct st_verity_hasher *h, uint8_t root[SHA256_DIGEST_SIZE])
{
	int r;

	/* Kernel and fsverity-utils agree: an empty file has an all-zero root. */
	if (h->data_size == 0) {
		memset(root, 0, SHA256_DIGEST_SIZE);
		return 0;
	}

	if (h->partial_len > 0) {
		memset(h->partial + h->partial_len, 0, BLOCK - h->partial_len);
		r = push_block(h, h->partial, 0);
		if (r < 0)
			return r;
	}

	/*
	 * Walk up, padding each level's last block. The first level that
	 * received exactly one hash holds the root: that hash was never
	 * carried up, since only full blocks (128 hashes) are.
	 */
	for (size_t lvl = 0; lvl < MAX_LEVELS; lvl++) {
		size_t used = (size_t)(h->count[lvl] % HASHES_PER_BLOCK);

		if (h->count[lvl] == 1) {
			memcpy(root, h->level[lvl], SHA256_DIGEST_SIZE);
			return 0;
		}
		if (used > 0) {
			memset(h->level[lvl] + used * SHA256_DIGEST_SIZE, 0,
			       BLOCK - used * SHA256_DIGEST_SIZE);
			r = push_block(h, h->level[lvl], lvl + 1);
			if (r < 0)
				return r;
		}
	}
	return st_errf(-EFBIG, "fs-verity tree deeper than %d levels", MAX_LEVELS);
}

int st_verity_hasher_final(struct st_verity_hasher *h, uint8_t digest[ST_VERITY_DIGEST_SIZE])
{
	/* struct fsverity_descriptor, see docs/formats/fs-verity.md. */
	uint8_t desc[256] = {
		[0] = 1,  /* version */
		[1] = 1,  /* hash algorithm: SHA-256 */
		[2] = 12, /* log2(block size) */
		[3] = 0,  /* salt size */
	};
	uint8_t out[SHA256_DIGEST_SIZE];
	int r;

	for (size_t i = 0; i < 8; i++)
		desc[8 + i] = (uint8_t)(h->data_size >> (8 * i)); /* le64 data_size */
	r = finish_tree(h, desc + 16);                             /* root_hash[64] */
	if (r >= 0)
		r = sha256_digest(&h->sha, desc, sizeof(desc), out);
	st_verity_hasher_reset(h);
	if (r < 0)
		return r;
	memcpy(digest, out, sizeof(out));
	return 0;
}

int st_verity_digest_buffer(const void *data, size_t len, uint8_t digest[ST_VERITY_DIGEST_SIZE])
{
	struct st_verity_hasher *h = NULL;
	int r;

	r = st_verity_hasher_new(&h);
	if (r < 0)
		return r;
	r = st_verity_hasher_update(h, data, len);
	if (r >= 0)
		r = st_verity_hasher_final(h, digest);
	st_verity_hasher_free(h);
	return r;
}
