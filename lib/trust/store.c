/* SPDX-License-Identifier: MIT */
/*
 * The trust store: trusted and revoked public keys, one per file in
 * trusted.d/ and revoked.d/ directories, and the per-ref policy
 * (policy.c). A revoked key never validates, whichever directory also
 * lists it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/error.h"
#include "trust-internal.h"
#include "trust-policy.h"

struct store_key {
	uint8_t public_key[ST_ED25519_PUBLIC_SIZE];
	bool revoked;
};

struct st_trust_store {
	struct store_key *keys;
	size_t n_keys, cap_keys;
	struct trust_policy *policy;    /* NULL: everything any-trusted */
};

int st_trust_store_new(struct st_trust_store **ret)
{
	struct st_trust_store *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

struct st_trust_store *st_trust_store_free(struct st_trust_store *store)
{
	if (store) {
		free(store->keys);
		trust_policy_free(store->policy);
		free(store);
	}
	return NULL;
}
static void storep(struct st_trust_store **s)
{
	st_trust_store_free(*s);
}

int st_trust_store_add_key(struct st_trust_store *store, const uint8_t public_key[ST_ED25519_PUBLIC_SIZE], bool revoked)
{
	for (size_t i = 0; i < store->n_keys; i++)
		if (memcmp(store->keys[i].public_key, public_key, ST_ED25519_PUBLIC_SIZE) == 0) {
			store->keys[i].revoked |= revoked;      /* revocation wins */
			return 0;
		}
	if (store->n_keys >= ST_TRUST_KEYS_MAX)
		return st_errf(-E2BIG, "more than %d keys in the trust store", ST_TRUST_KEYS_MAX);
	if (GROW(store->keys, store->cap_keys, store->n_keys + 1) < 0)
		return -ENOMEM;
	memcpy(store->keys[store->n_keys].public_key, public_key, ST_ED25519_PUBLIC_SIZE);
	store->keys[store->n_keys].revoked = revoked;
	store->n_keys++;
	return 0;
}

enum st_key_trust st_trust_store_lookup(const struct st_trust_store *store, const uint8_t public_key[ST_ED25519_PUBLIC_SIZE])
{
	for (size_t i = 0; i < store->n_keys; i++)
		if (memcmp(store->keys[i].public_key, public_key, ST_ED25519_PUBLIC_SIZE) == 0)
			return store->keys[i].revoked ? ST_KEY_REVOKED : ST_KEY_TRUSTED;
	return ST_KEY_UNKNOWN;
}

size_t st_trust_store_n_keys(const struct st_trust_store *store, enum st_key_trust which)
{
	size_t n = 0;

	for (size_t i = 0; i < store->n_keys; i++)
		n += (which == ST_KEY_REVOKED) == store->keys[i].revoked;
	return n;
}

int st_trust_store_set_policy(struct st_trust_store *store, const void *data, size_t len)
{
	struct trust_policy *p = NULL;
	int r = trust_policy_parse(data, len, &p);

	if (r < 0)
		return r;
	trust_policy_free(store->policy);
	store->policy = p;
	return 0;
}

void st_trust_store_policy_for(const struct st_trust_store *store, const char *ref, struct st_policy_rule *ret)
{
	trust_policy_lookup(store->policy, ref, ret);
}

/*
 * After an open of path failed with ENOENT: 0 if nothing is there (an absent
 * directory or policy is empty), an error naming it if a symlink is there
 * whose target is missing. A dangling revoked.d/ or policy.conf read as
 * "none" would drop revocations and key pins: fail closed.
 */
static int check_absent(const char *path, const char *what)
{
	struct stat st;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return st_errf(negative_errno(), "cannot look at %s '%s'", what, path);
	}
	if (S_ISLNK(st.st_mode))
		return st_errf(-ENOENT, "%s '%s' is a symlink to nothing (a trust store that cannot be read is "
			       "refused, never taken as empty)", what, path);
	return st_errf(-ENOENT, "%s '%s' disappeared while the trust store was read", what, path);
}

/*
 * Every key file of dir/sub (one key per file; names starting with '.' are
 * skipped). Anything else that cannot be read or parsed, in trusted.d/ as in
 * revoked.d/, is an error naming it: see "Trust store" in signatures.md.
 */
static int load_key_dir(struct st_trust_store *store, const char *dir, const char *sub, bool revoked)
{
	const char *what = revoked ? "revoked keys directory" : "trusted keys directory";
	_cleanup_free_ char *path = NULL;
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (asprintf(&path, "%s/%s", dir, sub) < 0)
		return -ENOMEM;
	d = opendir(path);
	if (!d) {
		if (errno == ENOENT)
			return check_absent(path, what);
		return st_errf(negative_errno(), "cannot open %s '%s'", what, path);
	}
	while ((errno = 0, de = readdir(d))) {
		struct st_key *key = NULL;
		_cleanup_free_ char *file = NULL;

		if (de->d_name[0] == '.')
			continue;
		if (asprintf(&file, "%s/%s", path, de->d_name) < 0) {
			r = -ENOMEM;
			break;
		}
		r = st_key_load_public(AT_FDCWD, file, &key);
		if (r == -ENOENT) {
			/* Listed but not openable: a dangling symlink (or a race). */
			st_error_clear();
			r = check_absent(file, revoked ? "revoked key" : "trusted key");
			if (r == 0)
				r = st_errf(-ENOENT, "key '%s' disappeared while the trust store was read", file);
		}
		if (r < 0)
			break;  /* the detail names the file */
		r = st_trust_store_add_key(store, st_key_public_raw(key), revoked);
		st_key_free(key);
		if (r < 0)
			break;
	}
	if (r == 0 && errno != 0)
		r = st_errf(negative_errno(), "cannot read %s '%s'", what, path);
	closedir(d);
	return r;
}

static int load_policy(struct st_trust_store *store, const char *dir, bool *found)
{
	_cleanup_free_ char *path = NULL, *buf = NULL;
	size_t len;
	int r;

	if (asprintf(&path, "%s/policy.conf", dir) < 0)
		return -ENOMEM;
	r = trust_read_file(AT_FDCWD, path, TRUST_POLICY_FILE_MAX, &buf, &len);
	if (r == -ENOENT) {
		st_error_clear();
		return check_absent(path, "policy");
	}
	if (r < 0)
		return r;
	r = st_trust_store_set_policy(store, buf, len);
	if (r < 0)
		return trust_errf_wrap(r, path, "bad policy");
	*found = true;
	return 0;
}

/* 1 if dir is a directory to read, 0 if absent (a system directory may be), or an error. */
static int check_store_dir(const char *dir, bool must_exist)
{
	struct stat st;

	if (stat(dir, &st) < 0) {
		int r = negative_errno();

		if (r == -ENOENT && !must_exist) {
			r = check_absent(dir, "trust store");
			return r < 0 ? r : 0;
		}
		return st_errf(r, "cannot open the trust store '%s'", dir);
	}
	if (!S_ISDIR(st.st_mode))
		return st_errf(-ENOTDIR, "the trust store '%s' is not a directory", dir);
	return 1;
}

int st_trust_store_load(const char *keys_dir, struct st_trust_store **ret)
{
	static const char *const system_dirs[] = ST_TRUST_SYSTEM_DIRS;
	_cleanup_(storep) struct st_trust_store *store = NULL;
	const char *const *dirs = keys_dir ? &keys_dir : system_dirs;
	size_t n_dirs = keys_dir ? 1 : ELEMENTSOF(system_dirs);
	bool have_policy = false;
	int r;

	r = st_trust_store_new(&store);
	if (r < 0)
		return r;
	/* Revocations first is not needed (revocation wins either way), but all dirs are read before use. */
	for (size_t i = 0; i < n_dirs; i++) {
		r = check_store_dir(dirs[i], keys_dir != NULL);
		if (r < 0)
			return r;
		if (r == 0)
			continue;
		r = load_key_dir(store, dirs[i], "trusted.d", false);
		if (r >= 0)
			r = load_key_dir(store, dirs[i], "revoked.d", true);
		if (r >= 0 && !have_policy)     /* the first policy.conf found (/etc before /usr/share) */
			r = load_policy(store, dirs[i], &have_policy);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(store);
	return 0;
}
