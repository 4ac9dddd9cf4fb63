/* SPDX-License-Identifier: MIT */
/* Unit tests for st_mount_pin_name(). */
#include <stdlib.h>
#include <string.h>

#include "basic/test.h"
#include "sealtree/repo-read.h"

static void check_pin(const char *target, const char *expect)
{
	char *name = NULL;

	ASSERT_OK(st_mount_pin_name(target, &name));
	ASSERT_STREQ(name, expect);
	free(name);
}

TEST(plain_paths)
{
	check_pin("/mnt/root", "refs/mounts/mnt/root");
	check_pin("/", "refs/mounts/+2f");
	check_pin("//mnt//x/", "refs/mounts/mnt/x");
	check_pin("/a-b_c.d/E9", "refs/mounts/a-b_c.d/E9");
}

TEST(escaped_bytes)
{
	check_pin("/mnt/with space", "refs/mounts/mnt/with+20space");
	check_pin("/mnt/.hidden/a.b", "refs/mounts/mnt/+2ehidden/a.b");
	check_pin("/x+y", "refs/mounts/x+2by");
	check_pin("/\xc3\xa9t\xc3\xa9", "refs/mounts/+c3+a9t+c3+a9");
	check_pin("/a:b,c", "refs/mounts/a+3ab+2cc");
}

TEST(distinct_paths_distinct_names)
{
	char *a = NULL, *b = NULL;

	ASSERT_OK(st_mount_pin_name("/a/b", &a));
	ASSERT_OK(st_mount_pin_name("/a+2fb", &b));
	ASSERT_TRUE(strcmp(a, b) != 0);
	free(a);
	free(b);
}

TEST(long_paths_are_hashed)
{
	char path[400], *name = NULL;

	memset(path, 'x', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	ASSERT_OK(st_mount_pin_name(path, &name));
	ASSERT_TRUE(strncmp(name, "refs/mounts/+sha256-", 20) == 0);
	ASSERT_EQ(strlen(name), 20 + 64);
	ASSERT_TRUE(st_ref_name_valid(name));
	free(name);
}

/* Every pin is a ref name the repository accepts: too deep is hashed like too long. */
TEST(deep_paths_are_hashed)
{
	char path[2 * (ST_REF_DEPTH_MAX + 1) + 1], *name = NULL;
	size_t n = 0;

	for (int i = 0; i < ST_REF_DEPTH_MAX - 2; i++) {
		path[n++] = '/';
		path[n++] = 'd';
	}
	path[n] = '\0';
	ASSERT_OK(st_mount_pin_name(path, &name));      /* refs/mounts/ + 30 components: the limit */
	ASSERT_TRUE(strncmp(name, "refs/mounts/d/d/", 16) == 0);
	ASSERT_TRUE(st_ref_name_valid(name));
	free(name);
	name = NULL;
	path[n++] = '/';
	path[n++] = 'd';
	path[n] = '\0';
	ASSERT_OK(st_mount_pin_name(path, &name));
	ASSERT_TRUE(strncmp(name, "refs/mounts/+sha256-", 20) == 0);
	ASSERT_TRUE(st_ref_name_valid(name));
	free(name);
}

TEST(relative_refused)
{
	char *name = NULL;

	ASSERT_ERR(st_mount_pin_name("mnt/x", &name), -EINVAL);
	ASSERT_ERR(st_mount_pin_name("", &name), -EINVAL);
	ASSERT_TRUE(name == NULL);
}

TEST_MAIN()
