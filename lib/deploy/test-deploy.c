/* SPDX-License-Identifier: MIT */
/* Unit tests of lib/deploy: names, kargs, the entry parser, booted.json. */
#include <string.h>

#include "basic/test.h"
#include "deploy-internal.h"

TEST(os_names)
{
	ASSERT_TRUE(st_os_name_valid("debian"));
	ASSERT_TRUE(st_os_name_valid("fedora-40_x.1+b"));
	ASSERT_TRUE(!st_os_name_valid(""));
	ASSERT_TRUE(!st_os_name_valid("a/b"));
	ASSERT_TRUE(!st_os_name_valid(".."));
	ASSERT_TRUE(!st_os_name_valid(".hidden"));
	ASSERT_TRUE(!st_os_name_valid("-x"));
	ASSERT_TRUE(!st_os_name_valid("a b"));
	ASSERT_TRUE(!st_os_name_valid("a\nb"));
	ASSERT_TRUE(!st_os_name_valid("a\x01"));
	ASSERT_TRUE(st_os_name_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
	ASSERT_TRUE(!st_os_name_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

TEST(deploy_ids)
{
	static const char zero[] = "0000000000000000000000000000000000000000000000000000000000000000";
	uint8_t c[ST_COMMIT_ID_SIZE];
	unsigned serial = 99;
	char buf[100];

	snprintf(buf, sizeof(buf), "%s.0", zero);
	ASSERT_OK(deploy_id_parse(buf, c, &serial));
	ASSERT_EQ(serial, 0u);
	snprintf(buf, sizeof(buf), "%s.12", zero);
	ASSERT_OK(deploy_id_parse(buf, c, &serial));
	ASSERT_EQ(serial, 12u);
	snprintf(buf, sizeof(buf), "%s.01", zero);
	ASSERT_ERR(deploy_id_parse(buf, c, &serial), -EINVAL);
	snprintf(buf, sizeof(buf), "%s.", zero);
	ASSERT_ERR(deploy_id_parse(buf, c, &serial), -EINVAL);
	snprintf(buf, sizeof(buf), "%s.10000", zero);
	ASSERT_ERR(deploy_id_parse(buf, c, &serial), -EINVAL);
	ASSERT_ERR(deploy_id_parse("abc.0", c, &serial), -EINVAL);
}

TEST(kargs_edit)
{
	char *k = strdup("root=/dev/sda1 quiet \"dyndbg=file a.c +p\"  x=1 x=2");

	ASSERT_OK(st_kargs_check(k));
	ASSERT_EQ(st_kargs_delete(&k, "x"), 2);
	ASSERT_STREQ(k, "root=/dev/sda1 quiet \"dyndbg=file a.c +p\"");
	ASSERT_EQ(st_kargs_delete(&k, "nothing"), 0);
	ASSERT_OK(st_kargs_append(&k, "console=\"ttyS0 115200\""));
	ASSERT_STREQ(k, "root=/dev/sda1 quiet \"dyndbg=file a.c +p\" console=\"ttyS0 115200\"");
	ASSERT_OK(st_kargs_replace(&k, "root=/dev/vda2"));
	ASSERT_STREQ(k, "root=/dev/vda2 quiet \"dyndbg=file a.c +p\" console=\"ttyS0 115200\"");
	ASSERT_OK(st_kargs_replace(&k, "new=1"));
	ASSERT_STREQ(k, "root=/dev/vda2 quiet \"dyndbg=file a.c +p\" console=\"ttyS0 115200\" new=1");
	ASSERT_EQ(st_kargs_delete(&k, "quiet"), 1);
	ASSERT_EQ(st_kargs_delete(&k, "\"dyndbg=file a.c +p\""), 1);
	ASSERT_STREQ(k, "root=/dev/vda2 console=\"ttyS0 115200\" new=1");
	ASSERT_ERR(st_kargs_append(&k, "a\nb"), -EINVAL);
	ASSERT_ERR(st_kargs_append(&k, "unbalanced=\"x"), -EINVAL);
	ASSERT_ERR(st_kargs_append(&k, "sealtree=x/y"), -EINVAL);
	ASSERT_ERR(st_kargs_append(&k, "sealtree"), -EINVAL);
	ASSERT_STREQ(k, "root=/dev/vda2 console=\"ttyS0 115200\" new=1");
	free(k);
}

TEST(options_split)
{
	char *kargs = NULL, *value = NULL;

	ASSERT_OK(kargs_split_options("a  \"b c\" sealtree=os/id", &kargs, &value));
	ASSERT_STREQ(kargs, "a  \"b c\"");
	ASSERT_STREQ(value, "os/id");
	free(kargs);
	free(value);
	ASSERT_OK(kargs_split_options("sealtree=os/id", &kargs, &value));
	ASSERT_STREQ(kargs, "");
	free(kargs);
	free(value);
	ASSERT_OK(kargs_split_options("a sealtree=os/id b", &kargs, &value));
	ASSERT_STREQ(kargs, "a b");
	free(kargs);
	free(value);
	ASSERT_ERR(kargs_split_options("quiet", &kargs, &value), -ENOENT);
	ASSERT_ERR(kargs_split_options("sealtree=a sealtree=b", &kargs, &value), -EUCLEAN);
}

TEST(kv_parser)
{
	static const char ok[] = "# c\ntitle A B  \n\nversion 3\noptions a b\tc\nempty\n";
	struct kv_file f = {};
	char big[KV_LINE_MAX + 10];

	ASSERT_OK(kv_parse(ok, strlen(ok), &f));
	ASSERT_EQ(f.n, (size_t)4);
	ASSERT_STREQ(kv_get(&f, "title"), "A B");
	ASSERT_STREQ(kv_get(&f, "options"), "a b\tc");
	ASSERT_STREQ(kv_get(&f, "empty"), "");
	ASSERT_TRUE(kv_get(&f, "linux") == NULL);
	kv_file_release(&f);
	ASSERT_ERR(kv_parse("Title x\n", 8, &f), -EUCLEAN);
	ASSERT_ERR(kv_parse("ti\0tle x\n", 9, &f), -EUCLEAN);
	memset(big, 'a', sizeof(big));
	ASSERT_ERR(kv_parse(big, sizeof(big), &f), -EUCLEAN);
}

TEST(booted_json)
{
	static const char j[] = "{\"version\": 1, \"os\": \"debian\", \"deployment\": \"x.0\", \"verity\": true, "
				"\"signed-by\": null, \"fallback-reason\": \"a\\\"b\\u00e9\"}";
	struct st_booted *b = NULL;

	ASSERT_OK(booted_parse(j, strlen(j), &b));
	ASSERT_STREQ(b->os, "debian");
	ASSERT_STREQ(b->deployment, "x.0");
	ASSERT_TRUE(b->verity);
	ASSERT_TRUE(b->signed_by == NULL);
	ASSERT_STREQ(b->fallback_reason, "a\"b\xc3\xa9");
	booted_free(b);
	ASSERT_ERR(booted_parse("{\"os\": {}}", 10, &b), -EUCLEAN);
	ASSERT_ERR(booted_parse("{\"os\": \"x\"} x", 13, &b), -EUCLEAN);
	ASSERT_ERR(booted_parse("{\"os\": \"\\u0000\"}", 16, &b), -EUCLEAN);
	ASSERT_ERR(booted_parse("[]", 2, &b), -EUCLEAN);
	/* The one JSON parser's rules: no duplicate key, documented types for known keys. */
#define P(lit) booted_parse(lit, sizeof(lit) - 1, &b)
	ASSERT_ERR(P("{\"os\": \"a\", \"os\": \"b\"}"), -EUCLEAN);
	ASSERT_ERR(P("{\"verity\": 1}"), -EUCLEAN);
	ASSERT_ERR(P("{\"commit\": 7}"), -EUCLEAN);
	ASSERT_ERR(P("{\"os\": \"\xff\"}"), -EUCLEAN);
	/* Unknown keys, nested or not, are a newer prepare-root's: ignored. UTF-8 and \u escapes decode. */
	ASSERT_OK(P("{\"os\": \"d\u00e9bian\", \"root\": \"\xc3\xa9\", \"x\": {\"y\": [1, null]}, \"verity\": null}"));
	ASSERT_STREQ(b->os, "d\xc3\xa9" "bian");
	ASSERT_STREQ(b->root, "\xc3\xa9");
	ASSERT_TRUE(!b->verity);
	booted_free(b);
#undef P
}

TEST_MAIN()
