/* SPDX-License-Identifier: MIT */
/*
 * REMOTE:REF for admin deploy and switch, and upgrade of a deployment that
 * tracks a remote ref: pull REF of remote REMOTE into
 * refs/remotes/REMOTE/REF (the pull library checks summary, commit,
 * image and objects under the remote's keys), then deploy that local ref,
 * which the deployment then tracks (docs/formats/sysroot.md, "origin").
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "sealtree/error.h"
#include "sealtree/hex.h"
#include "sealtree/remote.h"

#define REMOTES_PREFIX "refs/remotes/"

int admin_remote_spec_split(const char *verb, const char *spec, char remote[ST_REMOTE_NAME_MAX + 1],
			    char ref[ST_REF_NAME_MAX + 1])
{
	const char *colon = strchr(spec, ':');
	size_t l;
	int r;

	if (!colon)
		return 0;
	l = (size_t)(colon - spec);
	if (l == 0 || l > ST_REMOTE_NAME_MAX) {
		log_error("admin %s: '%s': REMOTE:REF needs a remote name of 1 to %d bytes", verb, spec,
			  ST_REMOTE_NAME_MAX);
		return -EINVAL;
	}
	memcpy(remote, spec, l);
	remote[l] = '\0';
	if (!st_remote_name_valid(remote)) {
		log_error("admin %s: '%s' is not a valid remote name", verb, remote);
		return -EINVAL;
	}
	r = st_ref_canonicalize(colon + 1, ref);
	if (r < 0) {
		log_error_errno(r, "admin %s: bad ref in '%s'", verb, spec);
		return r;
	}
	return 1;
}

int admin_tracked_remote(const char *tracked, char remote[ST_REMOTE_NAME_MAX + 1], char ref[ST_REF_NAME_MAX + 1])
{
	const char *p, *slash;
	size_t l;

	if (!tracked || strncmp(tracked, REMOTES_PREFIX, strlen(REMOTES_PREFIX)) != 0)
		return 0;
	p = tracked + strlen(REMOTES_PREFIX);
	slash = strchr(p, '/');
	if (!slash || slash == p || (l = (size_t)(slash - p)) > ST_REMOTE_NAME_MAX)
		return 0;
	memcpy(remote, p, l);
	remote[l] = '\0';
	if (!st_remote_name_valid(remote) || st_ref_canonicalize(slash + 1, ref) < 0) {
		st_error_clear();
		return 0;
	}
	return 1;
}

int admin_pull(const char *verb, struct st_sysroot *s, const char *remote, const char *ref, bool dry_run,
	       char **ret_local, uint8_t ret_commit[ST_COMMIT_ID_SIZE], bool *ret_up_to_date)
{
	struct st_repo *repo = st_sysroot_repo(s);
	const char *refs[] = { ref };
	struct st_pull_options opts = {
		.refs = refs,
		.n_refs = 1,
		.flags = dry_run ? ST_PULL_DRY_RUN : 0,
	};
	char *local = NULL;
	int r;

	r = st_repo_lock_shared(repo, true);
	if (r < 0) {
		log_error_errno(r, "admin %s: cannot lock the repository", verb);
		return r;
	}
	r = st_remote_pull(repo, remote, &opts);
	st_repo_unlock(repo);
	if (r < 0) {
		log_error_errno(r, "admin %s: cannot pull '%s' from remote '%s'", verb, ref, remote);
		free(opts.results);
		return r;
	}
	if (opts.n_results != 1) {
		log_error("admin %s: the pull of '%s' from '%s' returned %zu refs", verb, ref, remote, opts.n_results);
		free(opts.results);
		return -EIO;
	}
	if (!dry_run && !opts.results[0].up_to_date)
		printf("pulled %s:%s: %" PRIu64 " objects, %" PRIu64 " bytes\n", remote, ref, opts.objects_fetched,
		       opts.bytes_fetched);
	if (ret_commit)
		memcpy(ret_commit, opts.results[0].commit, ST_COMMIT_ID_SIZE);
	if (ret_up_to_date)
		*ret_up_to_date = opts.results[0].up_to_date;
	free(opts.results);
	if (ret_local) {
		if (asprintf(&local, REMOTES_PREFIX "%s/%s", remote, ref) < 0) {
			log_error("out of memory");
			return -ENOMEM;
		}
		*ret_local = local;
	}
	return 0;
}
