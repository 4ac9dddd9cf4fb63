/* SPDX-License-Identifier: MIT */
/*
 * libcurl multi behind http.h. One multi handle per pull: its connection
 * cache is shared by every request, at most `jobs` easy handles run at
 * once, the rest wait in a queue; a failed attempt that may succeed again
 * (5xx, a refused or dropped connection, a timeout, a short body) waits
 * 250 ms, 500 ms, 1 s, 2 s before the next of HTTP_ATTEMPTS. A server that
 * fails HTTP_DOWN_AFTER requests in a row without answering is down for the
 * rest of the pull: requests that can go elsewhere (failover) stop trying
 * it, so a dead mirror costs a few failed connections, not every object's
 * full round of retries.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "basic/error.h"
#include "fundamental/macro.h"
#include "fundamental/parse-number.h"
#include "http.h"

#define HTTP_ATTEMPTS 5
#define HTTP_BACKOFF_MS 250
#define HTTP_LOW_SPEED_TIME 30          /* default seconds below 1 byte/s: give up on the attempt */
#define HTTP_CONNECT_TIMEOUT 30
#define HTTP_ERROR_BODY_MAX 65536u      /* an error status's body is read (to keep the connection) up to this */
/*
 * A range at least this long is read from its socket in reads of this size
 * (libcurl's default, 16 KiB, cost a pull from packs one recv, one poll and
 * one callback per 16 KiB: 35k system calls for 279 MB). Its buffer lives
 * as long as the request: 32 in flight hold 8 MiB.
 */
#define HTTP_BIG_READ (256u * 1024u)

struct request {
	char *url;
	const struct http_request_ops *ops;
	void *userdata;
	unsigned attempt;
	uint64_t not_before_ms;         /* a retry waits until then */
	int data_error;                 /* data() refused the bytes */
	struct curl_slist *headers;     /* sent with every attempt */
	uint64_t range_start;           /* this attempt asks for the body from here */
	uint64_t range_base, range_end; /* a bounded range [range_base, range_end), or range_end 0 */
	char data_detail[256];          /* why the answer's range was refused */
	bool failover;                  /* give up at once when its origin is down */
	bool warm;                      /* http_warm(): a HEAD that only opens a connection */
	struct request *warm_next;      /* in http.warm while it runs */
	size_t origin;                  /* index in http.origins, or SIZE_MAX (file://) */
	bool body_started;              /* this attempt has delivered body bytes */
	bool content_range_ok;          /* this response's Content-Range starts at range_start */
	bool stalled;                   /* this attempt moved no byte for stall_timeout seconds */
	curl_off_t moved;               /* bytes this attempt moved so far (down and up) */
	uint64_t moved_ms;              /* when it last moved one */
	long error_status;              /* this attempt's answer is an error status (>= 400): its body is dropped */
	uint64_t error_body;            /* bytes of that body */
	CURL *easy;
	struct http *h;
	char errbuf[CURL_ERROR_SIZE];   /* libcurl's own words on a failed attempt */
};

struct http {
	CURLM *multi;
	unsigned jobs, active;
	unsigned stall_timeout;
	bool tls_verify;
	char *tls_ca, *tls_cert, *tls_key, *proxy;
	struct origin {
		char *key;              /* "scheme://host:port", as the URL spells it */
		unsigned failures;      /* in a row, without an answer */
	} *origins;
	size_t n_origins;
	struct request **queue;         /* waiting to start, FIFO from head */
	size_t head, n_queue, cap_queue;
	/* http_warm()'s requests: not waited for by http_run(), running across its calls. */
	struct request *warm;           /* those running */
	unsigned warm_active, warm_queued;
	uint64_t requests, bytes;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init_once(void)
{
	curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int http_new(unsigned jobs, unsigned stall_timeout, struct http **ret)
{
	struct http *h;

	pthread_once(&curl_once, curl_init_once);
	if (curl_init_result != CURLE_OK)
		return st_errf(-EIO, "cannot initialize libcurl: %s", curl_easy_strerror(curl_init_result));
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->jobs = jobs ? jobs : 32;
	h->stall_timeout = stall_timeout ? stall_timeout : HTTP_LOW_SPEED_TIME;
	h->tls_verify = true;
	h->multi = curl_multi_init();
	if (!h->multi) {
		free(h);
		return -ENOMEM;
	}
	(void)curl_multi_setopt(h->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)h->jobs);
	/* Every connection stays open between the steps of a pull (libcurl keeps 4 per running transfer). */
	(void)curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, (long)h->jobs);
	(void)curl_multi_setopt(h->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	*ret = h;
	return 0;
}

static void request_free(struct request *rq)
{
	if (!rq)
		return;
	if (rq->easy)
		curl_easy_cleanup(rq->easy);
	curl_slist_free_all(rq->headers);
	free(rq->url);
	free(rq);
}

struct http *http_free(struct http *h)
{
	if (!h)
		return NULL;
	for (size_t i = h->head; i < h->n_queue; i++)
		request_free(h->queue[i]);
	free(h->queue);
	while (h->warm) {
		struct request *rq = h->warm;

		h->warm = rq->warm_next;
		curl_multi_remove_handle(h->multi, rq->easy);
		request_free(rq);
	}
	for (size_t i = 0; i < h->n_origins; i++)
		free(h->origins[i].key);
	free(h->origins);
	free(h->tls_ca);
	free(h->tls_cert);
	free(h->tls_key);
	free(h->proxy);
	curl_multi_cleanup(h->multi);
	free(h);
	return NULL;
}

static int queue_push(struct http *h, struct request *rq)
{
	if (h->head > 0 && h->head == h->n_queue)
		h->head = h->n_queue = 0;
	if (h->n_queue == h->cap_queue) {
		size_t ncap = h->cap_queue ? h->cap_queue * 2 : 64;
		struct request **n = reallocarray(h->queue, ncap, sizeof(*n));

		if (!n)
			return -ENOMEM;
		h->queue = n;
		h->cap_queue = ncap;
	}
	h->queue[h->n_queue++] = rq;
	return 0;
}

/* rq to start before everything queued. */
static int queue_push_front(struct http *h, struct request *rq)
{
	int r;

	if (h->head > 0) {
		h->queue[--h->head] = rq;
		return 0;
	}
	r = queue_push(h, rq);          /* room for one more */
	if (r < 0)
		return r;
	memmove(h->queue + h->head + 1, h->queue + h->head, (h->n_queue - 1 - h->head) * sizeof(*h->queue));
	h->queue[h->head] = rq;
	return 0;
}

void http_set_tls_verify(struct http *h, bool verify)
{
	h->tls_verify = verify;
}

static int set_string(char **slot, const char *value)
{
	char *n = NULL;

	if (value && !(n = strdup(value)))
		return -ENOMEM;
	free(*slot);
	*slot = n;
	return 0;
}

int http_set_options(struct http *h, const char *ca, const char *cert, const char *key, const char *proxy)
{
	if (set_string(&h->tls_ca, ca) < 0 || set_string(&h->tls_cert, cert) < 0 || set_string(&h->tls_key, key) < 0 ||
	    set_string(&h->proxy, proxy) < 0)
		return -ENOMEM;
	return 0;
}

/* The remote's TLS files and proxy on one transfer. */
static bool set_tls_proxy(const struct http *h, CURL *e)
{
	return (!h->tls_ca || curl_easy_setopt(e, CURLOPT_CAINFO, h->tls_ca) == CURLE_OK) &&
	       (!h->tls_cert || curl_easy_setopt(e, CURLOPT_SSLCERT, h->tls_cert) == CURLE_OK) &&
	       (!h->tls_key || curl_easy_setopt(e, CURLOPT_SSLKEY, h->tls_key) == CURLE_OK) &&
	       (!h->proxy || curl_easy_setopt(e, CURLOPT_PROXY, h->proxy) == CURLE_OK);
}

/* The length of url's "scheme://authority" (0 for file: and what has no authority). */
static size_t origin_len(const char *url)
{
	const char *sep = strstr(url, "://");
	size_t n;

	if (!sep || strncasecmp(url, "file:", 5) == 0)
		return 0;
	n = (size_t)(sep - url) + 3;
	return n + strcspn(url + n, "/?#");
}

/* The index of url's origin in h->origins, added if new; SIZE_MAX without one (or out of memory: no health kept). */
static size_t origin_of(struct http *h, const char *url, bool add)
{
	size_t len = origin_len(url);
	struct origin *n;

	if (len == 0)
		return SIZE_MAX;
	for (size_t i = 0; i < h->n_origins; i++)
		if (strlen(h->origins[i].key) == len && strncasecmp(h->origins[i].key, url, len) == 0)
			return i;
	if (!add)
		return SIZE_MAX;
	n = reallocarray(h->origins, h->n_origins + 1, sizeof(*n));
	if (!n)
		return SIZE_MAX;
	h->origins = n;
	n[h->n_origins] = (struct origin){ .key = strndup(url, len) };
	if (!n[h->n_origins].key)
		return SIZE_MAX;
	return h->n_origins++;
}

static bool origin_is_down(const struct http *h, size_t i)
{
	return i != SIZE_MAX && h->origins[i].failures >= HTTP_DOWN_AFTER;
}

bool http_origin_down(struct http *h, const char *url)
{
	return origin_is_down(h, origin_of(h, url, false));
}

/* http_add_with(), queued last, or first (front). */
static int add(struct http *h, const char *url, const struct http_request_options *opts,
	       const struct http_request_ops *ops, void *userdata, bool front)
{
	struct request *rq;
	int r;

	if (!h || !url || !ops || !ops->data || !ops->done)
		return -EINVAL;
	rq = calloc(1, sizeof(*rq));
	if (!rq)
		return -ENOMEM;
	rq->url = strdup(url);
	if (!rq->url) {
		free(rq);
		return -ENOMEM;
	}
	for (const char *const *p = opts && opts->headers ? opts->headers : NULL; p && *p; p++) {
		struct curl_slist *n;

		/* A line break would let one header smuggle another (or a request). */
		if (strpbrk(*p, "\r\n")) {
			request_free(rq);
			return st_errf(-EINVAL, "request header for '%s' holds a line break", url);
		}
		n = curl_slist_append(rq->headers, *p);
		if (!n) {
			request_free(rq);
			return -ENOMEM;
		}
		rq->headers = n;
	}
	rq->range_start = opts ? opts->range_start : 0;
	if (opts && opts->range_end > 0) {
		if (opts->range_end <= opts->range_start) {
			request_free(rq);
			return -EINVAL;
		}
		rq->range_base = opts->range_start;
		rq->range_end = opts->range_end;
	}
	rq->failover = opts && opts->failover;
	rq->origin = origin_of(h, url, true);
	rq->ops = ops;
	rq->userdata = userdata;
	rq->h = h;
	r = front ? queue_push_front(h, rq) : queue_push(h, rq);
	if (r < 0)
		request_free(rq);
	return r;
}

int http_add_with(struct http *h, const char *url, const struct http_request_options *opts,
		  const struct http_request_ops *ops, void *userdata)
{
	return add(h, url, opts, ops, userdata, false);
}

static int warm_data(void *userdata, const void *buf, size_t len)
{
	(void)userdata;
	(void)buf;
	(void)len;
	return 0;
}

static void warm_done(void *userdata, int result, const char *detail)
{
	(void)userdata;
	(void)result;
	(void)detail;
}

static const struct http_request_ops warm_ops = { .data = warm_data, .done = warm_done };

int http_warm(struct http *h, const char *url, unsigned n)
{
	int r;

	if (origin_len(url) == 0 || strncasecmp(url, "http", 4) != 0)
		return 0;       /* file://: no connection to open */
	n = MIN(n, h->jobs);
	for (unsigned i = 0; i < n; i++) {
		r = http_add_with(h, url, NULL, &warm_ops, NULL);
		if (r < 0)
			return r;
		h->queue[h->n_queue - 1]->warm = true;
		h->warm_queued++;
	}
	return 0;
}

int http_add(struct http *h, const char *url, const struct http_request_ops *ops, void *userdata)
{
	return http_add_with(h, url, NULL, ops, userdata);
}

/*
 * The first body bytes of an attempt that asked for a range: 206 from the
 * offset asked for continues the body, 200 (a server that ignores Range)
 * starts it again, anything else is refused rather than spliced in.
 */
static int range_answer(struct request *rq)
{
	long status = 0;

	(void)curl_easy_getinfo(rq->easy, CURLINFO_RESPONSE_CODE, &status);
	if ((status == 206 && rq->content_range_ok) || status == 0)
		return 0;               /* 0: file://, where libcurl applies the range itself */
	if (rq->range_end > 0) {
		/* A bounded range (a pack's entries): never a whole pack in its place. */
		if (status == 206)
			(void)snprintf(rq->data_detail, sizeof(rq->data_detail),
				       "%s: answered a request for bytes %" PRIu64 "-%" PRIu64 " with another range", rq->url,
				       rq->range_start, rq->range_end - 1);
		else
			(void)snprintf(rq->data_detail, sizeof(rq->data_detail),
				       "%s: answered %ld, not 206, to a request for bytes %" PRIu64 "-%" PRIu64
				       " (the server ignores Range)", rq->url, status, rq->range_start, rq->range_end - 1);
		return -ERANGE;
	}
	if (status == 206) {
		/* Never spliced in: the bytes kept and these would not be one file. */
		(void)snprintf(rq->data_detail, sizeof(rq->data_detail),
			       "%s: answered a request for bytes %" PRIu64 "- with another range", rq->url, rq->range_start);
		return -EPROTO;
	}
	rq->ops->reset(rq->userdata);
	rq->range_start = 0;
	return 0;
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct request *rq = userdata;
	size_t len = size * nmemb;
	int r;

	rq->h->bytes += len;
	if (!rq->body_started) {
		long status = 0;

		rq->body_started = true;
		(void)curl_easy_getinfo(rq->easy, CURLINFO_RESPONSE_CODE, &status);
		rq->error_status = status >= 400 ? status : 0;
		if (!rq->error_status && (rq->range_start > 0 || rq->range_end > 0)) {
			r = range_answer(rq);
			if (r < 0) {
				rq->data_error = r;
				return len == 0 ? 1 : 0;
			}
		}
	}
	if (rq->error_status) {
		/* Read and dropped, so that the connection serves the next request; a long one is cut. */
		rq->error_body += len;
		return rq->error_body > HTTP_ERROR_BODY_MAX ? 0 : len;
	}
	r = rq->ops->data(rq->userdata, ptr, len);
	if (r < 0) {
		rq->data_error = r;
		return len == 0 ? 1 : 0;        /* anything but len aborts the transfer */
	}
	return len;
}

/*
 * "Content-Range: bytes FIRST-LAST/SIZE": does it start where this attempt
 * asked (and, for a bounded range, end at end - 1)?
 */
static bool content_range_is(const char *line, size_t len, uint64_t start, uint64_t end)
{
	static const char prefix[] = "content-range:";
	size_t i = sizeof(prefix) - 1, j, k;
	uint64_t first, last;

	if (len < i || strncasecmp(line, prefix, i) != 0)
		return false;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (len - i < 6 || strncmp(line + i, "bytes ", 6) != 0)
		return false;
	i += 6;
	for (j = i; j < len && line[j] != '-'; j++)
		;
	if (j == len || parse_uint_n(line + i, j - i, 10, UINT64_MAX, 0, &first) < 0 || first != start)
		return false;
	if (end == 0)
		return true;
	for (k = j + 1; k < len && line[k] != '/'; k++)
		;
	return k < len && parse_uint_n(line + j + 1, k - j - 1, 10, UINT64_MAX, 0, &last) == 0 && last == end - 1;
}

static size_t header_cb(char *buf, size_t size, size_t nitems, void *userdata)
{
	struct request *rq = userdata;
	size_t len = size * nitems, n = len;

	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	if (n >= 5 && memcmp(buf, "HTTP/", 5) == 0)
		rq->content_range_ok = false;
	else if ((rq->range_start > 0 || rq->range_end > 0) && content_range_is(buf, n, rq->range_start, rq->range_end))
		rq->content_range_ok = true;
	if (rq->ops->header)
		rq->ops->header(rq->userdata, buf, n);
	return len;
}

/*
 * libcurl's low-speed limit averages the speed over its last few seconds:
 * after some bytes, silence runs several seconds past stall_timeout on each
 * attempt. Once this attempt has moved a byte, no further byte for
 * stall_timeout seconds ends it as a timeout too (before its first byte the
 * average is 0 and libcurl's own limit is exact).
 */
static int progress_cb(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct request *rq = userdata;
	uint64_t now = now_ms();

	(void)dltotal;
	(void)ultotal;
	if (dlnow + ulnow != rq->moved) {
		rq->moved = dlnow + ulnow;
		rq->moved_ms = now;
	} else if (rq->moved > 0 && now - rq->moved_ms >= (uint64_t)rq->h->stall_timeout * 1000u) {
		rq->stalled = true;
		return 1;       /* CURLE_ABORTED_BY_CALLBACK */
	}
	return 0;
}

/* 0: started; 1: a bounded range the caller already keeps whole (nothing to ask); or a negative errno. */
static int request_start(struct http *h, struct request *rq)
{
	CURL *e;
	char range[48];

	if (rq->range_end > 0 && rq->range_start >= rq->range_end)
		return 1;
	e = curl_easy_init();
	if (!e)
		return -ENOMEM;
	rq->easy = e;
	rq->data_error = 0;
	rq->errbuf[0] = '\0';
	rq->data_detail[0] = '\0';
	rq->body_started = false;
	rq->content_range_ok = false;
	rq->stalled = false;
	rq->moved = 0;
	rq->moved_ms = 0;
	rq->error_status = 0;
	rq->error_body = 0;
	if (rq->range_end > 0)
		(void)snprintf(range, sizeof(range), "%" PRIu64 "-%" PRIu64, rq->range_start, rq->range_end - 1);
	else
		(void)snprintf(range, sizeof(range), "%" PRIu64 "-", rq->range_start);
	rq->attempt++;
	h->requests++;
	if (curl_easy_setopt(e, CURLOPT_URL, rq->url) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PRIVATE, rq) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, rq) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https,file") != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, (long)HTTP_CONNECT_TIMEOUT) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)h->stall_timeout) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, progress_cb) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_XFERINFODATA, rq) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_USERAGENT, "sealtree") != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, rq->errbuf) != CURLE_OK || !set_tls_proxy(h, e) ||
	    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HEADERDATA, rq) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HTTPHEADER, rq->headers) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_RANGE, rq->range_start > 0 || rq->range_end > 0 ? range : NULL) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, h->tls_verify ? 1L : 0L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, h->tls_verify ? 2L : 0L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_NOBODY, rq->warm ? 1L : 0L) != CURLE_OK ||
	    (rq->range_end >= rq->range_start + HTTP_BIG_READ &&
	     curl_easy_setopt(e, CURLOPT_BUFFERSIZE, (long)HTTP_BIG_READ) != CURLE_OK) ||
	    curl_multi_add_handle(h->multi, e) != CURLM_OK) {
		curl_easy_cleanup(e);
		rq->easy = NULL;
		return st_errf(-EIO, "cannot set up a request for '%s'", rq->url);
	}
	h->active++;
	if (rq->warm) {
		rq->warm_next = h->warm;
		h->warm = rq;
		h->warm_active++;
	}
	return 0;
}

/* A running warm request of h taken out of its list and the multi handle, freed. */
static void warm_drop(struct http *h, struct request *rq)
{
	for (struct request **p = &h->warm; *p; p = &(*p)->warm_next)
		if (*p == rq) {
			*p = rq->warm_next;
			break;
		}
	curl_multi_remove_handle(h->multi, rq->easy);
	request_free(rq);
	h->active--;
	h->warm_active--;
}

/* The origin at index i went down: its warm requests go (a server that does not answer would hold their slots). */
static void warm_drop_origin(struct http *h, size_t i)
{
	for (struct request *rq = h->warm, *next; rq; rq = next) {
		next = rq->warm_next;
		if (rq->origin == i)
			warm_drop(h, rq);
	}
}

/* Every request http_run() waits for is done: none but warm ones running or queued. */
static bool run_done(const struct http *h)
{
	return h->active == h->warm_active && h->n_queue - h->head == h->warm_queued;
}

static bool retryable(CURLcode code, long status)
{
	switch (code) {
	case CURLE_HTTP_RETURNED_ERROR:
		return status >= 500;
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

/* The server never answered: it counts against its origin's health. */
static bool no_answer(CURLcode code, long status)
{
	switch (code) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_OPERATION_TIMEDOUT:
		return status == 0;
	default:
		return false;
	}
}

static void origin_down_detail(const struct http *h, const struct request *rq, char *buf, size_t size)
{
	(void)snprintf(buf, size, "%s: not asked: %s failed %u requests in a row without answering (down for this pull)",
		       rq->url, h->origins[rq->origin].key, h->origins[rq->origin].failures);
}

/* One finished transfer: done(), or back into the queue for another attempt. */
static int request_finished(struct http *h, struct request *rq, CURLcode code)
{
	long status = 0;
	char detail[512];
	int result;

	(void)curl_easy_getinfo(rq->easy, CURLINFO_RESPONSE_CODE, &status);
	if (code == CURLE_ABORTED_BY_CALLBACK && rq->stalled) {
		code = CURLE_OPERATION_TIMEDOUT;
		(void)snprintf(rq->errbuf, sizeof(rq->errbuf), "no byte moved for %u s", h->stall_timeout);
	}
	/*
	 * An error status is not libcurl's failure (no CURLOPT_FAILONERROR: it
	 * would close the connection, and the next request would pay for a new
	 * one, a round trip more): its body was dropped, its status is the answer.
	 */
	if ((code == CURLE_OK || rq->error_status) && status >= 400)
		code = CURLE_HTTP_RETURNED_ERROR;
	if (rq->warm) {
		/* Its connection is open (or not): nothing else to know, no retry, no count against the server. */
		warm_drop(h, rq);
		return 0;
	}
	curl_multi_remove_handle(h->multi, rq->easy);
	curl_easy_cleanup(rq->easy);
	rq->easy = NULL;
	h->active--;
	if (rq->origin != SIZE_MAX) {
		if (no_answer(code, status))
			h->origins[rq->origin].failures++;
		else
			h->origins[rq->origin].failures = 0;
		if (origin_is_down(h, rq->origin))
			warm_drop_origin(h, rq->origin);
	}
	if (code != CURLE_OK && !rq->data_error && rq->failover && origin_is_down(h, rq->origin)) {
		origin_down_detail(h, rq, detail, sizeof(detail));
		result = -EHOSTDOWN;
	} else if (code == CURLE_OK) {
		result = 0;
		detail[0] = '\0';
	} else if (rq->data_error) {
		result = rq->data_error;
		if (rq->data_detail[0])
			(void)snprintf(detail, sizeof(detail), "%s", rq->data_detail);
		else
			(void)snprintf(detail, sizeof(detail), "%s: refused the data received", rq->url);
	} else if ((code == CURLE_HTTP_RETURNED_ERROR && (status == 404 || status == 410)) ||
		   code == CURLE_FILE_COULDNT_READ_FILE) {
		result = -ENOENT;
		(void)snprintf(detail, sizeof(detail), "%s: not found on the server", rq->url);
	} else if (code == CURLE_HTTP_RETURNED_ERROR && (status == 401 || status == 403)) {
		result = -EACCES;
		(void)snprintf(detail, sizeof(detail), "%s: HTTP status %ld (access denied)", rq->url, status);
	} else {
		if (code == CURLE_HTTP_RETURNED_ERROR && status == 416 && rq->range_start > 0 && rq->range_end == 0 &&
		    rq->attempt < HTTP_ATTEMPTS) {
			/* The range asked for is past the server's end: start over. */
			rq->ops->reset(rq->userdata);
			rq->range_start = 0;
			return queue_push(h, rq);
		}
		if (retryable(code, status) && rq->attempt < HTTP_ATTEMPTS) {
			if (rq->range_end > 0) {
				uint64_t kept = 0;

				if (rq->ops->resume)
					kept = rq->ops->resume(rq->userdata);
				else
					rq->ops->reset(rq->userdata);
				rq->range_start = rq->range_base + MIN(kept, rq->range_end - rq->range_base);
			} else if (rq->ops->resume)
				rq->range_start = rq->ops->resume(rq->userdata);
			else
				rq->ops->reset(rq->userdata);
			rq->not_before_ms = now_ms() + ((uint64_t)HTTP_BACKOFF_MS << (rq->attempt - 1));
			return queue_push(h, rq);
		}
		result = code == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO;
		if (code == CURLE_HTTP_RETURNED_ERROR)
			(void)snprintf(detail, sizeof(detail), "%s: HTTP status %ld (after %u attempts)", rq->url, status,
				       rq->attempt);
		else if (rq->errbuf[0])
			(void)snprintf(detail, sizeof(detail), "%s: %s: %s (after %u attempt%s)", rq->url,
				       curl_easy_strerror(code), rq->errbuf, rq->attempt, rq->attempt == 1 ? "" : "s");
		else
			(void)snprintf(detail, sizeof(detail), "%s: %s (after %u attempts)", rq->url,
				       curl_easy_strerror(code), rq->attempt);
	}
	rq->ops->done(rq->userdata, result, detail);
	request_free(rq);
	return 0;
}

/* http_run(), or until *pending (not NULL) is 0: the requests still running and queued stay for the next run. */
static int run(struct http *h, const unsigned *pending)
{
	int r;

	for (;;) {
		uint64_t now = now_ms(), wait_ms = 1000;
		size_t n = h->n_queue - h->head;
		int running = 0;
		CURLMsg *msg;
		int left;

		/* Start what is due, keep the rest in order. */
		for (size_t i = 0; i < n && h->active < h->jobs; i++) {
			struct request *rq = h->queue[h->head];

			h->head++;
			if (rq->warm)
				h->warm_queued--;
			if (rq->warm && origin_is_down(h, rq->origin)) {
				request_free(rq);
				continue;
			}
			if (rq->failover && origin_is_down(h, rq->origin)) {
				char detail[512];

				origin_down_detail(h, rq, detail, sizeof(detail));
				rq->ops->done(rq->userdata, -EHOSTDOWN, detail);
				request_free(rq);
				continue;
			}
			if (rq->not_before_ms > now) {
				r = queue_push(h, rq);  /* never a warm request: those are not retried */
				if (r < 0)
					return r;
				continue;
			}
			r = request_start(h, rq);
			if (r != 0) {
				rq->ops->done(rq->userdata, MIN(r, 0), r < 0 ? rq->url : "");
				request_free(rq);
			}
		}
		if (run_done(h) || (pending && *pending == 0))
			return 0;
		if (curl_multi_perform(h->multi, &running) != CURLM_OK)
			return st_errf(-EIO, "libcurl failed");
		while ((msg = curl_multi_info_read(h->multi, &left))) {
			struct request *rq = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			(void)curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&rq);
			r = request_finished(h, rq, msg->data.result);
			if (r < 0)
				return r;
		}
		if (run_done(h) || (pending && *pending == 0))
			return 0;
		/*
		 * With every slot busy only a finished transfer can start another:
		 * wait for activity. Otherwise the queue holds only retries that
		 * are not due yet (the loop above started the rest): wait for the
		 * first of them.
		 */
		if (h->active < h->jobs)
			for (size_t i = h->head; i < h->n_queue; i++) {
				uint64_t due = h->queue[i]->not_before_ms;

				wait_ms = MIN(wait_ms, due > now ? due - now : 0);
			}
		if (h->active > 0 && curl_multi_poll(h->multi, NULL, 0, (int)wait_ms, NULL) != CURLM_OK)
			return st_errf(-EIO, "libcurl failed");
		if (h->active == 0 && wait_ms > 0) {
			struct timespec ts = { .tv_sec = (time_t)(wait_ms / 1000), .tv_nsec = (long)(wait_ms % 1000) * 1000000L };

			nanosleep(&ts, NULL);
		}
	}
}

int http_run(struct http *h)
{
	return run(h, NULL);
}

static int get_data(void *userdata, const void *buf, size_t len)
{
	struct http_get *g = userdata;
	char *n;

	if (len > g->max - g->len)
		return -EFBIG;
	n = realloc(g->buf, g->len + len + 1);
	if (!n)
		return -ENOMEM;
	memcpy(n + g->len, buf, len);
	g->buf = n;
	g->len += len;
	g->buf[g->len] = '\0';
	return 0;
}

static void get_reset(void *userdata)
{
	struct http_get *g = userdata;

	g->len = 0;
}

static void get_done(void *userdata, int result, const char *detail)
{
	struct http_get *g = userdata;

	g->result = result;
	(void)snprintf(g->detail, sizeof(g->detail), "%s", detail);
}

static const struct http_request_ops get_ops = { .data = get_data, .reset = get_reset, .done = get_done };

int http_add_get(struct http *h, const char *url, const struct http_request_options *opts, size_t max,
		 struct http_get *g)
{
	*g = (struct http_get){ .max = max, .result = -EIO };
	return http_add_with(h, url, opts, &get_ops, g);
}

int http_get_take(struct http_get *g, const char *url, char **ret, size_t *ret_len)
{
	int r = 0;

	if (g->result == -EFBIG)
		r = st_errf(-EFBIG, "%s: larger than %zu bytes", url, g->max);
	else if (g->result < 0)
		r = st_errf(g->result, "%s", g->detail);
	if (r < 0) {
		free(g->buf);
		g->buf = NULL;
		return r;
	}
	if (!g->buf) {
		g->buf = strdup("");
		if (!g->buf)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(g->buf);
	*ret_len = g->len;
	return 0;
}

int http_get_with(struct http *h, const char *url, const struct http_request_options *opts, size_t max, char **ret,
		  size_t *ret_len)
{
	struct http_get g;
	int r;

	r = http_add_get(h, url, opts, max, &g);
	if (r < 0)
		return r;
	r = http_run(h);
	if (r < 0) {
		free(g.buf);
		return r;
	}
	return http_get_take(&g, url, ret, ret_len);
}

int http_get(struct http *h, const char *url, size_t max, char **ret, size_t *ret_len)
{
	return http_get_with(h, url, NULL, max, ret, ret_len);
}

/* ---- http_get_range(): one known span, in parts on several connections ---- */

struct range_part {
	uint8_t *buf;                   /* where this part's bytes go */
	size_t len, got;
	int *result;                    /* the first failure of any part ... */
	char *detail;                   /* ... and its words (512 bytes) */
	unsigned *pending;              /* parts not done yet */
};

static int part_data(void *userdata, const void *buf, size_t len)
{
	struct range_part *p = userdata;

	if (len > p->len - p->got)
		return -EFBIG;
	memcpy(p->buf + p->got, buf, len);
	p->got += len;
	return 0;
}

static void part_reset(void *userdata)
{
	((struct range_part *)userdata)->got = 0;
}

static uint64_t part_resume(void *userdata)
{
	return ((struct range_part *)userdata)->got;    /* a retry asks for the rest of the part */
}

static void part_done(void *userdata, int result, const char *detail)
{
	struct range_part *p = userdata;

	(*p->pending)--;
	if (result >= 0 && p->got != p->len) {
		result = -EPROTO;
		detail = "the range ended early";
	}
	if (result < 0 && *p->result >= 0) {
		*p->result = result;
		(void)snprintf(p->detail, 512, "%s", detail && *detail ? detail : st_error_message(result));
	}
}

static const struct http_request_ops part_ops = {
	.data = part_data, .reset = part_reset, .resume = part_resume, .done = part_done,
};

unsigned http_range_parts(const struct http *h, uint64_t size, uint64_t part_min)
{
	uint64_t n = part_min ? (size + part_min - 1) / part_min : 1;

	return (unsigned)MAX(UINT64_C(1), MIN(n, (uint64_t)h->jobs));
}

int http_get_range(struct http *h, const char *url, uint64_t offset, size_t size, unsigned max_parts, char **ret)
{
	_cleanup_free_ struct range_part *parts = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	unsigned n = http_range_parts(h, size, HTTP_PART_MIN);
	char detail[512] = "";
	unsigned pending = 0;
	int result = 0, r;

	if (size == 0 || offset > UINT64_MAX - size)
		return -EINVAL;
	if (max_parts > 0)
		n = MIN(n, max_parts);
	buf = malloc(size);
	parts = calloc(n, sizeof(*parts));
	if (!buf || !parts)
		return -ENOMEM;
	/* Ahead of what is queued, in order: the last part first. */
	for (unsigned i = n; i-- > 0;) {
		size_t from = size / n * i, to = i + 1 == n ? size : size / n * (i + 1);

		parts[i] = (struct range_part){ .buf = buf + from, .len = to - from, .result = &result, .detail = detail,
						.pending = &pending };
		r = add(h, url, &(struct http_request_options){ .range_start = offset + from, .range_end = offset + to },
			&part_ops, &parts[i], true);
		if (r < 0) {
			(void)run(h, &pending); /* the parts queued before point into parts: run out first */
			return r;
		}
		pending++;
	}
	/* Until the parts are in: what else runs (queued before) goes on at the next http_run(). */
	r = run(h, &pending);
	if (r < 0)
		return r;
	if (result < 0)
		return st_errf(result, "%s", detail);
	*ret = (char *)TAKE_PTR(buf);
	return 0;
}

unsigned http_jobs(const struct http *h)
{
	return h->jobs;
}

uint64_t http_requests(const struct http *h)
{
	return h->requests;
}

uint64_t http_bytes(const struct http *h)
{
	return h->bytes;
}

/* ---- http_send(): one upload request (the OCI push) ---- */

#define SEND_BODY_KEEP 65536u

struct send_state {
	const uint8_t *body;
	int fd;
	uint64_t len, off;
	struct http_send_result *res;
	size_t body_len;
	int error;
};

static size_t send_read_cb(char *buf, size_t size, size_t nitems, void *userdata)
{
	struct send_state *s = userdata;
	size_t want = size * nitems;

	if ((uint64_t)want > s->len - s->off)
		want = (size_t)(s->len - s->off);
	if (want == 0)
		return 0;
	if (s->fd >= 0) {
		ssize_t n = pread(s->fd, buf, want, (off_t)s->off);

		if (n <= 0) {
			s->error = n < 0 ? -errno : -EIO;
			return CURL_READFUNC_ABORT;
		}
		want = (size_t)n;
	} else
		memcpy(buf, s->body + s->off, want);
	s->off += want;
	return want;
}

static size_t send_write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct send_state *s = userdata;
	size_t n = size * nmemb, keep = n;
	char *b;

	if (s->body_len + keep > SEND_BODY_KEEP)
		keep = SEND_BODY_KEEP - s->body_len;
	if (keep == 0)
		return n;
	b = realloc(s->res->body, s->body_len + keep + 1);
	if (!b)
		return 0;
	memcpy(b + s->body_len, ptr, keep);
	s->body_len += keep;
	b[s->body_len] = '\0';
	s->res->body = b;
	return n;
}

static char *send_header_value(const char *line, size_t len, const char *name)
{
	size_t n = strlen(name), e = len;

	if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
		return NULL;
	n++;
	while (n < len && (line[n] == ' ' || line[n] == '\t'))
		n++;
	while (e > n && (line[e - 1] == ' ' || line[e - 1] == '\t' || line[e - 1] == '\r' || line[e - 1] == '\n'))
		e--;
	return e - n > 16384 ? NULL : strndup(line + n, e - n);
}

static size_t send_header_cb(char *buf, size_t size, size_t nitems, void *userdata)
{
	struct send_state *s = userdata;
	size_t len = size * nitems;
	char *v;

	if (len >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
		free(s->res->location);
		free(s->res->www_authenticate);
		s->res->location = s->res->www_authenticate = NULL;
	}
	if ((v = send_header_value(buf, len, "location"))) {
		free(s->res->location);
		s->res->location = v;
	}
	if ((v = send_header_value(buf, len, "www-authenticate"))) {
		free(s->res->www_authenticate);
		s->res->www_authenticate = v;
	}
	return len;
}

void http_send_result_done(struct http_send_result *r)
{
	free(r->location);
	free(r->www_authenticate);
	free(r->body);
	*r = (struct http_send_result){};
}

int http_send(struct http *h, const char *method, const char *url, const char *const *headers, const void *body,
	      int body_fd, uint64_t body_len, struct http_send_result *ret)
{
	struct http_send_result res = {};
	struct send_state s = { .body = body, .fd = body_fd, .len = (body || body_fd >= 0) ? body_len : 0, .res = &res };
	struct curl_slist *hl = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	CURL *e;
	CURLcode c;
	bool ok;

	pthread_once(&curl_once, curl_init_once);
	if (curl_init_result != CURLE_OK)
		return st_errf(-EIO, "cannot initialise libcurl");
	e = curl_easy_init();
	if (!e)
		return -ENOMEM;
	for (size_t i = 0; headers && headers[i]; i++) {
		struct curl_slist *n = curl_slist_append(hl, headers[i]);

		if (!n) {
			curl_slist_free_all(hl);
			curl_easy_cleanup(e);
			return -ENOMEM;
		}
		hl = n;
	}
	ok = curl_easy_setopt(e, CURLOPT_URL, url) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, (long)HTTP_CONNECT_TIMEOUT) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)h->stall_timeout) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_USERAGENT, "sealtree") == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf) == CURLE_OK && set_tls_proxy(h, e) &&
	     curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, h->tls_verify ? 1L : 0L) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, h->tls_verify ? 2L : 0L) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_HTTPHEADER, hl) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, send_header_cb) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_HEADERDATA, &s) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, send_write_cb) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_WRITEDATA, &s) == CURLE_OK;
	if (ok && strcmp(method, "HEAD") == 0)
		ok = curl_easy_setopt(e, CURLOPT_NOBODY, 1L) == CURLE_OK;
	else if (ok && strcmp(method, "PUT") == 0)
		ok = curl_easy_setopt(e, CURLOPT_UPLOAD, 1L) == CURLE_OK &&
		     curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)s.len) == CURLE_OK;
	else if (ok)
		ok = curl_easy_setopt(e, CURLOPT_POST, 1L) == CURLE_OK &&
		     curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)s.len) == CURLE_OK &&
		     (strcmp(method, "POST") == 0 || curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method) == CURLE_OK);
	if (ok)
		ok = curl_easy_setopt(e, CURLOPT_READFUNCTION, send_read_cb) == CURLE_OK &&
		     curl_easy_setopt(e, CURLOPT_READDATA, &s) == CURLE_OK;
	if (!ok) {
		curl_slist_free_all(hl);
		curl_easy_cleanup(e);
		return st_errf(-EIO, "%s %s: cannot set up the request", method, url);
	}
	c = curl_easy_perform(e);
	if (c == CURLE_OK)
		(void)curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &res.status);
	h->requests++;
	curl_slist_free_all(hl);
	curl_easy_cleanup(e);
	if (c != CURLE_OK) {
		http_send_result_done(&res);
		if (s.error < 0)
			return st_errf(s.error, "%s %s: cannot read the body to send", method, url);
		return st_errf(-EIO, "%s %s: %s", method, url, errbuf[0] ? errbuf : curl_easy_strerror(c));
	}
	*ret = res;
	return 0;
}
