/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>

#include "basic/hex.h"
#include "basic/io.h"
#include "basic/macro.h"
#include "basic/pool.h"
#include "basic/test.h"
#include "fundamental/cpus.h"
#include "fundamental/parse-number.h"

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

TEST(hex_output_only_on_success_and_lowercase_names)
{
	uint8_t out[2] = { 0x5a, 0x5a };

	/* Invalid at the end: nothing written. */
	ASSERT_ERR(st_hex_decode("abcz", 4, out, 2), -EINVAL);
	ASSERT_EQ(out[0], 0x5a);
	/* A NUL inside the given length is not a digit. */
	ASSERT_ERR(st_hex_decode("ab\0d", 4, out, 2), -EINVAL);
	ASSERT_ERR(st_hex_decode(" abc", 4, out, 2), -EINVAL);
	ASSERT_ERR(st_hex_decode("+abc", 4, out, 2), -EINVAL);
	ASSERT_OK(hex_decode_lower("abcd", 4, out, 2));
	ASSERT_EQ(out[0], 0xab);
	ASSERT_ERR(hex_decode_lower("aBcd", 4, out, 2), -EINVAL);
	ASSERT_EQ(out[1], 0xcd);
	ASSERT_TRUE(hex_valid("09afAF", 6, false));
	ASSERT_TRUE(!hex_valid("09afAF", 6, true));
	ASSERT_TRUE(!hex_valid("0g", 2, false));
	ASSERT_TRUE(hex_valid("", 0, true));
	ASSERT_EQ(hex_digit_value('F'), 15);
	ASSERT_EQ(hex_digit_value('a'), 10);
	ASSERT_EQ(hex_digit_value('g'), -1);
	ASSERT_EQ(hex_digit_value('\0'), -1);
}

TEST(parse_number_refuses_signs_spaces_and_overflow)
{
	uint64_t v = 7;
	uint32_t v32 = 7;
	int64_t i = 7;

	ASSERT_OK(safe_atou64("0", &v));
	ASSERT_EQ(v, 0u);
	ASSERT_OK(safe_atou64("18446744073709551615", &v));
	ASSERT_EQ(v, UINT64_MAX);
	v = 7;
	ASSERT_ERR(safe_atou64("18446744073709551616", &v), -ERANGE);
	ASSERT_ERR(safe_atou64("99999999999999999999999", &v), -ERANGE);
	const char *bad[] = { "", "-1", "+1", " 1", "1 ", "0x10", "1.5", "1e3", "-0", "\t1", "١" };
	for (size_t k = 0; k < ELEMENTSOF(bad); k++)
		ASSERT_ERR(safe_atou64(bad[k], &v), -EINVAL);
	ASSERT_EQ(v, 7u);
	ASSERT_OK(safe_atou32("4294967295", &v32));
	ASSERT_EQ(v32, UINT32_MAX);
	ASSERT_ERR(safe_atou32("4294967296", &v32), -ERANGE);
	ASSERT_EQ(v32, UINT32_MAX);
	ASSERT_OK(safe_atou64_max("007", 7, &v));
	ASSERT_EQ(v, 7u);
	ASSERT_ERR(safe_atou64_max("8", 7, &v), -ERANGE);
	/* Canonical: one spelling per value. */
	ASSERT_ERR(parse_uint_n("007", 3, 10, 100, PARSE_CANONICAL, &v), -EINVAL);
	ASSERT_OK(parse_uint_n("0", 1, 10, 100, PARSE_CANONICAL, &v));
	/* Octal, and a length that stops before the end of the string. */
	ASSERT_OK(parse_uint_n("1777777", 7, 8, UINT32_MAX, 0, &v));
	ASSERT_EQ(v, 01777777u);
	ASSERT_ERR(parse_uint_n("8", 1, 8, UINT32_MAX, 0, &v), -EINVAL);
	ASSERT_OK(parse_uint_n("12x", 2, 10, 100, 0, &v));
	ASSERT_EQ(v, 12u);
	ASSERT_ERR(parse_uint_n("1", 0, 10, 100, 0, &v), -EINVAL);
	/* Signed, with the extremes. */
	ASSERT_OK(parse_i64_n("-9223372036854775808", 20, PARSE_CANONICAL, &i));
	ASSERT_EQ(i, INT64_MIN);
	ASSERT_OK(parse_i64_n("9223372036854775807", 19, PARSE_CANONICAL, &i));
	ASSERT_EQ(i, INT64_MAX);
	ASSERT_ERR(parse_i64_n("9223372036854775808", 19, PARSE_CANONICAL, &i), -ERANGE);
	ASSERT_ERR(parse_i64_n("-9223372036854775809", 20, PARSE_CANONICAL, &i), -ERANGE);
	ASSERT_ERR(parse_i64_n("-0", 2, PARSE_CANONICAL, &i), -EINVAL);
	ASSERT_ERR(parse_i64_n("-", 1, 0, &i), -EINVAL);
	ASSERT_ERR(parse_i64_n("--1", 3, 0, &i), -EINVAL);
	ASSERT_ERR(parse_i64_n("+1", 2, 0, &i), -EINVAL);
	ASSERT_EQ(i, INT64_MAX);
}

static void count_item(void *userdata, void *state, size_t i)
{
	atomic_int *seen = userdata;

	(void)state;
	atomic_fetch_add(&seen[i], 1);
}

static int init_fails_sometimes(void *userdata, void **ret_state)
{
	static atomic_int calls;

	(void)userdata;
	*ret_state = NULL;
	return atomic_fetch_add(&calls, 1) % 2 ? -ENOMEM : 0;
}

TEST(pool_for_each_runs_every_item_once)
{
	static atomic_int seen[1000];
	struct pool_ops ops = { .worker_init = init_fails_sometimes };

	for (unsigned threads = 0; threads <= 9; threads += 3) {
		memset(seen, 0, sizeof(seen));
		/* Threads whose state cannot be made are left out; the items still all run. */
		ASSERT_OK(pool_for_each(threads, ELEMENTSOF(seen), threads == 6 ? &ops : NULL, seen, NULL, count_item));
		for (size_t i = 0; i < ELEMENTSOF(seen); i++)
			ASSERT_EQ(atomic_load(&seen[i]), 1);
	}
	ASSERT_OK(pool_for_each(4, 0, NULL, seen, NULL, count_item));
}

struct queue_test {
	atomic_int ran[500];
	atomic_int discarded;
};

static void run_job(void *userdata, void *state, void *job)
{
	struct queue_test *q = userdata;
	size_t i;

	(void)state;
	memcpy(&i, job, sizeof(i));
	atomic_fetch_add(&q->ran[i], 1);
}

static void discard_job(void *userdata, void *job)
{
	struct queue_test *q = userdata;

	(void)job;
	atomic_fetch_add(&q->discarded, 1);
}

TEST(pool_queue_runs_every_job_once)
{
	static struct queue_test q;
	struct pool_ops ops = { .run = run_job, .discard = discard_job, .job_size = sizeof(size_t), .queue_cap = 8 };

	for (unsigned threads = 1; threads <= 5; threads += 2)
		for (int wait = 0; wait <= 1; wait++) {
			struct pool *p = NULL;

			memset(&q, 0, sizeof(q));
			ASSERT_OK(pool_new(&ops, &q, threads, &p));
			for (size_t i = 0; i < ELEMENTSOF(q.ran); i++)
				pool_submit(p, NULL, &i, wait);
			pool_drain(p, NULL, NULL, NULL, 0);
			p = pool_free(p);
			for (size_t i = 0; i < ELEMENTSOF(q.ran); i++)
				ASSERT_EQ(atomic_load(&q.ran[i]), 1);
			ASSERT_EQ(atomic_load(&q.discarded), 0);
		}
	ops.job_size = 0;
	struct pool *bad = NULL;
	ASSERT_ERR(pool_new(&ops, &q, 2, &bad), -EINVAL);
}

TEST(cpus_available_honours_the_cap)
{
	unsigned n = cpus_available(0);

	ASSERT_TRUE(n >= 1);
	ASSERT_EQ(cpus_available(1), 1u);
	ASSERT_EQ(cpus_available(n + 5), n);
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
