/* SPDX-License-Identifier: MIT */
/*
 * Signatures stored in a repository: REPO/commits/<id>.sig next to the
 * commit (so gc, which removes commits/<id>.* with the commit, takes them
 * along). Signing merges into the file under an exclusive flock on the
 * commit file itself: that file never changes after it is written, so two
 * signers serialize on it without a lock file of their own.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>

#include "basic/error.h"
#include "basic/hex.h"
#include "trust-internal.h"

int st_repo_read_signatures(struct st_repo *repo, const uint8_t commit_id[ST_COMMIT_ID_SIZE],
			    struct st_signature_set **ret)
{
	_cleanup_free_ char *buf = NULL;
	char path[SIG_RELPATH_SIZE];
	size_t len;
	int r;

	sig_relpath(commit_id, path);
	r = st_repo_read_file(repo, path, ST_SIGNATURE_FILE_MAX, &buf, &len);
	if (r < 0)
		return r;
	r = st_signature_set_parse(buf, len, ret);
	if (r < 0)
		return trust_errf_wrap(r, path, "corrupt");
	return 0;
}

int st_repo_sign_commit(struct st_repo *repo, const uint8_t commit_id[ST_COMMIT_ID_SIZE], const struct st_key *key)
{
	struct st_signature_set *set = NULL;
	struct st_commit *commit = NULL;
	_cleanup_close_ int lock_fd = -EBADF;
	_cleanup_free_ char *buf = NULL;
	char hex[2 * ST_COMMIT_ID_SIZE + 1], commit_path[sizeof("commits/") + 2 * ST_COMMIT_ID_SIZE];
	char sig_path[SIG_RELPATH_SIZE];
	struct st_signature sig;
	size_t len;
	int r;

	if (!st_key_has_private(key))
		return st_errf(-ENOKEY, "signing needs a private key");
	/* Only a commit that is present and intact (its bytes hash to its id) is signed. */
	r = st_repo_read_commit(repo, commit_id, &commit);
	if (r < 0)
		return r;
	st_commit_free(commit);

	st_hex_encode(commit_id, ST_COMMIT_ID_SIZE, hex);
	(void)snprintf(commit_path, sizeof(commit_path), "commits/%s", hex);
	sig_relpath(commit_id, sig_path);
	memcpy(sig.public_key, st_key_public_raw(key), ST_ED25519_PUBLIC_SIZE);
	r = st_key_sign_commit(key, commit_id, sig.signature);
	if (r < 0)
		return r;

	lock_fd = st_repo_lock_file(repo, commit_path, false);
	if (lock_fd < 0)
		return lock_fd;

	r = st_repo_read_signatures(repo, commit_id, &set);
	if (r == -ENOENT)
		r = st_signature_set_new(commit_id, &set);
	else if (r < 0)
		return trust_errf_wrap(r, "cannot add to the signature file (remove it to sign again)", sig_path);
	else if (memcmp(set->commit_id, commit_id, ST_COMMIT_ID_SIZE) != 0) {
		st_signature_set_free(set);
		return st_errf(-EUCLEAN, "'%s' holds signatures of another commit (remove it to sign again)", sig_path);
	}
	if (r < 0)
		return r;
	r = st_signature_set_add(set, &sig);
	if (r <= 0) {
		st_signature_set_free(set);
		return r;       /* 0: this key had signed already */
	}
	r = st_signature_set_serialize(set, &buf, &len);
	st_signature_set_free(set);
	if (r < 0)
		return r;

	r = st_repo_write_file(repo, sig_path, buf, len);
	if (r < 0)
		return r;
	return 1;
}

int st_repo_trust_check(struct st_repo *repo, const struct st_trust_store *store, const char *ref,
			const uint8_t commit_id[ST_COMMIT_ID_SIZE], unsigned flags, struct st_trust_result **ret)
{
	struct st_signature_set *set = NULL;
	char why[sizeof((*ret)->sig_file_reason)] = "";
	int r, err;

	err = st_repo_read_signatures(repo, commit_id, &set);
	if (err < 0 && err != -ENOENT && err != -EUCLEAN && err != -EFBIG && err != -EINVAL)
		return err;     /* an I/O error is not a verdict */
	if (err < 0 && err != -ENOENT && st_error_detail())
		(void)snprintf(why, sizeof(why), "%s", st_error_detail());     /* which line, what is wrong */
	st_error_clear();
	r = st_trust_check(store, ref, commit_id, set, err < 0 ? err : 0, flags, ret);
	st_signature_set_free(set);
	if (r >= 0 && !(*ret)->wrong_commit)
		memcpy((*ret)->sig_file_reason, why, sizeof(why));
	return r;
}

int st_trust_commit_state(struct st_repo *repo, const char *keys_dir, const char *ref,
			  const uint8_t commit_id[ST_COMMIT_ID_SIZE], struct st_trust_result **ret)
{
	struct st_trust_store *store = NULL;
	int r;

	r = st_trust_store_load(keys_dir, &store);
	if (r < 0)
		return r;
	r = st_repo_trust_check(repo, store, ref, commit_id, 0, ret);
	st_trust_store_free(store);
	return r;
}
