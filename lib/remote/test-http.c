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

TEST_MAIN()
