/* SPDX-License-Identifier: MIT */
/*
 * json_parse(): the strict JSON parser of json.h. A recursive descent over a
 * cursor; recursion depth is capped by limits->max_depth, so the stack is
 * bounded whatever the input. Every read of the input checks the cursor
 * against the end first.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "hex.h"
#include "fundamental/parse-number.h"
#include "fundamental/utf8.h"
#include "json.h"
#include "macro.h"

#define JSON_DEFAULT_MAX_BYTES (4u * 1024 * 1024)
#define JSON_DEFAULT_MAX_DEPTH 64u
#define JSON_DEFAULT_MAX_STRING (1u * 1024 * 1024)

struct parser {
	const uint8_t *start, *p, *end;
	unsigned depth, max_depth;
	size_t max_string;
};

static int fail(const struct parser *ps, const char *why)
{
	return st_errf(-EUCLEAN, "JSON byte %zu: %s", (size_t)(ps->p - ps->start), why);
}

static void value_clear(struct json_value *v)
{
	switch (v->type) {
	case JSON_STRING:
	case JSON_NUMBER:
		free(v->str);
		break;
	case JSON_ARRAY:
		for (size_t i = 0; i < v->n; i++)
			value_clear(&v->items[i]);
		free(v->items);
		break;
	case JSON_OBJECT:
		for (size_t i = 0; i < v->n; i++) {
			free(v->members[i].key);
			value_clear(&v->members[i].value);
		}
		free(v->members);
		break;
	default:
		break;
	}
	*v = (struct json_value){ .type = JSON_NULL };
}

struct json_value *json_free(struct json_value *v)
{
	if (v) {
		value_clear(v);
		free(v);
	}
	return NULL;
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

/* Four hex digits after "\u". */
static int take_u16(struct parser *ps, uint32_t *ret)
{
	uint32_t v = 0;

	if (ps->end - ps->p < 4)
		return fail(ps, "a \\u escape needs four hex digits");
	for (int i = 0; i < 4; i++) {
		int d = hex_digit_value((char)ps->p[i]);

		if (d < 0)
			return fail(ps, "a \\u escape needs four hex digits");
		v = v << 4 | (uint32_t)d;
	}
	ps->p += 4;
	*ret = v;
	return 0;
}

static size_t utf8_put(uint32_t cp, uint8_t out[4])
{
	if (cp < 0x80) {
		out[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (uint8_t)(0xc0 | cp >> 6);
		out[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (uint8_t)(0xe0 | cp >> 12);
		out[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (uint8_t)(0xf0 | cp >> 18);
	out[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return 4;
}

/* The length of the valid UTF-8 sequence at p (lead byte >= 0x80, before end), or 0 if it is not one. */
static size_t utf8_seq(const uint8_t *p, const uint8_t *end)
{
	/* utf8_decode() reads a NUL-terminated string: give it at most 4 bytes of ours, NUL-padded. */
	unsigned char b[5] = { 0 };
	uint32_t cp;

	memcpy(b, p, MIN((size_t)(end - p), (size_t)4));
	return utf8_decode(b, &cp);
}

/* A string (the cursor on its opening quote) into a new NUL-terminated buffer. */
static int take_string(struct parser *ps, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *out = NULL;
	const uint8_t *q;
	size_t cap, o = 0;

	ps->p++;
	/* The decoded string is never longer than its encoding: size the buffer once. */
	for (q = ps->p; q < ps->end && *q != '"'; q++)
		if (*q == '\\' && q + 1 < ps->end)
			q++;
	if (q >= ps->end)
		return fail(ps, "unterminated string");
	cap = (size_t)(q - ps->p);
	if (cap > ps->max_string && cap / 6 > ps->max_string)
		return fail(ps, "a string over the size limit");
	out = malloc(cap + 1);
	if (!out)
		return -ENOMEM;

	for (;;) {
		uint8_t c;

		if (ps->p >= ps->end)
			return fail(ps, "unterminated string");
		c = *ps->p;
		if (c == '"') {
			ps->p++;
			break;
		}
		if (o >= ps->max_string)
			return fail(ps, "a string over the size limit");
		if (c < 0x20)
			return fail(ps, "a control character in a string (must be escaped)");
		if (c >= 0x80) {
			size_t n = utf8_seq(ps->p, ps->end);

			if (n == 0)
				return fail(ps, "invalid UTF-8 in a string");
			if (o + n > cap)
				return fail(ps, "a string over the size limit");
			memcpy(out + o, ps->p, n);
			o += n;
			ps->p += n;
			continue;
		}
		if (c != '\\') {
			out[o++] = (char)c;
			ps->p++;
			continue;
		}
		if (ps->end - ps->p < 2)
			return fail(ps, "unterminated escape");
		ps->p++;
		c = *ps->p++;
		switch (c) {
		case '"': out[o++] = '"'; break;
		case '\\': out[o++] = '\\'; break;
		case '/': out[o++] = '/'; break;
		case 'b': out[o++] = '\b'; break;
		case 'f': out[o++] = '\f'; break;
		case 'n': out[o++] = '\n'; break;
		case 'r': out[o++] = '\r'; break;
		case 't': out[o++] = '\t'; break;
		case 'u': {
			uint32_t cp, lo;
			uint8_t enc[4];
			size_t n;
			int r;

			r = take_u16(ps, &cp);
			if (r < 0)
				return r;
			if (cp == 0)
				return fail(ps, "\\u0000 in a string");
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return fail(ps, "a lone low surrogate in a \\u escape");
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u')
					return fail(ps, "a high surrogate without its low surrogate");
				ps->p += 2;
				r = take_u16(ps, &lo);
				if (r < 0)
					return r;
				if (lo < 0xdc00 || lo > 0xdfff)
					return fail(ps, "a high surrogate without its low surrogate");
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			n = utf8_put(cp, enc);
			/* "\uXXXX" is 6 bytes and encodes to at most 3, a pair is 12 for 4: always fits cap. */
			if (o + n > cap)
				return fail(ps, "a string over the size limit");
			memcpy(out + o, enc, n);
			o += n;
			break;
		}
		default:
			return fail(ps, "an unknown escape in a string");
		}
	}
	if (o > ps->max_string)
		return fail(ps, "a string over the size limit");
	out[o] = '\0';
	*ret = TAKE_PTR(out);
	*ret_len = o;
	return 0;
}

static bool is_digit(const struct parser *ps, const uint8_t *q)
{
	return q < ps->end && *q >= '0' && *q <= '9';
}

static int take_number(struct parser *ps, struct json_value *v)
{
	const uint8_t *q = ps->p, *begin = ps->p;
	char *s;

	if (q < ps->end && *q == '-')
		q++;
	if (!is_digit(ps, q))
		return fail(ps, "not a number");
	if (*q == '0')
		q++;
	else
		while (is_digit(ps, q))
			q++;
	if (is_digit(ps, q))
		return fail(ps, "a number with a leading zero");
	if (q < ps->end && *q == '.') {
		q++;
		if (!is_digit(ps, q))
			return fail(ps, "a number with no digit after '.'");
		while (is_digit(ps, q))
			q++;
	}
	if (q < ps->end && (*q == 'e' || *q == 'E')) {
		q++;
		if (q < ps->end && (*q == '+' || *q == '-'))
			q++;
		if (!is_digit(ps, q))
			return fail(ps, "a number with no digit in its exponent");
		while (is_digit(ps, q))
			q++;
	}
	if ((size_t)(q - begin) > 64)
		return fail(ps, "a number of more than 64 characters");
	s = strndup((const char *)begin, (size_t)(q - begin));
	if (!s)
		return -ENOMEM;
	v->type = JSON_NUMBER;
	v->str = s;
	v->len = (size_t)(q - begin);
	ps->p = q;
	return 0;
}

static int take_literal(struct parser *ps, const char *word, enum json_type t, struct json_value *v)
{
	size_t n = strlen(word);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
		return fail(ps, "not a JSON value");
	ps->p += n;
	v->type = t;
	return 0;
}

static int take_value(struct parser *ps, struct json_value *v);

static int take_array(struct parser *ps, struct json_value *v)
{
	size_t cap = 0;
	int r;

	ps->p++;
	v->type = JSON_ARRAY;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == ']') {
		ps->p++;
		return 0;
	}
	for (;;) {
		if (GROW(v->items, cap, v->n + 1) < 0)
			return -ENOMEM;
		v->items[v->n] = (struct json_value){ .type = JSON_NULL };
		r = take_value(ps, &v->items[v->n]);
		/* Counted even on failure: the item may hold allocations value_clear() frees. */
		v->n++;
		if (r < 0)
			return r;
		skip_ws(ps);
		if (ps->p >= ps->end)
			return fail(ps, "unterminated array");
		if (*ps->p == ']') {
			ps->p++;
			return 0;
		}
		if (*ps->p != ',')
			return fail(ps, "expected ',' or ']' in an array");
		ps->p++;
	}
}

static int cmp_member(const void *a, const void *b)
{
	const struct json_member *x = *(const struct json_member *const *)a, *y = *(const struct json_member *const *)b;
	int c = memcmp(x->key, y->key, MIN(x->key_len, y->key_len));

	return c ? c : (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

/* No key twice in one object: sorted pointers, neighbours compared (O(n log n) for any n). */
static int check_unique_keys(struct parser *ps, const struct json_value *v)
{
	_cleanup_free_ const struct json_member **sorted = NULL;

	if (v->n < 2)
		return 0;
	sorted = new(const struct json_member *, v->n);
	if (!sorted)
		return -ENOMEM;
	for (size_t i = 0; i < v->n; i++)
		sorted[i] = &v->members[i];
	qsort(sorted, v->n, sizeof(*sorted), cmp_member);
	for (size_t i = 1; i < v->n; i++)
		if (cmp_member(&sorted[i - 1], &sorted[i]) == 0)
			return fail(ps, "an object has a key twice (the object starting here)");
	return 0;
}

static int take_object(struct parser *ps, struct json_value *v)
{
	const uint8_t *obj_at = ps->p, *p_end;
	size_t cap = 0;
	int r;

	ps->p++;
	v->type = JSON_OBJECT;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == '}') {
		ps->p++;
		return 0;
	}
	for (;;) {
		struct json_member *m;

		skip_ws(ps);
		if (ps->p >= ps->end || *ps->p != '"')
			return fail(ps, "expected a string key in an object");
		if (GROW(v->members, cap, v->n + 1) < 0)
			return -ENOMEM;
		m = &v->members[v->n];
		*m = (struct json_member){ .value.type = JSON_NULL };
		r = take_string(ps, &m->key, &m->key_len);
		if (r < 0)
			return r;
		v->n++;
		skip_ws(ps);
		if (ps->p >= ps->end || *ps->p != ':')
			return fail(ps, "expected ':' after a key");
		ps->p++;
		r = take_value(ps, &m->value);
		if (r < 0)
			return r;
		skip_ws(ps);
		if (ps->p >= ps->end)
			return fail(ps, "unterminated object");
		if (*ps->p == '}') {
			p_end = ps->p;
			ps->p = obj_at;
			r = check_unique_keys(ps, v);
			if (r < 0)
				return r;
			ps->p = p_end + 1;
			return 0;
		}
		if (*ps->p != ',')
			return fail(ps, "expected ',' or '}' in an object");
		ps->p++;
	}
}

static int take_value(struct parser *ps, struct json_value *v)
{
	int r;

	skip_ws(ps);
	if (ps->p >= ps->end)
		return fail(ps, "a value is missing");
	switch (*ps->p) {
	case '{':
	case '[':
		if (ps->depth >= ps->max_depth)
			return fail(ps, "nested deeper than the limit");
		ps->depth++;
		r = *ps->p == '{' ? take_object(ps, v) : take_array(ps, v);
		ps->depth--;
		return r;
	case '"':
		r = take_string(ps, &v->str, &v->len);
		if (r >= 0)
			v->type = JSON_STRING;
		return r;
	case 't':
		return take_literal(ps, "true", JSON_TRUE, v);
	case 'f':
		return take_literal(ps, "false", JSON_FALSE, v);
	case 'n':
		return take_literal(ps, "null", JSON_NULL, v);
	default:
		return take_number(ps, v);
	}
}

int json_parse(const void *data, size_t len, const struct json_limits *limits, struct json_value **ret)
{
	struct parser ps = {
		.start = data,
		.p = data,
		.end = (const uint8_t *)data + len,
		.max_depth = limits && limits->max_depth ? limits->max_depth : JSON_DEFAULT_MAX_DEPTH,
		.max_string = limits && limits->max_string ? limits->max_string : JSON_DEFAULT_MAX_STRING,
	};
	size_t max_bytes = limits && limits->max_bytes ? limits->max_bytes : JSON_DEFAULT_MAX_BYTES;
	_cleanup_json_ struct json_value *v = NULL;
	int r;

	if ((!data && len) || !ret)
		return -EINVAL;
	if (len > max_bytes)
		return st_errf(-E2BIG, "JSON document of %zu bytes, over the limit of %zu", len, max_bytes);
	v = new0(struct json_value, 1);
	if (!v)
		return -ENOMEM;
	r = take_value(&ps, v);
	if (r < 0)
		return r;
	skip_ws(&ps);
	if (ps.p != ps.end)
		return fail(&ps, "bytes after the document");
	*ret = TAKE_PTR(v);
	return 0;
}

const struct json_value *json_get(const struct json_value *v, const char *key)
{
	if (!v || v->type != JSON_OBJECT || !key)
		return NULL;
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->members[i].key, key) == 0)
			return &v->members[i].value;
	return NULL;
}

const char *json_string(const struct json_value *v)
{
	return v && v->type == JSON_STRING ? v->str : NULL;
}

int json_u64(const struct json_value *v, uint64_t *ret)
{
	if (!v || v->type != JSON_NUMBER || !v->len || v->str[0] == '-')
		return -EINVAL;
	return parse_uint_n(v->str, v->len, 10, UINT64_MAX, PARSE_CANONICAL, ret);
}

int json_i64(const struct json_value *v, int64_t *ret)
{
	uint64_t u;
	bool neg;
	int r;

	if (!v || v->type != JSON_NUMBER || !v->len)
		return -EINVAL;
	neg = v->str[0] == '-';
	r = parse_uint_n(v->str + neg, v->len - neg, 10, neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX,
			 PARSE_CANONICAL, &u);
	if (r < 0)
		return r;
	*ret = neg ? (int64_t)(0 - u) : (int64_t)u;
	return 0;
}
