/* SPDX-License-Identifier: MIT */
#include <fcntl.h>

#include "basic/hex.h"
#include "basic/io.h"
#include "basic/macro.h"
#include "basic/test.h"

TEST(hex_roundtrip)
{
	uint8_t in[4] = { 0x00, 0x9a, 0xff, 0x10 }, out[4];
	char s[9];

	st_hex_encode(in, 4, s);
	ASSERT_STREQ(s, "009aff10");
	ASSERT_OK(st_hex_decode("009AfF10", 8, out, 4));
	ASSERT_MEMEQ(in, out, 4);
}

TEST(hex_rejects_short_long_and_bad)
{
	uint8_t out[4];

	ASSERT_ERR(st_hex_decode("00", 2, out, 4), -EINVAL);
	ASSERT_ERR(st_hex_decode("0011223344", 10, out, 4), -EINVAL);
	ASSERT_ERR(st_hex_decode("0011zz33", 8, out, 4), -EINVAL);
}

TEST(grow_array_overflow)
{
	int *a = NULL;
	size_t cap = 0;

	ASSERT_OK(GROW(a, cap, 10));
	ASSERT_TRUE(cap >= 10);
	ASSERT_ERR(grow_array((void **)&a, &cap, SIZE_MAX / 2, sizeof(int)), -ENOMEM);
	free(a);
}

TEST(error_detail)
{
	ASSERT_ERR(st_errf(-EINVAL, "line %d: bad", 7), -EINVAL);
	ASSERT_STREQ(st_error_detail(), "line 7: bad");
	ASSERT_STREQ(st_error_message(-EINVAL), "line 7: bad: Invalid argument");
	st_error_clear();
	ASSERT_TRUE(st_error_detail() == NULL);
}

/* Wrapping the current detail in a new one, as callers up the stack do. */
TEST(error_detail_wraps_itself)
{
	st_errf(-ENOENT, "object 0a/bc not found");
	ASSERT_ERR(st_errf(-ENOENT, "commit %s: %s", "1234", st_error_detail()), -ENOENT);
	ASSERT_STREQ(st_error_detail(), "commit 1234: object 0a/bc not found");
	st_errf(-EIO, "%s, again: %s", st_error_detail(), st_error_detail());
	ASSERT_STREQ(st_error_detail(),
		     "commit 1234: object 0a/bc not found, again: commit 1234: object 0a/bc not found");
	st_error_clear();
}

TEST(write_full_and_pwrite_full)
{
	char path[] = "/tmp/sealtree-test-io.XXXXXX";
	char buf[8] = { 0 };
	int fd = mkstemp(path);

	ASSERT_TRUE(fd >= 0);
	unlink(path);
	ASSERT_OK(write_full(fd, "abcdef", 6));
	ASSERT_OK(pwrite_full(fd, "XY", 2, 2));
	ASSERT_EQ(pread(fd, buf, sizeof(buf), 0), 6);
	ASSERT_STREQ(buf, "abXYef");
	close(fd);
	ASSERT_ERR(write_full(fd, "a", 1), -EBADF);
}

TEST(read_fd_all_file_and_pipe)
{
	char path[] = "/tmp/sealtree-test-io.XXXXXX";
	uint8_t *buf = NULL;
	size_t len = 0;
	int fd = mkstemp(path), p[2];

	ASSERT_TRUE(fd >= 0);
	unlink(path);
	ASSERT_OK(write_full(fd, "hello", 5));
	ASSERT_TRUE(lseek(fd, 1, SEEK_SET) == 1);
	ASSERT_OK(read_fd_all(fd, &buf, &len));
	ASSERT_EQ(len, 4);
	ASSERT_MEMEQ(buf, "ello", 4);
	free(buf);
	close(fd);

	ASSERT_TRUE(pipe(p) == 0);
	ASSERT_OK(write_full(p[1], "xyz", 3));
	close(p[1]);
	ASSERT_OK(read_fd_all(p[0], &buf, &len));
	ASSERT_EQ(len, 3);
	ASSERT_MEMEQ(buf, "xyz", 3);
	free(buf);
	close(p[0]);
}

TEST_MAIN()
