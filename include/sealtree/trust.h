/* SPDX-License-Identifier: MIT */
/*
 * sealtree trust: Ed25519 keys, detached signatures over commits, the trust
 * store (trusted and revoked keys), per-ref policy and anti-rollback state.
 * The formats are specified in docs/formats/signatures.md.
 *
 * Every function that can fail returns 0 (or a non-negative value) on
 * success and a negative errno on failure, with st_error_message() naming
 * the file, line or key concerned: -EUCLEAN for a malformed key, signature
 * file, policy or state file, -EKEYREJECTED for a signature that does not
 * verify, -ENOKEY where a key is missing, -EFBIG for an oversized file.
 * Objects are used by one thread at a time; different objects are
 * independent. Nothing here prints or exits.
 */
#ifndef SEALTREE_TRUST_H
#define SEALTREE_TRUST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sealtree/repo.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef ST_EXPORT
#define ST_EXPORT __attribute__((visibility("default")))
#endif

#define ST_ED25519_PUBLIC_SIZE 32
#define ST_ED25519_SEED_SIZE 32
#define ST_ED25519_SIGNATURE_SIZE 64
#define ST_KEY_ID_SIZE 32               /* SHA-256 of the raw 32-byte public key */
#define ST_KEY_ID_SHORT_HEX 16          /* hex digits shown for a key id */
#define ST_KEY_FILE_MAX (16 * 1024)     /* larger key files are refused (-EFBIG) */

/*
 * What a commit signature covers: this domain string, its NUL, then the
 * 32-byte commit id (61 bytes). A signature made for anything else (another
 * commit, another protocol using the same key) never verifies here.
 */
#define ST_SIGNATURE_DOMAIN "sealtree-commit-signature-v1"
#define ST_SIGNED_MESSAGE_SIZE (sizeof(ST_SIGNATURE_DOMAIN) + ST_COMMIT_ID_SIZE)

/* ---- Keys --------------------------------------------------------------- */

/* An Ed25519 public key, with or without its private half. */
struct st_key;

enum st_key_format {
	ST_KEY_FORMAT_PEM = 0,          /* SubjectPublicKeyInfo / unencrypted PKCS#8 */
	ST_KEY_FORMAT_OSTREE = 1,       /* base64 of the raw key: 32 bytes public, 64 (seed + public) secret */
	ST_KEY_FORMAT_COUNT,
};

ST_EXPORT int st_key_generate(struct st_key **ret);
/* Accepts NULL; returns NULL. The private key is wiped. */
ST_EXPORT struct st_key *st_key_free(struct st_key *key);

/*
 * Parse a key file's contents (PEM or ostree base64; one key; at most
 * ST_KEY_FILE_MAX bytes). parse_public refuses a private key (so one never
 * lands in a trust directory by mistake); parse_private refuses a public
 * key, an encrypted PEM and an ostree secret whose public half does not
 * belong to its seed. ret_format (optional) tells which format it was.
 */
ST_EXPORT int st_key_parse_public(const void *data, size_t len, struct st_key **ret,
				  enum st_key_format *ret_format);
ST_EXPORT int st_key_parse_private(const void *data, size_t len, struct st_key **ret,
				   enum st_key_format *ret_format);
/* A public key from its raw 32 bytes. */
ST_EXPORT int st_key_from_public_raw(const uint8_t public_key[ST_ED25519_PUBLIC_SIZE], struct st_key **ret);
/* The same from a file (dirfd: AT_FDCWD or a directory). */
ST_EXPORT int st_key_load_public(int dirfd, const char *path, struct st_key **ret);
ST_EXPORT int st_key_load_private(int dirfd, const char *path, struct st_key **ret);

ST_EXPORT bool st_key_has_private(const struct st_key *key);
ST_EXPORT const uint8_t *st_key_public_raw(const struct st_key *key);      /* 32 bytes */
ST_EXPORT const uint8_t *st_key_id(const struct st_key *key);              /* ST_KEY_ID_SIZE bytes */
ST_EXPORT void st_key_id_of(const uint8_t public_key[ST_ED25519_PUBLIC_SIZE], uint8_t ret_id[ST_KEY_ID_SIZE]);

/* Encode a key file; *ret is malloc'ed and NUL-terminated (ret_len excludes the NUL). */
ST_EXPORT int st_key_format_public(const struct st_key *key, enum st_key_format format, char **ret,
				   size_t *ret_len);
/* -ENOKEY without a private half. */
ST_EXPORT int st_key_format_private(const struct st_key *key, enum st_key_format format, char **ret,
				    size_t *ret_len);
/*
 * Write a key file atomically (temporary file in the same directory,
 * fsync, rename): the private key with mode 0600, the public key 0644.
 */
ST_EXPORT int st_key_write_public(const struct st_key *key, enum st_key_format format, int dirfd,
				  const char *path);
ST_EXPORT int st_key_write_private(const struct st_key *key, enum st_key_format format, int dirfd,
				   const char *path);

/* Sign or verify arbitrary bytes (plain Ed25519). verify: 0 valid, -EKEYREJECTED otherwise. */
ST_EXPORT int st_key_sign(const struct st_key *key, const void *msg, size_t len,
			  uint8_t ret_sig[ST_ED25519_SIGNATURE_SIZE]);
ST_EXPORT int st_key_verify(const struct st_key *key, const void *msg, size_t len,
			    const uint8_t sig[ST_ED25519_SIGNATURE_SIZE]);

/* The domain-separated message for a commit, and signing/verifying it. */
ST_EXPORT void st_signed_message(const uint8_t commit_id[ST_COMMIT_ID_SIZE], uint8_t ret[ST_SIGNED_MESSAGE_SIZE]);
ST_EXPORT int st_key_sign_commit(const struct st_key *key, const uint8_t commit_id[ST_COMMIT_ID_SIZE],
				 uint8_t ret_sig[ST_ED25519_SIGNATURE_SIZE]);
ST_EXPORT int st_key_verify_commit(const struct st_key *key, const uint8_t commit_id[ST_COMMIT_ID_SIZE],
				   const uint8_t sig[ST_ED25519_SIGNATURE_SIZE]);

/* ---- Signature files (REPO/commits/<id>.sig) ------------------------------ */

#define ST_SIGNATURES_MAX 64            /* signatures in one file */
#define ST_SIGNATURE_FILE_MAX (64 * 1024)

struct st_signature {
	uint8_t public_key[ST_ED25519_PUBLIC_SIZE];
	uint8_t signature[ST_ED25519_SIGNATURE_SIZE];
};

/* The signatures of one commit, sorted by public key, one per key. */
struct st_signature_set {
	uint8_t commit_id[ST_COMMIT_ID_SIZE];
	struct st_signature *sigs;
	size_t n_sigs;
};

ST_EXPORT int st_signature_set_new(const uint8_t commit_id[ST_COMMIT_ID_SIZE], struct st_signature_set **ret);
ST_EXPORT struct st_signature_set *st_signature_set_free(struct st_signature_set *set);
/*
 * Add a signature, keeping the order. Returns 1 if added, 0 if the set has
 * a signature by that key already (left as it is), -E2BIG when full.
 */
ST_EXPORT int st_signature_set_add(struct st_signature_set *set, const struct st_signature *sig);
/* Untrusted bytes: anything but the canonical encoding is -EUCLEAN with the line named. */
ST_EXPORT int st_signature_set_parse(const void *data, size_t len, struct st_signature_set **ret);
/* *ret is malloc'ed, not NUL-terminated. */
ST_EXPORT int st_signature_set_serialize(const struct st_signature_set *set, char **ret, size_t *ret_len);

/*
 * The signatures stored for a commit: -ENOENT if it has none, -EUCLEAN for a
 * corrupt file, -EFBIG for an oversized one.
 */
ST_EXPORT int st_repo_read_signatures(struct st_repo *repo, const uint8_t commit_id[ST_COMMIT_ID_SIZE],
				      struct st_signature_set **ret);
/*
 * Sign a stored commit (read and checked against its id first) with key and
 * add the signature to its file: under an exclusive flock on the commit
 * file, read, merge, write a temporary file in REPO/tmp, fsync, rename,
 * fsync commits/. Returns 1 if added, 0 if key had signed it already.
 */
ST_EXPORT int st_repo_sign_commit(struct st_repo *repo, const uint8_t commit_id[ST_COMMIT_ID_SIZE],
				  const struct st_key *key);

/* ---- Trust store and policy ---------------------------------------------- */

#define ST_TRUST_SYSTEM_DIRS { "/etc/sealtree", "/usr/share/sealtree" }
#define ST_TRUST_KEYS_MAX 4096

enum st_key_trust {
	ST_KEY_UNKNOWN = 0,
	ST_KEY_TRUSTED = 1,
	ST_KEY_REVOKED = 2,             /* in a revoked.d/, whether also trusted or not */
	ST_KEY_TRUST_COUNT,
};

enum st_policy_kind {
	ST_POLICY_NONE = 0,             /* no signature required */
	ST_POLICY_ANY_TRUSTED = 1,      /* a valid signature by any trusted, unrevoked key */
	ST_POLICY_KEYS = 2,             /* ... by one of the listed keys (which must be trusted too) */
	ST_POLICY_KIND_COUNT,
};

struct st_trust_store;

/*
 * Load the store: with keys_dir, KEYS_DIR/trusted.d/, KEYS_DIR/revoked.d/ and
 * KEYS_DIR/policy.conf; with NULL, trusted.d/ and revoked.d/ of every
 * ST_TRUST_SYSTEM_DIRS directory and the first policy.conf found there. A
 * directory or policy that does not exist at all is empty; anything else
 * that cannot be read (a dangling symlink, a loop, EACCES, a FIFO, a key file
 * that does not parse) is an error naming it: fail closed, a revocation or a
 * key pin is never lost to a broken file (docs/formats/signatures.md).
 */
ST_EXPORT int st_trust_store_load(const char *keys_dir, struct st_trust_store **ret);
ST_EXPORT int st_trust_store_new(struct st_trust_store **ret);
ST_EXPORT struct st_trust_store *st_trust_store_free(struct st_trust_store *store);
ST_EXPORT int st_trust_store_add_key(struct st_trust_store *store, const uint8_t public_key[ST_ED25519_PUBLIC_SIZE],
				     bool revoked);
/* Replace the policy with the parsed text (see docs/formats/signatures.md). */
ST_EXPORT int st_trust_store_set_policy(struct st_trust_store *store, const void *data, size_t len);
ST_EXPORT enum st_key_trust st_trust_store_lookup(const struct st_trust_store *store,
						  const uint8_t public_key[ST_ED25519_PUBLIC_SIZE]);
ST_EXPORT size_t st_trust_store_n_keys(const struct st_trust_store *store, enum st_key_trust which);

/*
 * The rule for a ref (NULL: a commit named by id, which gets the default,
 * any-trusted). The returned pattern is the rule's glob, or NULL for the
 * default; key ids are lowercase hex prefixes (16 to 64 digits). Pointers
 * stay valid while the store lives.
 */
struct st_policy_rule {
	const char *pattern;
	enum st_policy_kind kind;
	const char *const *key_ids;
	size_t n_key_ids;
};
ST_EXPORT void st_trust_store_policy_for(const struct st_trust_store *store, const char *ref,
					 struct st_policy_rule *ret);

/* ---- Verifying ------------------------------------------------------------ */

enum st_sig_status {
	ST_SIG_VALID = 0,               /* verifies, key trusted, allowed by the policy */
	ST_SIG_UNTRUSTED = 1,           /* key in no trusted.d/ (not verified) */
	ST_SIG_REVOKED = 2,             /* key in a revoked.d/ (not verified) */
	ST_SIG_BAD = 3,                 /* trusted key, signature does not verify */
	ST_SIG_NOT_ALLOWED = 4,         /* verifies with a trusted key the ref's policy does not list */
	ST_SIG_STATUS_COUNT,
};
ST_EXPORT const char *st_sig_status_to_string(enum st_sig_status s);

enum st_trust_verdict {
	ST_TRUST_VALID = 0,             /* a signature satisfies the policy */
	ST_TRUST_UNSIGNED_OK = 1,       /* policy none and no valid signature: accepted unsigned */
	ST_TRUST_NO_SIGNATURE = 2,      /* required, and the commit has no signature file */
	ST_TRUST_CORRUPT = 3,           /* required, and the signature file is corrupt or for another commit */
	ST_TRUST_INVALID = 4,           /* required, and no signature satisfies it (see each status) */
	ST_TRUST_VERDICT_COUNT,
};
ST_EXPORT const char *st_trust_verdict_to_string(enum st_trust_verdict v);

struct st_sig_report {
	uint8_t public_key[ST_ED25519_PUBLIC_SIZE];
	uint8_t key_id[ST_KEY_ID_SIZE];
	enum st_sig_status status;
};

struct st_trust_result {
	uint8_t commit_id[ST_COMMIT_ID_SIZE];
	struct st_policy_rule rule;     /* what was required (a copy owned by the result) */
	enum st_trust_verdict verdict;
	bool accepted;                  /* verdict VALID or UNSIGNED_OK */
	int valid_index;                /* the signature that satisfied the policy, or -1 */
	int sig_file_error;             /* with ST_TRUST_CORRUPT: the parse error */
	char sig_file_reason[256];      /* ... and what is wrong with the file, in words ("" if unknown) */
	bool wrong_commit;              /* with ST_TRUST_CORRUPT: the file names another commit */
	uint8_t file_commit_id[ST_COMMIT_ID_SIZE]; /* ... namely this one */
	struct st_sig_report *sigs;     /* one per signature in the file */
	size_t n_sigs;
};
ST_EXPORT struct st_trust_result *st_trust_result_free(struct st_trust_result *res);
/*
 * Why res is not accepted, in one line of plain words ("no signature",
 * "revoked key 3f2a9c01d4e5b6a7; bad signature by key ..."), or "accepted".
 */
ST_EXPORT void st_trust_result_reason(const struct st_trust_result *res, char *buf, size_t size);

enum st_trust_check_flags {
	ST_TRUST_REQUIRE_SIGNATURE = 1u << 0,   /* treat a "none" policy as any-trusted */
};

/*
 * Judge a commit's signatures (set: NULL if it has no signature file;
 * sig_file_error: the error reading it, or 0) against the store's policy
 * for ref. Each signature is verified only if its key is trusted and not
 * revoked. Only allocation fails; the verdict is in *ret.
 */
ST_EXPORT int st_trust_check(const struct st_trust_store *store, const char *ref,
			     const uint8_t commit_id[ST_COMMIT_ID_SIZE], const struct st_signature_set *set,
			     int sig_file_error, unsigned flags, struct st_trust_result **ret);

/* st_trust_check() over the signature file stored for the commit. */
ST_EXPORT int st_repo_trust_check(struct st_repo *repo, const struct st_trust_store *store, const char *ref,
				  const uint8_t commit_id[ST_COMMIT_ID_SIZE], unsigned flags,
				  struct st_trust_result **ret);

/*
 * For `sealtree show`: the commit's signatures judged against the system
 * trust store (or keys_dir) with ref's policy. A store that cannot be
 * loaded is an error.
 */
ST_EXPORT int st_trust_commit_state(struct st_repo *repo, const char *keys_dir, const char *ref,
				    const uint8_t commit_id[ST_COMMIT_ID_SIZE], struct st_trust_result **ret);

/* ---- Anti-rollback -------------------------------------------------------- */

/* The last commit accepted for a ref (REPO/state/accepted/REF). */
struct st_accepted {
	uint8_t commit_id[ST_COMMIT_ID_SIZE];
	int64_t timestamp;
	char version[256];              /* "" when the commit has no version */
};

/* -ENOENT if nothing was accepted for ref yet, -EUCLEAN for a corrupt file. */
ST_EXPORT int st_repo_read_accepted(struct st_repo *repo, const char *ref, struct st_accepted *ret);
/*
 * 0 if commit c may follow the accepted one (its timestamp is not lower and,
 * when both have a version, its version does not sort lower, by
 * strverscmp(3)); -ESTALE with a detail naming both otherwise.
 */
ST_EXPORT int st_accepted_check(const struct st_accepted *last, const struct st_commit *c);
/*
 * Record commit c as accepted for ref, atomically and durably, unless the
 * record holds a newer one (the record never moves back). Returns 1 if
 * written, 0 if kept.
 */
ST_EXPORT int st_repo_record_accepted(struct st_repo *repo, const char *ref,
				      const uint8_t commit_id[ST_COMMIT_ID_SIZE], const struct st_commit *c);

#ifdef __cplusplus
}
#endif
#endif
