/* SPDX-License-Identifier: MIT */
/* Unit tests for the dumpfile parser and printer. */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/test.h"
#include "dump-escape.h"
#include "sealtree/dump.h"
#include "tree-internal.h"

#define ROOT "/ 4096 40755 2 0 0 0 0.0 - - -\n"
#define DIGEST "35d02f81325122d77ec1d11baba655bc9bf8a891ab26119a41c50fa03ddfb408"
#define STRICT ST_DUMP_PARSE_STRICT

static int parse(const char *s, unsigned flags, struct st_node **ret)
{
	return st_dump_parse_buffer(s, strlen(s), flags, ret);
}

static char *print(const struct st_node *root)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	if (st_dump_print(f, root) < 0) {
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	return buf;
}

/* Parse s, print it, and compare with expect (NULL: s itself). */
static void check_roundtrip(const char *s, const char *expect)
{
	struct st_node *root = NULL;
	char *out;

	ASSERT_OK(parse(s, STRICT, &root));
	out = print(root);
	st_node_free(root);
	ASSERT_TRUE(out);
	if (strcmp(out, expect ? expect : s) != 0) {
		fprintf(stderr, "input:\n%s\nprinted:\n%s\nexpected:\n%s\n", s, out, expect ? expect : s);
		free(out);
		TEST_FAIL_("%s", "round trip differs");
	}
	free(out);
}

/* Parsing must fail with err and a detail containing "line N:" and needle. */
static void check_fails(const char *s, unsigned flags, int err, unsigned line, const char *needle)
{
	struct st_node *root = NULL;
	char where[32];
	const char *detail;
	int r = parse(s, flags, &root);

	if (r >= 0) {
		st_node_free(root);
		TEST_FAIL_("parse of '%.200s' succeeded, expected %d", s, err);
	}
	detail = st_error_detail();
	(void)snprintf(where, sizeof(where), "line %u:", line);
	if (r != err || !detail || !strstr(detail, where) || !strstr(detail, needle))
		TEST_FAIL_("parse of '%.200s': got %d '%s', expected %d '%s ... %s'", s, r, detail ? detail : "(null)",
			   err, where, needle);
}

static void check_ok(const char *s, unsigned flags)
{
	struct st_node *root = NULL;

	ASSERT_OK(parse(s, flags, &root));
	st_node_free(root);
}

static struct st_node *lookup(struct st_node *root, const char *path)
{
	struct st_node *n = root;

	while (n && *path) {
		size_t len;
		path += strspn(path, "/");
		len = strcspn(path, "/");
		if (len == 0)
			break;
		n = node_lookup_child(n, path, len);
		path += len;
	}
	return n;
}

TEST(fields_are_parsed)
{
	struct st_node *root = NULL, *n;
	const struct st_xattr *x;

	ASSERT_OK(parse("/ 4096 40755 3 1 2 0 1633950376.123 - - - user.a=b trusted.x=\\x00\\x3d\n"
			"/dir 0 40700 2 10 20 0 5.6 - - -\n"
			"/dir/file 259 100644 1 1000 1001 0 -7.999999999 35/d02f - " DIGEST "\n"
			"/dev 0 20600 1 0 0 1234567890123 0.0 - - -\n"
			"/link 3 120777 1 0 0 0 0.0 a\\x20b - -\n"
			"/small 5 100600 1 4294967295 0 0 0.0 - h\\x00\\n\\\\y -\n",
			STRICT, &root));
	ASSERT_EQ(root->nlink, 3);
	ASSERT_EQ(root->uid, 1);
	ASSERT_EQ(root->gid, 2);
	ASSERT_EQ(root->mtime_sec, 1633950376);
	ASSERT_EQ(root->mtime_nsec, 123);
	ASSERT_EQ(root->n_xattrs, 2);
	ASSERT_STREQ(root->xattrs[0].name, "user.a");
	x = node_get_xattr(root, "trusted.x");
	ASSERT_TRUE(x && x->value_len == 2 && x->value[0] == 0 && x->value[1] == '=');

	n = lookup(root, "/dir/file");
	ASSERT_TRUE(n);
	ASSERT_EQ(n->size, 259);
	ASSERT_EQ(n->mode, 0100644);
	ASSERT_EQ(n->mtime_sec, -7);
	ASSERT_EQ(n->mtime_nsec, 999999999);
	ASSERT_STREQ(n->payload, "35/d02f");
	ASSERT_TRUE(n->has_digest && n->digest[0] == 0x35 && n->digest[31] == 0x08);
	ASSERT_TRUE(!n->content);

	n = lookup(root, "/dev");
	ASSERT_EQ(n->rdev, UINT64_C(1234567890123));
	n = lookup(root, "/link");
	ASSERT_STREQ(n->payload, "a b");
	ASSERT_EQ(n->size, 3);
	n = lookup(root, "/small");
	ASSERT_EQ(n->uid, UINT32_MAX);
	ASSERT_TRUE(n->content && n->size == 5);
	ASSERT_MEMEQ(n->content, "h\0\n\\y", 5);
	st_node_free(root);
}

TEST(print_is_byte_exact)
{
	/* Canonical form: children sorted, aliases print the target's
	 * fields, '=' escaped only in xattrs, lone '-' as \x2d. */
	check_roundtrip("/ 4096 40755 2 0 0 0 1633950376.0 - - - trusted.foo1=bar-1 user.foo2=bar-2\n"
			"/-dash 1 100644 1 0 0 0 0.0 - \\x2d -\n"
			"/a\\x20b 0 100644 2 0 0 0 0.0 \\x2d - - user.k\\x3d=v\\x3d\\n\n"
			"/blk 0 60777 1 0 0 107690 1633950376.0 - - - trusted.bar=bar-2\n"
			"/d 4096 40755 2 0 0 0 0.1 - - -\n"
			"/d/big 9000000000000000 100777 1 0 0 0 0.0 - - -\n"
			"/d/x=y 15 100777 1 0 0 0 1633950376.0 - FOOBAR\\nINAFILE\\n - user.foo=bar-2\n"
			"/hard 0 @100644 2 0 0 0 0.0 /a\\x20b - - user.k\\x3d=v\\x3d\\n\n"
			"/lnk 4 120777 1 0 0 0 -5.7 /foo - -\n"
			"/obj 300 100600 1 5 6 0 1.2 35/d02f81 - " DIGEST " user.x=\\x00\\xff\\t\\r\\\\\n",
			NULL);
}

TEST(print_extreme_numbers)
{
	check_roundtrip(ROOT "/a 18446744073709551615 20644 4294967295 4294967295 4294967295 18446744073709551615 "
			"-9223372036854775808.999999999 - - -\n"
			"/b 0 37777747777 0 0 0 0 9223372036854775807.0 - - -\n",
			NULL);
}

TEST(escapes)
{
	struct st_node *root = NULL;
	char out[64];
	size_t n;
	ssize_t m;
	const char *why = NULL;

	ASSERT_OK(parse(ROOT "/\\x41\\xaA\\xFf 0 100644 1 0 0 0 0.0 - - -\n", STRICT, &root));
	ASSERT_TRUE(lookup(root, "/A\xaa\xff"));
	st_node_free(root);

	check_fails(ROOT "/a\\q 0 100644 1 0 0 0 0.0 - - -\n", STRICT, -EINVAL, 2, "unknown backslash escape");
	check_fails(ROOT "/a\\ 0 100644 1 0 0 0 0.0 - - -\n", STRICT, -EINVAL, 2, "backslash at end");
	check_fails(ROOT "/a\\x4 0 100644 1 0 0 0 0.0 - - -\n", STRICT, -EINVAL, 2, "truncated");
	check_fails(ROOT "/a\\xzz 0 100644 1 0 0 0 0.0 - - -\n", STRICT, -EINVAL, 2, "invalid hex");
	check_fails(ROOT "/a 0 100644 1 0 0 0 0.0 - - - user.a\\z=1\n", STRICT, -EINVAL, 2, "xattr name");

	n = dump_escape("-", 1, DUMP_ESCAPE_LONE_DASH, out);
	ASSERT_EQ(n, 4);
	ASSERT_MEMEQ(out, "\\x2d", 4);
	n = dump_escape("-", 1, 0, out);
	ASSERT_TRUE(n == 1 && out[0] == '-');
	n = dump_escape("a=b \x7f\x80~!", 8, DUMP_ESCAPE_EQUAL, out);
	ASSERT_EQ(n, 20);
	ASSERT_MEMEQ(out, "a\\x3db\\x20\\x7f\\x80~!", 20);
	m = dump_unescape("\\\\\\n\\r\\t", 8, out, &why);
	ASSERT_EQ(m, 4);
	ASSERT_MEMEQ(out, "\\\n\r\t", 4);
}

TEST(structure_rejections)
{
	check_fails("", 0, -EINVAL, 1, "empty dumpfile");
	check_fails("/a 0 100644 1 0 0 0 0.0 - - -\n" ROOT, 0, -EINVAL, 1, "before the root");
	check_fails("/ 0 100644 1 0 0 0 0.0 - - -\n", 0, -EINVAL, 1, "root must be a directory");
	check_fails("/ 0 @40755 1 0 0 0 0.0 / - -\n", 0, -EINVAL, 1, "root must be a directory");
	check_fails(ROOT ROOT, 0, -EEXIST, 2, "duplicate root");
	check_fails(ROOT "// 0 40755 1 0 0 0 0.0 - - -\n", 0, -EINVAL, 2, "empty component");
	check_fails(ROOT "/a/ 0 40755 1 0 0 0 0.0 - - -\n", 0, -EINVAL, 2, "ends with '/'");
	check_fails(ROOT "/a//b 0 40755 1 0 0 0 0.0 - - -\n", 0, -EINVAL, 2, "empty component");
	check_fails(ROOT "/. 0 40755 1 0 0 0 0.0 - - -\n", 0, -EINVAL, 2, "'.' or '..'");
	check_fails(ROOT "/.. 0 40755 1 0 0 0 0.0 - - -\n", 0, -EINVAL, 2, "'.' or '..'");
	check_fails(ROOT "/x/\\x2e\\x2e 0 40755 1 0 0 0 0.0 - - -\n", 0, -EINVAL, 2, "'.' or '..'");
	check_fails(ROOT "a 0 40755 1 0 0 0 0.0 - - -\n", 0, -EINVAL, 2, "not absolute");
	check_fails(ROOT "\n", 0, -EINVAL, 2, "empty path");
	check_fails(ROOT "/a\\x00b 0 100644 1 0 0 0 0.0 - - -\n", 0, -EINVAL, 2, "NUL byte");
	{
		static const char nul[] = ROOT "/ab 0 100644 1 0 0 0 0.0 - - -\n/c\0 0 100644 1 0 0 0 0.0 - - -\n";
		struct st_node *root = NULL;
		ASSERT_ERR(st_dump_parse_buffer(nul, sizeof(nul) - 1, 0, &root), -EINVAL);
		ASSERT_TRUE(strstr(st_error_detail(), "line 3: NUL byte at column 3"));
	}
	check_fails(ROOT "/a/b 0 100644 1 0 0 0 0.0 - - -\n", 0, -ENOENT, 2, "does not exist");
	check_fails(ROOT "/a 0 100644 1 0 0 0 0.0 - - -\n/a/b 0 100644 1 0 0 0 0.0 - - -\n", 0, -ENOTDIR, 3,
		    "not a directory");
	check_fails(ROOT "/a 0 100644 1 0 0 0 0.0 - - -\n/a 0 40755 1 0 0 0 0.0 - - -\n", 0, -EEXIST, 3,
		    "duplicate path");
	check_fails(ROOT "/a 0 0 1 0 0 0 0.0 - - -\n", 0, -EINVAL, 2, "no valid file type");
	check_fails(ROOT "/a 0 170644 1 0 0 0 0.0 - - -\n", 0, -EINVAL, 2, "no valid file type");
	check_fails(ROOT "/a 0 100648 1 0 0 0 0.0 - - -\n", 0, -EINVAL, 2, "invalid MODE");
	check_fails(ROOT "/a 0 100644\n", 0, -EINVAL, 2, "invalid NLINK");

	/* 255-byte names are fine, 256 bytes are not. */
	{
		char line[700];
		(void)snprintf(line, sizeof(line), ROOT "/%0255d 0 100644 1 0 0 0 0.0 - - -\n", 7);
		check_ok(line, STRICT);
		(void)snprintf(line, sizeof(line), ROOT "/%0256d 0 100644 1 0 0 0 0.0 - - -\n", 7);
		check_fails(line, 0, -ERANGE, 2, "longer than 255");
	}
}

TEST(children_any_order_and_sorted)
{
	struct st_node *root = NULL, *d;

	/* Breadth-first, unsorted, parents only before children. */
	ASSERT_OK(parse(ROOT "/z 0 40755 1 0 0 0 0.0 - - -\n"
			"/b 0 40755 1 0 0 0 0.0 - - -\n"
			"/z/y 0 100644 1 0 0 0 0.0 - - -\n"
			"/b/c 0 40755 1 0 0 0 0.0 - - -\n"
			"/z/a 0 100644 1 0 0 0 0.0 - - -\n"
			"/b/c/d 0 100644 1 0 0 0 0.0 - - -\n"
			"/-a 0 100644 1 0 0 0 0.0 - - -\n",
			STRICT, &root));
	ASSERT_EQ(root->n_children, 3);
	ASSERT_STREQ(root->children[0]->name, "-a");
	ASSERT_STREQ(root->children[1]->name, "b");
	d = lookup(root, "/z");
	ASSERT_TRUE(d && d->n_children == 2);
	ASSERT_STREQ(d->children[0]->name, "a");
	ASSERT_TRUE(lookup(root, "/b/c/d"));
	st_node_free(root);
}

TEST(numbers)
{
	check_ok(ROOT "/a 18446744073709551615 20644 4294967295 4294967295 4294967295 18446744073709551615 "
		 "9223372036854775807.999999999 - - -\n", STRICT);
	check_ok(ROOT "/a 0 20644 1 0 0 0 -9223372036854775808.0 - - -\n", STRICT);
	check_fails(ROOT "/a 18446744073709551616 100644 1 0 0 0 0.0 - - -\n", 0, -ERANGE, 2, "SIZE");
	check_fails(ROOT "/a 0 100644 4294967296 0 0 0 0.0 - - -\n", 0, -ERANGE, 2, "NLINK");
	check_fails(ROOT "/a 0 100644 1 4294967296 0 0 0.0 - - -\n", 0, -ERANGE, 2, "UID");
	check_fails(ROOT "/a 0 100644 1 0 4294967296 0 0.0 - - -\n", 0, -ERANGE, 2, "GID");
	check_fails(ROOT "/a 0 20644 1 0 0 18446744073709551616 0.0 - - -\n", 0, -ERANGE, 2, "RDEV");
	check_fails(ROOT "/a 0 100644 1 0 0 0 9223372036854775808.0 - - -\n", 0, -ERANGE, 2, "MTIME");
	check_fails(ROOT "/a 0 100644 1 0 0 0 0.1000000000 - - -\n", 0, -ERANGE, 2, "MTIME");
	check_fails(ROOT "/a 0 40000000000 1 0 0 0 0.0 - - -\n", 0, -ERANGE, 2, "MODE");
	/* The reference only notices GID/RDEV errors when UID is 0. */
	check_fails(ROOT "/a 0 100644 1 5 x 0 0.0 - - -\n", 0, -EINVAL, 2, "invalid GID");
	check_fails(ROOT "/a 0 100644 1 5 0 -1 0.0 - - -\n", 0, -EINVAL, 2, "invalid RDEV");
	check_fails(ROOT "/a +1 100644 1 0 0 0 0.0 - - -\n", 0, -EINVAL, 2, "invalid SIZE");
	check_fails(ROOT "/a 0 100644 1 0 0 0 0 - - -\n", 0, -EINVAL, 2, "SECONDS.NANOSECONDS");
	check_fails(ROOT "/a 0 100644 1 0 0 0 5. - - -\n", 0, -EINVAL, 2, "invalid MTIME");
	check_fails(ROOT "/a 0 100644 1 0 0 0 .5 - - -\n", 0, -EINVAL, 2, "invalid MTIME");
	check_fails(ROOT "/a 0 100644 1 0 0 0 - - - -\n", 0, -EINVAL, 2, "MTIME");
}

TEST(content_and_digest)
{
	char *line = malloc(11000);

	ASSERT_TRUE(line);
	/* CONTENT up to 5000 bytes, and exactly SIZE of them. */
	(void)snprintf(line, 11000, ROOT "/a 5000 100644 1 0 0 0 0.0 - %05000d -\n", 1);
	check_ok(line, STRICT);
	(void)snprintf(line, 11000, ROOT "/a 5001 100644 1 0 0 0 0.0 - %05001d -\n", 1);
	check_fails(line, 0, -ERANGE, 2, "exceeds the inline maximum");
	free(line);
	check_fails(ROOT "/a 3 100644 1 0 0 0 0.0 - ab -\n", 0, -EINVAL, 2, "CONTENT has 2 bytes but SIZE is 3");
	check_fails(ROOT "/a 1 100644 1 0 0 0 0.0 - \\x2 -\n", 0, -EINVAL, 2, "CONTENT");

	/* DIGEST: exactly 64 hex digits (the reference reads past short ones). */
	check_fails(ROOT "/a 5 100644 1 0 0 0 0.0 x - 00\n", 0, -EINVAL, 2, "not 64 hex digits");
	check_fails(ROOT "/a 5 100644 1 0 0 0 0.0 x - " DIGEST "0\n", 0, -EINVAL, 2, "not 64 hex digits");
	check_fails(ROOT "/a 5 100644 1 0 0 0 0.0 x - 35d02f81325122d77ec1d11baba655bc9bf8a891ab26119a41c50fa03ddfb40g\n",
		    0, -EINVAL, 2, "not 64 hex digits");
	check_ok(ROOT "/a 5 100644 1 0 0 0 0.0 - - " DIGEST "\n", STRICT);

	/* Files needing more than 1024 chunks of 2^43 bytes are refused. */
	check_ok(ROOT "/a 9007199254740992 100644 1 0 0 0 0.0 - - -\n", STRICT);
	check_fails(ROOT "/a 9007199254740993 100644 1 0 0 0 0.0 - - -\n", 0, -EFBIG, 2, "1024 chunks");
	check_ok(ROOT "/a 9007199254740993 20644 1 0 0 0 0.0 - - -\n", STRICT);

	/* Content on non-regular files is ignored, as by the reference. */
	{
		struct st_node *root = NULL;
		ASSERT_OK(parse(ROOT "/f 2 10644 1 0 0 0 0.0 - ab -\n", STRICT, &root));
		ASSERT_TRUE(!root->children[0]->content && root->children[0]->size == 2);
		st_node_free(root);
		ASSERT_OK(parse(ROOT "/f 0 100644 1 0 0 0 0.0 - - -\n/g 0 100644 1 0 0 0 0.0 - - -\n", STRICT, &root));
		ASSERT_TRUE(!root->children[0]->content);
		st_node_free(root);
	}
}

TEST(symlinks)
{
	char *line = malloc(9000);
	struct st_node *root = NULL;

	ASSERT_TRUE(line);
	check_fails(ROOT "/l 0 120777 1 0 0 0 0.0 - - -\n", 0, -EINVAL, 2, "symlink without a target");
	check_fails(ROOT "/l 0 120777 1 0 0 0 0.0 a\\x00b - -\n", 0, -EINVAL, 2, "NUL byte");
	/* Strict: SIZE must be the target length, no CONTENT, RDEV 0. */
	check_fails(ROOT "/l 5 120777 1 0 0 0 0.0 abc - -\n", STRICT, -EINVAL, 2, "differs from its target");
	check_fails(ROOT "/l 3 120777 1 0 0 0 0.0 abc abc -\n", STRICT, -EINVAL, 2, "symlink with CONTENT");
	check_fails(ROOT "/f 0 100644 1 0 0 7 0.0 - - -\n", STRICT, -EINVAL, 2, "not a device");
	/* Not strict: SIZE is replaced by the target length, RDEV dropped. */
	ASSERT_OK(parse(ROOT "/l 5 120777 1 0 0 7 0.0 abc - -\n", 0, &root));
	ASSERT_EQ(root->children[0]->size, 3);
	ASSERT_EQ(root->children[0]->rdev, 0);
	st_node_free(root);

	(void)snprintf(line, 9000, ROOT "/l 4095 120777 1 0 0 0 0.0 %04095d - -\n", 1);
	check_ok(line, STRICT);
	(void)snprintf(line, 9000, ROOT "/l 4096 120777 1 0 0 0 0.0 %04096d - -\n", 1);
	check_fails(line, 0, -ERANGE, 2, "longer than 4095");
	free(line);
}

TEST(trailing_newline)
{
	check_fails(ROOT "/a 0 100644 1 0 0 0 0.0 - - -", STRICT, -EINVAL, 2, "missing newline");
	check_ok(ROOT "/a 0 100644 1 0 0 0 0.0 - - -", 0);
	check_fails(ROOT "\n", 0, -EINVAL, 2, "empty path");
	/* A single space after DIGEST is accepted (no xattrs follow). */
	check_ok(ROOT "/a 0 100644 1 0 0 0 0.0 - - - \n", STRICT);
}

TEST(xattrs)
{
	size_t n = 70000;
	char *line = malloc(n);
	struct st_node *root = NULL;
	int len;

	ASSERT_TRUE(line);
	check_fails(ROOT "/a 0 100644 1 0 0 0 0.0 - - - user.a\n", 0, -EINVAL, 2, "has no '='");
	check_fails(ROOT "/a 0 100644 1 0 0 0 0.0 - - - =v\n", 0, -EINVAL, 2, "empty xattr name");
	check_fails(ROOT "/a 0 100644 1 0 0 0 0.0 - - - a=1  b=2\n", 0, -EINVAL, 2, "has no '='");
	check_fails(ROOT "/a 0 100644 1 0 0 0 0.0 - - - user.\\x00=1\n", 0, -EINVAL, 2, "NUL byte");

	/* The value split is at the first raw '='; later ones are data. */
	ASSERT_OK(parse(ROOT "/a 0 100644 1 0 0 0 0.0 - - - user.a=b=c user.b=\n", STRICT, &root));
	ASSERT_EQ(root->children[0]->n_xattrs, 2);
	ASSERT_TRUE(root->children[0]->xattrs[0].value_len == 3 && root->children[0]->xattrs[0].value[1] == '=');
	ASSERT_EQ(root->children[0]->xattrs[1].value_len, 0);
	st_node_free(root);
	/* A repeated name is ambiguous (the reference keeps the last): refused. */
	check_fails(ROOT "/a 0 100644 1 0 0 0 0.0 - - - user.a=1 user.b=2 user.a=3\n", 0, -EINVAL, 2,
		    "duplicate xattr 'user.a'");
	/* Many xattrs on one line: duplicates are found through the hash set. */
	len = snprintf(line, n, ROOT "/a 0 100644 1 0 0 0 0.0 - - -");
	for (int i = 0; i < 2000; i++)
		len += snprintf(line + len, n - (size_t)len, " u%d=", i);
	len += snprintf(line + len, n - (size_t)len, "\n");
	ASSERT_OK(parse(line, STRICT, &root));
	ASSERT_EQ(root->children[0]->n_xattrs, 2000);
	st_node_free(root);
	(void)snprintf(line + len - 1, n - (size_t)len + 1, " u1999=x\n");
	check_fails(line, 0, -EINVAL, 2, "duplicate xattr 'u1999'");

	/* Names up to 255 bytes. */
	len = snprintf(line, n, ROOT "/a 0 100644 1 0 0 0 0.0 - - - user.%0250d=x\n", 1);
	check_ok(line, STRICT);
	len = snprintf(line, n, ROOT "/a 0 100644 1 0 0 0 0.0 - - - user.%0251d=x\n", 1);
	check_fails(line, 0, -ERANGE, 2, "longer than 255");

	/* Budget: 12 + 7 + name + value <= 32767 for a single xattr. */
	len = snprintf(line, n, ROOT "/a 0 100644 1 0 0 0 0.0 - - - user.a=%032742d\n", 1);
	check_ok(line, STRICT);
	len = snprintf(line, n, ROOT "/a 0 100644 1 0 0 0 0.0 - - - user.a=%032743d\n", 1);
	check_fails(line, 0, -ERANGE, 2, "budget");

	/* At most 65535 bytes of xattr text per line (escapes count). */
	len = snprintf(line, n, ROOT "/a 0 100644 1 0 0 0 0.0 - - - user.a=");
	for (int i = 0; i < 16384; i++)
		len += snprintf(line + len, n - (size_t)len, "\\x00");
	(void)snprintf(line + len, n - (size_t)len, "\n");
	check_fails(line, 0, -ERANGE, 2, "more than 65535");
	free(line);
}

TEST(hardlinks)
{
	struct st_node *root = NULL, *a, *b, *c;
	char *out;

	/* The target may come later; alias fields other than PAYLOAD are
	 * ignored (garbage included), the target's NLINK is kept verbatim. */
	ASSERT_OK(parse(ROOT "/a 0 @100644 x y z w 0.q /c - - user.ignored=1\n"
			"/b 0 @100644 1 0 0 0 0.0 /a - -\n"
			"/c 3 100644 7 1 2 0 4.5 - abc -\n",
			STRICT, &root));
	a = lookup(root, "/a");
	b = lookup(root, "/b");
	c = lookup(root, "/c");
	ASSERT_TRUE(a && b && c);
	ASSERT_TRUE(a->link_target == c);
	ASSERT_TRUE(b->link_target == c); /* chains are flattened */
	ASSERT_EQ(c->nlink, 7);
	ASSERT_EQ(a->n_xattrs, 0);
	out = print(root);
	ASSERT_STREQ(out, ROOT "/a 3 @100644 7 1 2 0 4.5 /c abc -\n"
			  "/b 3 @100644 7 1 2 0 4.5 /c abc -\n"
			  "/c 3 100644 7 1 2 0 4.5 - abc -\n");
	free(out);
	st_node_free(root);

	check_fails(ROOT "/a 0 @100644 1 0 0 0 0.0 /a - -\n", 0, -EINVAL, 2, "hardlink to itself");
	check_fails(ROOT "/d 0 40755 1 0 0 0 0.0 - - -\n/a 0 @100644 1 0 0 0 0.0 /d - -\n", 0, -EINVAL, 3,
		    "hardlink to directory");
	check_fails(ROOT "/a 0 @100644 1 0 0 0 0.0 / - -\n", 0, -EINVAL, 2, "hardlink to directory");
	check_fails(ROOT "/a 0 @40755 1 0 0 0 0.0 /b - -\n", 0, -EINVAL, 2, "directory cannot be a hardlink");
	check_fails(ROOT "/a 0 @100644 1 0 0 0 0.0 - - -\n", 0, -EINVAL, 2, "without a target");
	check_fails(ROOT "/a 0 @100644 1 0 0 0 0.0 /nope - -\n", 0, -ENOENT, 2, "does not exist");
	check_fails(ROOT "/a 0 @100644 1 0 0 0 0.0 nope - -\n", 0, -EINVAL, 2, "not absolute");
	check_fails(ROOT "/a 0 @100644\n", 0, -EINVAL, 2, "hardlink target");
	check_fails(ROOT "/a 0 @0 1 0 0 0 0.0 /b - -\n", 0, -EINVAL, 2, "no valid file type");
	check_fails(ROOT "/a 0 @100644 1 0 0 0 0.0 /b - -\n/b 0 @100644 1 0 0 0 0.0 /c - -\n"
			 "/c 0 @100644 1 0 0 0 0.0 /a - -\n",
		    0, -ELOOP, 2, "cycle");
	check_fails(ROOT "/a 0 @100644 1 0 0 0 0.0 /b - -\n/a/x 0 100644 1 0 0 0 0.0 - - -\n", 0, -ENOTDIR, 3,
		    "not a directory");
}

TEST(long_alias_chain_is_linear)
{
	size_t n = 20000, cap = n * 48 + 64, len;
	char *buf = malloc(cap);
	struct st_node *root = NULL;

	ASSERT_TRUE(buf);
	len = (size_t)snprintf(buf, cap, ROOT);
	/* /l0 -> /l1 -> ... -> /lN-1 -> /t, listed first to last. */
	for (size_t i = 0; i + 1 < n; i++)
		len += (size_t)snprintf(buf + len, cap - len, "/l%zu 0 @100644 1 0 0 0 0.0 /l%zu - -\n", i, i + 1);
	len += (size_t)snprintf(buf + len, cap - len, "/l%zu 0 @100644 1 0 0 0 0.0 /t - -\n", n - 1);
	len += (size_t)snprintf(buf + len, cap - len, "/t 0 100644 1 0 0 0 0.0 - - -\n");
	ASSERT_OK(st_dump_parse_buffer(buf, len, STRICT, &root));
	ASSERT_TRUE(lookup(root, "/l0")->link_target == lookup(root, "/t"));
	st_node_free(root);
	free(buf);
}

TEST(depth_cap)
{
	size_t cap = (size_t)2100 * (2 * 2100 + 40), len;
	char *buf = malloc(cap);
	char *path = malloc(2 * 2100 + 2);
	struct st_node *root = NULL;
	size_t plen = 0;
	int r;

	ASSERT_TRUE(buf && path);
	len = (size_t)snprintf(buf, cap, ROOT);
	for (int i = 0; i < 2049; i++) {
		path[plen++] = '/';
		path[plen++] = 'd';
		len += (size_t)snprintf(buf + len, cap - len, "%.*s 0 40755 1 0 0 0 0.0 - - -\n", (int)plen, path);
		ASSERT_TRUE(len < cap);
	}
	r = st_dump_parse_buffer(buf, len, STRICT, &root);
	ASSERT_EQ(r, -ERANGE);
	ASSERT_TRUE(strstr(st_error_detail(), "line 2050:"));
	/* One level less is fine. */
	len -= (size_t)plen + strlen(" 0 40755 1 0 0 0 0.0 - - -\n");
	ASSERT_OK(st_dump_parse_buffer(buf, len, STRICT, &root));
	st_node_free(root);
	free(buf);
	free(path);
}

TEST(parse_fd_and_print_errors)
{
	static const char dump[] = ROOT "/a 2 100644 1 0 0 0 0.0 - hi -\n";
	struct st_node *root = NULL;
	int fds[2];
	FILE *full;

	/* A pipe: no size known in advance. */
	ASSERT_OK(pipe2(fds, O_CLOEXEC));
	ASSERT_EQ(write(fds[1], dump, sizeof(dump) - 1), (ssize_t)sizeof(dump) - 1);
	close(fds[1]);
	ASSERT_OK(st_dump_parse_fd(fds[0], STRICT, &root));
	close(fds[0]);
	ASSERT_TRUE(root && root->n_children == 1 && root->children[0]->content);

	/* A stream that cannot be written reports it. */
	full = fopen("/dev/full", "we");
	if (full) {
		ASSERT_ERR(st_dump_print(full, root), -EIO);
		fclose(full);
	}
	st_node_free(root);

	/* Unknown flags are refused. */
	ASSERT_ERR(st_dump_parse_buffer(dump, sizeof(dump) - 1, 1u << 7, &root), -EINVAL);
}

static char *read_file(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0;
	FILE *m;
	char chunk[65536];
	size_t n;

	if (!f)
		return NULL;
	m = open_memstream(&buf, &len);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, m);
	fclose(f);
	fclose(m);
	*ret_len = len;
	return buf;
}

TEST(reference_assets)
{
	const char *assets = getenv("ASSETS_DIR");
	char dir[4096];
	struct dirent *de;
	unsigned failed = 0, passed = 0;
	DIR *d;

	if (!assets)
		TEST_SKIP("ASSETS_DIR is not set");
	(void)snprintf(dir, sizeof(dir), "%s/composefs", assets);
	d = opendir(dir);
	if (!d)
		TEST_FAIL_("no assets in %s", dir);
	while ((de = readdir(d))) {
		size_t nl = strlen(de->d_name), len = 0;
		char path[8192];
		struct st_node *root = NULL;
		bool lax;
		char *buf;
		int r;

		if (nl < 5 || strcmp(de->d_name + nl - 5, ".dump") != 0)
			continue;
		(void)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		buf = read_file(path, &len);
		ASSERT_TRUE(buf);
		/* A git symlink checked out as a file holds the target's name. */
		if (len < 256 && !memchr(buf, '\n', len) && !memchr(buf, ' ', len) && !memchr(buf, '/', len)) {
			(void)snprintf(path, sizeof(path), "%s/%.*s", dir, (int)len, buf);
			free(buf);
			buf = read_file(path, &len);
			ASSERT_TRUE(buf);
		}
		/* The reference suite parses these three without CFS_PARSE_STRICT. */
		lax = strstr(de->d_name, "no-newline") || strstr(de->d_name, "longlink");
		r = st_dump_parse_buffer(buf, len, lax ? 0 : STRICT, &root);
		if (strncmp(de->d_name, "should-fail-", 12) == 0) {
			if (r >= 0 || !st_error_detail() || !strstr(st_error_detail(), "line ")) {
				fprintf(stderr, "%s: expected a failure naming a line, got %d\n", de->d_name, r);
				st_node_free(root);
				free(buf);
				closedir(d);
				TEST_FAIL_("%s", de->d_name);
			}
			failed++;
		} else {
			if (r < 0) {
				fprintf(stderr, "%s: %s\n", de->d_name, st_error_message(r));
				free(buf);
				closedir(d);
				TEST_FAIL_("%s", de->d_name);
			}
			passed++;
		}
		st_node_free(root);
		free(buf);
	}
	closedir(d);
	ASSERT_TRUE(failed >= 14);
	ASSERT_TRUE(passed >= 9);
}

TEST_MAIN()
