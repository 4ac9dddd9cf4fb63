/* SPDX-License-Identifier: MIT */
/*
 * The transport of a pull, the only code that knows libcurl (http.c): many
 * GET requests in flight over reused connections (HTTP/1.1 keep-alive,
 * HTTP/2 multiplexing where offered), a low-speed timeout, retries with
 * backoff on 5xx and connection errors, redirects only to http(s). file://
 * URLs go the same way, so the fetch logic is tested without a server.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http;

struct http_request_ops {
	/* Body bytes of a successful response, in order. A negative errno aborts the request (no retry). */
	int (*data)(void *userdata, const void *buf, size_t len);
	/* A retry is about to start: forget the bytes given so far. */
	void (*reset)(void *userdata);
	/*
	 * Once per request, at the end: 0 (the whole body was given), -ENOENT
	 * (404 or no such file), -EACCES (401 or 403), or another negative
	 * errno; detail says what happened in plain words (the URL included).
	 */
	void (*done)(void *userdata, int result, const char *detail);
	/*
	 * Optional: each response header line (CRLF stripped, len bytes, not
	 * NUL-terminated), of every response: redirects and retries too. A
	 * status line ("HTTP/...") starts each response.
	 */
	void (*header)(void *userdata, const char *line, size_t len);
	/*
	 * Optional, replaces reset() before a retry: how many body bytes the
	 * caller keeps; the retry asks for the rest (Range). If the server
	 * answers with the whole body instead, reset() is called first.
	 */
	uint64_t (*resume)(void *userdata);
};

struct http_request_options {
	const char *const *headers;     /* NULL-terminated "Name: value" lines sent with the request (copied) */
	uint64_t range_start;           /* > 0: ask for the body from this offset on, as resume() does */
	/*
	 * > range_start: a bounded range, only bytes [range_start, range_end)
	 * (one range, so that S3-like servers serve it). The answer must be 206
	 * with exactly that Content-Range (file:// is read at the offset): a
	 * server answering 200 (the whole file) or another range is refused at
	 * its first body byte with -ERANGE, never read. A retry asks from
	 * range_start + resume() (the bytes of the range the caller keeps);
	 * when the caller keeps them all, done(0) follows without a request.
	 */
	uint64_t range_end;
	/*
	 * Another source can serve this: once its server counts as down (see
	 * http_origin_down()), the request is not sent, or not retried, but
	 * done() at once with -EHOSTDOWN, so that the caller asks elsewhere.
	 */
	bool failover;
};

/*
 * Server health, per origin (scheme://host:port) of one struct http: a
 * request that fails without an answer (connection refused, no such host,
 * a timeout) counts a failure of its origin; any answer (even an error
 * status) clears the count. HTTP_DOWN_AFTER failures in a row mark the
 * origin down for the rest of this struct http's life (one pull): its
 * failover requests are then given up without a try.
 */
#define HTTP_DOWN_AFTER 3
bool http_origin_down(struct http *h, const char *url);

/* jobs: requests in flight at most (0: 32); stall_timeout: seconds below 1 byte/s before an attempt fails (0: 30). */
int http_new(unsigned jobs, unsigned stall_timeout, struct http **ret);
struct http *http_free(struct http *h);

/* Queue a GET of url (copied); nothing is sent before http_run(). */
int http_add(struct http *h, const char *url, const struct http_request_ops *ops, void *userdata);
/* The same with request headers and a start offset (opts may be NULL). */
int http_add_with(struct http *h, const char *url, const struct http_request_options *opts,
		  const struct http_request_ops *ops, void *userdata);
/*
 * Queue n (at most jobs) HEAD requests of url whose answers are ignored
 * (never retried, never counted against the server's health): run with
 * other requests, they open that many connections at once, so that a later
 * step's requests in parallel (http_get_range()) find them open instead of
 * each paying a TCP (and TLS) handshake's round trips. Nothing for file://.
 */
int http_warm(struct http *h, const char *url, unsigned n);
/* Whether TLS peers are verified (default true); off for registries with self-signed certificates. */
void http_set_tls_verify(struct http *h, bool verify);
/*
 * TLS and proxy settings of every later request (strings copied; NULL:
 * libcurl's default): ca a PEM file of the CAs to trust, cert and key a
 * client certificate, proxy a proxy URL.
 */
int http_set_options(struct http *h, const char *ca, const char *cert, const char *key, const char *proxy);
/* Run until every queued request is done (their done() called). Negative only if the transport itself fails. */
int http_run(struct http *h);
/* GET one resource into memory (at most max bytes, -EFBIG beyond): -ENOENT for 404, detail naming url. */
int http_get(struct http *h, const char *url, size_t max, char **ret, size_t *ret_len);
/* The same with request options (opts may be NULL). */
int http_get_with(struct http *h, const char *url, const struct http_request_options *opts, size_t max, char **ret,
		  size_t *ret_len);

/*
 * GET without running: queue a GET of url into g (at most max bytes), run
 * it with others by http_run(), then http_get_take() gives what
 * http_get_with() would have (g's buffer is freed on failure).
 */
struct http_get {
	char *buf;
	size_t len, max;
	int result;
	char detail[512];
};
int http_add_get(struct http *h, const char *url, const struct http_request_options *opts, size_t max,
		 struct http_get *g);
int http_get_take(struct http_get *g, const char *url, char **ret, size_t *ret_len);

/*
 * Bytes [offset, offset + size) of url (size > 0) into one malloc'ed buffer
 * of size bytes, as http_range_parts(h, size, HTTP_PART_MIN) bounded Range
 * requests (at most max_parts of them if not 0) queued ahead of anything
 * queued before, run until they are done (what else runs then, or is
 * queued, goes on at the next http_run(): the caller must run it). On a long round
 * trip a fresh connection sends its first ~14 KB (TCP's initial window) in
 * one round trip and needs several for more: parts on as many connections
 * take one or two round trips where one request would take five or more.
 * The errors of bounded ranges (-ERANGE: the server ignores Range), with a
 * detail naming url.
 */
#define HTTP_PART_MIN (12u * 1024u)
int http_get_range(struct http *h, const char *url, uint64_t offset, size_t size, unsigned max_parts, char **ret);
/* How many parts of at least part_min bytes (the last may be shorter) size splits into: 1 to h's jobs. */
unsigned http_range_parts(const struct http *h, uint64_t size, uint64_t part_min);

/* Requests in flight at most (http_new()'s jobs). */
unsigned http_jobs(const struct http *h);
/* Requests sent so far (retries included) and body bytes received. */
uint64_t http_requests(const struct http *h);
uint64_t http_bytes(const struct http *h);

/* ---- Uploads (the OCI push): one request at a time, no retries ---- */

struct http_send_result {
	long status;                    /* the final HTTP status */
	char *location;                 /* Location header, or NULL */
	char *www_authenticate;         /* WWW-Authenticate header, or NULL */
	char *body;                     /* the response body (NUL-terminated, at most 64 KiB kept), or NULL */
};
void http_send_result_done(struct http_send_result *r);

/*
 * Send method (POST, PUT, HEAD, PATCH) to url with headers (NULL-terminated,
 * may be NULL) and a body: body_len bytes from body, or from body_fd at
 * offset 0 if body_fd >= 0, or none. Redirects are not followed (a 307 is
 * the caller's to read). Any HTTP status is returned in ret (0); a negative
 * errno only when no answer came, with a detail naming url.
 */
int http_send(struct http *h, const char *method, const char *url, const char *const *headers, const void *body,
	      int body_fd, uint64_t body_len, struct http_send_result *ret);
