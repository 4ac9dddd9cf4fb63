/* SPDX-License-Identifier: MIT */
/*
 * Tar-split records (docs/formats/tar-split.md): built while a layer is
 * read, read back as untrusted input. Every number is little-endian; every
 * length read back is checked against what is left of the record before
 * anything is read through it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "basic/error.h"
#include "fundamental/macro.h"
#include "tar-split.h"
#include "tree-internal.h"

/* A run of zeros at least this long is kept as its length. */
#define ZERO_RUN_MIN 64u

void st_tar_split_init(struct st_tar_split *s)
{
	*s = (struct st_tar_split){ .last_seg = SIZE_MAX };
}

void st_tar_split_done(struct st_tar_split *s)
{
	free(s->data);
	free(s->refs);
	st_tar_split_init(s);
}

static int reserve(struct st_tar_split *s, size_t more)
{
	size_t max = s->max ? s->max : ST_TAR_SPLIT_MAX, cap;
	uint8_t *p;

	if (s->len == 0)
		more += ST_TAR_SPLIT_MAGIC_LEN;
	if (more > max || s->len > max - more)
		return st_errf(-E2BIG, "the tar stream's bytes outside file contents are over the %zu bytes a "
			       "tar-split record keeps", max);
	if (s->len + more <= s->cap)
		goto magic;
	cap = MAX(s->cap * 2, s->len + more + 4096);
	p = realloc(s->data, cap);
	if (!p)
		return -ENOMEM;
	s->data = p;
	s->cap = cap;
magic:
	if (s->len == 0) {
		memcpy(s->data, ST_TAR_SPLIT_MAGIC, ST_TAR_SPLIT_MAGIC_LEN);
		s->len = ST_TAR_SPLIT_MAGIC_LEN;
	}
	return 0;
}

static void put_le(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = n; i > 0; i--)
		v = (v << 8) | p[i - 1];
	return v;
}

static int add_zeros(struct st_tar_split *s, uint64_t n)
{
	int r;

	if (s->last_seg != SIZE_MAX && s->data[s->last_seg] == ST_TAR_SPLIT_ZERO) {
		put_le(s->data + s->last_seg + 1, get_le(s->data + s->last_seg + 1, 8) + n, 8);
		s->stream_len += n;
		return 0;
	}
	r = reserve(s, 9);
	if (r < 0)
		return r;
	s->last_seg = s->len;
	s->data[s->len] = ST_TAR_SPLIT_ZERO;
	put_le(s->data + s->len + 1, n, 8);
	s->len += 9;
	s->stream_len += n;
	return 0;
}

static int add_raw(struct st_tar_split *s, const uint8_t *p, size_t n)
{
	while (n > 0) {
		size_t k;
		int r;

		if (s->last_seg != SIZE_MAX && s->data[s->last_seg] == ST_TAR_SPLIT_RAW &&
		    s->last_seg + 5 + get_le(s->data + s->last_seg + 1, 4) == s->len) {
			uint64_t have = get_le(s->data + s->last_seg + 1, 4);

			k = MIN(n, (size_t)(ST_TAR_SPLIT_RAW_MAX - have));
			if (k > 0) {
				r = reserve(s, k);
				if (r < 0)
					return r;
				memcpy(s->data + s->len, p, k);
				s->len += k;
				put_le(s->data + s->last_seg + 1, have + k, 4);
				s->stream_len += k;
				p += k;
				n -= k;
				continue;
			}
		}
		k = MIN(n, (size_t)ST_TAR_SPLIT_RAW_MAX);
		r = reserve(s, 5 + k);
		if (r < 0)
			return r;
		s->last_seg = s->len;
		s->data[s->len] = ST_TAR_SPLIT_RAW;
		put_le(s->data + s->len + 1, k, 4);
		memcpy(s->data + s->len + 5, p, k);
		s->len += 5 + k;
		s->stream_len += k;
		p += k;
		n -= k;
	}
	return 0;
}

int st_tar_split_add_bytes(struct st_tar_split *s, const uint8_t *p, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t run_start = len, run_end = len;
		int r;

		/* The next run of zeros long enough to be kept as its length. */
		for (size_t j = i; j < len;) {
			size_t e = j;

			if (p[j] != 0) {
				j++;
				continue;
			}
			while (e < len && p[e] == 0)
				e++;
			if (e - j >= ZERO_RUN_MIN) {
				run_start = j;
				run_end = e;
				break;
			}
			j = e;
		}
		if (run_start > i) {
			r = add_raw(s, p + i, run_start - i);
			if (r < 0)
				return r;
		}
		if (run_start < len) {
			r = add_zeros(s, run_end - run_start);
			if (r < 0)
				return r;
		}
		i = run_end;
	}
	return 0;
}

int st_tar_split_add_file(struct st_tar_split *s, struct st_node *node, uint64_t size, const char *name)
{
	size_t nl = strnlen(name, ST_TAR_SPLIT_NAME_MAX);
	int r;

	if (size == 0 || nl == 0)
		return -EINVAL;
	r = reserve(s, 1 + 8 + ST_DIGEST_SIZE + 2 + nl);
	if (r < 0)
		return r;
	if (GROW(s->refs, s->cap_refs, s->n_refs + 1) < 0)
		return -ENOMEM;
	s->last_seg = s->len;
	s->data[s->len] = ST_TAR_SPLIT_FILE;
	put_le(s->data + s->len + 1, size, 8);
	memset(s->data + s->len + 9, 0, ST_DIGEST_SIZE);
	s->refs[s->n_refs++] = (struct st_tar_split_ref){ .at = s->len + 9, .node = node };
	put_le(s->data + s->len + 9 + ST_DIGEST_SIZE, nl, 2);
	memcpy(s->data + s->len + 11 + ST_DIGEST_SIZE, name, nl);
	s->len += 11 + ST_DIGEST_SIZE + nl;
	s->stream_len += size;
	return 0;
}

int st_tar_split_finish(struct st_tar_split *s)
{
	int r;

	for (size_t i = 0; i < s->n_refs; i++) {
		const struct st_node *n = s->refs[i].node;
		uint64_t size = get_le(s->data + s->refs[i].at - 8, 8);

		if (!n->has_digest || n->content || n->size != size)
			return st_errf(-EUCLEAN, "tar-split: the file of member '%.*s' has no object of %" PRIu64 " bytes",
				       (int)get_le(s->data + s->refs[i].at + ST_DIGEST_SIZE, 2),
				       (const char *)s->data + s->refs[i].at + ST_DIGEST_SIZE + 2, size);
		memcpy(s->data + s->refs[i].at, n->digest, ST_DIGEST_SIZE);
	}
	free(s->refs);
	s->refs = NULL;
	s->n_refs = s->cap_refs = 0;
	r = reserve(s, 9);
	if (r < 0)
		return r;
	s->data[s->len] = ST_TAR_SPLIT_END;
	put_le(s->data + s->len + 1, s->stream_len, 8);
	s->len += 9;
	s->last_seg = SIZE_MAX;
	return 0;
}

int st_tar_split_iter_init(struct st_tar_split_iter *it, const void *buf, size_t len)
{
	*it = (struct st_tar_split_iter){ .buf = buf, .len = len };
	if (len < ST_TAR_SPLIT_MAGIC_LEN || memcmp(buf, ST_TAR_SPLIT_MAGIC, ST_TAR_SPLIT_MAGIC_LEN) != 0)
		return st_errf(-EUCLEAN, "not a tar-split record (no magic)");
	it->pos = ST_TAR_SPLIT_MAGIC_LEN;
	return 0;
}

#define bad(it, fmt, ...) st_errf(-EUCLEAN, "tar-split record, offset %zu: " fmt, (it)->pos, ##__VA_ARGS__)

int st_tar_split_next(struct st_tar_split_iter *it, struct st_tar_split_seg *ret)
{
	const uint8_t *p = it->buf + it->pos;
	size_t left = it->len - it->pos;
	uint64_t n;

	if (it->ended)
		return 0;
	if (left == 0)
		return bad(it, "the record ends without its end segment");
	*ret = (struct st_tar_split_seg){ .tag = p[0] };
	switch (p[0]) {
	case ST_TAR_SPLIT_RAW:
		if (left < 5)
			return bad(it, "a bytes segment cut short");
		n = get_le(p + 1, 4);
		if (n == 0 || n > ST_TAR_SPLIT_RAW_MAX || n > left - 5)
			return bad(it, "a bytes segment of %" PRIu64 " bytes (at most %u, %zu left)", n,
				   ST_TAR_SPLIT_RAW_MAX, left - 5);
		ret->data = p + 5;
		ret->len = n;
		it->pos += 5 + (size_t)n;
		break;
	case ST_TAR_SPLIT_ZERO:
		if (left < 9)
			return bad(it, "a zeros segment cut short");
		n = get_le(p + 1, 8);
		if (n == 0 || n > ST_TAR_SPLIT_STREAM_MAX)
			return bad(it, "a zeros segment of %" PRIu64 " bytes", n);
		ret->len = n;
		it->pos += 9;
		break;
	case ST_TAR_SPLIT_FILE: {
		size_t nl;

		if (left < 11 + ST_DIGEST_SIZE)
			return bad(it, "a file segment cut short");
		n = get_le(p + 1, 8);
		nl = (size_t)get_le(p + 9 + ST_DIGEST_SIZE, 2);
		if (n == 0 || n > ST_TAR_SPLIT_STREAM_MAX)
			return bad(it, "a file of %" PRIu64 " bytes", n);
		if (nl == 0 || nl > ST_TAR_SPLIT_NAME_MAX || nl > left - 11 - ST_DIGEST_SIZE)
			return bad(it, "a file name of %zu bytes", nl);
		if (memchr(p + 11 + ST_DIGEST_SIZE, 0, nl))
			return bad(it, "a file name with a NUL byte");
		ret->len = n;
		ret->digest = p + 9;
		ret->name = (const char *)p + 11 + ST_DIGEST_SIZE;
		ret->name_len = nl;
		it->pos += 11 + ST_DIGEST_SIZE + nl;
		break;
	}
	case ST_TAR_SPLIT_END:
		if (left != 9)
			return bad(it, "the end segment is not the record's last 9 bytes");
		n = get_le(p + 1, 8);
		if (n != it->covered)
			return bad(it, "the end says %" PRIu64 " bytes, the segments make %" PRIu64, n, it->covered);
		it->pos += 9;
		it->ended = true;
		ret->len = n;
		return 0;
	default:
		return bad(it, "unknown segment 0x%02x", p[0]);
	}
	if (ret->len > ST_TAR_SPLIT_STREAM_MAX - it->covered)
		return bad(it, "the segments make more than %" PRIu64 " bytes", ST_TAR_SPLIT_STREAM_MAX);
	it->covered += ret->len;
	return 1;
}
