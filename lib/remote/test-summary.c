/* SPDX-License-Identifier: MIT */
/* The summary: canonical form, refusals, signatures; remote names and URLs. */
#include <string.h>

#include "basic/test.h"
#include "sealtree/remote.h"

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int parse_str(const char *s)
{
	struct st_summary *sum = NULL;
	int r = st_summary_parse(s, strlen(s), &sum);

	st_summary_free(sum);
	return r;
}

TEST(roundtrip)
{
	const char *text = "sealtree-summary 1\ntimestamp 5\nref a " H64 " 3 v 1\nref b/c " H64 " 0\n";
	struct st_summary *s = NULL;
	char *out = NULL;
	size_t len;

	ASSERT_OK(st_summary_parse(text, strlen(text), &s));
	ASSERT_EQ(s->n_refs, (size_t)2);
	ASSERT_STREQ(s->refs[0].version, "v 1");
	ASSERT_TRUE(s->refs[1].version == NULL);
	ASSERT_EQ(s->timestamp, (int64_t)5);
	ASSERT_OK(st_summary_serialize(s, &out, &len));
	ASSERT_EQ(len, strlen(text));
	ASSERT_MEMEQ(out, text, len);
	free(out);
	st_summary_free(s);
}

TEST(refusals)
{
	ASSERT_ERR(parse_str("sealtree-summary 2\ntimestamp 1\n"), -EOPNOTSUPP);
	ASSERT_ERR(parse_str("sealtree-summary 1\n"), -EUCLEAN);
	ASSERT_ERR(parse_str("sealtree-summary 1\ntimestamp 01\n"), -EUCLEAN);
	ASSERT_ERR(parse_str("sealtree-summary 1\ntimestamp 1\nref b " H64 " 1\nref a " H64 " 1\n"), -EUCLEAN);
	ASSERT_ERR(parse_str("sealtree-summary 1\ntimestamp 1\nref a " H64 " 1\nref a " H64 " 1\n"), -EUCLEAN);
	ASSERT_ERR(parse_str("sealtree-summary 1\ntimestamp 1\nref refs/heads/a " H64 " 1\n"), -EUCLEAN);
	ASSERT_ERR(parse_str("sealtree-summary 1\ntimestamp 1\nref ../a " H64 " 1\n"), -EUCLEAN);
	ASSERT_ERR(parse_str("sealtree-summary 1\ntimestamp 1\nref a " H64 " 1 \n"), -EUCLEAN);
	ASSERT_ERR(parse_str("sealtree-summary 1\ntimestamp 1\nref a " H64 " 1"), -EUCLEAN);
	ASSERT_ERR(parse_str("sealtree-summary 1\ntimestamp 1\nref a 0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef 1\n"),
		   -EUCLEAN);
	ASSERT_ERR(parse_str("sealtree-summary 1\ntimestamp 1\nref a " H64 " 1 v\tx\n"), -EUCLEAN);
	ASSERT_ERR(parse_str("sealtree-summary 1\ntimestamp 253402300800\n"), -EUCLEAN);
}

TEST(names)
{
	ASSERT_TRUE(st_remote_name_valid("origin"));
	ASSERT_TRUE(st_remote_name_valid("a.b-c_d"));
	ASSERT_TRUE(!st_remote_name_valid(""));
	ASSERT_TRUE(!st_remote_name_valid(".hidden"));
	ASSERT_TRUE(!st_remote_name_valid("a/b"));
	ASSERT_TRUE(!st_remote_name_valid(".."));
	ASSERT_TRUE(!st_remote_name_valid("a b"));
	ASSERT_TRUE(st_remote_url_valid("http://127.0.0.1:8080/repo"));
	ASSERT_TRUE(st_remote_url_valid("file:///srv/repo"));
	ASSERT_TRUE(!st_remote_url_valid("ftp://x/"));
	ASSERT_TRUE(!st_remote_url_valid("file://host/x"));
	ASSERT_TRUE(!st_remote_url_valid("http://x/a b"));
	ASSERT_TRUE(!st_remote_url_valid("http://x/\n"));
}

TEST(signatures)
{
	const char *text = "sealtree-summary 1\ntimestamp 5\n";
	struct st_trust_store *store = NULL;
	struct st_key *key = NULL;

	ASSERT_OK(st_trust_store_new(&store));
	ASSERT_OK(st_key_generate(&key));
	ASSERT_ERR(st_summary_verify(text, strlen(text), NULL, 0, store), -EKEYREJECTED);
	ASSERT_ERR(st_summary_verify(text, strlen(text), "garbage", 7, store), -EKEYREJECTED);
	ASSERT_OK(st_trust_store_add_key(store, st_key_public_raw(key), false));
	st_key_free(key);
	st_trust_store_free(store);
}

TEST_MAIN()
