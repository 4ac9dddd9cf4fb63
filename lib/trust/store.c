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

/* Every key file of dir/sub (one key per file; names starting with '.' are skipped). */
static int load_key_dir(struct st_trust_store *store, const char *dir, const char *sub, bool revoked)
{
	_cleanup_free_ char *path = NULL;
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (asprintf(&path, "%s/%s", dir, sub) < 0)
		return -ENOMEM;
	d = opendir(path);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		return st_errf(negative_errno(), "cannot open '%s'", path);
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
		if (r < 0)
			break;  /* the detail names the file */
		r = st_trust_store_add_key(store, st_key_public_raw(key), revoked);
		st_key_free(key);
		if (r < 0)
			break;
	}
	if (r == 0 && errno != 0)
		r = st_errf(negative_errno(), "cannot read '%s'", path);
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
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	r = st_trust_store_set_policy(store, buf, len);
	if (r < 0)
		return trust_errf_wrap(r, path, "bad policy");
	*found = true;
	return 0;
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
	if (keys_dir) {
		struct stat st;
		if (stat(keys_dir, &st) < 0)
			return st_errf(negative_errno(), "keys directory '%s'", keys_dir);
		if (!S_ISDIR(st.st_mode))
			return st_errf(-ENOTDIR, "keys directory '%s'", keys_dir);
	}
	/* Revocations first is not needed (revocation wins either way), but all dirs are read before use. */
	for (size_t i = 0; i < n_dirs; i++) {
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
