/* SPDX-License-Identifier: MIT */
/*
 * sealtree remote: a repository published as static files (any web server
 * or a file:// directory) and pulled from. docs/formats/remote.md describes
 * the summary, the URLs a client fetches and the remote config.
 *
 *   REPO/summary             every ref, its commit, timestamp and version
 *   REPO/summary.sig         its detached signatures
 *   REPO/remotes/NAME/config a remote: url, keys-dir, sign-verify
 *   REPO/remotes/NAME/seen   the timestamp of the newest summary accepted
 *
 * The only layer besides tar that links a network library (libcurl, in
 * lib/remote/http.c alone); prepare-root links none of it.
 */
#ifndef SEALTREE_REMOTE_H
#define SEALTREE_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sealtree/repo.h"
#include "sealtree/trust.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef ST_EXPORT
#define ST_EXPORT __attribute__((visibility("default")))
#endif

/* ---- The summary ----------------------------------------------------------- */

#define ST_SUMMARY_SIZE_MAX (16u * 1024u * 1024u)
#define ST_SUMMARY_REFS_MAX 65536
/* What a summary signature covers: this string, its NUL, then SHA-256 of the summary's bytes. */
#define ST_SUMMARY_SIGNATURE_DOMAIN "sealtree-summary-signature-v1"

struct st_summary_ref {
	char *name;                             /* canonical ref name */
	uint8_t commit[ST_COMMIT_ID_SIZE];
	int64_t timestamp;                      /* the commit's */
	char *version;                          /* the commit's, or NULL */
};

struct st_summary {
	int64_t timestamp;                      /* when the summary was written */
	struct st_summary_ref *refs;            /* sorted by name, unique */
	size_t n_refs;
};

ST_EXPORT struct st_summary *st_summary_free(struct st_summary *s);
/* Untrusted bytes: anything but the canonical form is -EUCLEAN with the line named. */
ST_EXPORT int st_summary_parse(const void *data, size_t len, struct st_summary **ret);
/* *ret is malloc'ed, not NUL-terminated. */
ST_EXPORT int st_summary_serialize(const struct st_summary *s, char **ret, size_t *ret_len);
/* The ref called name (canonical), or NULL. */
ST_EXPORT const struct st_summary_ref *st_summary_find(const struct st_summary *s, const char *name);

/*
 * Check the signatures of summary bytes (sigs: the bytes of summary.sig)
 * against store: 0 when at least one is valid and made by a trusted,
 * unrevoked key; -EKEYREJECTED (with a detail saying why) otherwise.
 */
ST_EXPORT int st_summary_verify(const void *data, size_t len, const void *sigs, size_t sigs_len,
				const struct st_trust_store *store);

/*
 * Write REPO/summary from every branch (refs/heads), then REPO/summary.sig
 * signed by each of keys (none: no summary.sig; an old one is removed), each
 * atomically and durably. ret (optional) receives the summary written.
 */
ST_EXPORT int st_repo_write_summary(struct st_repo *repo, const struct st_key *const *keys, size_t n_keys,
				    struct st_summary **ret);

/* ---- Remotes ---------------------------------------------------------------- */

#define ST_REMOTE_NAME_MAX 64
#define ST_REMOTE_URL_MAX 4096

struct st_remote {
	char *name;             /* [A-Za-z0-9_-][A-Za-z0-9._-]*, at most ST_REMOTE_NAME_MAX bytes */
	char *url;              /* http://, https:// or file://, no whitespace or control characters */
	char *keys_dir;         /* NULL: the system trust store */
	bool sign_verify;       /* false: signatures of the summary and commits are not checked */
};

ST_EXPORT bool st_remote_name_valid(const char *name);
ST_EXPORT bool st_remote_url_valid(const char *url);
/* -EEXIST if a remote of that name exists, -EINVAL for a bad name or URL. */
ST_EXPORT int st_remote_add(struct st_repo *repo, const struct st_remote *remote);
/* -ENOENT if there is none. */
ST_EXPORT int st_remote_delete(struct st_repo *repo, const char *name);
ST_EXPORT int st_remote_get(struct st_repo *repo, const char *name, struct st_remote **ret);
ST_EXPORT struct st_remote *st_remote_free(struct st_remote *remote);
/* Every remote, sorted by name. */
ST_EXPORT int st_remote_list(struct st_repo *repo, struct st_remote ***ret, size_t *ret_n);
ST_EXPORT void st_remote_list_free(struct st_remote **list, size_t n);

/* ---- Pulling ---------------------------------------------------------------- */

enum st_pull_flags {
	ST_PULL_DRY_RUN = 1u << 0,      /* fetch summary, commits and images; report, publish nothing */
};

struct st_pull_progress {
	uint64_t objects_done, objects_total;
	uint64_t bytes_done, bytes_total;
};
typedef void (*st_pull_progress_fn)(void *userdata, const struct st_pull_progress *p);

/* What one ref of a pull did (or would do, with ST_PULL_DRY_RUN). */
struct st_pull_ref_result {
	char name[ST_REF_NAME_MAX + 1];
	uint8_t commit[ST_COMMIT_ID_SIZE];
	bool up_to_date;                /* refs/remotes/NAME/REF pointed there already */
	uint64_t objects_missing, bytes_missing;
};

struct st_pull_options {
	const char *const *refs;        /* canonical names; NULL/0: every ref of the summary */
	size_t n_refs;
	unsigned jobs;                  /* requests in flight; 0: 32 */
	unsigned stall_timeout;         /* seconds below 1 byte/s before an attempt is abandoned (and retried); 0: 30 */
	unsigned flags;                 /* enum st_pull_flags */
	st_pull_progress_fn progress;
	void *progress_userdata;
	/* Filled on return. */
	struct st_pull_ref_result *results;     /* malloc'ed, n_results entries: free() it */
	size_t n_results;
	uint64_t objects_fetched, bytes_fetched, requests;
	uint32_t reserved[7];
};

/*
 * Pull refs of remote name into refs/remotes/NAME/REF: the summary (its
 * signatures checked unless the remote says sign-verify=no; older than the
 * last one accepted: -ESTALE), each commit and its signatures (through
 * st_seal_chain() before anything else is fetched), its image (digest
 * checked), then every object the image names and the repository lacks,
 * each verified against its fs-verity digest before it is published. The
 * image is published once its objects are, then one syncfs, then the ref.
 * Errors name the URL or object.
 */
ST_EXPORT int st_remote_pull(struct st_repo *repo, const char *name, struct st_pull_options *opts);

#ifdef __cplusplus
}
#endif
#endif
