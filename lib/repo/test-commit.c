/* SPDX-License-Identifier: MIT */
/* Unit tests for the commit format: canonical serialization and the strict parser. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/test.h"
#include "sealtree/repo.h"

static struct st_commit_meta metas[] = {
	{ .key = "a.key", .value = "multi\nline\tvalue" },
	{ .key = "empty", .value = "" },
	{ .key = "z_last-1", .value = "\xc3\xa9t\xc3\xa9" },
};

static struct st_commit sample(void)
{
	struct st_commit c = {
		.image_version = 1,
		.has_parent = true,
		.timestamp = 1700000000,
		.version = "42.1",
		.subject = "the subject \xe2\x9c\x93",
		.body = "line one\nline two\n\nend",
		.metadata = metas,
		.n_metadata = 3,
		.image_size = 123456,
		.content_size = 987654321,
		.n_inodes = 77,
	};
	for (int i = 0; i < 32; i++) {
		c.image_digest[i] = (uint8_t)(i * 7 + 1);
		c.parent[i] = (uint8_t)(255 - i);
	}
	return c;
}

static bool same_commit(const struct st_commit *a, const struct st_commit *b)
{
	if (memcmp(a->image_digest, b->image_digest, 32) || a->image_version != b->image_version ||
	    a->has_parent != b->has_parent || (a->has_parent && memcmp(a->parent, b->parent, 32)) ||
	    a->timestamp != b->timestamp || a->image_size != b->image_size || a->content_size != b->content_size ||
	    a->n_inodes != b->n_inodes || a->n_metadata != b->n_metadata)
		return false;
#define STREQ_OR_NULL(x, y) ((!(x) && !(y)) || ((x) && (y) && strcmp((x), (y)) == 0))
	if (!STREQ_OR_NULL(a->version, b->version) || !STREQ_OR_NULL(a->subject, b->subject) ||
	    !STREQ_OR_NULL(a->body, b->body))
		return false;
	for (size_t i = 0; i < a->n_metadata; i++)
		if (strcmp(a->metadata[i].key, b->metadata[i].key) || strcmp(a->metadata[i].value, b->metadata[i].value))
			return false;
	return true;
}

TEST(roundtrip)
{
	struct st_commit c = sample(), *p = NULL;
	char *buf = NULL, *buf2 = NULL;
	size_t len, len2;

	ASSERT_OK(st_commit_serialize(&c, &buf, &len));
	ASSERT_OK(st_commit_parse(buf, len, &p));
	ASSERT_TRUE(same_commit(&c, p));
	ASSERT_OK(st_commit_serialize(p, &buf2, &len2));
	ASSERT_EQ(len, len2);
	ASSERT_MEMEQ(buf, buf2, len);
	st_commit_free(p);
	free(buf);
	free(buf2);
}

TEST(minimal_roundtrip)
{
	struct st_commit c = { .timestamp = 0 }, *p = NULL;
	char *buf = NULL;
	size_t len;

	ASSERT_OK(st_commit_serialize(&c, &buf, &len));
	ASSERT_OK(st_commit_parse(buf, len, &p));
	ASSERT_TRUE(same_commit(&c, p));
	ASSERT_TRUE(!p->version && !p->subject && !p->body && !p->has_parent);
	st_commit_free(p);
	free(buf);
}

TEST(id_is_sha256_of_bytes)
{
	uint8_t id[32];
	/* sha256("abc") */
	static const uint8_t want[32] = { 0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
					  0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
					  0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad };

	st_commit_id_of("abc", 3, id);
	ASSERT_MEMEQ(id, want, 32);
}

/* Every single-byte change of a valid commit is refused or is itself canonical. */
TEST(single_byte_mutations)
{
	struct st_commit c = sample();
	char *buf = NULL;
	size_t len;
	unsigned accepted = 0, refused = 0;

	ASSERT_OK(st_commit_serialize(&c, &buf, &len));
	for (size_t i = 0; i < len; i++) {
		char saved = buf[i];

		for (int v = 0; v < 256; v++) {
			struct st_commit *p = NULL;
			char *out = NULL;
			size_t out_len;

			if ((char)v == saved)
				continue;
			buf[i] = (char)v;
			if (st_commit_parse(buf, len, &p) < 0) {
				refused++;
				continue;
			}
			accepted++;
			ASSERT_OK(st_commit_serialize(p, &out, &out_len));
			st_commit_free(p);
			if (out_len != len || memcmp(out, buf, len) != 0)
				TEST_FAIL_("byte %zu = 0x%02x parses but serializes differently", i, v);
			free(out);
		}
		buf[i] = saved;
	}
	/* Text fields accept other letters; structure bytes refuse. */
	ASSERT_TRUE(accepted > 0);
	ASSERT_TRUE(refused > accepted);
	/* A truncation is refused, or (cut after a whole optional field) canonical itself. */
	for (size_t l = 0; l < len; l++) {
		struct st_commit *p = NULL;
		char *out = NULL;
		size_t out_len;

		if (st_commit_parse(buf, l, &p) < 0)
			continue;
		ASSERT_TRUE(buf[l - 1] == '\n');
		ASSERT_OK(st_commit_serialize(p, &out, &out_len));
		ASSERT_TRUE(out_len == l && memcmp(out, buf, l) == 0);
		st_commit_free(p);
		free(out);
	}
	free(buf);
}

static void expect_parse_fails(const char *text, int err)
{
	struct st_commit *p = NULL;
	int r = st_commit_parse(text, strlen(text), &p);

	if (r != err) {
		fprintf(stderr, "parse of:\n%s\nreturned %d (%s), expected %d\n", text, r, st_error_message(r), err);
		test_failures_++;
	}
	st_commit_free(p);
}

#define HDR "sealtree-commit 1\nimage 0000000000000000000000000000000000000000000000000000000000000000\n"
#define NUMS "image-version 0\nimage-size 0\ncontent-size 0\ninodes 0\n"

TEST(parse_rejects)
{
	struct st_commit *p = NULL;
	const char *ok = HDR NUMS "timestamp 5\n";

	ASSERT_OK(st_commit_parse(ok, strlen(ok), &p));
	st_commit_free(p);
	expect_parse_fails("sealtree-commit 2\n", -EOPNOTSUPP);
	expect_parse_fails("", -EUCLEAN);
	expect_parse_fails(HDR NUMS "timestamp 05\n", -EUCLEAN);
	expect_parse_fails(HDR NUMS "timestamp +5\n", -EUCLEAN);
	expect_parse_fails(HDR NUMS "timestamp -5\n", -EUCLEAN);
	expect_parse_fails(HDR NUMS "timestamp 5", -EUCLEAN);
	expect_parse_fails(HDR NUMS "timestamp 5\n\n", -EUCLEAN);
	expect_parse_fails(HDR NUMS "timestamp 5\nsubject \n", -EUCLEAN);
	expect_parse_fails(HDR NUMS "timestamp 5\nsubject a\rb\n", -EUCLEAN);
	expect_parse_fails(HDR NUMS "timestamp 5\nsubject \xff\n", -EUCLEAN);
	expect_parse_fails(HDR NUMS "timestamp 5\nsubject \xc0\xaf\n", -EUCLEAN);       /* overlong */
	expect_parse_fails(HDR NUMS "timestamp 5\nsubject \xed\xa0\x80\n", -EUCLEAN);   /* surrogate */
	expect_parse_fails(HDR NUMS "timestamp 5\nsubject x\nversion 1\n", -EUCLEAN);   /* order */
	expect_parse_fails(HDR NUMS "timestamp 5\nmeta b 1\nx\nmeta a 1\ny\n", -EUCLEAN);
	expect_parse_fails(HDR NUMS "timestamp 5\nmeta a 1\nx\nmeta a 1\ny\n", -EUCLEAN);
	expect_parse_fails(HDR NUMS "timestamp 5\nmeta a/b 1\nx\n", -EUCLEAN);
	expect_parse_fails(HDR NUMS "timestamp 5\nmeta a 2\nx\n", -EUCLEAN);
	expect_parse_fails(HDR NUMS "timestamp 5\nmeta a 1\nxy\n", -EUCLEAN);
	expect_parse_fails(HDR NUMS "timestamp 5\nbody 0\n\n", -EUCLEAN);
	expect_parse_fails(HDR NUMS "timestamp 5\nbody 99999999999999999999\n", -EUCLEAN);
	expect_parse_fails(HDR NUMS "timestamp 5\nbody 3\na\0b\n", -EUCLEAN);
	expect_parse_fails(HDR NUMS "parent 00\ntimestamp 5\n", -EUCLEAN);
	expect_parse_fails("sealtree-commit 1\nimage 000000000000000000000000000000000000000000000000000000000000000A\n" NUMS
			   "timestamp 5\n", -EUCLEAN);
	expect_parse_fails(HDR "image-version 2\nimage-size 0\ncontent-size 0\ninodes 0\ntimestamp 5\n", -EUCLEAN);
	expect_parse_fails(HDR NUMS "timestamp 253402300800\n", -EUCLEAN);
	expect_parse_fails(HDR NUMS "timestamp 5\nunknown x\n", -EUCLEAN);
	/* The detail names the line. */
	ASSERT_ERR(st_commit_parse(HDR NUMS "timestamp 05\n", strlen(HDR NUMS "timestamp 05\n"), &p), -EUCLEAN);
	ASSERT_TRUE(st_error_detail() && strstr(st_error_detail(), "line 7"));
}

TEST(serialize_rejects)
{
	struct st_commit c;
	struct st_commit_meta bad[2] = { { .key = "b", .value = "1" }, { .key = "a", .value = "2" } };
	char *buf = NULL;
	size_t len;

	c = sample(), c.subject = "";
	ASSERT_ERR(st_commit_serialize(&c, &buf, &len), -EINVAL);
	c = sample(), c.subject = "two\nlines";
	ASSERT_ERR(st_commit_serialize(&c, &buf, &len), -EINVAL);
	c = sample(), c.version = "\x80";
	ASSERT_ERR(st_commit_serialize(&c, &buf, &len), -EINVAL);
	c = sample(), c.body = "";
	ASSERT_ERR(st_commit_serialize(&c, &buf, &len), -EINVAL);
	c = sample(), c.timestamp = -1;
	ASSERT_ERR(st_commit_serialize(&c, &buf, &len), -EINVAL);
	c = sample(), c.image_version = 2;
	ASSERT_ERR(st_commit_serialize(&c, &buf, &len), -EINVAL);
	c = sample(), c.metadata = bad, c.n_metadata = 2;
	ASSERT_ERR(st_commit_serialize(&c, &buf, &len), -EINVAL);
	{
		/* 100 values of 64 KiB: every field within its limit, the whole over 4 MiB. */
		static struct st_commit_meta big[100];
		static char keys[100][8];
		char *value = malloc(65537);

		ASSERT_TRUE(value != NULL);
		memset(value, 'v', 65536);
		value[65536] = '\0';
		for (int i = 0; i < 100; i++) {
			snprintf(keys[i], sizeof(keys[i]), "k%03d", i);
			big[i] = (struct st_commit_meta){ .key = keys[i], .value = value };
		}
		c = sample(), c.metadata = big, c.n_metadata = 100;
		ASSERT_ERR(st_commit_serialize(&c, &buf, &len), -EINVAL);
		c.n_metadata = 50;      /* 3.2 MiB: fine, and it parses back */
		ASSERT_OK(st_commit_serialize(&c, &buf, &len));
		{
			struct st_commit *p = NULL;

			ASSERT_OK(st_commit_parse(buf, len, &p));
			st_commit_free(p);
		}
		free(buf);
		buf = NULL;
		free(value);
	}
	bad[0].key = "a b";
	c = sample(), c.metadata = bad, c.n_metadata = 1;
	ASSERT_ERR(st_commit_serialize(&c, &buf, &len), -EINVAL);
	ASSERT_TRUE(buf == NULL);
}

TEST_MAIN()
