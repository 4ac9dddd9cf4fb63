/* SPDX-License-Identifier: MIT */
/* Unit tests of lib/trust: keys, signatures, signature files, store, policy, verdicts. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "basic/hex.h"
#include "basic/test.h"
#include "sealtree/trust.h"
#include "trust/trust-internal.h"

static const uint8_t commit_a[ST_COMMIT_ID_SIZE] = { 0xaa, 1, 2, 3 };
static const uint8_t commit_b[ST_COMMIT_ID_SIZE] = { 0xbb, 1, 2, 3 };

static struct st_key *new_key(void)
{
	struct st_key *k = NULL;
	if (st_key_generate(&k) < 0)
		abort();
	return k;
}

static struct st_signature sign(const struct st_key *k, const uint8_t *id)
{
	struct st_signature s;
	memcpy(s.public_key, st_key_public_raw(k), ST_ED25519_PUBLIC_SIZE);
	if (st_key_sign_commit(k, id, s.signature) < 0)
		abort();
	return s;
}

TEST(base64_strict)
{
	uint8_t out[4];
	char enc[16];

	ASSERT_EQ(base64_encode((const uint8_t *)"\xff\x00\x01\x02", 4, enc), 8);
	ASSERT_STREQ(enc, "/wABAg==");
	ASSERT_OK(base64_decode_exact("/wABAg==", 8, out, 4));
	ASSERT_MEMEQ(out, "\xff\x00\x01\x02", 4);
	ASSERT_ERR(base64_decode_exact("/wABAh==", 8, out, 4), -EINVAL);        /* non-zero spare bits */
	ASSERT_ERR(base64_decode_exact("/wABAg=A", 8, out, 4), -EINVAL);
	ASSERT_ERR(base64_decode_exact("/wAB Ag=", 8, out, 4), -EINVAL);
	ASSERT_ERR(base64_decode_exact("/wABAg=", 7, out, 4), -EINVAL);
	ASSERT_ERR(base64_decode_exact("/wA=", 4, out, 3), -EINVAL);            /* padding where data is due */
}

TEST(sign_verify)
{
	struct st_key *k = new_key(), *other = new_key();
	uint8_t sig[ST_ED25519_SIGNATURE_SIZE], msg[ST_SIGNED_MESSAGE_SIZE];

	ASSERT_EQ(ST_SIGNED_MESSAGE_SIZE, 29 + 32);
	ASSERT_OK(st_key_sign_commit(k, commit_a, sig));
	ASSERT_OK(st_key_verify_commit(k, commit_a, sig));
	ASSERT_ERR(st_key_verify_commit(k, commit_b, sig), -EKEYREJECTED);
	ASSERT_ERR(st_key_verify_commit(other, commit_a, sig), -EKEYREJECTED);
	for (size_t bit = 0; bit < 8 * sizeof(sig); bit += 37) {
		sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		ASSERT_ERR(st_key_verify_commit(k, commit_a, sig), -EKEYREJECTED);
		sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	/* Domain separation: a plain signature over the id is not a commit signature. */
	ASSERT_OK(st_key_sign(k, commit_a, sizeof(commit_a), sig));
	ASSERT_ERR(st_key_verify_commit(k, commit_a, sig), -EKEYREJECTED);
	st_signed_message(commit_a, msg);
	ASSERT_MEMEQ(msg, "sealtree-commit-signature-v1\0", 29);
	ASSERT_MEMEQ(msg + 29, commit_a, 32);
	st_key_free(k);
	st_key_free(other);
}

/*
 * RFC 8032 section 7.1, tests 1 and 2, read through the ostree forms (the
 * libsodium layout: seed then public key): the key layout and the
 * signatures must be exactly the standard's.
 */
TEST(rfc8032_vectors_in_ostree_form)
{
	static const struct {
		const char *seed, *pub, *msg, *sig;
	} v[] = {
		{ "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
		  "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
		  "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b" },
		{ "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
		  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "\x72",
		  "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00" },
	};

	for (size_t i = 0; i < ELEMENTSOF(v); i++) {
		uint8_t secret[64], pub[32], want[64], sig[64];
		char b64_secret[96], b64_pub[48], *text = NULL;
		struct st_key *sk = NULL, *pk = NULL;
		size_t len;

		ASSERT_OK(st_hex_decode(v[i].seed, 64, secret, 32));
		ASSERT_OK(st_hex_decode(v[i].pub, 64, secret + 32, 32));
		ASSERT_OK(st_hex_decode(v[i].pub, 64, pub, 32));
		ASSERT_OK(st_hex_decode(v[i].sig, 128, want, 64));
		base64_encode(secret, 64, b64_secret);
		base64_encode(pub, 32, b64_pub);
		ASSERT_OK(st_key_parse_private(b64_secret, strlen(b64_secret), &sk, NULL));
		ASSERT_OK(st_key_parse_public(b64_pub, strlen(b64_pub), &pk, NULL));
		ASSERT_MEMEQ(st_key_public_raw(sk), pub, 32);
		ASSERT_OK(st_key_sign(sk, v[i].msg, strlen(v[i].msg), sig));
		ASSERT_MEMEQ(sig, want, 64);
		ASSERT_OK(st_key_verify(pk, v[i].msg, strlen(v[i].msg), want));
		want[63] ^= 0x10;
		ASSERT_ERR(st_key_verify(pk, v[i].msg, strlen(v[i].msg), want), -EKEYREJECTED);
		/* And back out in the ostree form, byte for byte. */
		ASSERT_OK(st_key_format_private(sk, ST_KEY_FORMAT_OSTREE, &text, &len));
		ASSERT_EQ(len, 89);
		ASSERT_MEMEQ(text, b64_secret, 88);
		free(text);
		st_key_free(sk);
		st_key_free(pk);
	}
}

TEST(sign_verify_cost)
{
	struct st_key *k = new_key();
	uint8_t sig[ST_ED25519_SIGNATURE_SIZE];
	struct timespec t0, t1, t2;
	const int n = 200;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < n; i++)
		ASSERT_OK(st_key_sign_commit(k, commit_a, sig));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	for (int i = 0; i < n; i++)
		ASSERT_OK(st_key_verify_commit(k, commit_a, sig));
	clock_gettime(CLOCK_MONOTONIC, &t2);
	fprintf(stderr, "# sign %.1f us, verify %.1f us (mean of %d; information only)\n",
		((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / n / 1e3,
		((t2.tv_sec - t1.tv_sec) * 1e9 + (t2.tv_nsec - t1.tv_nsec)) / n / 1e3, n);
	st_key_free(k);
}

TEST(key_formats_roundtrip)
{
	struct st_key *k = new_key();

	for (int f = 0; f < ST_KEY_FORMAT_COUNT; f++) {
		struct st_key *pub = NULL, *priv = NULL;
		enum st_key_format got;
		char *text = NULL;
		size_t len;
		uint8_t sig[ST_ED25519_SIGNATURE_SIZE];

		ASSERT_OK(st_key_format_public(k, f, &text, &len));
		ASSERT_OK(st_key_parse_public(text, len, &pub, &got));
		ASSERT_EQ(got, f);
		ASSERT_TRUE(!st_key_has_private(pub));
		ASSERT_ERR(st_key_parse_private(text, len, &priv, NULL), f == ST_KEY_FORMAT_PEM ? -ENOKEY : -EUCLEAN);
		if (f == ST_KEY_FORMAT_OSTREE)
			ASSERT_EQ(len, 45);     /* 44 base64 characters and a newline */
		free(text);

		ASSERT_OK(st_key_format_private(k, f, &text, &len));
		ASSERT_OK(st_key_parse_private(text, len, &priv, &got));
		ASSERT_EQ(got, f);
		ASSERT_ERR(st_key_parse_public(text, len, &pub, NULL), -EUCLEAN);
		if (f == ST_KEY_FORMAT_OSTREE)
			ASSERT_EQ(len, 89);
		free(text);

		ASSERT_MEMEQ(st_key_public_raw(pub), st_key_public_raw(k), 32);
		ASSERT_MEMEQ(st_key_id(priv), st_key_id(k), 32);
		ASSERT_OK(st_key_sign_commit(priv, commit_a, sig));
		ASSERT_OK(st_key_verify_commit(pub, commit_a, sig));
		ASSERT_ERR(st_key_sign_commit(pub, commit_a, sig), -ENOKEY);
		ASSERT_ERR(st_key_format_private(pub, f, &text, &len), -ENOKEY);
		st_key_free(pub);
		st_key_free(priv);
	}
	st_key_free(k);
}

TEST(ostree_secret_must_match_seed)
{
	struct st_key *a = new_key(), *b = new_key(), *out = NULL;
	char *ta = NULL, *tb = NULL;
	size_t la, lb;

	ASSERT_OK(st_key_format_private(a, ST_KEY_FORMAT_OSTREE, &ta, &la));
	ASSERT_OK(st_key_format_private(b, ST_KEY_FORMAT_OSTREE, &tb, &lb));
	/* seed of a, public half of b: base64 chars 44..87 carry bytes 33..63 only partly; swap whole tail */
	{
		uint8_t raw_a[64], raw_b[64];
		char mixed[96];
		ASSERT_OK(base64_decode_exact(ta, 88, raw_a, 64));
		ASSERT_OK(base64_decode_exact(tb, 88, raw_b, 64));
		memcpy(raw_a + 32, raw_b + 32, 32);
		size_t n = base64_encode(raw_a, 64, mixed);
		ASSERT_ERR(st_key_parse_private(mixed, n, &out, NULL), -EUCLEAN);
	}
	free(ta);
	free(tb);
	st_key_free(a);
	st_key_free(b);
}

TEST(malformed_keys)
{
	struct st_key *k = new_key(), *out = NULL;
	char *pem = NULL, *b64 = NULL, big[ST_KEY_FILE_MAX + 2];
	size_t pem_len, b64_len;

	ASSERT_OK(st_key_format_public(k, ST_KEY_FORMAT_PEM, &pem, &pem_len));
	ASSERT_OK(st_key_format_public(k, ST_KEY_FORMAT_OSTREE, &b64, &b64_len));
	ASSERT_ERR(st_key_parse_public("", 0, &out, NULL), -EUCLEAN);
	for (size_t cut = 1; cut < pem_len - 1; cut += 7)
		ASSERT_TRUE(st_key_parse_public(pem, cut, &out, NULL) < 0);
	for (size_t cut = 1; cut < b64_len - 1; cut++)
		ASSERT_ERR(st_key_parse_public(b64, cut, &out, NULL), -EUCLEAN);
	memset(big, 'A', sizeof(big));
	ASSERT_ERR(st_key_parse_public(big, sizeof(big), &out, NULL), -EFBIG);
	/* Two keys in one file. */
	{
		char two[512];
		memcpy(two, pem, pem_len);
		memcpy(two + pem_len, pem, pem_len);
		ASSERT_ERR(st_key_parse_public(two, 2 * pem_len, &out, NULL), -EUCLEAN);
		memcpy(two, b64, b64_len);
		memcpy(two + b64_len, b64, b64_len);
		ASSERT_ERR(st_key_parse_public(two, 2 * b64_len, &out, NULL), -EUCLEAN);
	}
	/* A flipped character inside the PEM body. */
	pem[40] = pem[40] == 'A' ? 'B' : 'A';
	ASSERT_TRUE(st_key_parse_public(pem, pem_len, &out, NULL) < 0 ||
		    (memcmp(st_key_public_raw(out), st_key_public_raw(k), 32) != 0 && (st_key_free(out), 1)));
	/* Not Ed25519: an EC P-256 public key. */
	{
		static const char ec[] = "-----BEGIN PUBLIC KEY-----\n"
					 "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEVs/o5+uQbTjL3chynL4wXgUg2R9\n"
					 "q9UU8I5mEovUf86QZ7kOBIjJwqnzD1omageEHWwHdBO6B+dFabmdT9POxg==\n"
					 "-----END PUBLIC KEY-----\n";
		ASSERT_TRUE(st_key_parse_public(ec, sizeof(ec) - 1, &out, NULL) < 0);
	}
	free(pem);
	free(b64);
	st_key_free(k);
}

TEST(key_files)
{
	char dir[] = "/tmp/test-trust.XXXXXX", path[64], pub_path[64];
	struct st_key *k = new_key(), *back = NULL;
	struct stat st;
	mode_t old = umask(0022);

	ASSERT_TRUE(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/key", dir);
	snprintf(pub_path, sizeof(pub_path), "%s/key.pub", dir);
	umask(0);       /* the mode must not depend on the umask */
	ASSERT_OK(st_key_write_private(k, ST_KEY_FORMAT_PEM, AT_FDCWD, path));
	ASSERT_OK(st_key_write_public(k, ST_KEY_FORMAT_OSTREE, AT_FDCWD, pub_path));
	umask(old);
	ASSERT_OK(stat(path, &st));
	ASSERT_EQ(st.st_mode & 07777, 0600);
	ASSERT_OK(stat(pub_path, &st));
	ASSERT_EQ(st.st_mode & 07777, 0644);
	ASSERT_OK(st_key_load_private(AT_FDCWD, path, &back));
	ASSERT_MEMEQ(st_key_id(back), st_key_id(k), 32);
	st_key_free(back);
	ASSERT_OK(st_key_load_public(AT_FDCWD, pub_path, &back));
	ASSERT_MEMEQ(st_key_id(back), st_key_id(k), 32);
	st_key_free(back);
	ASSERT_ERR(st_key_load_public(AT_FDCWD, path, &back), -EUCLEAN);
	unlink(path);
	unlink(pub_path);
	rmdir(dir);
	st_key_free(k);
}

TEST(signature_set)
{
	struct st_key *k1 = new_key(), *k2 = new_key();
	struct st_signature_set *set = NULL, *back = NULL;
	struct st_signature s1 = sign(k1, commit_a), s2 = sign(k2, commit_a), s1b = sign(k1, commit_b);
	char *buf = NULL;
	size_t len;

	ASSERT_OK(st_signature_set_new(commit_a, &set));
	ASSERT_ERR(st_signature_set_serialize(set, &buf, &len), -EINVAL);
	ASSERT_EQ(st_signature_set_add(set, &s2), 1);
	ASSERT_EQ(st_signature_set_add(set, &s1), 1);
	ASSERT_EQ(st_signature_set_add(set, &s1), 0);
	ASSERT_EQ(st_signature_set_add(set, &s1b), 0);  /* same key: no-op, first kept */
	ASSERT_EQ(set->n_sigs, 2);
	ASSERT_TRUE(memcmp(set->sigs[0].public_key, set->sigs[1].public_key, 32) < 0);
	ASSERT_OK(st_signature_set_serialize(set, &buf, &len));
	ASSERT_EQ(len, 22 + 72 + 2 * 202);
	ASSERT_OK(st_signature_set_parse(buf, len, &back));
	ASSERT_EQ(back->n_sigs, 2);
	ASSERT_MEMEQ(back->sigs, set->sigs, 2 * sizeof(struct st_signature));
	st_signature_set_free(back);

	/*
	 * Every truncation fails, but the one at the end of a line: that is a
	 * valid file with fewer signatures (as removing the file is).
	 */
	for (size_t cut = 0; cut < len; cut++)
		if (cut != 94 + 202)
			ASSERT_TRUE(st_signature_set_parse(buf, cut, &back) < 0);
	{
		char more[1024];
		memcpy(more, buf, len);
		more[len] = '\n';
		ASSERT_ERR(st_signature_set_parse(more, len + 1, &back), -EUCLEAN);
		/* Lines swapped: not sorted. */
		memcpy(more + 94, buf + 94 + 202, 202);
		memcpy(more + 94 + 202, buf + 94, 202);
		ASSERT_ERR(st_signature_set_parse(more, len, &back), -EUCLEAN);
		/* One line twice. */
		memcpy(more, buf, len);
		memcpy(more + 94 + 202, buf + 94, 202);
		ASSERT_ERR(st_signature_set_parse(more, len, &back), -EUCLEAN);
		/* Uppercase hex is not canonical. */
		memcpy(more, buf, len);
		for (size_t i = 102; i < 110; i++)
			if (more[i] >= 'a' && more[i] <= 'f')
				more[i] -= 32;
		if (memcmp(more, buf, len) != 0)
			ASSERT_ERR(st_signature_set_parse(more, len, &back), -EUCLEAN);
		/* A header alone. */
		ASSERT_ERR(st_signature_set_parse(buf, 94, &back), -EUCLEAN);
		/* Wrong magic. */
		memcpy(more, buf, len);
		more[20] = '2';
		ASSERT_ERR(st_signature_set_parse(more, len, &back), -EUCLEAN);
	}
	ASSERT_ERR(st_signature_set_parse("", 0, &back), -EUCLEAN);
	{
		static char big[ST_SIGNATURE_FILE_MAX + 1];
		ASSERT_ERR(st_signature_set_parse(big, sizeof(big), &back), -EFBIG);
	}
	free(buf);
	st_signature_set_free(set);
	st_key_free(k1);
	st_key_free(k2);
}

TEST(signature_set_full)
{
	struct st_signature_set *set = NULL;
	struct st_signature s = {};
	int r = 0;

	ASSERT_OK(st_signature_set_new(commit_a, &set));
	for (int i = 0; i < ST_SIGNATURES_MAX + 1; i++) {
		s.public_key[0] = (uint8_t)i;
		r = st_signature_set_add(set, &s);
	}
	ASSERT_ERR(r, -E2BIG);
	ASSERT_EQ(set->n_sigs, ST_SIGNATURES_MAX);
	st_signature_set_free(set);
}

static enum st_trust_verdict verdict(const struct st_trust_store *store, const char *ref, const uint8_t *id,
				     const struct st_signature_set *set, unsigned flags, enum st_sig_status *first)
{
	struct st_trust_result *res = NULL;
	enum st_trust_verdict v;

	if (st_trust_check(store, ref, id, set, set ? 0 : -ENOENT, flags, &res) < 0)
		abort();
	v = res->verdict;
	if (first)
		*first = res->n_sigs ? res->sigs[0].status : ST_SIG_STATUS_COUNT;
	if (res->accepted != (v == ST_TRUST_VALID || v == ST_TRUST_UNSIGNED_OK))
		abort();
	st_trust_result_free(res);
	return v;
}

TEST(trust_verdicts)
{
	struct st_key *good = new_key(), *stranger = new_key(), *gone = new_key();
	struct st_trust_store *store = NULL;
	struct st_signature_set *set = NULL;
	struct st_signature s;
	enum st_sig_status st;

	ASSERT_OK(st_trust_store_new(&store));
	ASSERT_OK(st_trust_store_add_key(store, st_key_public_raw(good), false));
	ASSERT_OK(st_trust_store_add_key(store, st_key_public_raw(gone), false));
	ASSERT_OK(st_trust_store_add_key(store, st_key_public_raw(gone), true));        /* revoked wins */
	ASSERT_EQ(st_trust_store_lookup(store, st_key_public_raw(gone)), ST_KEY_REVOKED);
	ASSERT_EQ(st_trust_store_lookup(store, st_key_public_raw(stranger)), ST_KEY_UNKNOWN);

	ASSERT_EQ(verdict(store, "main", commit_a, NULL, 0, NULL), ST_TRUST_NO_SIGNATURE);

	ASSERT_OK(st_signature_set_new(commit_a, &set));
	s = sign(stranger, commit_a);
	st_signature_set_add(set, &s);
	ASSERT_EQ(verdict(store, "main", commit_a, set, 0, &st), ST_TRUST_INVALID);
	ASSERT_EQ(st, ST_SIG_UNTRUSTED);
	st_signature_set_free(set);

	ASSERT_OK(st_signature_set_new(commit_a, &set));
	s = sign(gone, commit_a);
	st_signature_set_add(set, &s);
	ASSERT_EQ(verdict(store, "main", commit_a, set, 0, &st), ST_TRUST_INVALID);
	ASSERT_EQ(st, ST_SIG_REVOKED);
	st_signature_set_free(set);

	/* A good key's signature for commit b, filed under a: bad. */
	ASSERT_OK(st_signature_set_new(commit_a, &set));
	s = sign(good, commit_b);
	st_signature_set_add(set, &s);
	ASSERT_EQ(verdict(store, "main", commit_a, set, 0, &st), ST_TRUST_INVALID);
	ASSERT_EQ(st, ST_SIG_BAD);
	st_signature_set_free(set);

	/* A whole file for commit b presented for a. */
	ASSERT_OK(st_signature_set_new(commit_b, &set));
	s = sign(good, commit_b);
	st_signature_set_add(set, &s);
	ASSERT_EQ(verdict(store, "main", commit_a, set, 0, NULL), ST_TRUST_CORRUPT);
	ASSERT_EQ(verdict(store, "main", commit_b, set, 0, &st), ST_TRUST_VALID);
	ASSERT_EQ(st, ST_SIG_VALID);
	st_signature_set_free(set);

	/* Good and stranger together: valid through the good one. */
	ASSERT_OK(st_signature_set_new(commit_a, &set));
	s = sign(good, commit_a);
	st_signature_set_add(set, &s);
	s = sign(stranger, commit_a);
	st_signature_set_add(set, &s);
	ASSERT_EQ(verdict(store, "main", commit_a, set, 0, NULL), ST_TRUST_VALID);

	/* Policies: keys= a key that did not sign; none; and --require-signature over none. */
	{
		char pol[256], hex[65];
		st_hex_encode(st_key_id(stranger), 32, hex);
		snprintf(pol, sizeof(pol), "# test\npinned/*  keys=%.16s\n\nfree/* none\n* any-trusted\n", hex);
		ASSERT_OK(st_trust_store_set_policy(store, pol, strlen(pol)));
	}
	ASSERT_EQ(verdict(store, "main", commit_a, set, 0, NULL), ST_TRUST_VALID);
	ASSERT_EQ(verdict(store, "pinned/x", commit_a, set, 0, NULL), ST_TRUST_INVALID);  /* stranger untrusted, good not listed */
	ASSERT_EQ(verdict(store, "free/x", commit_a, NULL, 0, NULL), ST_TRUST_UNSIGNED_OK);
	ASSERT_EQ(verdict(store, "free/x", commit_a, NULL, ST_TRUST_REQUIRE_SIGNATURE, NULL), ST_TRUST_NO_SIGNATURE);
	ASSERT_EQ(verdict(store, "free/x", commit_a, set, ST_TRUST_REQUIRE_SIGNATURE, NULL), ST_TRUST_VALID);
	ASSERT_OK(st_trust_store_add_key(store, st_key_public_raw(stranger), false));
	ASSERT_EQ(verdict(store, "pinned/x", commit_a, set, 0, NULL), ST_TRUST_VALID);
	ASSERT_OK(st_trust_store_add_key(store, st_key_public_raw(stranger), true));
	ASSERT_EQ(verdict(store, "pinned/x", commit_a, set, 0, NULL), ST_TRUST_INVALID);
	st_signature_set_free(set);
	st_trust_store_free(store);
	st_key_free(good);
	st_key_free(stranger);
	st_key_free(gone);
}

TEST(policy_parse)
{
	struct st_trust_store *store = NULL;
	struct st_policy_rule rule;
	static const char *const bad[] = {
		"main\n", "main maybe\n", "main keys=\n", "main keys=abc\n", "main keys=0123456789ABCDEF\n",
		"main none extra\n", "ma\"in none\n", "main keys=0123456789abcdef,\n",
	};

	ASSERT_OK(st_trust_store_new(&store));
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		ASSERT_ERR(st_trust_store_set_policy(store, bad[i], strlen(bad[i])), -EUCLEAN);
	ASSERT_OK(st_trust_store_set_policy(store, "os/* none\nos/main keys=0123456789abcdef\n", 39));
	st_trust_store_policy_for(store, "os/main", &rule);
	ASSERT_EQ(rule.kind, ST_POLICY_NONE);   /* first match wins */
	ASSERT_STREQ(rule.pattern, "os/*");
	st_trust_store_policy_for(store, "other", &rule);
	ASSERT_EQ(rule.kind, ST_POLICY_ANY_TRUSTED);
	ASSERT_TRUE(rule.pattern == NULL);
	st_trust_store_policy_for(store, NULL, &rule);
	ASSERT_EQ(rule.kind, ST_POLICY_ANY_TRUSTED);
	st_trust_store_free(store);
}

TEST(accepted_order)
{
	struct st_accepted last = { .timestamp = 1000 };
	struct st_commit c = { .timestamp = 999 };

	ASSERT_ERR(st_accepted_check(&last, &c), -ESTALE);
	c.timestamp = 1000;
	ASSERT_OK(st_accepted_check(&last, &c));
	snprintf(last.version, sizeof(last.version), "41.10");
	c.version = (char *)"41.9";
	ASSERT_ERR(st_accepted_check(&last, &c), -ESTALE);
	c.version = (char *)"41.10.1";
	ASSERT_OK(st_accepted_check(&last, &c));
	c.version = NULL;
	ASSERT_OK(st_accepted_check(&last, &c));
}

TEST_MAIN()
