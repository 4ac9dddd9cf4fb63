/* SPDX-License-Identifier: MIT */
/*
 * sealtree repository: a composefs object store with commits and refs.
 * The on-disk format is described in docs/formats/repository.md.
 *
 *   REPO/config              format settings (key=value lines)
 *   REPO/objects/XX/Y{62}    file contents, named by fs-verity digest
 *   REPO/images/H{64}        composefs images, named by fs-verity digest
 *   REPO/commits/H{64}       commit records, named by SHA-256 of their bytes
 *   REPO/refs/heads/NAME     branch refs; REPO/refs/mounts/... pins of mounts
 *   REPO/cache/              the scan cache (safe to delete at any time)
 *   REPO/tmp/                staging; never read as content
 *   REPO/lock                flock: shared by writers and readers, exclusive by gc
 *
 * This header: creating and opening a repository, commits, refs, importing
 * trees and committing them. The object store (objects/, images/) is
 * sealtree/repo-objects.h, the read side sealtree/repo-read.h, maintenance
 * sealtree/repo-maint.h.
 *
 * Every function returns 0 (or a non-negative value) on success and a
 * negative errno on failure, with st_error_message() naming the object, ref
 * or path concerned. A struct st_repo may be used by one thread at a time;
 * several processes may use one repository at once.
 */
#ifndef SEALTREE_REPO_H
#define SEALTREE_REPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sealtree/tree.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef ST_EXPORT
#define ST_EXPORT __attribute__((visibility("default")))
#endif

#define ST_COMMIT_ID_SIZE 32            /* SHA-256 of the commit's serialized bytes */
#define ST_REF_NAME_MAX 255             /* bytes of a canonical ref name */
#define ST_REF_DEPTH_MAX 32             /* components of a ref's full name, "refs/<namespace>/" counted */

struct st_repo;

/* ---- Creating and opening ---------------------------------------------- */

enum st_repo_verity_mode {
	ST_REPO_VERITY_AUTO = 0,        /* enable fs-verity on objects if the filesystem can; record which */
	ST_REPO_VERITY_REQUIRE = 1,     /* refuse a filesystem without fs-verity */
	ST_REPO_VERITY_OFF = 2,         /* never enable fs-verity */
};

/*
 * Create a repository at path (the directory may exist but must be empty).
 * With AUTO or REQUIRE, fs-verity is probed by enabling it on a test file in
 * tmp/; REQUIRE fails with -EOPNOTSUPP if that fails. The result is recorded
 * in config as verity=yes|no. -EEXIST if path holds a repository already,
 * -ENOTEMPTY if it holds anything else.
 */
ST_EXPORT int st_repo_init(const char *path, enum st_repo_verity_mode mode, struct st_repo **ret);

/* Open an existing repository. -ENOENT if path has no config, -EUCLEAN for a bad config, -EOPNOTSUPP for an unknown format version. */
ST_EXPORT int st_repo_open(const char *path, struct st_repo **ret);

/* Accepts NULL; returns NULL. */
ST_EXPORT struct st_repo *st_repo_free(struct st_repo *repo);

ST_EXPORT const char *st_repo_path(const struct st_repo *repo);
/* An O_DIRECTORY fd of REPO (owned by the repo; do not close). */
ST_EXPORT int st_repo_dirfd(const struct st_repo *repo);
/* true if config says verity=yes: every object and image carries fs-verity. */
ST_EXPORT bool st_repo_has_verity(const struct st_repo *repo);

/*
 * Repository lock (REPO/lock, flock). Commands that write or read take it
 * shared for their whole run; gc takes it exclusive, so it never deletes
 * what a running command is about to reference. The lock is dropped by
 * st_repo_unlock() or st_repo_free(). With wait == false, -EWOULDBLOCK if
 * it is held in a conflicting mode.
 */
ST_EXPORT int st_repo_lock_shared(struct st_repo *repo, bool wait);
ST_EXPORT int st_repo_lock_exclusive(struct st_repo *repo, bool wait);
ST_EXPORT void st_repo_unlock(struct st_repo *repo);

/* ---- Commits ------------------------------------------------------------ */

struct st_commit_meta {
	char *key;                      /* [A-Za-z0-9._-]+, 1..255 bytes */
	char *value;                    /* any bytes but NUL, up to 64 KiB */
};

/*
 * A commit record. Its id is the SHA-256 of st_commit_serialize()'s bytes;
 * that serialization is canonical (one byte string per commit), so parsing
 * and serializing again gives the same bytes and the same id.
 */
struct st_commit {
	uint8_t image_digest[ST_DIGEST_SIZE];   /* fs-verity digest of the composefs image */
	uint32_t image_version;                 /* composefs format version of the image */
	bool has_parent;
	uint8_t parent[ST_COMMIT_ID_SIZE];
	int64_t timestamp;                      /* seconds since the epoch, UTC */
	char *version;                          /* NULL or a version string (no control chars) */
	char *subject;                          /* NULL or one line (no control chars) */
	char *body;                             /* NULL or free text (no NUL) */
	struct st_commit_meta *metadata;        /* sorted by key, keys unique */
	size_t n_metadata;
	uint64_t image_size;                    /* bytes of the image file */
	uint64_t content_size;                  /* bytes of regular file contents, each inode once */
	uint64_t n_inodes;                      /* inodes in the tree, the root included */
};

ST_EXPORT struct st_commit *st_commit_free(struct st_commit *c);

/* Serialize (checks every field; -EINVAL names a bad one). *ret is malloc'ed, not NUL-terminated. */
ST_EXPORT int st_commit_serialize(const struct st_commit *c, char **ret, size_t *ret_len);

/*
 * Parse untrusted bytes. Anything that is not exactly what
 * st_commit_serialize() would write for the parsed commit is refused with
 * -EUCLEAN and a detail naming the line.
 */
ST_EXPORT int st_commit_parse(const void *data, size_t len, struct st_commit **ret);

/* The commit id of serialized bytes. */
ST_EXPORT void st_commit_id_of(const void *data, size_t len, uint8_t ret_id[ST_COMMIT_ID_SIZE]);

/* Store a commit (atomically, not synced); ret_id may be NULL. Storing an existing commit is a no-op. */
ST_EXPORT int st_repo_write_commit(struct st_repo *repo, const struct st_commit *c, uint8_t ret_id[ST_COMMIT_ID_SIZE]);

/* Load and parse a commit; its bytes are checked against the id (-EUCLEAN otherwise). -ENOENT if absent. */
ST_EXPORT int st_repo_read_commit(struct st_repo *repo, const uint8_t id[ST_COMMIT_ID_SIZE], struct st_commit **ret);

/* ---- Refs --------------------------------------------------------------- */

/*
 * A ref name is one or more '/'-separated components of [A-Za-z0-9._+-],
 * none empty, none starting with '.'. "NAME" means refs/heads/NAME; names
 * under other namespaces are given in full ("refs/mounts/..."), as
 * st_repo_list_refs() returns them.
 *
 * st_ref_canonicalize() writes the one canonical spelling of name into ret
 * (ST_REF_NAME_MAX + 1 bytes): a branch as "NAME" (the spelling
 * "refs/heads/NAME" loses its prefix), every other ref in full. That is the
 * only alias: anything else off the grammar ("a/", "./a", "a//b", "a/../b")
 * is refused, never rewritten. Also refused: a canonical name longer than
 * ST_REF_NAME_MAX, deeper than ST_REF_DEPTH_MAX components in its full name,
 * a branch spelt as 64 hex digits (a full commit id always means that
 * commit), and branches named "heads/..." or "refs/...". -EINVAL with a
 * detail saying why. Every library function that takes a ref name calls it
 * first; st_ref_name_valid() is true when it would succeed.
 */
ST_EXPORT int st_ref_canonicalize(const char *name, char ret[ST_REF_NAME_MAX + 1]);
ST_EXPORT bool st_ref_name_valid(const char *name);

/* -ENOENT if the ref does not exist, -EUCLEAN if it does not hold one commit id. */
ST_EXPORT int st_repo_read_ref(struct st_repo *repo, const char *name, uint8_t ret_id[ST_COMMIT_ID_SIZE]);

/*
 * Point a ref at a commit (which must exist), atomically and durably: a
 * temporary file, fsync, rename, fsync of the directory. With old_id, the
 * update only happens if the ref still points there (-ESTALE otherwise,
 * -ENOENT if it does not exist); old_id == NULL updates unconditionally.
 */
ST_EXPORT int st_repo_write_ref(struct st_repo *repo, const char *name, const uint8_t id[ST_COMMIT_ID_SIZE],
				const uint8_t *old_id);
ST_EXPORT int st_repo_delete_ref(struct st_repo *repo, const char *name);

struct st_ref {
	char *name;                     /* heads as "NAME", others as "refs/..." */
	uint8_t id[ST_COMMIT_ID_SIZE];
};
/* Every ref (all namespaces if all, else refs/heads only), sorted by name. Free with st_ref_list_free(). */
ST_EXPORT int st_repo_list_refs(struct st_repo *repo, bool all, struct st_ref **ret, size_t *ret_n);
ST_EXPORT void st_ref_list_free(struct st_ref *refs, size_t n);

/*
 * Resolve what a user typed: a full 64-digit commit id (always that commit,
 * never a ref), a ref name (any spelling st_ref_canonicalize() takes), or a
 * unique prefix of at least 4 hex digits of a stored commit id; NAME^ and
 * NAME~N walk to parents. -ENOENT names what was not found, -EINVAL for a
 * malformed spec, -ENOTUNIQ for an ambiguous prefix or for a hex-looking ref
 * name that is also the prefix of another commit's id.
 */
ST_EXPORT int st_repo_resolve(struct st_repo *repo, const char *spec, uint8_t ret_id[ST_COMMIT_ID_SIZE]);
/*
 * st_repo_resolve(), and when spec names a ref exactly (no ^ or ~), its
 * canonical name in *ret_ref (free() it); else *ret_ref = NULL. This is how
 * a command decides that the ref's policy and anti-rollback record apply.
 */
ST_EXPORT int st_repo_resolve_ref(struct st_repo *repo, const char *spec, uint8_t ret_id[ST_COMMIT_ID_SIZE],
				  char **ret_ref);

/* ---- Importing trees ---------------------------------------------------- */

enum st_import_flags {
	ST_IMPORT_NO_CACHE = 1u << 0,           /* directory: hash every file, ignore and leave the scan cache */
	ST_IMPORT_SKIP_XATTRS = 1u << 1,        /* directory: same as mkcomposefs --skip-xattrs */
	ST_IMPORT_CANONICAL_PERMISSIONS = 1u << 2, /* uid/gid 0, modes 0755/0644 kept only as executable bit, like ostree */
	ST_IMPORT_SET_OWNER = 1u << 3,          /* force owner_uid and owner_gid on every inode */
	ST_IMPORT_SET_UID = 1u << 4,            /* force owner_uid only */
	ST_IMPORT_SET_GID = 1u << 5,            /* force owner_gid only */
};

typedef void (*st_import_progress_fn)(void *userdata, uint64_t files_done, uint64_t files_total,
				      uint64_t bytes_done, uint64_t bytes_total);

struct st_import_options {
	unsigned flags;                 /* enum st_import_flags */
	uint32_t owner_uid, owner_gid;  /* with ST_IMPORT_SET_OWNER */
	unsigned threads;               /* 0 = automatic */
	st_import_progress_fn progress;
	void *progress_userdata;
	/* Filled on return: what the import did (regular files stored as objects, i.e. over 64 bytes). */
	uint64_t files_hashed;          /* regular files whose contents were read and hashed */
	uint64_t files_cached;          /* regular files whose digest came from the scan cache */
	uint64_t objects_written;       /* objects newly published */
	/* Tar: refuse a file declaring more bytes than this (0 = only the free space of the repository). */
	uint64_t max_file_size;
	uint32_t reserved[6];
};

/*
 * Build a tree from a directory (as `mkcomposefs --hardlinks` scans it),
 * storing every file's contents in objects/. Digests of files unchanged since
 * an earlier import (same device, inode, size, mtime and ctime, and the
 * object still present) come from the scan cache instead of being hashed.
 */
ST_EXPORT int st_repo_import_directory(struct st_repo *repo, const char *path, struct st_import_options *opts,
				       struct st_node **ret_root);

/*
 * Build a tree from a tar stream (plain, gzip, zstd or xz; ustar, pax, GNU),
 * storing file contents in objects/. Untrusted: member names with "..",
 * absolute names, links escaping the tree, duplicate members, truncated
 * data or lying sizes give -EINVAL/-EUCLEAN with a detail naming the member;
 * objects written before the error are unreferenced and left for gc.
 */
ST_EXPORT int st_repo_import_tar(struct st_repo *repo, int fd, struct st_import_options *opts,
				 struct st_node **ret_root);

/*
 * Build a tree from a composefs dumpfile. Every regular file that is not
 * inline must carry a digest whose object is present (-ENOENT names the
 * first missing one); payloads are rewritten to the digest path. Of opts
 * (may be NULL) only the owner and permission flags apply.
 */
ST_EXPORT int st_repo_import_dumpfile(struct st_repo *repo, int fd, struct st_import_options *opts,
				      struct st_node **ret_root);

/* ---- Committing --------------------------------------------------------- */

enum st_commit_parent_mode {
	ST_COMMIT_PARENT_REF = 0,       /* the ref's current commit, if the ref exists */
	ST_COMMIT_PARENT_GIVEN = 1,     /* opts->parent */
	ST_COMMIT_PARENT_NONE = 2,      /* an orphan commit */
};

struct st_commit_options {
	const char *ref;                /* required: the ref to move */
	const char *subject, *body, *version;   /* each may be NULL */
	const struct st_commit_meta *metadata;  /* any order; duplicate keys are -EINVAL */
	size_t n_metadata;
	enum st_commit_parent_mode parent_mode;
	uint8_t parent[ST_COMMIT_ID_SIZE];
	bool has_timestamp;             /* else SOURCE_DATE_EPOCH if set, else now */
	int64_t timestamp;
	uint32_t reserved[8];
};

/*
 * Write the tree's composefs image (format version 1 at most, as mkcomposefs
 * writes it) into images/, write the commit, flush everything with one
 * syncfs(), then move the ref (compare-and-swap against the parent when the
 * parent came from the ref). ret_commit (optional) receives the commit.
 * -ESTALE if the ref moved meanwhile.
 */
ST_EXPORT int st_repo_commit_tree(struct st_repo *repo, struct st_node *root, const struct st_commit_options *opts,
				  uint8_t ret_id[ST_COMMIT_ID_SIZE], struct st_commit **ret_commit);

/* Flush the repository's filesystem (syncfs). */
ST_EXPORT int st_repo_sync(struct st_repo *repo);

/* ---- Small files of the layers above (signatures, state) ----------------- */

/*
 * The only way the layers above (trust) reach the repository's files.
 * relpath is relative to REPO ("commits/<id>.sig", "state/accepted/main");
 * no symlink on the way or at the end is ever followed, and ".." never
 * leaves it (-EUCLEAN naming the path).
 *
 * read_file: the whole regular file, at most max bytes (-EFBIG); -ENOENT if
 * absent, -EUCLEAN if not a regular file (a FIFO never blocks); *ret is
 * NUL-terminated after ret_len bytes. write_file: replace it atomically
 * and durably (the repository's one publish path: a temporary file,
 * fsync, rename over, fsync of the directory), making missing directories. lock_file: an exclusive flock on
 * the regular file (made empty, with its directories, if create), waited
 * for; returns the fd that holds it (close it to release).
 */
ST_EXPORT int st_repo_read_file(struct st_repo *repo, const char *relpath, size_t max, char **ret, size_t *ret_len);
ST_EXPORT int st_repo_write_file(struct st_repo *repo, const char *relpath, const void *data, size_t len);
ST_EXPORT int st_repo_lock_file(struct st_repo *repo, const char *relpath, bool create);

/* ---- Reading trees back --------------------------------------------------- */

/* Resolve a spec (see st_repo_resolve()) to its commit and the commit's tree. Either output may be NULL. */
ST_EXPORT int st_repo_read_tree(struct st_repo *repo, const char *spec, struct st_commit **ret_commit,
				struct st_node **ret_root);

/*
 * Write a tree read from this repository as a pax tar archive to fd (see
 * docs/formats/tar-import.md): deterministic (the same tree gives the same
 * bytes), and st_repo_import_tar() of it gives the same tree back, so
 * committing it gives the same image digest. Each object is checked against
 * its digest while it is copied (-EBADMSG names the file). fd may be a pipe.
 */
ST_EXPORT int st_repo_export_tar(struct st_repo *repo, struct st_node *root, int fd);

#ifdef __cplusplus
}
#endif
#endif
