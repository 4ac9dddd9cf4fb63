/* SPDX-License-Identifier: MIT */
/* The strict JSON parser: what it keeps, and every class of input it refuses. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "basic/json.h"
#include "basic/test.h"

static int parse(const char *s, struct json_value **ret)
{
	return json_parse(s, strlen(s), NULL, ret);
}

TEST(values)
{
	_cleanup_json_ struct json_value *v = NULL;
	const struct json_value *a;
	uint64_t u;
	int64_t i;

	ASSERT_OK(parse(" {\"a\": [1, -2, 3.5e2, true, false, null, \"x\\u00e9\\ud83d\\ude00\\n\"], \"b\": {}} ", &v));
	ASSERT_EQ(v->type, JSON_OBJECT);
	a = json_get(v, "a");
	ASSERT_TRUE(json_is(a, JSON_ARRAY));
	ASSERT_EQ(a->n, 7);
	ASSERT_OK(json_u64(&a->items[0], &u));
	ASSERT_EQ(u, 1);
	ASSERT_ERR(json_u64(&a->items[1], &u), -EINVAL);
	ASSERT_OK(json_i64(&a->items[1], &i));
	ASSERT_EQ(i, -2);
	ASSERT_ERR(json_u64(&a->items[2], &u), -EINVAL);
	ASSERT_EQ(a->items[3].type, JSON_TRUE);
	ASSERT_EQ(a->items[5].type, JSON_NULL);
	ASSERT_STREQ(json_string(&a->items[6]), "x\xc3\xa9\xf0\x9f\x98\x80\n");
	ASSERT_TRUE(json_is(json_get(v, "b"), JSON_OBJECT));
	ASSERT_TRUE(json_get(v, "c") == NULL);
}

TEST(integers)
{
	_cleanup_json_ struct json_value *big = NULL, *max = NULL, *min = NULL;
	uint64_t u;
	int64_t i;

	ASSERT_OK(parse("18446744073709551615", &max));
	ASSERT_OK(json_u64(max, &u));
	ASSERT_TRUE(u == UINT64_MAX);
	ASSERT_OK(parse("18446744073709551616", &big));
	ASSERT_ERR(json_u64(big, &u), -ERANGE);
	ASSERT_OK(parse("-9223372036854775808", &min));
	ASSERT_OK(json_i64(min, &i));
	ASSERT_TRUE(i == INT64_MIN);
}

TEST(refused)
{
	static const char *const bad[] = {
		"", " ", "{", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "[1 2]", "01", "-", "1.", "1e", "+1",
		".5", "NaN", "tru", "nulll", "\"abc", "\"a\\x\"", "\"\\u12\"", "\"\\u0000\"", "\"\\ud800\"",
		"\"\\udc00\"", "\"\\ud800\\u0041\"", "\"\x01\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"",
		"\"\xf4\x90\x80\x80\"", "\"\xff\"", "\xef\xbb\xbf{}", "{} {}", "{\"a\":1,\"a\":2}",
		"{\"b\":1,\"a\":2,\"b\":3}", "[1]x", "'a'", "[\"a\"\x00]",
	};

	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		struct json_value *v = NULL;
		int r = parse(bad[k], &v);

		if (r != -EUCLEAN)
			TEST_FAIL_("'%s' gave %d, expected -EUCLEAN", bad[k], r);
		ASSERT_TRUE(v == NULL);
	}
}

TEST(limits)
{
	struct json_limits lim = { .max_bytes = 64, .max_depth = 3, .max_string = 4 };
	struct json_value *v = NULL;
	char big[100];

	ASSERT_OK(json_parse("[[[1]]]", 7, &lim, &v));
	v = json_free(v);
	ASSERT_ERR(json_parse("[[[[1]]]]", 9, &lim, &v), -EUCLEAN);
	ASSERT_OK(json_parse("\"abcd\"", 6, &lim, &v));
	v = json_free(v);
	ASSERT_ERR(json_parse("\"abcde\"", 7, &lim, &v), -EUCLEAN);
	ASSERT_ERR(json_parse("\"\\u00e9\\u00e9\\u00e9\"", 20, &lim, &v), -EUCLEAN);
	memset(big, ' ', sizeof(big));
	big[0] = '1';
	ASSERT_ERR(json_parse(big, sizeof(big), &lim, &v), -E2BIG);
	ASSERT_TRUE(v == NULL);
}

TEST(deep_default)
{
	/* 100000 '[' must fail cleanly at the depth limit, never exhaust the stack. */
	size_t n = 100000;
	char *s = malloc(n);
	struct json_value *v = NULL;

	ASSERT_TRUE(s != NULL);
	memset(s, '[', n);
	ASSERT_ERR(json_parse(s, n, NULL, &v), -EUCLEAN);
	free(s);
}

TEST(many_keys)
{
	/* 50000 distinct keys, then a duplicate at the end: found, in O(n log n). */
	size_t cap = 50000 * 16 + 64, o = 0;
	char *s = malloc(cap);
	struct json_value *v = NULL;

	ASSERT_TRUE(s != NULL);
	s[o++] = '{';
	for (int k = 0; k < 50000; k++)
		o += (size_t)snprintf(s + o, cap - o, "\"k%d\":%d,", k, k);
	o += (size_t)snprintf(s + o, cap - o, "\"k7\":1}");
	ASSERT_ERR(json_parse(s, o, NULL, &v), -EUCLEAN);
	s[o - 5] = 'x';         /* "k7" becomes "kx" */
	ASSERT_OK(json_parse(s, o, NULL, &v));
	ASSERT_EQ(v->n, 50001);
	json_free(v);
	free(s);
}

TEST_MAIN()
