/* SPDX-License-Identifier: MIT */
/*
 * sealtree repository maintenance: garbage collection, pruning of history
 * and the consistency check (fsck). See docs/man/sealtree-gc.1.md,
 * sealtree-prune.1.md and sealtree-fsck.1.md for what users see.
 *
 * What keeps data alive (the "roots"):
 *  - every ref outside refs/mounts/ keeps its commit and that commit's
 *    parent chain, up to the first missing parent (history pruned there);
 *  - every pin under refs/mounts/ keeps its one commit: a mount needs the
 *    commit's image and objects, not its history;
 *  - a kept commit keeps its image, and an image every object its regular
 *    files reference (by fs-verity digest and by redirect payload).
 *
 * Functions return 0 on success and a negative errno on failure, with
 * st_error_message() naming the commit, image, ref or file concerned. Not
 * thread-safe on one struct st_repo.
 */
#ifndef SEALTREE_REPO_MAINT_H
#define SEALTREE_REPO_MAINT_H

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

/* ---- gc and prune -------------------------------------------------------- */

enum st_gc_flags {
	ST_GC_DRY_RUN = 1u << 0,        /* count what would go, delete nothing */
};

/* What gc removed (or, with ST_GC_DRY_RUN, would remove) and kept. Sizes are st_size. */
struct st_gc_stats {
	uint64_t commits_removed, commit_bytes_removed;   /* commits/<id> and their commits/<id>.* files */
	uint64_t images_removed, image_bytes_removed;
	uint64_t objects_removed, object_bytes_removed;
	uint64_t temp_removed, temp_bytes_removed;         /* tmp/ contents and stray ".tmp-*" files */
	uint64_t commits_kept, images_kept, objects_kept;
	uint32_t reserved[8];
};

/*
 * Delete every commit, image and object no root reaches (see above), every
 * entry of tmp/ and every stray temporary file (a name starting with '.') in
 * objects/XX/, images/ and commits/.
 *
 * The caller must hold the exclusive lock (st_repo_lock_exclusive());
 * -ENOLCK otherwise. Everything is marked before anything is deleted: a ref
 * to a missing commit, a corrupt commit or a missing or corrupt image of a
 * reachable commit stops gc with an error naming it and nothing deleted (run
 * fsck). Deletion goes commits, then images, then objects, with a syncfs()
 * between the steps, so a crash at any instant leaves no commit without its
 * image and no image without its objects.
 *
 * Memory: one 32-byte entry per reachable object; objects/ is read once,
 * without a stat per object (only removed files are stat'ed for their size).
 * ret_stats may be NULL.
 */
ST_EXPORT int st_repo_gc(struct st_repo *repo, unsigned flags, struct st_gc_stats *ret_stats);

struct st_prune_stats {
	uint64_t commits_kept;          /* of REF's history: min(keep, its length) */
	uint64_t commits_dropped;       /* older commits of REF's history that no other ref reaches */
	uint64_t commits_shared;        /* older commits of REF's history another ref still reaches */
	struct st_gc_stats gc;          /* the gc run that followed */
	uint32_t reserved[8];
};

/*
 * Keep the newest `keep` (>= 1, else -EINVAL) commits of ref's history and
 * drop the older ones, except those another root still reaches (another
 * ref's chain, or a pin's commit); then run gc. The oldest kept commit keeps
 * its parent field: its parent is missing from then on, which readers show as
 * pruned history. ref is a ref name as st_repo_read_ref() takes it.
 * Same lock, flags and atomicity as st_repo_gc(). ret_stats may be NULL.
 */
ST_EXPORT int st_repo_prune(struct st_repo *repo, const char *ref, uint64_t keep, unsigned flags,
			    struct st_prune_stats *ret_stats);

/* ---- fsck ---------------------------------------------------------------- */

enum st_fsck_flags {
	/*
	 * Move what is bad into REPO/quarantine/ (see st_repo_fsck()). Needs
	 * the exclusive lock (-ENOLCK otherwise); without it the shared lock
	 * is enough.
	 */
	ST_FSCK_REPAIR = 1u << 0,
};

enum st_fsck_severity {
	ST_FSCK_ERROR = 0,              /* the repository is damaged here */
	ST_FSCK_WARNING = 1,            /* harmless, e.g. a stray temporary file */
	ST_FSCK_NOTE = 2,               /* information, e.g. history pruned at a commit */
	ST_FSCK_SEVERITY_COUNT
};

enum st_fsck_action {
	ST_FSCK_REPORTED = 0,           /* not repaired (no --repair, or nothing to do) */
	ST_FSCK_QUARANTINED = 1,        /* moved to quarantine_path */
	ST_FSCK_FIXED = 2,              /* fixed in place (fs-verity enabled on a good object) */
	ST_FSCK_UNFIXABLE = 3,          /* --repair cannot fix this; see the message */
	ST_FSCK_ACTION_COUNT
};

struct st_fsck_problem {
	enum st_fsck_severity severity;
	enum st_fsck_action action;
	const char *path;               /* relative to REPO: "objects/ab/cd...", "images/...", "refs/heads/x" */
	const char *message;            /* what is wrong, one line, without the path */
	const char *quarantine_path;    /* relative to REPO, with ST_FSCK_QUARANTINED; else NULL */
};

/* Called once per problem, in the order found. Strings live until it returns. */
typedef void (*st_fsck_report_fn)(void *userdata, const struct st_fsck_problem *problem);

struct st_fsck_options {
	unsigned flags;                 /* enum st_fsck_flags */
	unsigned threads;               /* for hashing objects; 0 = the CPUs available */
	st_fsck_report_fn report;       /* may be NULL */
	void *userdata;
	/* Filled on return: what was checked and found. */
	uint64_t objects_checked, object_bytes;
	uint64_t images_checked, commits_checked, refs_checked;
	uint64_t counts[ST_FSCK_SEVERITY_COUNT];        /* problems by severity */
	uint64_t errors_remaining;      /* errors not quarantined or fixed */
	uint32_t reserved[8];
};

/*
 * Check the whole repository; every problem goes to opts->report:
 *  - objects: names are objects/XX/Y{62} in lowercase hex, regular files
 *    of mode 0644; the fs-verity digest of the content (hashed on several
 *    threads) equals the name; on a verity repository fs-verity is enabled
 *    and the kernel's measurement equals the name;
 *  - images: the digest equals the name (and the measurement, with
 *    verity), the image parses with full validation, and every object it
 *    references is present;
 *  - commits: the bytes hash to the name and parse, the image is present;
 *    a missing parent is a note (history pruned), not an error;
 *  - refs: each file under refs/ has a valid name and holds one commit id
 *    of a present commit;
 *  - files whose name starts with '.' are stray temporary files (warnings:
 *    a running command may own them; gc removes them).
 *  - tmp/pull/: a partial download no process holds locked (a pull that
 *    was killed or failed left it) is a warning, as is anything there a
 *    pull never writes; a locked one is skipped.
 *
 * With ST_FSCK_REPAIR, a bad object, image, commit or ref file is renamed
 * into REPO/quarantine/ under its own relative path (".N" appended if that
 * is taken), with a "<path>.reason" file beside it saying why; an object
 * whose content is right but lacks fs-verity on a verity repository gets it
 * enabled instead; the partial downloads no process holds are removed
 * (each while locked). Refs are checked last, so a ref left pointing at a
 * quarantined commit is quarantined too. What cannot be repaired (an image
 * or commit whose object or image is missing) is reported as
 * ST_FSCK_UNFIXABLE.
 *
 * Returns 0 when the check ran (look at opts->counts), or a negative errno
 * when it could not (unreadable directory, -ENOMEM, no lock).
 */
ST_EXPORT int st_repo_fsck(struct st_repo *repo, struct st_fsck_options *opts);

#ifdef __cplusplus
}
#endif
#endif
