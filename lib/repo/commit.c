/* SPDX-License-Identifier: MIT */
/*
 * The commit record: canonical serialization, strict parsing, the commit id.
 * The format is specified in docs/formats/repository.md ("Commits"):
 *
 *   sealtree-commit 1\n
 *   image <64 hex>\n
 *   image-version <n>\n
 *   image-size <n>\n
 *   content-size <n>\n
 *   inodes <n>\n
 *   [parent <64 hex>\n]
 *   timestamp <n>\n
 *   [version <text>\n]
 *   [subject <text>\n]
 *   (meta <key> <length>\n<value>\n)*     keys sorted, unique
 *   [body <length>\n<body>\n]
 *
 * The parser accepts exactly the bytes the serializer writes, so one commit
 * has one byte string and one id.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "basic/error.h"
#include "basic/hex.h"
#include "fundamental/parse-number.h"
#include "repo-internal.h"
#include "sealtree/image.h"

#define COMMIT_MAGIC "sealtree-commit 1"
#define VERSION_MAX 255
#define SUBJECT_MAX 4096
#define BODY_MAX (1024u * 1024u)
#define META_KEY_MAX 255
#define META_VALUE_MAX 65536u
#define META_COUNT_MAX 1024u
#define TIMESTAMP_MAX INT64_C(253402300799)     /* 9999-12-31T23:59:59Z */

struct st_commit *st_commit_free(struct st_commit *c)
{
	if (!c)
		return NULL;
	free(c->version);
	free(c->subject);
	free(c->body);
	for (size_t i = 0; i < c->n_metadata; i++) {
		free(c->metadata[i].key);
		free(c->metadata[i].value);
	}
	free(c->metadata);
	free(c);
	return NULL;
}

static void commit_freep(struct st_commit **c)
{
	st_commit_free(*c);
}

/* Length of a valid UTF-8 sequence at s (at most n bytes), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/*
 * Text rules: valid UTF-8, no NUL; with one_line, no control characters at
 * all (C0, DEL); otherwise tab and newline are the only ones allowed.
 */
static bool text_valid(const char *s, size_t len, bool one_line)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0; i < len;) {
		size_t n;

		if (u[i] < 0x20 || u[i] == 0x7f) {
			if (one_line || (u[i] != '\n' && u[i] != '\t'))
				return false;
			i++;
			continue;
		}
		n = utf8_seq(u + i, len - i);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

static bool key_valid(const char *k, size_t len)
{
	if (len == 0 || len > META_KEY_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = k[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

static int check_commit(const struct st_commit *c)
{
	if (c->image_version > ST_IMAGE_VERSION_MAX)
		return st_errf(-EINVAL, "commit: image version %u is not supported", c->image_version);
	if (c->timestamp < 0 || c->timestamp > TIMESTAMP_MAX)
		return st_errf(-EINVAL, "commit: timestamp %lld out of range (0..%lld)", (long long)c->timestamp,
			       (long long)TIMESTAMP_MAX);
	if (c->version && (!*c->version || strlen(c->version) > VERSION_MAX ||
			   !text_valid(c->version, strlen(c->version), true)))
		return st_errf(-EINVAL, "commit: version must be 1..%d bytes of UTF-8 without control characters",
			       VERSION_MAX);
	if (c->subject && (!*c->subject || strlen(c->subject) > SUBJECT_MAX ||
			   !text_valid(c->subject, strlen(c->subject), true)))
		return st_errf(-EINVAL, "commit: subject must be 1..%d bytes of UTF-8 without control characters",
			       SUBJECT_MAX);
	if (c->body && (!*c->body || strlen(c->body) > BODY_MAX || !text_valid(c->body, strlen(c->body), false)))
		return st_errf(-EINVAL,
			       "commit: body must be 1..%u bytes of UTF-8 (tab and newline the only control characters)",
			       BODY_MAX);
	if (c->n_metadata > META_COUNT_MAX)
		return st_errf(-EINVAL, "commit: more than %u metadata entries", META_COUNT_MAX);
	for (size_t i = 0; i < c->n_metadata; i++) {
		const struct st_commit_meta *m = &c->metadata[i];

		if (!m->key || !key_valid(m->key, strlen(m->key)))
			return st_errf(-EINVAL, "commit: metadata key '%s' must be 1..%d of [A-Za-z0-9._-]",
				       m->key ? m->key : "", META_KEY_MAX);
		if (!m->value || strlen(m->value) > META_VALUE_MAX ||
		    !text_valid(m->value, strlen(m->value), false))
			return st_errf(-EINVAL,
				       "commit: metadata '%s': the value must be up to %u bytes of UTF-8 "
				       "(tab and newline the only control characters)",
				       m->key, META_VALUE_MAX);
		if (i > 0 && strcmp(c->metadata[i - 1].key, m->key) >= 0)
			return st_errf(-EINVAL, "commit: metadata keys must be sorted and unique ('%s')", m->key);
	}
	return 0;
}

int st_commit_serialize(const struct st_commit *c, char **ret, size_t *ret_len)
{
	char hex[65];
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int r;

	if (!c || !ret || !ret_len)
		return -EINVAL;
	r = check_commit(c);
	if (r < 0)
		return r;
	f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	st_hex_encode(c->image_digest, ST_DIGEST_SIZE, hex);
	fprintf(f, COMMIT_MAGIC "\nimage %s\nimage-version %u\nimage-size %llu\ncontent-size %llu\ninodes %llu\n",
		hex, c->image_version, (unsigned long long)c->image_size, (unsigned long long)c->content_size,
		(unsigned long long)c->n_inodes);
	if (c->has_parent) {
		st_hex_encode(c->parent, ST_COMMIT_ID_SIZE, hex);
		fprintf(f, "parent %s\n", hex);
	}
	fprintf(f, "timestamp %lld\n", (long long)c->timestamp);
	if (c->version)
		fprintf(f, "version %s\n", c->version);
	if (c->subject)
		fprintf(f, "subject %s\n", c->subject);
	for (size_t i = 0; i < c->n_metadata; i++)
		fprintf(f, "meta %s %zu\n%s\n", c->metadata[i].key, strlen(c->metadata[i].value),
			c->metadata[i].value);
	if (c->body)
		fprintf(f, "body %zu\n%s\n", strlen(c->body), c->body);
	/* A failed write (no memory) must not yield a shorter, still valid, commit. */
	r = ferror(f) ? -ENOMEM : 0;
	if (fclose(f) != 0 || r < 0 || !buf) {
		free(buf);
		return -ENOMEM;
	}
	if (len > REPO_COMMIT_SIZE_MAX) {
		free(buf);
		return st_errf(-EINVAL, "commit: %zu bytes, more than the %u allowed (metadata too large)", len,
			       REPO_COMMIT_SIZE_MAX);
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}

void st_commit_id_of(const void *data, size_t len, uint8_t ret_id[ST_COMMIT_ID_SIZE])
{
	unsigned int n = ST_COMMIT_ID_SIZE;

	/* EVP_Digest with SHA-256 cannot fail short of memory exhaustion inside OpenSSL. */
	if (EVP_Digest(data, len, ret_id, &n, EVP_sha256(), NULL) != 1)
		memset(ret_id, 0, ST_COMMIT_ID_SIZE);
}

/* ---- parsing ---- */

struct cursor {
	const char *p, *end;
	unsigned line;
};

#define CORRUPT(cur, fmt, ...) st_errf(-EUCLEAN, "commit line %u: " fmt, (cur)->line, ##__VA_ARGS__)

/* Take one line starting with "field " (or exactly "field" if the value is empty). */
static int take_field(struct cursor *cur, const char *field, bool optional, const char **ret_val,
		      size_t *ret_len)
{
	size_t flen = strlen(field);
	const char *nl;

	if ((size_t)(cur->end - cur->p) <= flen || memcmp(cur->p, field, flen) != 0 || cur->p[flen] != ' ') {
		if (optional)
			return 0;
		return CORRUPT(cur, "expected '%s'", field);
	}
	nl = memchr(cur->p + flen + 1, '\n', (size_t)(cur->end - cur->p - (ptrdiff_t)flen - 1));
	if (!nl)
		return CORRUPT(cur, "'%s' has no newline", field);
	*ret_val = cur->p + flen + 1;
	*ret_len = (size_t)(nl - *ret_val);
	cur->p = nl + 1;        /* cur->line still names this line: the caller counts it once checked */
	return 1;
}

/* A canonical decimal: "0" or no leading zero, at most max. */
static int parse_u64(struct cursor *cur, const char *field, const char *s, size_t len, uint64_t max,
		     uint64_t *ret)
{
	int r = parse_uint_n(s, len, 10, max, PARSE_CANONICAL, ret);

	if (r == -ERANGE)
		return CORRUPT(cur, "number out of range in '%s'", field);
	if (r < 0)
		return CORRUPT(cur, "bad number in '%s'", field);
	return 0;
}

static int take_number(struct cursor *cur, const char *field, uint64_t max, uint64_t *ret)
{
	const char *v = NULL;
	size_t len = 0;
	int r;

	r = take_field(cur, field, false, &v, &len);
	if (r < 0)
		return r;
	r = parse_u64(cur, field, v, len, max, ret);
	cur->line++;
	return r;
}

static int take_id(struct cursor *cur, const char *field, bool optional, uint8_t ret[32])
{
	const char *v = NULL;
	size_t len = 0;
	int r;

	r = take_field(cur, field, optional, &v, &len);
	if (r <= 0)
		return r;
	if (repo_parse_id(v, len, ret) < 0)
		return CORRUPT(cur, "'%s' must be 64 lowercase hex digits", field);
	cur->line++;
	return 1;
}

static int take_text_line(struct cursor *cur, const char *field, size_t max, char **ret)
{
	const char *v = NULL;
	size_t len = 0;
	int r;

	r = take_field(cur, field, true, &v, &len);
	if (r <= 0)
		return r;
	if (len == 0 || len > max || !text_valid(v, len, true))
		return CORRUPT(cur, "'%s' must be 1..%zu bytes of UTF-8 without control characters", field, max);
	*ret = strndup(v, len);
	cur->line++;
	return *ret ? 1 : -ENOMEM;
}

/*
 * The header line ("<field> ... <len>") was taken and cur->line names it;
 * now exactly len bytes and a newline. Errors name the header line.
 */
static int take_blob(struct cursor *cur, const char *field, const char *lenstr, size_t lenlen, size_t max,
		     bool allow_empty, char **ret)
{
	uint64_t n;
	int r;

	r = parse_u64(cur, field, lenstr, lenlen, max, &n);
	if (r < 0)
		return r;
	if (n == 0 && !allow_empty)
		return CORRUPT(cur, "'%s' is empty", field);
	if ((uint64_t)(cur->end - cur->p) < n + 1 || cur->p[n] != '\n')
		return CORRUPT(cur, "'%s' is truncated or does not end with a newline", field);
	if (!text_valid(cur->p, (size_t)n, false))
		return CORRUPT(cur, "'%s' is not UTF-8 text (tab and newline the only control characters)", field);
	*ret = strndup(cur->p, (size_t)n);
	if (!*ret)
		return -ENOMEM;
	cur->line++;    /* the header */
	for (size_t i = 0; i < n; i++)
		if (cur->p[i] == '\n')
			cur->line++;
	cur->p += n + 1;
	cur->line++;    /* the value's last line */
	return 0;
}

int st_commit_parse(const void *data, size_t len, struct st_commit **ret)
{
	_cleanup_(commit_freep) struct st_commit *c = NULL;
	struct cursor cur = { .p = data, .end = (const char *)data + len, .line = 1 };
	const char *v;
	size_t vlen;
	uint64_t n;
	int r;

	if (!data || !ret)
		return -EINVAL;
	if (len > REPO_COMMIT_SIZE_MAX)
		return st_errf(-EUCLEAN, "commit: %zu bytes, more than the %u allowed", len, REPO_COMMIT_SIZE_MAX);
	c = new0(struct st_commit, 1);
	if (!c)
		return -ENOMEM;

	if (len < sizeof(COMMIT_MAGIC) || memcmp(data, COMMIT_MAGIC "\n", sizeof(COMMIT_MAGIC)) != 0) {
		/* "sealtree-commit N\n" with another N: a format from the future. */
		const char *nl = memchr(data, '\n', len);
		size_t l1 = nl ? (size_t)(nl - (const char *)data) : 0;

		if (l1 > 16 && l1 <= 24 && memcmp(data, "sealtree-commit ", 16) == 0 &&
		    strspn((const char *)data + 16, "0123456789") == l1 - 16)
			return st_errf(-EOPNOTSUPP, "commit line 1: unsupported commit format version");
		return CORRUPT(&cur, "not a sealtree commit");
	}
	cur.p += sizeof(COMMIT_MAGIC);
	cur.line++;

	r = take_id(&cur, "image", false, c->image_digest);
	if (r < 0)
		return r;
	r = take_number(&cur, "image-version", ST_IMAGE_VERSION_MAX, &n);
	if (r < 0)
		return r;
	c->image_version = (uint32_t)n;
	r = take_number(&cur, "image-size", UINT64_MAX, &c->image_size);
	if (r < 0)
		return r;
	r = take_number(&cur, "content-size", UINT64_MAX, &c->content_size);
	if (r < 0)
		return r;
	r = take_number(&cur, "inodes", UINT64_MAX, &c->n_inodes);
	if (r < 0)
		return r;
	r = take_id(&cur, "parent", true, c->parent);
	if (r < 0)
		return r;
	c->has_parent = r > 0;
	r = take_number(&cur, "timestamp", (uint64_t)TIMESTAMP_MAX, &n);
	if (r < 0)
		return r;
	c->timestamp = (int64_t)n;
	r = take_text_line(&cur, "version", VERSION_MAX, &c->version);
	if (r < 0)
		return r;
	r = take_text_line(&cur, "subject", SUBJECT_MAX, &c->subject);
	if (r < 0)
		return r;

	for (;;) {
		struct st_commit_meta *m;
		const char *sp;

		r = take_field(&cur, "meta", true, &v, &vlen);
		if (r < 0)
			return r;
		if (r == 0)
			break;
		if (c->n_metadata >= META_COUNT_MAX)
			return CORRUPT(&cur, "more than %u metadata entries", META_COUNT_MAX);
		sp = memchr(v, ' ', vlen);
		if (!sp || !key_valid(v, (size_t)(sp - v)))
			return CORRUPT(&cur, "'meta' needs a key of 1..%d [A-Za-z0-9._-] and a length", META_KEY_MAX);
		m = realloc_array(c->metadata, c->n_metadata + 1, sizeof(*m));
		if (!m)
			return -ENOMEM;
		c->metadata = m;
		m = &c->metadata[c->n_metadata];
		*m = (struct st_commit_meta){ 0 };
		m->key = strndup(v, (size_t)(sp - v));
		if (!m->key)
			return -ENOMEM;
		c->n_metadata++;
		if (c->n_metadata > 1 && strcmp(c->metadata[c->n_metadata - 2].key, m->key) >= 0)
			return CORRUPT(&cur, "metadata key '%s' out of order or repeated", m->key);
		r = take_blob(&cur, "meta", sp + 1, (size_t)(v + vlen - sp - 1), META_VALUE_MAX, true, &m->value);
		if (r < 0)
			return r;
	}

	r = take_field(&cur, "body", true, &v, &vlen);
	if (r < 0)
		return r;
	if (r > 0) {
		r = take_blob(&cur, "body", v, vlen, BODY_MAX, false, &c->body);
		if (r < 0)
			return r;
	}
	if (cur.p != cur.end)
		return CORRUPT(&cur, "unexpected data (fields out of order, unknown or repeated?)");
	/* Embedded NULs in text were refused by text_valid(), so strlen() agrees with the lengths. */
	*ret = TAKE_PTR(c);
	return 0;
}
