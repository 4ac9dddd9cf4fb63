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

#define ST_SUMMARY_PACKS_MAX 65536
/* A pack index of 4 Mi entries at most (docs/formats/remote.md). */
#define ST_PACK_INDEX_SIZE_MAX (128u + 56u * 4194304u)

/* A pack on offer (docs/formats/remote.md, "Packs"): packs/<index_sha256 hex>.index and .pack. */
struct st_summary_pack {
	uint8_t commit[ST_COMMIT_ID_SIZE];      /* the commit whose objects it brings */
	bool has_from;
	uint8_t from[ST_COMMIT_ID_SIZE];        /* ... that this commit lacks (has_from), else all of them */
	uint8_t index_sha256[32];               /* SHA-256 of the index's bytes: the summary authenticates it */
	uint64_t index_size;
};

struct st_summary {
	int64_t timestamp;                      /* when the summary was written */
	struct st_summary_ref *refs;            /* sorted by name, unique */
	size_t n_refs;
	struct st_summary_pack *packs;          /* sorted by commit, then from (a full pack first), unique */
	size_t n_packs;
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
 * Write REPO/summary from every branch (refs/heads) and every pack of
 * REPO/packs/ (st_repo_list_packs), then REPO/summary.sig
 * signed by each of keys (none: no summary.sig; an old one is removed), each
 * atomically and durably. ret (optional) receives the summary written.
 */
ST_EXPORT int st_repo_write_summary(struct st_repo *repo, const struct st_key *const *keys, size_t n_keys,
				    struct st_summary **ret);

/* ---- Packs -------------------------------------------------------------------- */

/* What a pack holds: packs/<index_sha256 hex>.index and .pack of REPO. */
struct st_pack_info {
	uint8_t commit[ST_COMMIT_ID_SIZE];
	bool has_from;
	uint8_t from[ST_COMMIT_ID_SIZE];
	uint8_t index_sha256[32];
	uint64_t index_size, pack_size;
	uint64_t n_objects, bytes;              /* objects and their uncompressed bytes */
	uint64_t n_reused;                      /* st_repo_write_pack: objects whose frame was copied */
};

#define ST_PACK_LEVEL_DEFAULT 6

/*
 * Write a pack of the objects that commit's image names and the image of
 * from (NULL: none, a full pack) does not: each object compressed on its own
 * (zstd at level 1..19, 0: ST_PACK_LEVEL_DEFAULT) on every core, the body
 * then the index published (each synced, renamed into place) under
 * REPO/packs/. Deterministic: the same objects and level give the same
 * bytes and so the same names. An object that a pack already in
 * REPO/packs/ holds gets a copy of that frame (decoded and its digest
 * checked first; whatever level made it), not a new compression, unless
 * flags has ST_PACK_RECOMPRESS. ret (optional) says what was written.
 */
#define ST_PACK_RECOMPRESS (1u << 0)
ST_EXPORT int st_repo_write_pack(struct st_repo *repo, const uint8_t commit[ST_COMMIT_ID_SIZE],
				 const uint8_t *from, int level, unsigned flags, struct st_pack_info *ret);

/*
 * The packs of REPO/packs/ (every index that parses and whose body has the
 * size it says), sorted as a summary lists them. *ret is malloc'ed.
 */
ST_EXPORT int st_repo_list_packs(struct st_repo *repo, struct st_pack_info **ret, size_t *ret_n);

/*
 * Keep REPO/packs/ up to date for every branch: a full pack of its commit
 * and a pack from the commit's parent (when the repository has it), each
 * written if missing (st_repo_write_pack); every other pack is removed.
 * flags as st_repo_write_pack's, and ST_PACK_KEEP_STALE: remove nothing
 * yet, mark the others stale (REPO/packs/H.stale) so that
 * st_repo_list_packs() and so the next summary leave them out; a call
 * without it then removes them. A summary that still offers a pack thus
 * never outlives it: keep stale, write the summary, then remove.
 * ret_written/ret_removed (optional): how many.
 */
#define ST_PACK_KEEP_STALE (1u << 1)
ST_EXPORT int st_repo_update_packs(struct st_repo *repo, int level, unsigned flags, size_t *ret_written,
				   size_t *ret_removed);

/* ---- Remotes ---------------------------------------------------------------- */

#define ST_REMOTE_NAME_MAX 64
#define ST_REMOTE_URL_MAX 4096

struct st_remote {
	char *name;             /* [A-Za-z0-9_-][A-Za-z0-9._-]*, at most ST_REMOTE_NAME_MAX bytes */
	char *url;              /* http://, https:// or file://, no whitespace or control characters */
	char *keys_dir;         /* NULL: the system trust store */
	bool sign_verify;       /* false: signatures of the summary and commits are not checked */
	/* Other copies of the same repository (URLs as url), tried in order; see remote.md "Mirrors". */
	char **mirrors;
	size_t n_mirrors;
	char *tls_ca;           /* a PEM file of the CAs to trust for https (NULL: the system's) */
	char *tls_client_cert;  /* a PEM client certificate (and tls_client_key its key), or NULL */
	char *tls_client_key;
	char *proxy;            /* a proxy URL for every request (NULL: libcurl's environment variables) */
};

#define ST_REMOTE_MIRRORS_MAX 16

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
	ST_PULL_NO_PACKS = 1u << 1,     /* loose objects only, even where the summary offers packs */
	ST_PULL_COMMIT_ONLY = 1u << 2,  /* store commits and signatures; images checked, not kept; no object, no ref moves */
	/*
	 * Let refs/remotes/NAME/REF move to a commit older (timestamp, or
	 * version by strverscmp(3)) than the one it points at; without it such
	 * a commit is refused (-ESTALE) before anything but it is fetched.
	 */
	ST_PULL_ALLOW_DOWNGRADE = 1u << 3,
};

struct st_pull_progress {
	uint64_t objects_done, objects_total;
	uint64_t bytes_done, bytes_total;
};
typedef void (*st_pull_progress_fn)(void *userdata, const struct st_pull_progress *p);
/* Something went wrong that the pull worked around (a pack skipped, and why); message names it. */
typedef void (*st_pull_warning_fn)(void *userdata, const char *message);

/* What one ref of a pull did (or would do, with ST_PULL_DRY_RUN). */
struct st_pull_ref_result {
	char name[ST_REF_NAME_MAX + 1];
	uint8_t commit[ST_COMMIT_ID_SIZE];
	bool up_to_date;                /* refs/remotes/NAME/REF pointed there already */
	uint64_t objects_missing, bytes_missing;        /* of the commit and the parents below */
	uint32_t parents;               /* parent commits walked (--depth) */
};

struct st_pull_options {
	const char *const *refs;        /* canonical names; NULL/0: every ref of the summary */
	size_t n_refs;
	unsigned jobs;                  /* requests in flight; 0: 32 */
	unsigned stall_timeout;         /* seconds below 1 byte/s before an attempt is abandoned (and retried); 0: 30 */
	unsigned flags;                 /* enum st_pull_flags */
	st_pull_progress_fn progress;
	void *progress_userdata;        /* also passed to warning */
	st_pull_warning_fn warning;     /* may be NULL */
	int depth;                      /* parent commits to fetch too (with their images and objects); -1: all */
	/* Filled on return. */
	struct st_pull_ref_result *results;     /* malloc'ed, n_results entries: free() it */
	size_t n_results;
	uint64_t objects_fetched, bytes_fetched, requests;
	uint64_t objects_from_packs;    /* of objects_fetched */
	uint64_t pack_bytes;            /* bytes of pack ranges received (compressed, gaps included) */
	uint64_t failovers;             /* files asked of the next source after one failed */
	uint32_t reserved[1];
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
