/* SPDX-License-Identifier: MIT */
/*
 * The summary of a published repository (docs/formats/remote.md): its one
 * canonical text form, parsed from untrusted bytes, and its signatures.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "basic/error.h"
#include "basic/hex.h"
#include "fundamental/macro.h"
#include "fundamental/parse-number.h"
#include "remote-internal.h"
#include "sealtree/error.h"

#define SUMMARY_MAGIC "sealtree-summary 1\n"
#define TIMESTAMP_MAX UINT64_C(253402300799)
#define VERSION_MAX 255

struct st_summary *st_summary_free(struct st_summary *s)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < s->n_refs; i++) {
		free(s->refs[i].name);
		free(s->refs[i].version);
	}
	free(s->refs);
	free(s->packs);
	free(s);
	return NULL;
}

static void summary_freep(struct st_summary **s)
{
	st_summary_free(*s);
}

static bool text_ok(const char *s, size_t len)
{
	if (len == 0 || len > VERSION_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

/* The next field up to sep within [*p, end): its start and length; *p moves past sep. */
static bool take_field(const char **p, const char *end, char sep, const char **ret, size_t *ret_len)
{
	const char *e = memchr(*p, sep, (size_t)(end - *p));

	if (!e)
		return false;
	*ret = *p;
	*ret_len = (size_t)(e - *p);
	*p = e + 1;
	return true;
}

static int parse_ref_line(const char *line, size_t len, unsigned lineno, struct st_summary_ref *ret)
{
	const char *p = line, *end = line + len, *f;
	char canon[ST_REF_NAME_MAX + 1];
	size_t flen;
	uint64_t ts;
	_cleanup_free_ char *name = NULL, *version = NULL;
	uint8_t id[ST_COMMIT_ID_SIZE];

	/* "ref <name> <64 hex> <timestamp>[ <version>]", end excluding the '\n' */
	if (!take_field(&p, end, ' ', &f, &flen) || flen != 3 || memcmp(f, "ref", 3) != 0)
		return st_errf(-EUCLEAN, "summary line %u: expected 'ref NAME COMMIT TIMESTAMP [VERSION]'", lineno);
	if (!take_field(&p, end, ' ', &f, &flen) || flen == 0 || flen > ST_REF_NAME_MAX)
		return st_errf(-EUCLEAN, "summary line %u: bad ref name", lineno);
	name = strndup(f, flen);
	if (!name)
		return -ENOMEM;
	if (strlen(name) != flen || st_ref_canonicalize(name, canon) < 0 || strcmp(canon, name) != 0)
		return st_errf(-EUCLEAN, "summary line %u: ref name is not canonical", lineno);
	if (!take_field(&p, end, ' ', &f, &flen) || hex_decode_lower(f, flen, id, sizeof(id)) < 0)
		return st_errf(-EUCLEAN, "summary line %u: commit is not 64 lowercase hex digits", lineno);
	f = p;
	p = memchr(p, ' ', (size_t)(end - p));
	flen = (size_t)((p ? p : end) - f);
	if (parse_uint_n(f, flen, 10, TIMESTAMP_MAX, PARSE_CANONICAL, &ts) < 0)
		return st_errf(-EUCLEAN, "summary line %u: bad commit timestamp", lineno);
	if (p) {
		p++;
		if (!text_ok(p, (size_t)(end - p)))
			return st_errf(-EUCLEAN, "summary line %u: version is empty, longer than %d bytes or has control characters",
				       lineno, VERSION_MAX);
		version = strndup(p, (size_t)(end - p));
		if (!version)
			return -ENOMEM;
	}
	ret->name = TAKE_PTR(name);
	memcpy(ret->commit, id, sizeof(id));
	ret->timestamp = (int64_t)ts;
	ret->version = TAKE_PTR(version);
	return 0;
}

/* Sort order of packs: commit, then from, a full pack (no from) first. */
static int pack_cmp(const struct st_summary_pack *a, const struct st_summary_pack *b)
{
	int c = memcmp(a->commit, b->commit, ST_COMMIT_ID_SIZE);

	if (c != 0)
		return c;
	if (a->has_from != b->has_from)
		return a->has_from ? 1 : -1;
	return a->has_from ? memcmp(a->from, b->from, ST_COMMIT_ID_SIZE) : 0;
}

/* "pack <commit> <from or -> <index sha256> <index size>", after the refs, sorted, unique. */
static int parse_pack_line(struct st_summary *s, const char *line, size_t len, unsigned lineno, size_t *cap)
{
	const char *p = line + 5, *end = line + len, *f;
	struct st_summary_pack pk = {};
	size_t flen;
	uint64_t size;

	if (!take_field(&p, end, ' ', &f, &flen) || hex_decode_lower(f, flen, pk.commit, sizeof(pk.commit)) < 0)
		return st_errf(-EUCLEAN, "summary line %u: pack commit is not 64 lowercase hex digits", lineno);
	if (!take_field(&p, end, ' ', &f, &flen))
		return st_errf(-EUCLEAN, "summary line %u: expected 'pack COMMIT FROM INDEX-SHA256 INDEX-SIZE'", lineno);
	if (!(flen == 1 && f[0] == '-')) {
		static const uint8_t zero[ST_COMMIT_ID_SIZE];

		if (hex_decode_lower(f, flen, pk.from, sizeof(pk.from)) < 0 || memcmp(pk.from, zero, sizeof(zero)) == 0)
			return st_errf(-EUCLEAN, "summary line %u: pack base is neither '-' nor a commit id", lineno);
		pk.has_from = true;
	}
	if (!take_field(&p, end, ' ', &f, &flen) || hex_decode_lower(f, flen, pk.index_sha256, 32) < 0)
		return st_errf(-EUCLEAN, "summary line %u: pack index hash is not 64 lowercase hex digits", lineno);
	if (parse_uint_n(p, (size_t)(end - p), 10, ST_PACK_INDEX_SIZE_MAX, PARSE_CANONICAL, &size) < 0 || size < 128)
		return st_errf(-EUCLEAN, "summary line %u: bad pack index size", lineno);
	pk.index_size = size;
	if (s->n_packs >= ST_SUMMARY_PACKS_MAX)
		return st_errf(-EUCLEAN, "summary line %u: more than %d packs", lineno, ST_SUMMARY_PACKS_MAX);
	if (s->n_packs > 0 && pack_cmp(&s->packs[s->n_packs - 1], &pk) >= 0)
		return st_errf(-EUCLEAN, "summary line %u: packs not sorted or not unique", lineno);
	if (s->n_packs == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct st_summary_pack *n = reallocarray(s->packs, ncap, sizeof(*n));

		if (!n)
			return -ENOMEM;
		s->packs = n;
		*cap = ncap;
	}
	s->packs[s->n_packs++] = pk;
	return 0;
}

int st_summary_parse(const void *data, size_t len, struct st_summary **ret)
{
	_cleanup_(summary_freep) struct st_summary *s = NULL;
	const char *p = data, *end = p + len, *line;
	size_t llen, cap = 0, pack_cap = 0;
	unsigned lineno = 2;
	uint64_t ts;
	int r;

	if (!data || !ret)
		return -EINVAL;
	if (len > ST_SUMMARY_SIZE_MAX)
		return st_errf(-EUCLEAN, "summary is %zu bytes, more than the limit of %u", len, ST_SUMMARY_SIZE_MAX);
	if (len < strlen(SUMMARY_MAGIC) || memcmp(p, SUMMARY_MAGIC, strlen(SUMMARY_MAGIC)) != 0) {
		if (len >= 17 && memcmp(p, "sealtree-summary ", 17) == 0)
			return st_errf(-EOPNOTSUPP, "summary line 1: unknown summary format version");
		return st_errf(-EUCLEAN, "summary line 1: not a sealtree summary");
	}
	p += strlen(SUMMARY_MAGIC);
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (!take_field(&p, end, '\n', &line, &llen) || llen < 11 || memcmp(line, "timestamp ", 10) != 0 ||
	    parse_uint_n(line + 10, llen - 10, 10, TIMESTAMP_MAX, PARSE_CANONICAL, &ts) < 0)
		return st_errf(-EUCLEAN, "summary line 2: expected 'timestamp N'");
	s->timestamp = (int64_t)ts;
	while (p < end) {
		struct st_summary_ref ref = {};

		lineno++;
		if (!take_field(&p, end, '\n', &line, &llen))
			return st_errf(-EUCLEAN, "summary line %u: no newline at the end", lineno);
		if (llen >= 5 && memcmp(line, "pack ", 5) == 0) {
			r = parse_pack_line(s, line, llen, lineno, &pack_cap);
			if (r < 0)
				return r;
			continue;
		}
		if (s->n_packs > 0)
			return st_errf(-EUCLEAN, "summary line %u: a ref after the packs", lineno);
		if (s->n_refs >= ST_SUMMARY_REFS_MAX)
			return st_errf(-EUCLEAN, "summary line %u: more than %d refs", lineno, ST_SUMMARY_REFS_MAX);
		r = parse_ref_line(line, llen, lineno, &ref);
		if (r < 0)
			return r;
		if (s->n_refs > 0 && strcmp(s->refs[s->n_refs - 1].name, ref.name) >= 0) {
			free(ref.name);
			free(ref.version);
			return st_errf(-EUCLEAN, "summary line %u: refs not sorted or not unique", lineno);
		}
		if (s->n_refs == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct st_summary_ref *n = reallocarray(s->refs, ncap, sizeof(*n));

			if (!n) {
				free(ref.name);
				free(ref.version);
				return -ENOMEM;
			}
			s->refs = n;
			cap = ncap;
		}
		s->refs[s->n_refs++] = ref;
	}
	*ret = TAKE_PTR(s);
	return 0;
}

int st_summary_serialize(const struct st_summary *s, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *buf = NULL;
	size_t size = 0;
	FILE *f;

	if (!s || !ret || !ret_len || s->timestamp < 0 || (uint64_t)s->timestamp > TIMESTAMP_MAX)
		return -EINVAL;
	for (size_t i = 0; i < s->n_refs; i++) {
		const struct st_summary_ref *r = &s->refs[i];
		char canon[ST_REF_NAME_MAX + 1];

		if (!r->name || st_ref_canonicalize(r->name, canon) < 0 || strcmp(canon, r->name) != 0 ||
		    (i > 0 && strcmp(s->refs[i - 1].name, r->name) >= 0) || r->timestamp < 0 ||
		    (uint64_t)r->timestamp > TIMESTAMP_MAX || (r->version && !text_ok(r->version, strlen(r->version))))
			return st_errf(-EINVAL, "summary: ref %zu is not valid", i);
	}
	for (size_t i = 0; i < s->n_packs; i++)
		if ((i > 0 && pack_cmp(&s->packs[i - 1], &s->packs[i]) >= 0) || s->packs[i].index_size < 128 ||
		    s->packs[i].index_size > ST_PACK_INDEX_SIZE_MAX)
			return st_errf(-EINVAL, "summary: pack %zu is not valid", i);
	f = open_memstream(&buf, &size);
	if (!f)
		return -ENOMEM;
	fprintf(f, SUMMARY_MAGIC "timestamp %lld\n", (long long)s->timestamp);
	for (size_t i = 0; i < s->n_refs; i++) {
		const struct st_summary_ref *r = &s->refs[i];
		char hex[2 * ST_COMMIT_ID_SIZE + 1];

		st_hex_encode(r->commit, sizeof(r->commit), hex);
		fprintf(f, "ref %s %s %lld%s%s\n", r->name, hex, (long long)r->timestamp, r->version ? " " : "",
			r->version ? r->version : "");
	}
	for (size_t i = 0; i < s->n_packs; i++) {
		const struct st_summary_pack *pk = &s->packs[i];
		char commit[65], from[65], sha[65];

		st_hex_encode(pk->commit, 32, commit);
		if (pk->has_from)
			st_hex_encode(pk->from, 32, from);
		else
			(void)snprintf(from, sizeof(from), "-");
		st_hex_encode(pk->index_sha256, 32, sha);
		fprintf(f, "pack %s %s %s %llu\n", commit, from, sha, (unsigned long long)pk->index_size);
	}
	if (fclose(f) != 0)
		return -ENOMEM;
	*ret_len = size;
	*ret = TAKE_PTR(buf);
	return 0;
}

const struct st_summary_ref *st_summary_find(const struct st_summary *s, const char *name)
{
	if (!s || !name)
		return NULL;
	for (size_t i = 0; i < s->n_refs; i++)
		if (strcmp(s->refs[i].name, name) == 0)
			return &s->refs[i];
	return NULL;
}

/* The signed message of a summary: the domain, its NUL, SHA-256 of the bytes. */
int summary_signed_message(const void *data, size_t len, uint8_t ret_hash[32],
			   uint8_t ret_msg[sizeof(ST_SUMMARY_SIGNATURE_DOMAIN) + 32])
{
	unsigned n = 32;

	if (EVP_Digest(data, len, ret_hash, &n, EVP_sha256(), NULL) != 1)
		return -ENOMEM;
	memcpy(ret_msg, ST_SUMMARY_SIGNATURE_DOMAIN, sizeof(ST_SUMMARY_SIGNATURE_DOMAIN));
	memcpy(ret_msg + sizeof(ST_SUMMARY_SIGNATURE_DOMAIN), ret_hash, 32);
	return 0;
}

static void sigset_freep(struct st_signature_set **s)
{
	st_signature_set_free(*s);
}

static void key_freep(struct st_key **k)
{
	st_key_free(*k);
}

int st_summary_verify(const void *data, size_t len, const void *sigs, size_t sigs_len,
		      const struct st_trust_store *store)
{
	_cleanup_(sigset_freep) struct st_signature_set *set = NULL;
	uint8_t hash[32], msg[sizeof(ST_SUMMARY_SIGNATURE_DOMAIN) + 32];
	size_t untrusted = 0, invalid = 0;
	int r;

	if (!data || !store)
		return -EINVAL;
	if (!sigs)
		return st_errf(-EKEYREJECTED, "summary is not signed (no summary.sig)");
	r = summary_signed_message(data, len, hash, msg);
	if (r < 0)
		return r;
	r = st_signature_set_parse(sigs, sigs_len, &set);
	if (r < 0) {
		char why[256];

		(void)snprintf(why, sizeof(why), "%s", st_error_detail() ? st_error_detail() : "does not parse");
		return st_errf(-EKEYREJECTED, "summary.sig: %s", why);
	}
	if (memcmp(set->commit_id, hash, sizeof(hash)) != 0)
		return st_errf(-EKEYREJECTED, "summary.sig is for other summary bytes");
	for (size_t i = 0; i < set->n_sigs; i++) {
		_cleanup_(key_freep) struct st_key *key = NULL;

		if (st_trust_store_lookup(store, set->sigs[i].public_key) != ST_KEY_TRUSTED) {
			untrusted++;
			continue;
		}
		r = st_key_from_public_raw(set->sigs[i].public_key, &key);
		if (r < 0)
			return r;
		if (st_key_verify(key, msg, sizeof(msg), set->sigs[i].signature) == 0)
			return 0;
		invalid++;
	}
	return st_errf(-EKEYREJECTED, "summary has no valid signature by a trusted key (%zu signatures: %zu by untrusted or revoked keys, %zu invalid)",
		       set->n_sigs, untrusted, invalid);
}
