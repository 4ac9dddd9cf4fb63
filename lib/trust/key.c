/* SPDX-License-Identifier: MIT */
/*
 * Ed25519 keys with OpenSSL 3: generation, the PEM and ostree (raw base64)
 * encodings, and plain signing and verification.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "basic/error.h"
#include "trust-internal.h"

struct st_key {
	EVP_PKEY *pkey;
	bool has_private;
	uint8_t public_key[ST_ED25519_PUBLIC_SIZE];
	uint8_t id[ST_KEY_ID_SIZE];
};

/* OpenSSL failures leave reasons queued per thread; never let them pile up or leak into the next call. */
static int openssl_fail(int r, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char reason[128] = "";

	if (e)
		ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();
	return *reason ? st_errf(r, "%s: %s", what, reason) : st_errf(r, "%s", what);
}

struct st_key *st_key_free(struct st_key *key)
{
	if (!key)
		return NULL;
	EVP_PKEY_free(key->pkey);      /* OpenSSL clears its private key material on free */
	OPENSSL_cleanse(key, sizeof(*key));
	free(key);
	return NULL;
}
static void st_key_freep(struct st_key **k)
{
	st_key_free(*k);
}
#define _cleanup_key_ _cleanup_(st_key_freep)

void st_key_id_of(const uint8_t public_key[ST_ED25519_PUBLIC_SIZE], uint8_t ret_id[ST_KEY_ID_SIZE])
{
	SHA256(public_key, ST_ED25519_PUBLIC_SIZE, ret_id);
}

/* Take ownership of pkey (an Ed25519 key) and fill in the derived fields. */
static int key_from_pkey(EVP_PKEY *pkey, bool has_private, struct st_key **ret)
{
	_cleanup_key_ struct st_key *key = NULL;
	size_t len = ST_ED25519_PUBLIC_SIZE;

	key = calloc(1, sizeof(*key));
	if (!key) {
		EVP_PKEY_free(pkey);
		return -ENOMEM;
	}
	key->pkey = pkey;
	key->has_private = has_private;
	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_ED25519)
		return st_errf(-EUCLEAN, "not an Ed25519 key");
	if (EVP_PKEY_get_raw_public_key(pkey, key->public_key, &len) != 1 || len != ST_ED25519_PUBLIC_SIZE)
		return openssl_fail(-EUCLEAN, "cannot get the public key");
	st_key_id_of(key->public_key, key->id);
	*ret = TAKE_PTR(key);
	return 0;
}

int st_key_generate(struct st_key **ret)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	EVP_PKEY *pkey = NULL;
	int ok;

	if (!ctx)
		return openssl_fail(-ENOMEM, "cannot create a key context");
	ok = EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_keygen(ctx, &pkey) == 1;
	EVP_PKEY_CTX_free(ctx);
	if (!ok)
		return openssl_fail(-EIO, "cannot generate an Ed25519 key");
	return key_from_pkey(pkey, true, ret);
}

bool st_key_has_private(const struct st_key *key)
{
	return key->has_private;
}

const uint8_t *st_key_public_raw(const struct st_key *key)
{
	return key->public_key;
}

const uint8_t *st_key_id(const struct st_key *key)
{
	return key->id;
}

/* ---- Parsing ----------------------------------------------------------- */

static bool starts_with(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);
	return len >= n && memcmp(s, prefix, n) == 0;
}

static bool only_space(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != '\n' && s[i] != '\r' && s[i] != ' ' && s[i] != '\t')
			return false;
	return true;
}

static int refuse_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1;      /* never prompt: encrypted keys are refused */
}

/*
 * One PEM block of the expected label, nothing but whitespace after it.
 * OpenSSL's reader skips text before the block; we do not.
 */
static int parse_pem(const char *data, size_t len, bool private, struct st_key **ret)
{
	const char *begin = private ? "-----BEGIN PRIVATE KEY-----" : "-----BEGIN PUBLIC KEY-----";
	EVP_PKEY *pkey;
	BIO *bio;
	long rest;

	if (!starts_with(data, len, begin)) {
		if (starts_with(data, len, "-----BEGIN ENCRYPTED PRIVATE KEY-----"))
			return st_errf(-EUCLEAN, "encrypted private keys are not supported");
		if (private && starts_with(data, len, "-----BEGIN PUBLIC KEY-----"))
			return st_errf(-ENOKEY, "this is a public key, not a private key");
		if (!private && (starts_with(data, len, "-----BEGIN PRIVATE KEY-----") ||
				 starts_with(data, len, "-----BEGIN ENCRYPTED PRIVATE KEY-----")))
			return st_errf(-EUCLEAN, "this is a private key, not a public key");
		return st_errf(-EUCLEAN, "not a %s key in PEM form", private ? "private" : "public");
	}
	if (len > ST_KEY_FILE_MAX || len > INT32_MAX)
		return st_errf(-EFBIG, "key larger than %d bytes", ST_KEY_FILE_MAX);
	bio = BIO_new_mem_buf(data, (int)len);
	if (!bio)
		return openssl_fail(-ENOMEM, "cannot read the key");
	pkey = private ? PEM_read_bio_PrivateKey(bio, NULL, refuse_passphrase, NULL)
		       : PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	rest = BIO_pending(bio);
	BIO_free(bio);
	if (!pkey)
		return openssl_fail(-EUCLEAN, "malformed PEM key");
	ERR_clear_error();
	if (rest < 0 || (size_t)rest > len || !only_space(data + len - (size_t)rest, (size_t)rest)) {
		EVP_PKEY_free(pkey);
		return st_errf(-EUCLEAN, "data after the key (one key per file)");
	}
	return key_from_pkey(pkey, private, ret);
}

/* One line of base64 of exactly n bytes, optionally followed by one newline. */
static int parse_base64_line(const char *data, size_t len, uint8_t *out, size_t n)
{
	if (len > 0 && data[len - 1] == '\n')
		len--;
	if (len != BASE64_LEN(n)) {
		/* Tell the usual mix-up apart from garbage. */
		if (len == BASE64_LEN(ST_ED25519_PUBLIC_SIZE) || len == BASE64_LEN(2 * ST_ED25519_SEED_SIZE))
			return st_errf(-EUCLEAN, "a %s key in ostree form, expected a %s one",
				       len == BASE64_LEN(ST_ED25519_PUBLIC_SIZE) ? "public" : "secret",
				       n == ST_ED25519_PUBLIC_SIZE ? "public" : "secret");
		return st_errf(-EUCLEAN, "not a key: neither PEM nor %zu bytes of base64", n);
	}
	if (base64_decode_exact(data, len, out, n) < 0)
		return st_errf(-EUCLEAN, "malformed base64 key");
	return 0;
}

int st_key_from_public_raw(const uint8_t public_key[ST_ED25519_PUBLIC_SIZE], struct st_key **ret)
{
	EVP_PKEY *pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, public_key, ST_ED25519_PUBLIC_SIZE);

	if (!pkey)
		return openssl_fail(-EUCLEAN, "invalid Ed25519 public key");
	return key_from_pkey(pkey, false, ret);
}

static int parse_ostree_public(const char *data, size_t len, struct st_key **ret)
{
	uint8_t raw[ST_ED25519_PUBLIC_SIZE];
	int r;

	r = parse_base64_line(data, len, raw, sizeof(raw));
	if (r < 0)
		return r;
	return st_key_from_public_raw(raw, ret);
}

static int parse_ostree_private(const char *data, size_t len, struct st_key **ret)
{
	uint8_t raw[ST_ED25519_SEED_SIZE + ST_ED25519_PUBLIC_SIZE];
	_cleanup_key_ struct st_key *key = NULL;
	EVP_PKEY *pkey;
	int r;

	r = parse_base64_line(data, len, raw, sizeof(raw));
	if (r < 0)
		goto out;
	pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, raw, ST_ED25519_SEED_SIZE);
	if (!pkey) {
		r = openssl_fail(-EUCLEAN, "invalid Ed25519 seed");
		goto out;
	}
	r = key_from_pkey(pkey, true, &key);
	if (r < 0)
		goto out;
	if (CRYPTO_memcmp(key->public_key, raw + ST_ED25519_SEED_SIZE, ST_ED25519_PUBLIC_SIZE) != 0) {
		r = st_errf(-EUCLEAN, "the public half of the secret key does not belong to its seed");
		goto out;
	}
	*ret = TAKE_PTR(key);
out:
	OPENSSL_cleanse(raw, sizeof(raw));
	return r;
}

static int parse_key(const void *data, size_t len, bool private, struct st_key **ret,
		     enum st_key_format *ret_format)
{
	enum st_key_format format;
	int r;

	if (len == 0)
		return st_errf(-EUCLEAN, "empty key file");
	if (len > ST_KEY_FILE_MAX)
		return st_errf(-EFBIG, "key larger than %d bytes", ST_KEY_FILE_MAX);
	if (starts_with(data, len, "-----BEGIN ")) {
		format = ST_KEY_FORMAT_PEM;
		r = parse_pem(data, len, private, ret);
	} else {
		format = ST_KEY_FORMAT_OSTREE;
		r = private ? parse_ostree_private(data, len, ret) : parse_ostree_public(data, len, ret);
	}
	if (r >= 0 && ret_format)
		*ret_format = format;
	return r;
}

int st_key_parse_public(const void *data, size_t len, struct st_key **ret, enum st_key_format *ret_format)
{
	return parse_key(data, len, false, ret, ret_format);
}

int st_key_parse_private(const void *data, size_t len, struct st_key **ret, enum st_key_format *ret_format)
{
	return parse_key(data, len, true, ret, ret_format);
}

static int load_key(int dirfd, const char *path, bool private, struct st_key **ret)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r;

	r = trust_read_file(dirfd, path, ST_KEY_FILE_MAX, &buf, &len);
	if (r < 0)
		return r;
	r = parse_key(buf, len, private, ret, NULL);
	OPENSSL_cleanse(buf, len);
	if (r < 0)
		return trust_errf_wrap(r, path, "invalid key");
	return 0;
}

int st_key_load_public(int dirfd, const char *path, struct st_key **ret)
{
	return load_key(dirfd, path, false, ret);
}

int st_key_load_private(int dirfd, const char *path, struct st_key **ret)
{
	return load_key(dirfd, path, true, ret);
}

/* ---- Encoding ---------------------------------------------------------- */

static int format_pem(const struct st_key *key, bool private, char **ret, size_t *ret_len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *mem, *out;
	long n;
	int ok;

	if (!bio)
		return openssl_fail(-ENOMEM, "cannot encode the key");
	ok = private ? PEM_write_bio_PrivateKey(bio, key->pkey, NULL, NULL, 0, NULL, NULL)
		     : PEM_write_bio_PUBKEY(bio, key->pkey);
	n = BIO_get_mem_data(bio, &mem);
	if (ok != 1 || n <= 0) {
		BIO_free(bio);
		return openssl_fail(-EIO, "cannot encode the key");
	}
	out = malloc((size_t)n + 1);
	if (out) {
		memcpy(out, mem, (size_t)n);
		out[n] = '\0';
	}
	OPENSSL_cleanse(mem, (size_t)n);
	BIO_free(bio);
	if (!out)
		return -ENOMEM;
	*ret = out;
	*ret_len = (size_t)n;
	return 0;
}

static int format_ostree(const struct st_key *key, bool private, char **ret, size_t *ret_len)
{
	uint8_t raw[ST_ED25519_SEED_SIZE + ST_ED25519_PUBLIC_SIZE];
	size_t n = ST_ED25519_PUBLIC_SIZE, seed_len = ST_ED25519_SEED_SIZE;
	char *out;

	if (private) {
		if (EVP_PKEY_get_raw_private_key(key->pkey, raw, &seed_len) != 1 || seed_len != ST_ED25519_SEED_SIZE)
			return openssl_fail(-EIO, "cannot get the private key");
		memcpy(raw + ST_ED25519_SEED_SIZE, key->public_key, ST_ED25519_PUBLIC_SIZE);
		n = sizeof(raw);
	} else
		memcpy(raw, key->public_key, ST_ED25519_PUBLIC_SIZE);
	out = malloc(BASE64_LEN(n) + 2);
	if (!out) {
		OPENSSL_cleanse(raw, sizeof(raw));
		return -ENOMEM;
	}
	*ret_len = base64_encode(raw, n, out);
	out[(*ret_len)++] = '\n';
	out[*ret_len] = '\0';
	OPENSSL_cleanse(raw, sizeof(raw));
	*ret = out;
	return 0;
}

static int format_key(const struct st_key *key, enum st_key_format format, bool private, char **ret,
		      size_t *ret_len)
{
	if (private && !key->has_private)
		return st_errf(-ENOKEY, "no private key");
	switch (format) {
	case ST_KEY_FORMAT_PEM:
		return format_pem(key, private, ret, ret_len);
	case ST_KEY_FORMAT_OSTREE:
		return format_ostree(key, private, ret, ret_len);
	default:
		return -EINVAL;
	}
}

int st_key_format_public(const struct st_key *key, enum st_key_format format, char **ret, size_t *ret_len)
{
	return format_key(key, format, false, ret, ret_len);
}

int st_key_format_private(const struct st_key *key, enum st_key_format format, char **ret, size_t *ret_len)
{
	return format_key(key, format, true, ret, ret_len);
}

static int write_key(const struct st_key *key, enum st_key_format format, bool private, int dirfd,
		     const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	int r;

	r = format_key(key, format, private, &buf, &len);
	if (r < 0)
		return r;
	r = trust_write_file_atomic(dirfd, path, buf, len, private ? 0600 : 0644, -1);
	OPENSSL_cleanse(buf, len);
	free(buf);
	return r;
}

int st_key_write_public(const struct st_key *key, enum st_key_format format, int dirfd, const char *path)
{
	return write_key(key, format, false, dirfd, path);
}

int st_key_write_private(const struct st_key *key, enum st_key_format format, int dirfd, const char *path)
{
	return write_key(key, format, true, dirfd, path);
}

/* ---- Signing ----------------------------------------------------------- */

int st_key_sign(const struct st_key *key, const void *msg, size_t len, uint8_t ret_sig[ST_ED25519_SIGNATURE_SIZE])
{
	uint8_t sig[ST_ED25519_SIGNATURE_SIZE];
	size_t sig_len = sizeof(sig);
	EVP_MD_CTX *ctx;
	int ok;

	if (!key->has_private)
		return st_errf(-ENOKEY, "signing needs a private key");
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return openssl_fail(-ENOMEM, "cannot create a signing context");
	/* Ed25519 hashes internally: no digest is named (NULL md). */
	ok = EVP_DigestSignInit(ctx, NULL, NULL, NULL, key->pkey) == 1 &&
	     EVP_DigestSign(ctx, sig, &sig_len, msg, len) == 1 && sig_len == sizeof(sig);
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return openssl_fail(-EIO, "signing failed");
	memcpy(ret_sig, sig, sizeof(sig));
	return 0;
}

int st_key_verify(const struct st_key *key, const void *msg, size_t len, const uint8_t sig[ST_ED25519_SIGNATURE_SIZE])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int r;

	if (!ctx)
		return openssl_fail(-ENOMEM, "cannot create a verification context");
	r = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key->pkey);
	if (r == 1)
		r = EVP_DigestVerify(ctx, sig, ST_ED25519_SIGNATURE_SIZE, msg, len);
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	/* Only exactly 1 means valid: 0 is a bad signature, negative values are errors. */
	return r == 1 ? 0 : -EKEYREJECTED;
}

void st_signed_message(const uint8_t commit_id[ST_COMMIT_ID_SIZE], uint8_t ret[ST_SIGNED_MESSAGE_SIZE])
{
	memcpy(ret, ST_SIGNATURE_DOMAIN, sizeof(ST_SIGNATURE_DOMAIN));  /* with its NUL */
	memcpy(ret + sizeof(ST_SIGNATURE_DOMAIN), commit_id, ST_COMMIT_ID_SIZE);
}

int st_key_sign_commit(const struct st_key *key, const uint8_t commit_id[ST_COMMIT_ID_SIZE],
		       uint8_t ret_sig[ST_ED25519_SIGNATURE_SIZE])
{
	uint8_t msg[ST_SIGNED_MESSAGE_SIZE];

	st_signed_message(commit_id, msg);
	return st_key_sign(key, msg, sizeof(msg), ret_sig);
}

int st_key_verify_commit(const struct st_key *key, const uint8_t commit_id[ST_COMMIT_ID_SIZE],
			 const uint8_t sig[ST_ED25519_SIGNATURE_SIZE])
{
	uint8_t msg[ST_SIGNED_MESSAGE_SIZE];

	st_signed_message(commit_id, msg);
	return st_key_verify(key, msg, sizeof(msg), sig);
}
