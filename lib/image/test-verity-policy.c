/* SPDX-License-Identifier: MIT */
/*
 * The verity policy: strict parsing of both forms, applying a policy to a
 * tree, and the check an image's claimed policy must pass (the writer's
 * output, read back, passes; an image that claims a policy and lacks a
 * digest under a prefix does not).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "basic/error.h"
#include "basic/test.h"
#include "sealtree/dump.h"
#include "sealtree/image.h"
#include "sealtree/verity-policy.h"
#include "tree/tree-internal.h"

#define D1 "1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "3333333333333333333333333333333333333333333333333333333333333333"
#define D4 "4444444444444444444444444444444444444444444444444444444444444444"
#define R1 "11111111111111111111111111111111111111111111111111111111111111"
#define R2 "22222222222222222222222222222222222222222222222222222222222222"
#define R3 "33333333333333333333333333333333333333333333333333333333333333"
#define R4 "44444444444444444444444444444444444444444444444444444444444444"

static int parse(const char *s, unsigned flags, struct st_verity_policy **ret)
{
	return st_verity_policy_parse(s, strlen(s), flags, ret);
}

static void expect_refused(const char *s, unsigned flags, const char *detail)
{
	struct st_verity_policy *p = NULL;

	st_error_clear();
	ASSERT_ERR(parse(s, flags, &p), flags ? -EUCLEAN : -EINVAL);
	ASSERT_TRUE(p == NULL);
	ASSERT_TRUE(st_error_detail() && strstr(st_error_detail(), detail));
}

TEST(parse_user_file)
{
	struct st_verity_policy *p = NULL;
	char *s = NULL;
	size_t len;

	ASSERT_OK(parse("# digests for code\n/usr/lib\n\n/usr/bin\n/etc/ssl", 0, &p));
	ASSERT_EQ(st_verity_policy_count(p), 3u);
	ASSERT_STREQ(st_verity_policy_prefix(p, 0), "/etc/ssl");
	ASSERT_STREQ(st_verity_policy_prefix(p, 2), "/usr/lib");
	ASSERT_TRUE(st_verity_policy_prefix(p, 3) == NULL);
	ASSERT_TRUE(st_verity_policy_covers(p, "/usr/lib"));
	ASSERT_TRUE(st_verity_policy_covers(p, "/usr/lib/x/y"));
	ASSERT_TRUE(!st_verity_policy_covers(p, "/usr/lib64/x"));
	ASSERT_TRUE(!st_verity_policy_covers(p, "/usr"));
	ASSERT_TRUE(!st_verity_policy_covers(p, "usr/lib/x"));
	ASSERT_OK(st_verity_policy_serialize(p, &s, &len));
	ASSERT_EQ(len, strlen("sealtree-verity-policy 1\n/etc/ssl\n/usr/bin\n/usr/lib\n"));
	ASSERT_MEMEQ(s, "sealtree-verity-policy 1\n/etc/ssl\n/usr/bin\n/usr/lib\n", len);
	st_verity_policy_free(p);
	p = NULL;
	ASSERT_OK(st_verity_policy_parse(s, len, ST_VERITY_POLICY_STORED, &p));
	ASSERT_EQ(st_verity_policy_count(p), 3u);
	free(s);
	st_verity_policy_free(p);

	ASSERT_OK(parse("/\n", 0, &p));
	ASSERT_TRUE(st_verity_policy_covers(p, "/anything/at/all"));
	st_verity_policy_free(p);
}

TEST(parse_refusals)
{
	expect_refused("", 0, "lists no path prefix");
	expect_refused("# only a comment\n\n", 0, "lists no path prefix");
	expect_refused("usr/bin\n", 0, "line 1: 'usr/bin' is not an absolute path");
	expect_refused("/usr/bin\n/usr//lib\n", 0, "line 2: '/usr//lib' has an empty component");
	expect_refused("/usr/./lib\n", 0, "'.' or '..' component");
	expect_refused("/usr/..\n", 0, "'.' or '..' component");
	expect_refused("/usr/lib/\n", 0, "ends with '/'");
	expect_refused("/usr/lib \n", 0, "white space");
	expect_refused(" /usr/lib\n", 0, "white space");
	expect_refused("/usr/lib\r\n", 0, "white space");
	expect_refused("/usr/l\tb\n", 0, "control character");
	expect_refused("/usr/bin\n/usr/bin\n", 0, "line 2: '/usr/bin' is given twice (line 1)");
	expect_refused("/usr/lib\n/usr\n", 0, "line 1: '/usr/lib' lies inside '/usr' (line 2)");
	expect_refused("/a/c\n/a b\n/a\n", 0, "'/a/c' lies inside '/a'");
	expect_refused("/x\n/\n", 0, "lies inside '/'");
	expect_refused(" # not a comment\n", 0, "white space");
	{
		struct st_verity_policy *p = NULL;

		ASSERT_ERR(st_verity_policy_parse("/a\0/b\n", 6, 0, &p), -EINVAL);
		ASSERT_ERR(st_verity_policy_parse("/a", 2, 1u << 7, &p), -EINVAL);
	}
	/* The stored form: exactly what serialize writes. */
	expect_refused("/usr/bin\n", ST_VERITY_POLICY_STORED, "does not start with");
	expect_refused("sealtree-verity-policy 1\n", ST_VERITY_POLICY_STORED, "lists no path prefix");
	expect_refused("sealtree-verity-policy 1\n/usr/bin", ST_VERITY_POLICY_STORED, "does not end with a newline");
	expect_refused("sealtree-verity-policy 1\n/b\n/a\n", ST_VERITY_POLICY_STORED, "not sorted");
	expect_refused("sealtree-verity-policy 1\n/a\n/a\n", ST_VERITY_POLICY_STORED, "not sorted");
	expect_refused("sealtree-verity-policy 1\n/a\n/a/b\n", ST_VERITY_POLICY_STORED, "lies inside");
	expect_refused("sealtree-verity-policy 1\n# c\n/a\n", ST_VERITY_POLICY_STORED, "not an absolute path");
	expect_refused("sealtree-verity-policy 1\n\n/a\n", ST_VERITY_POLICY_STORED, "not an absolute path");
	{
		struct st_verity_policy *p = NULL;

		ASSERT_ERR(parse("sealtree-verity-policy 2\n/a\n", ST_VERITY_POLICY_STORED, &p), -EOPNOTSUPP);
	}
}

TEST(parse_limits)
{
	struct st_verity_policy *p = NULL;
	char *buf = malloc(70000);
	size_t off = 0;

	ASSERT_TRUE(buf);
	for (int i = 0; i <= ST_VERITY_POLICY_PREFIXES_MAX; i++)
		off += (size_t)snprintf(buf + off, 70000 - off, "/p%d\n", i);
	ASSERT_ERR(st_verity_policy_parse(buf, off, 0, &p), -EINVAL);
	memset(buf, 'a', 70000);
	buf[0] = '/';
	ASSERT_ERR(st_verity_policy_parse(buf, 5000, 0, &p), -EINVAL);  /* longer than 4095 */
	ASSERT_ERR(st_verity_policy_parse(buf, 70000, 0, &p), -EINVAL); /* the file is too large */
	free(buf);
}

static const char tree_dump[] =
	"/ 4096 40755 2 0 0 0 0.0 - - -\n"
	"/usr 4096 40755 2 0 0 0 0.0 - - -\n"
	"/usr/bin 4096 40755 2 0 0 0 0.0 - - -\n"
	"/usr/bin/tool 100 100755 1 0 0 0 0.0 11/" R1 " - " D1 "\n"
	"/usr/bin/small 3 100644 1 0 0 0 0.0 - abc -\n"
	"/usr/lib64 4096 40755 2 0 0 0 0.0 - - -\n"
	"/usr/lib64/lib.so 100 100644 2 0 0 0 0.0 22/" R2 " - " D2 "\n"
	"/usr/bin/lib-link 100 @100644 2 0 0 0 0.0 /usr/lib64/lib.so - -\n"
	"/etc 4096 40755 2 0 0 0 0.0 - - -\n"
	"/etc/conf 100 100644 1 0 0 0 0.0 33/" R3 " - " D3 "\n"
	"/data 100 100644 1 0 0 0 0.0 44/" R4 " - " D4 "\n";

struct buf {
	char *p;
	size_t len;
};

static int sink(void *userdata, const void *data, size_t len)
{
	struct buf *b = userdata;
	char *n = realloc(b->p, b->len + len);

	if (!n)
		return -ENOMEM;
	memcpy(n + b->len, data, len);
	b->p = n;
	b->len += len;
	return 0;
}

static struct st_node *write_read(struct st_node *root, unsigned read_flags)
{
	struct st_image_write_options wo = { .max_version = 1 };
	struct st_image_read_options ro = { .flags = read_flags };
	struct buf b = {};
	struct st_node *back = NULL;
	uint8_t digest[32];

	if (st_image_write(root, &wo, sink, &b, digest, NULL) < 0 || st_image_read_tree(b.p, b.len, &ro, &back, NULL) < 0)
		abort();
	free(b.p);
	return back;
}

static bool has_digest(struct st_node *root, const char *path)
{
	struct st_node *n = NULL;
	struct st_entry e;

	if (st_tree_lookup(root, path, &n) < 0)
		abort();
	st_node_get_entry(n, &e);
	return e.has_digest;
}

TEST(apply_write_read_check)
{
	struct st_verity_policy *p = NULL, *got = NULL;
	struct st_node *root = NULL, *back = NULL;

	ASSERT_OK(st_dump_parse_buffer(tree_dump, strlen(tree_dump), 0, &root));
	ASSERT_OK(parse("/usr/bin\n/nonexistent\n", 0, &p));
	ASSERT_OK(st_verity_policy_apply(root, p));
	ASSERT_TRUE(has_digest(root, "/usr/bin/tool"));
	ASSERT_TRUE(has_digest(root, "/usr/lib64/lib.so"));   /* also named /usr/bin/lib-link */
	ASSERT_TRUE(!has_digest(root, "/etc/conf"));
	ASSERT_TRUE(!has_digest(root, "/data"));

	back = write_read(root, 0);
	ASSERT_TRUE(has_digest(back, "/usr/bin/tool"));
	ASSERT_TRUE(has_digest(back, "/usr/lib64/lib.so"));
	ASSERT_TRUE(!has_digest(back, "/etc/conf"));
	ASSERT_OK(st_verity_policy_check_tree(back, &got));
	ASSERT_TRUE(got && st_verity_policy_count(got) == 2);
	ASSERT_STREQ(st_verity_policy_prefix(got, 0), "/nonexistent");
	got = st_verity_policy_free(got);
	st_node_free(back);

	/* The repository's readers learn the object from the redirect. */
	back = write_read(root, ST_IMAGE_READ_DIGEST_FROM_REDIRECT);
	ASSERT_TRUE(has_digest(back, "/etc/conf") && has_digest(back, "/data"));
	st_node_free(back);

	/* No policy: the xattr goes, nothing else changes. */
	ASSERT_OK(st_verity_policy_apply(root, NULL));
	back = write_read(root, 0);
	ASSERT_OK(st_verity_policy_check_tree(back, &got));
	ASSERT_TRUE(got == NULL);
	st_node_free(back);
	st_node_free(root);
	st_verity_policy_free(p);
}

/* An image claiming a policy it does not keep: a file under a prefix without a digest. */
TEST(check_refuses_missing_digest)
{
	static const char *const claims[] = { "/usr\n", "/usr/bin\n", "/usr/bin/tool\n", "/\n", "/usr/lib64\n",
					      "/etc\n/usr/lib64/lib.so\n" };
	struct st_verity_policy *p = NULL, *got = NULL, *claim = NULL;
	struct st_node *root = NULL, *back = NULL;

	for (size_t i = 0; i <= sizeof(claims) / sizeof(claims[0]); i++) {
		char *s = NULL;
		size_t len;

		ASSERT_OK(st_dump_parse_buffer(tree_dump, strlen(tree_dump), 0, &root));
		ASSERT_OK(parse("/etc\n", 0, &p));
		ASSERT_OK(st_verity_policy_apply(root, p));   /* digests only under /etc */
		if (i < sizeof(claims) / sizeof(claims[0])) {
			/* ... but the root says a wider policy. */
			ASSERT_OK(parse(claims[i], 0, &claim));
			ASSERT_OK(st_verity_policy_serialize(claim, &s, &len));
		} else {
			s = strdup("sealtree-verity-policy 1\n/etc\n/etc/x\n");      /* not a valid stored form */
			len = strlen(s);
		}
		ASSERT_OK(node_set_xattr(root, ST_VERITY_POLICY_XATTR, strlen(ST_VERITY_POLICY_XATTR), s, len));
		back = write_read(root, 0);
		st_error_clear();
		ASSERT_ERR(st_verity_policy_check_tree(back, &got), -EUCLEAN);
		ASSERT_TRUE(got == NULL);
		ASSERT_TRUE(strstr(st_error_detail(), i < sizeof(claims) / sizeof(claims[0]) ?
				   "carries no fs-verity digest" : "lies inside"));
		free(s);
		st_node_free(back);
		st_node_free(root);
		p = st_verity_policy_free(p);
		claim = st_verity_policy_free(claim);
	}
}

TEST_MAIN()
