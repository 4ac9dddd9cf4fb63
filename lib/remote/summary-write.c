/* SPDX-License-Identifier: MIT */
/*
 * sealtree summary: REPO/summary and REPO/summary.sig, written through the
 * repository's one publish path (basic/publish.h), each renamed into place
 * after an fsync.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "basic/error.h"
#include "basic/publish.h"
#include "fundamental/macro.h"
#include "remote-internal.h"

static void summary_freep(struct st_summary **s)
{
	st_summary_free(*s);
}

static void sigset_freep(struct st_signature_set **s)
{
	st_signature_set_free(*s);
}

/* Every usable pack of REPO/packs/, as the summary lists them (one per commit and base). */
static int add_packs(struct st_repo *repo, struct st_summary *s)
{
	_cleanup_free_ struct st_pack_info *v = NULL;
	size_t n = 0;
	int r;

	r = st_repo_list_packs(repo, &v, &n);
	if (r < 0)
		return r;
	s->packs = calloc(n ? n : 1, sizeof(*s->packs));
	if (!s->packs)
		return -ENOMEM;
	for (size_t i = 0; i < n && s->n_packs < ST_SUMMARY_PACKS_MAX; i++) {
		struct st_summary_pack *pk = &s->packs[s->n_packs];

		if (s->n_packs > 0 && memcmp(pk[-1].commit, v[i].commit, 32) == 0 && pk[-1].has_from == v[i].has_from &&
		    (!v[i].has_from || memcmp(pk[-1].from, v[i].from, 32) == 0))
			continue;       /* two packs of one pair: the summary offers the first */
		memcpy(pk->commit, v[i].commit, 32);
		pk->has_from = v[i].has_from;
		memcpy(pk->from, v[i].from, 32);
		memcpy(pk->index_sha256, v[i].index_sha256, 32);
		pk->index_size = v[i].index_size;
		s->n_packs++;
	}
	return 0;
}

static int build_summary(struct st_repo *repo, struct st_summary **ret)
{
	_cleanup_(summary_freep) struct st_summary *s = NULL;
	struct st_ref *refs = NULL;
	size_t n = 0;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	r = st_repo_list_refs(repo, false, &refs, &n);
	if (r < 0)
		return r;
	s->refs = calloc(n ? n : 1, sizeof(*s->refs));
	if (!s->refs) {
		st_ref_list_free(refs, n);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		struct st_commit *c = NULL;

		r = st_repo_read_commit(repo, refs[i].id, &c);
		if (r < 0)
			break;
		s->refs[i].name = strdup(refs[i].name);
		s->refs[i].version = c->version ? strdup(c->version) : NULL;
		memcpy(s->refs[i].commit, refs[i].id, ST_COMMIT_ID_SIZE);
		s->refs[i].timestamp = c->timestamp;
		s->n_refs++;
		if (!s->refs[i].name || (c->version && !s->refs[i].version))
			r = -ENOMEM;
		st_commit_free(c);
		if (r < 0)
			break;
	}
	st_ref_list_free(refs, n);
	if (r < 0)
		return r;
	r = add_packs(repo, s);
	if (r < 0)
		return r;
	s->timestamp = (int64_t)time(NULL);
	*ret = TAKE_PTR(s);
	return 0;
}

static int write_sigs(struct st_repo *repo, const void *data, size_t len, const struct st_key *const *keys,
		      size_t n_keys)
{
	_cleanup_(sigset_freep) struct st_signature_set *set = NULL;
	uint8_t hash[32], msg[sizeof(ST_SUMMARY_SIGNATURE_DOMAIN) + 32];
	_cleanup_free_ char *out = NULL, *display = NULL;
	size_t out_len;
	int r;

	if (asprintf(&display, "%s/summary.sig", st_repo_path(repo)) < 0)
		return -ENOMEM;
	if (n_keys == 0) {
		if (unlinkat(st_repo_dirfd(repo), "summary.sig", 0) < 0 && errno != ENOENT)
			return st_errf(-errno, "cannot remove '%s'", display);
		return 0;
	}
	r = summary_signed_message(data, len, hash, msg);
	if (r < 0)
		return r;
	r = st_signature_set_new(hash, &set);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n_keys; i++) {
		struct st_signature sig;

		if (!st_key_has_private(keys[i]))
			return st_errf(-EINVAL, "summary: a signing key has no private half");
		memcpy(sig.public_key, st_key_public_raw(keys[i]), sizeof(sig.public_key));
		r = st_key_sign(keys[i], msg, sizeof(msg), sig.signature);
		if (r < 0)
			return r;
		r = st_signature_set_add(set, &sig);
		if (r < 0)
			return r;
	}
	r = st_signature_set_serialize(set, &out, &out_len);
	if (r < 0)
		return r;
	r = publish_data(st_repo_dirfd(repo), "summary.sig", display, out, out_len, 0644,
			 PUBLISH_REPLACE | PUBLISH_SYNC, NULL);
	return r < 0 ? r : 0;
}

int st_repo_write_summary(struct st_repo *repo, const struct st_key *const *keys, size_t n_keys,
			  struct st_summary **ret)
{
	_cleanup_(summary_freep) struct st_summary *s = NULL;
	_cleanup_free_ char *data = NULL, *display = NULL;
	size_t len;
	int r;

	if (!repo || (n_keys > 0 && !keys))
		return -EINVAL;
	r = build_summary(repo, &s);
	if (r < 0)
		return r;
	r = st_summary_serialize(s, &data, &len);
	if (r < 0)
		return r;
	if (asprintf(&display, "%s/summary", st_repo_path(repo)) < 0)
		return -ENOMEM;
	/*
	 * The summary first, then its signatures: a client that fetches in
	 * between sees signatures of other bytes and refuses (and retries).
	 */
	r = publish_data(st_repo_dirfd(repo), "summary", display, data, len, 0644, PUBLISH_REPLACE | PUBLISH_SYNC,
			 NULL);
	if (r < 0)
		return r;
	r = write_sigs(repo, data, len, keys, n_keys);
	if (r < 0)
		return r;
	if (ret)
		*ret = TAKE_PTR(s);
	return 0;
}
