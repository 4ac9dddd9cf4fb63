/* SPDX-License-Identifier: MIT */
/*
 * A strict JSON (RFC 8259) parser for untrusted documents: OCI manifests,
 * indexes and configs, registry answers. The whole document becomes a tree
 * of json_value; nothing is left unchecked for a later reader:
 *
 *  - the input is at most limits->max_bytes (and must be given whole);
 *  - nesting at most limits->max_depth arrays/objects deep (recursion is
 *    bounded by it), a string at most limits->max_string bytes decoded;
 *  - UTF-8 is valid (no overlong forms, surrogates or code points over
 *    U+10FFFF), escapes are the eight of the RFC plus \uXXXX with surrogate
 *    pairs matched; "\u0000" is refused so that every string is a C string;
 *  - numbers follow the RFC grammar (no leading zeros, no '+', no NaN);
 *    they are kept as their text, json_u64()/json_i64() convert exactly;
 *  - an object never has the same key twice (two readers could otherwise
 *    disagree on what a manifest says);
 *  - one value, surrounded by whitespace only: no BOM, no trailing bytes.
 *
 * Failures are -EUCLEAN (-E2BIG for a document over its size cap, -ENOMEM)
 * with a detail "JSON byte N: why" (the caller adds what the document is).
 * Memory is O(input size): every value consumes at least one input byte.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum json_type {
	JSON_NULL,
	JSON_FALSE,
	JSON_TRUE,
	JSON_NUMBER,                    /* str holds the number's text */
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

struct json_member;

struct json_value {
	enum json_type type;
	char *str;                      /* STRING, NUMBER: NUL-terminated, len bytes (no NUL inside) */
	size_t len;
	struct json_value *items;       /* ARRAY: n items */
	struct json_member *members;    /* OBJECT: n members, in document order */
	size_t n;
};

struct json_member {
	char *key;                      /* NUL-terminated, key_len bytes */
	size_t key_len;
	struct json_value value;
};

struct json_limits {
	size_t max_bytes;               /* 0 = 4 MiB */
	unsigned max_depth;             /* 0 = 64 */
	size_t max_string;              /* 0 = 1 MiB */
};

/* Parse len bytes into a new tree (*ret, freed with json_free()). limits may be NULL. */
int json_parse(const void *data, size_t len, const struct json_limits *limits, struct json_value **ret);

/* Accepts NULL; returns NULL. */
struct json_value *json_free(struct json_value *v);

static inline void json_freep(struct json_value **v)
{
	json_free(*v);
}
#define _cleanup_json_ __attribute__((cleanup(json_freep)))

/* The member value of an object by key; NULL if v is not an object or has no such key. */
const struct json_value *json_get(const struct json_value *v, const char *key);

/* A JSON_STRING's text, or NULL if v is NULL or of another type. */
const char *json_string(const struct json_value *v);

/*
 * An integer number (digits only, optionally '-' for json_i64: no fraction
 * or exponent) within range: 0, -EINVAL if v is not such a number, -ERANGE
 * if it is out of range. *ret untouched on failure.
 */
int json_u64(const struct json_value *v, uint64_t *ret);
int json_i64(const struct json_value *v, int64_t *ret);

/* true if v is an object / array / string. */
static inline bool json_is(const struct json_value *v, enum json_type t)
{
	return v && v->type == t;
}
