/* SPDX-License-Identifier: MIT */
/*
 * Pruning history: the commits of one ref's chain older than the newest
 * `keep` become unreachable, unless another root still reaches them, and gc
 * removes them with whatever only they kept alive.
 *
 * Nothing is deleted outside gc: the dropped commits go into gc's "stop"
 * set, where walking a chain ends as at a missing parent, so gc neither
 * marks them nor what only they reach, and sweeps them in its usual order
 * (commits first). A crash at any instant leaves the ref's chain ending
 * somewhere at or below the kept commits, which readers show as pruned.
 */
#include <errno.h>
#include <string.h>

#include "basic/error.h"
#include "basic/macro.h"
#include "repo/maint-internal.h"

static void commit_freep(struct st_commit **c)
{
	st_commit_free(*c);
}

int st_repo_prune(struct st_repo *repo, const char *ref, uint64_t keep, unsigned flags,
		  struct st_prune_stats *ret_stats)
{
	_cleanup_(digest_set_release) struct digest_set others = {}, stop = {};
	_cleanup_(reach_release) struct reach reach = {};
	struct st_prune_stats stats = {};
	uint8_t id[ST_COMMIT_ID_SIZE];
	char hex[65], canon[ST_REF_NAME_MAX + 1];
	int r;

	if (keep < 1)
		return st_errf(-EINVAL, "prune must keep at least one commit");
	r = repo_check_exclusive(repo);
	if (r < 0)
		return r;
	/* The canonical name is the one st_repo_list_refs() gives the ref. */
	r = st_ref_canonicalize(ref, canon);
	if (r < 0)
		return r;
	r = st_repo_read_ref(repo, canon, id);
	if (r < 0)
		return r; /* the detail names the ref */
	/* Every commit some root other than this ref reaches. */
	r = mark_refs(repo, canon, NULL, &others, NULL);
	if (r < 0)
		return r;

	/* Walk the ref's whole history: past a shared commit may lie more to drop. */
	for (uint64_t depth = 0;; depth++) {
		_cleanup_(commit_freep) struct st_commit *c = NULL;

		st_error_clear();
		r = st_repo_read_commit(repo, id, &c);
		if (r == -ENOENT && depth > 0)
			break; /* pruned before */
		if (r < 0 && st_error_detail()) /* the detail names the commit */
			return errf_wrap(r, "history of ref '%s'", ref);
		if (r < 0)
			return st_errf(r, "commit %s of ref '%s'", hex32(id, hex), ref);
		if (depth < keep)
			stats.commits_kept++;
		else if (digest_set_contains(&others, id))
			stats.commits_shared++;
		else {
			r = digest_set_add(&stop, id);
			if (r < 0)
				return r;
			stats.commits_dropped++;
		}
		if (!c->has_parent)
			break;
		memcpy(id, c->parent, sizeof(id));
	}

	r = reach_mark(repo, &stop, &reach);
	if (r < 0)
		return r;
	r = gc_sweep(repo, &reach, flags, &stats.gc);
	if (r < 0)
		return r;
	if (ret_stats)
		*ret_stats = stats;
	return 0;
}
