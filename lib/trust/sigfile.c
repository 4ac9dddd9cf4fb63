/* SPDX-License-Identifier: MIT */
/*
 * The signature file of a commit (REPO/commits/<id>.sig), see
 * docs/formats/signatures.md:
 *
 *   sealtree-signatures 1\n
 *   commit <64 hex>\n
 *   ed25519 <64 hex public key> <128 hex signature>\n     (1 to 64 lines, sorted by key, keys unique)
 *
 * Every file has exactly one encoding; the parser accepts nothing else.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "basic/error.h"
#include "basic/hex.h"
#include "trust-internal.h"

#define SIG_MAGIC "sealtree-signatures 1"
#define SIG_LINE_LEN (sizeof("ed25519 ") - 1 + 2 * ST_ED25519_PUBLIC_SIZE + 1 + 2 * ST_ED25519_SIGNATURE_SIZE)

int st_signature_set_new(const uint8_t commit_id[ST_COMMIT_ID_SIZE], struct st_signature_set **ret)
{
	struct st_signature_set *set = calloc(1, sizeof(*set));

	if (!set)
		return -ENOMEM;
	memcpy(set->commit_id, commit_id, ST_COMMIT_ID_SIZE);
	*ret = set;
	return 0;
}

struct st_signature_set *st_signature_set_free(struct st_signature_set *set)
{
	if (set) {
		free(set->sigs);
		free(set);
	}
	return NULL;
}
static void setp(struct st_signature_set **s)
{
	st_signature_set_free(*s);
}

int st_signature_set_add(struct st_signature_set *set, const struct st_signature *sig)
{
	size_t pos = 0;
	struct st_signature *n;

	while (pos < set->n_sigs) {
		int c = memcmp(set->sigs[pos].public_key, sig->public_key, ST_ED25519_PUBLIC_SIZE);
		if (c == 0)
			return 0;
		if (c > 0)
			break;
		pos++;
	}
	if (set->n_sigs >= ST_SIGNATURES_MAX)
		return st_errf(-E2BIG, "a commit carries at most %d signatures", ST_SIGNATURES_MAX);
	n = realloc_array(set->sigs, set->n_sigs + 1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	set->sigs = n;
	memmove(n + pos + 1, n + pos, (set->n_sigs - pos) * sizeof(*n));
	n[pos] = *sig;
	set->n_sigs++;
	return 1;
}

/* The next line (without its '\n') from a (pointer, remaining) cursor; a line without '\n' is corrupt. */
static int take_line(const char **p, size_t *left, const char **ret, size_t *ret_len)
{
	const char *nl = memchr(*p, '\n', *left);

	if (!nl)
		return -EUCLEAN;
	*ret = *p;
	*ret_len = (size_t)(nl - *p);
	*left -= *ret_len + 1;
	*p = nl + 1;
	return 0;
}

int st_signature_set_parse(const void *data, size_t len, struct st_signature_set **ret)
{
	_cleanup_(setp) struct st_signature_set *set = NULL;
	const char *p = data, *line;
	size_t left = len, line_len;
	uint8_t id[ST_COMMIT_ID_SIZE];
	unsigned lineno = 1;

	if (len == 0)
		return st_errf(-EUCLEAN, "empty signature file");
	if (len > ST_SIGNATURE_FILE_MAX)
		return st_errf(-EFBIG, "signature file larger than %d bytes", ST_SIGNATURE_FILE_MAX);
	if (take_line(&p, &left, &line, &line_len) < 0 || line_len != strlen(SIG_MAGIC) ||
	    memcmp(line, SIG_MAGIC, line_len) != 0)
		return st_errf(-EUCLEAN, "line 1: not a sealtree signature file (version 1)");
	lineno++;
	if (take_line(&p, &left, &line, &line_len) < 0 || line_len != 7 + 2 * ST_COMMIT_ID_SIZE ||
	    memcmp(line, "commit ", 7) != 0 || st_hex_decode(line + 7, line_len - 7, id, sizeof(id)) < 0)
		return st_errf(-EUCLEAN, "line 2: expected 'commit <64 hex digits>'");
	/* Canonical: lowercase hex only. */
	for (size_t i = 7; i < line_len; i++)
		if (line[i] >= 'A' && line[i] <= 'F')
			return st_errf(-EUCLEAN, "line 2: uppercase hex");
	if (st_signature_set_new(id, &set) < 0)
		return -ENOMEM;
	while (left > 0) {
		struct st_signature sig;
		int r;

		lineno++;
		if (set->n_sigs >= ST_SIGNATURES_MAX)
			return st_errf(-EUCLEAN, "line %u: more than %d signatures", lineno, ST_SIGNATURES_MAX);
		if (take_line(&p, &left, &line, &line_len) < 0)
			return st_errf(-EUCLEAN, "line %u: truncated (no newline)", lineno);
		if (line_len != SIG_LINE_LEN || memcmp(line, "ed25519 ", 8) != 0 ||
		    line[8 + 2 * ST_ED25519_PUBLIC_SIZE] != ' ')
			return st_errf(-EUCLEAN, "line %u: expected 'ed25519 <64 hex> <128 hex>'", lineno);
		for (size_t i = 8; i < line_len; i++)
			if (line[i] >= 'A' && line[i] <= 'F')
				return st_errf(-EUCLEAN, "line %u: uppercase hex", lineno);
		if (st_hex_decode(line + 8, 2 * ST_ED25519_PUBLIC_SIZE, sig.public_key, ST_ED25519_PUBLIC_SIZE) < 0 ||
		    st_hex_decode(line + 9 + 2 * ST_ED25519_PUBLIC_SIZE, 2 * ST_ED25519_SIGNATURE_SIZE, sig.signature,
				     ST_ED25519_SIGNATURE_SIZE) < 0)
			return st_errf(-EUCLEAN, "line %u: bad hex", lineno);
		if (set->n_sigs > 0 &&
		    memcmp(set->sigs[set->n_sigs - 1].public_key, sig.public_key, ST_ED25519_PUBLIC_SIZE) >= 0)
			return st_errf(-EUCLEAN, "line %u: keys not sorted or repeated", lineno);
		r = st_signature_set_add(set, &sig);
		if (r < 0)
			return r;
	}
	if (set->n_sigs == 0)
		return st_errf(-EUCLEAN, "no signature in the signature file");
	*ret = TAKE_PTR(set);
	return 0;
}

int st_signature_set_serialize(const struct st_signature_set *set, char **ret, size_t *ret_len)
{
	size_t cap = sizeof(SIG_MAGIC) + 8 + 2 * ST_COMMIT_ID_SIZE + set->n_sigs * (SIG_LINE_LEN + 1) + 1;
	_cleanup_free_ char *buf = NULL;
	char *p;

	if (set->n_sigs == 0 || set->n_sigs > ST_SIGNATURES_MAX)
		return st_errf(-EINVAL, "a signature file holds 1 to %d signatures", ST_SIGNATURES_MAX);
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	p = buf;
	memcpy(p, SIG_MAGIC "\ncommit ", sizeof(SIG_MAGIC "\ncommit ") - 1);
	p += sizeof(SIG_MAGIC "\ncommit ") - 1;
	st_hex_encode(set->commit_id, ST_COMMIT_ID_SIZE, p);
	p += 2 * ST_COMMIT_ID_SIZE;
	*p++ = '\n';
	for (size_t i = 0; i < set->n_sigs; i++) {
		if (i > 0 && memcmp(set->sigs[i - 1].public_key, set->sigs[i].public_key, ST_ED25519_PUBLIC_SIZE) >= 0)
			return st_errf(-EINVAL, "signatures not sorted by key");
		memcpy(p, "ed25519 ", 8);
		p += 8;
		st_hex_encode(set->sigs[i].public_key, ST_ED25519_PUBLIC_SIZE, p);
		p += 2 * ST_ED25519_PUBLIC_SIZE;
		*p++ = ' ';
		st_hex_encode(set->sigs[i].signature, ST_ED25519_SIGNATURE_SIZE, p);
		p += 2 * ST_ED25519_SIGNATURE_SIZE;
		*p++ = '\n';
	}
	*ret_len = (size_t)(p - buf);
	*ret = TAKE_PTR(buf);
	return 0;
}
