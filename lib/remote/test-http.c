/* SPDX-License-Identifier: MIT */
/* The transport's request options, over file:// (no server): Range, header lines. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/test.h"
#include "fundamental/macro.h"
#include "http.h"

struct sink {
	char buf[256];
	size_t len;
	int result, resets;
};

static int sink_data(void *userdata, const void *buf, size_t len)
{
	struct sink *s = userdata;

	if (len > sizeof(s->buf) - s->len)
		return -EFBIG;
	memcpy(s->buf + s->len, buf, len);
	s->len += len;
	return 0;
}

static void sink_reset(void *userdata)
{
	struct sink *s = userdata;

	s->len = 0;
	s->resets++;
}

static void sink_done(void *userdata, int result, const char *detail)
{
	struct sink *s = userdata;

	(void)detail;
	s->result = result;
}

static const struct http_request_ops sink_ops = { .data = sink_data, .reset = sink_reset, .done = sink_done };

static char *make_file(const char *text)
{
	char tmpl[] = "/tmp/test-http-XXXXXX", *url = NULL;
	int fd = mkstemp(tmpl);

	if (fd < 0)
		return NULL;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text) || asprintf(&url, "file://%s", tmpl) < 0)
		url = NULL;
	close(fd);
	return url;
}

TEST(range_start)
{
	struct http *h = NULL;
	struct sink s = { .result = 1 };
	struct http_request_options o = { .range_start = 4 };
	char *url = make_file("0123456789");

	ASSERT_TRUE(url);
	ASSERT_OK(http_new(2, 5, &h));
	ASSERT_OK(http_add_with(h, url, &o, &sink_ops, &s));
	ASSERT_OK(http_run(h));
	ASSERT_EQ(s.result, 0);
	ASSERT_EQ(s.len, (size_t)6);
	ASSERT_MEMEQ(s.buf, "456789", 6);
	unlink(url + strlen("file://"));
	free(url);
	http_free(h);
}

TEST(range_bounded)
{
	struct http *h = NULL;
	struct sink s = { .result = 1 }, t = { .result = 1 };
	struct http_request_options o = { .range_start = 0, .range_end = 3 }, p = { .range_start = 5, .range_end = 8 },
				    bad = { .range_start = 5, .range_end = 5 };
	char *url = make_file("0123456789");

	ASSERT_TRUE(url);
	ASSERT_OK(http_new(2, 5, &h));
	ASSERT_ERR(http_add_with(h, url, &bad, &sink_ops, &s), -EINVAL);
	ASSERT_OK(http_add_with(h, url, &o, &sink_ops, &s));
	ASSERT_OK(http_add_with(h, url, &p, &sink_ops, &t));
	ASSERT_OK(http_run(h));
	ASSERT_EQ(s.result, 0);
	ASSERT_EQ(s.len, (size_t)3);
	ASSERT_MEMEQ(s.buf, "012", 3);
	ASSERT_EQ(t.result, 0);
	ASSERT_EQ(t.len, (size_t)3);
	ASSERT_MEMEQ(t.buf, "567", 3);
	unlink(url + strlen("file://"));
	free(url);
	http_free(h);
}

TEST(header_lines)
{
	struct http *h = NULL;
	struct sink s = { .result = 1 };
	const char *bad[] = { "Accept: a\r\nX-Smuggled: b", NULL };
	const char *good[] = { "Accept: a", "X-Other: b", NULL };
	struct http_request_options ob = { .headers = bad }, og = { .headers = good };
	char *url = make_file("abc");

	ASSERT_TRUE(url);
	ASSERT_OK(http_new(2, 5, &h));
	ASSERT_ERR(http_add_with(h, url, &ob, &sink_ops, &s), -EINVAL);
	ASSERT_OK(http_add_with(h, url, &og, &sink_ops, &s));
	ASSERT_OK(http_run(h));
	ASSERT_EQ(s.result, 0);
	ASSERT_EQ(s.len, (size_t)3);
	unlink(url + strlen("file://"));
	free(url);
	http_free(h);
}

/* http_get_range(): parts of one span, assembled in place; the part count follows the size and the jobs. */
TEST(get_range_parts)
{
	struct http *h = NULL;
	char tmpl[] = "/tmp/test-http-XXXXXX", *url = NULL, *got = NULL;
	size_t size = 5 * HTTP_PART_MIN + 7;
	uint8_t *data = malloc(size + 100);
	int fd = mkstemp(tmpl);

	ASSERT_TRUE(data);
	ASSERT_TRUE(fd >= 0);
	for (size_t i = 0; i < size + 100; i++)
		data[i] = (uint8_t)(i * 131 + i / 251);
	ASSERT_EQ(write(fd, data, size + 100), (ssize_t)(size + 100));
	close(fd);
	ASSERT_TRUE(asprintf(&url, "file://%s", tmpl) > 0);
	ASSERT_OK(http_new(4, 5, &h));
	ASSERT_EQ(http_range_parts(h, 1, HTTP_PART_MIN), 1u);
	ASSERT_EQ(http_range_parts(h, HTTP_PART_MIN, HTTP_PART_MIN), 1u);
	ASSERT_EQ(http_range_parts(h, HTTP_PART_MIN + 1, HTTP_PART_MIN), 2u);
	ASSERT_EQ(http_range_parts(h, size, HTTP_PART_MIN), 4u);       /* at most jobs */
	ASSERT_EQ(http_range_parts(h, UINT64_MAX, 1), 4u);
	/* Four parts from offset 50, then one part of 10 bytes. */
	ASSERT_OK(http_get_range(h, url, 50, size, 0, &got));
	ASSERT_MEMEQ(got, data + 50, size);
	free(got);
	got = NULL;
	ASSERT_OK(http_get_range(h, url, 3, 10, 0, &got));
	ASSERT_MEMEQ(got, data + 3, 10);
	free(got);
	got = NULL;
	ASSERT_ERR(http_get_range(h, url, 0, 0, 0, &got), -EINVAL);
	ASSERT_TRUE(!got);
	unlink(tmpl);
	/* A file that is gone: the first part's failure, nothing returned. */
	ASSERT_TRUE(http_get_range(h, url, 0, size, 0, &got) < 0);
	ASSERT_TRUE(!got);
	free(url);
	free(data);
	http_free(h);
}

/* One request that notes how many requests had started when it ended. */
struct order {
	struct http *h;
	uint64_t requests_at_done;
	struct sink s;
};

static int order_data(void *userdata, const void *buf, size_t len)
{
	return sink_data(&((struct order *)userdata)->s, buf, len);
}

static void order_reset(void *userdata)
{
	sink_reset(&((struct order *)userdata)->s);
}

static void order_done(void *userdata, int result, const char *detail)
{
	struct order *o = userdata;

	o->requests_at_done = http_requests(o->h);
	sink_done(&o->s, result, detail);
}

static const struct http_request_ops order_ops = { .data = order_data, .reset = order_reset, .done = order_done };

/* http_get_range(): at most max_parts parts; run ahead of a request queued before. */
TEST(get_range_first)
{
	struct http *h = NULL;
	char tmpl[] = "/tmp/test-http-XXXXXX", *url = NULL, *got = NULL;
	size_t size = 5 * HTTP_PART_MIN;
	uint8_t *data = malloc(size);
	struct order o = {};
	int fd = mkstemp(tmpl);

	ASSERT_TRUE(data);
	ASSERT_TRUE(fd >= 0);
	for (size_t i = 0; i < size; i++)
		data[i] = (uint8_t)(i * 7 + i / 253);
	ASSERT_EQ(write(fd, data, size), (ssize_t)size);
	close(fd);
	ASSERT_TRUE(asprintf(&url, "file://%s", tmpl) > 0);
	/* Four requests at once, five parts' worth of bytes: two parts with max_parts 2. */
	ASSERT_OK(http_new(4, 5, &h));
	ASSERT_OK(http_get_range(h, url, 0, size, 2, &got));
	ASSERT_MEMEQ(got, data, size);
	ASSERT_EQ(http_requests(h), 2u);
	free(got);
	got = NULL;
	http_free(h);
	/*
	 * One at a time (one part): the part goes before the request queued
	 * earlier, and http_get_range() returns once it is in: that request is
	 * left for the next http_run() (it ends second).
	 */
	ASSERT_OK(http_new(1, 5, &h));
	o.h = h;
	ASSERT_OK(http_add_with(h, url, &(struct http_request_options){ .range_start = 1, .range_end = 11 }, &order_ops, &o));
	ASSERT_OK(http_get_range(h, url, 0, size, 0, &got));
	ASSERT_MEMEQ(got, data, size);
	ASSERT_EQ(http_requests(h), 1u);
	ASSERT_EQ(o.requests_at_done, 0u);
	ASSERT_OK(http_run(h));
	ASSERT_EQ(http_requests(h), 2u);
	ASSERT_EQ(o.requests_at_done, 2u);
	ASSERT_EQ(o.s.result, 0);
	ASSERT_EQ(o.s.len, 10u);
	ASSERT_MEMEQ(o.s.buf, data + 1, 10);
	free(got);
	unlink(tmpl);
	free(url);
	free(data);
	http_free(h);
}

TEST_MAIN()
