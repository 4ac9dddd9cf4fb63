/* SPDX-License-Identifier: MIT */
/*
 * sealtree deployments: a sysroot holding one repository, deployments of its
 * commits (each an image plus a writable /etc), Boot Loader Specification
 * entries naming them, and the atomic switch between entry sets. The
 * on-disk format is docs/formats/sysroot.md.
 *
 * Every function returns 0 (or a non-negative value) on success and a
 * negative errno on failure, with st_error_message() naming the file,
 * deployment or entry concerned. A struct st_sysroot is used by one thread
 * at a time; processes are serialised by the sysroot lock.
 */
#ifndef SEALTREE_DEPLOY_H
#define SEALTREE_DEPLOY_H

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

#define ST_OS_NAME_MAX 64
#define ST_DEPLOY_PIN_PREFIX "refs/deployments/"
#define ST_KARGS_MAX 4000               /* bytes of one deployment's kernel arguments */

struct st_sysroot;

/* ---- The sysroot ------------------------------------------------------------ */

/* 1..64 bytes of [A-Za-z0-9._+-], not starting with '.' or '-'. */
ST_EXPORT bool st_os_name_valid(const char *os);

/*
 * Create the layout under path (made if missing): sealtree/repo (a new
 * repository, fs-verity as mode says), sealtree/deploy, boot/loader/entries,
 * boot/sealtree. -EEXIST if path/sealtree/repo exists already.
 */
ST_EXPORT int st_sysroot_init_fs(const char *path, enum st_repo_verity_mode mode);

/* Open a sysroot made by st_sysroot_init_fs() (-ENOENT names what is missing). Takes no lock. */
ST_EXPORT int st_sysroot_open(const char *path, struct st_sysroot **ret);
ST_EXPORT struct st_sysroot *st_sysroot_free(struct st_sysroot *s);
ST_EXPORT struct st_repo *st_sysroot_repo(struct st_sysroot *s);

/*
 * Take the sysroot lock (sealtree/lock): exclusive for commands that change
 * the sysroot, shared for readers. With wait == false, -EWOULDBLOCK if it is
 * held in a conflicting mode. Taking it exclusive also removes what an
 * interrupted command left behind (docs/formats/sysroot.md, "Lock").
 */
ST_EXPORT int st_sysroot_lock(struct st_sysroot *s, bool exclusive, bool wait);

/* Create the stateroot deploy/OS/ and its var/. -EEXIST if it exists. */
ST_EXPORT int st_sysroot_os_init(struct st_sysroot *s, const char *os);

/* ---- The deployment list -------------------------------------------------- */

struct st_deployment {
	char *os;
	char *id;                       /* COMMIT.SERIAL */
	uint8_t commit[ST_COMMIT_ID_SIZE];
	char *entry_name;               /* file name in boot/loader/entries */
	/*
	 * Boot counting (systemd's Boot Loader Specification names): the
	 * "+LEFT" or "+LEFT-DONE" of the entry's file name, kept through every
	 * switch, or NULL when the entry is not counted. LEFT 0 is a
	 * deployment that failed to boot; the loader then boots the next.
	 */
	char *boot_counter;
	char *kargs;                    /* the options line without sealtree=OS/ID ("" if none) */
	char *boot_dir;                 /* OS-BOOTDIGEST, from the linux line */
	char *ref;                      /* tracked ref from origin, or NULL */
	char *version;                  /* the commit's version, or NULL */
	char *kernel;                   /* KVER, from origin */
	char *merged_from;              /* OS/ID from origin, or NULL */
	bool pinned;
	bool booted;                    /* named by /run/sealtree/booted.json */
	char *broken;                   /* NULL, or why the entry or its deployment is not whole */
	char **conflicts;               /* its conflicts file: "KIND ESCAPED-PATH" lines */
	size_t n_conflicts;
};

struct st_foreign_entry {
	char *name;                     /* file name in boot/loader/entries */
	char *title;                    /* its title line, or NULL */
};

/* What prepare-root recorded about the booted root (booted.json). */
struct st_booted {
	char *os, *deployment, *commit, *image, *root, *signed_by, *fallback_reason;
	bool verity;
};

struct st_deploy_list {
	struct st_deployment *d;        /* in boot order: d[0] is the default */
	size_t n;
	struct st_foreign_entry *foreign;
	size_t n_foreign;
	struct st_booted *booted;       /* NULL if booted.json does not exist */
	char *staged;                   /* "OS/ID" of the staged deployment, or NULL */
	char *staged_boot_dir;          /* its OS-BOOTDIGEST */
	char *staged_failed;            /* why the last finalize-staged failed, or NULL */
};

/* Read the entries, origins and booted.json. Free with st_deploy_list_free(). */
ST_EXPORT int st_sysroot_load(struct st_sysroot *s, struct st_deploy_list **ret);
ST_EXPORT struct st_deploy_list *st_deploy_list_free(struct st_deploy_list *l);

/*
 * Switch atomically to the entries of list (in its order, with each
 * deployment's kargs); foreign entries are kept as they are on disk. Then
 * remove deployments, pins and boot files no entry names. Needs the
 * exclusive lock (-ENOLCK otherwise).
 */
ST_EXPORT int st_sysroot_write_list(struct st_sysroot *s, const struct st_deploy_list *list);

/* Remove the deployment at index from list (and free it). -ERANGE past the end. */
ST_EXPORT int st_deploy_list_remove(struct st_deploy_list *list, size_t index);
/* Move the deployment at index to index 0. */
ST_EXPORT int st_deploy_list_make_default(struct st_deploy_list *list, size_t index);

/*
 * Boot counting: mark the booted deployment (booted.json) as good by
 * dropping its entry's counter (one switch). Returns 1 if it was counted,
 * 0 if there was nothing to do; -ENOENT if no deployment is booted.
 */
ST_EXPORT int st_sysroot_boot_complete(struct st_sysroot *s);

/* Create or remove deploy/OS/ID/pinned. */
ST_EXPORT int st_sysroot_set_pinned(struct st_sysroot *s, const struct st_deployment *d, bool pinned);

/* ---- Kernel arguments ----------------------------------------------------- */

/*
 * Kernel arguments are words separated by spaces; a double-quoted stretch
 * may hold spaces. Words are kept byte for byte. Refused (-EINVAL with a
 * detail): control characters, unbalanced quotes, the reserved key
 * "sealtree", more than ST_KARGS_MAX bytes in all.
 */
ST_EXPORT int st_kargs_check(const char *kargs);
/* Append word (a K or K=V) to *kargs (reallocated). */
ST_EXPORT int st_kargs_append(char **kargs, const char *word);
/* Remove every word equal to word; with no '=' in word, every word whose key is word. Returns how many. */
ST_EXPORT int st_kargs_delete(char **kargs, const char *word);
/* Replace the value of every word with word's key, or append word if there is none. */
ST_EXPORT int st_kargs_replace(char **kargs, const char *word);

/* ---- Deploying ------------------------------------------------------------ */

enum st_deploy_flags {
	ST_DEPLOY_NOT_AS_DEFAULT = 1u << 0,     /* insert at index 1, keep the default */
	ST_DEPLOY_NO_MERGE = 1u << 1,           /* /etc is the new commit's usr/etc, nothing merged */
	ST_DEPLOY_REQUIRE_SIGNATURE = 1u << 2,  /* a valid signature even where the policy says none */
	ST_DEPLOY_NO_DOWNGRADE = 1u << 3,       /* refuse a commit older than the last accepted for the ref */
	ST_DEPLOY_KARGS_GIVEN = 1u << 4,        /* kargs replaces the inherited arguments */
	ST_DEPLOY_BOOT_COUNTING = 1u << 5,      /* name the entry +boot_tries: it falls back by itself */
	ST_DEPLOY_STAGE = 1u << 6,              /* write it, switch at shutdown (st_sysroot_finalize_staged()) */
};

struct st_etc_conflict {
	char *kind;                     /* "modified", "type", "removed", "added" */
	char *path;                     /* relative to /etc */
};

struct st_deploy_options {
	const char *os;                 /* NULL: the default deployment's OS (or the only stateroot) */
	const char *spec;               /* a ref, a commit id or a prefix */
	const char *keys_dir;           /* trust store; NULL: the system's */
	unsigned flags;                 /* enum st_deploy_flags */
	const char *kargs;              /* with ST_DEPLOY_KARGS_GIVEN */
	const char *const *kargs_append;
	size_t n_kargs_append;
	const char *const *kargs_delete;
	size_t n_kargs_delete;
	unsigned boot_tries;            /* with ST_DEPLOY_BOOT_COUNTING: 1 to 99 */
	/* Filled on success. */
	char *id;                       /* the new deployment's ID (free()) */
	char *os_used;                  /* its OS (free()) */
	char *merged_from;              /* OS/ID whose /etc was merged, or NULL (free()) */
	char trust[160];                /* the trust verdict, one line */
	struct st_etc_conflict *conflicts;
	size_t n_conflicts;
	bool boot_files_new;            /* the boot files were copied (not shared) */
	bool staged;                    /* with ST_DEPLOY_STAGE: written, not switched to yet */
	uint32_t reserved[8];
};

/*
 * Deploy: resolve spec, check the commit under the trust policy
 * (-EKEYREJECTED names the failed link; -ESTALE for a downgrade), find the
 * kernel and initramfs in its tree (-ENOENT/-ENOTUNIQ), install the boot
 * files, write the deployment with its merged /etc, pin it, and switch the
 * entries atomically. On failure nothing visible changed. Needs the
 * exclusive lock. Release the outputs with st_deploy_options_release().
 */
ST_EXPORT int st_sysroot_deploy(struct st_sysroot *s, struct st_deploy_options *opts);
ST_EXPORT void st_deploy_options_release(struct st_deploy_options *opts);

/*
 * Local changes of a deployment's etc/ against its commit's usr/etc: fn is
 * called with 'A' (added locally), 'D' (removed), 'M' (contents or
 * metadata), 'T' (type) and the path relative to /etc, parents first,
 * names in strcmp() order. A negative return from fn stops the walk.
 */
typedef int (*st_config_diff_fn)(void *userdata, char status, const char *path);
ST_EXPORT int st_sysroot_config_diff(struct st_sysroot *s, const struct st_deployment *d, st_config_diff_fn fn,
				     void *userdata);

/*
 * Finalize the staged deployment (run at shutdown): merge its /etc again
 * from the merge deployment's etc/ as it is now, so changes made after
 * staging are kept, then switch the entries to include it. Returns 1 if a
 * deployment was finalized, 0 if none was staged. A failure is recorded
 * (deploy/staged.failed) for status to report at the next boot.
 */
ST_EXPORT int st_sysroot_finalize_staged(struct st_sysroot *s, struct st_deploy_options *ret_result);

/* ---- Cleanup -------------------------------------------------------------- */

struct st_cleanup_stats {
	uint64_t deployments_removed;
	uint64_t boot_dirs_removed;
	uint64_t pins_removed;
	uint32_t reserved[8];
};

/*
 * Drop every deployment but the booted one, the default, the first
 * rollback (index 1) and the pinned ones; switch the entries; remove
 * unused deployments, pins and boot files. (The repository's gc is the
 * caller's next step.) Needs the exclusive lock.
 */
ST_EXPORT int st_sysroot_cleanup(struct st_sysroot *s, struct st_cleanup_stats *ret_stats);

/* ---- Verity errors in the kernel log (docs/formats/sysroot.md) ------------- */

enum st_verity_error_kind {
	ST_VERITY_ERROR_CORRUPTED,      /* fs-verity "FILE CORRUPTED!": a block does not match its Merkle tree */
	ST_VERITY_ERROR_FSVERITY,       /* fs-verity: another error on an inode (a Merkle tree read failed, ...) */
	ST_VERITY_ERROR_WRONG_DIGEST,   /* overlayfs: the data file's fs-verity digest is not the image's */
	ST_VERITY_ERROR_NO_DIGEST,      /* overlayfs: the data file has no fs-verity digest, or it did not load */
	ST_VERITY_ERROR_IMAGE_NO_DIGEST,/* overlayfs verity=require: the image's file carries no digest */
	ST_VERITY_ERROR_KIND_MAX,
};

/* "corrupted", "fs-verity", "wrong-digest", "no-digest", "image-no-digest"; NULL out of range. */
ST_EXPORT const char *st_verity_error_kind_to_string(enum st_verity_error_kind kind);

#define ST_VERITY_PATHS_MAX 8           /* paths kept per error */

struct st_verity_error {
	uint64_t seq;                   /* the kernel log's record number */
	uint64_t usec;                  /* microseconds since boot */
	enum st_verity_error_kind kind;
	char device[64];                /* fs-verity: the filesystem as the kernel names it ("vda2"), else "" */
	uint64_t inode;                 /* fs-verity: the inode number, else 0 */
	char name[256];                 /* overlayfs: the file name it printed (unescaped), else "" */
	char text[512];                 /* the message, escaped as /dev/kmsg does, cut at 511 bytes */
	/* Filled by st_sysroot_verity_errors() when it finds the file in the booted image: */
	bool mapped;
	bool is_image;                  /* the file is the booted composefs image itself */
	uint8_t digest[ST_DIGEST_SIZE]; /* the object's (or image's) fs-verity digest */
	char *paths[ST_VERITY_PATHS_MAX]; /* its paths in the booted image ("/usr/bin/x") */
	size_t n_paths;
	size_t n_paths_total;           /* how many there are, n_paths of them kept */
};

/*
 * Parse one kernel log record as /dev/kmsg gives it: "PRI,SEQ,USEC,FLAG[,...];TEXT"
 * and optional "\n KEY=VALUE" lines (untrusted; at most 8 KiB). Returns 1 and
 * fills *ret (mapping fields zeroed) if it is an fs-verity or overlayfs verity
 * error; 2 and *ret_suppressed if it is the kernel's "N callbacks suppressed"
 * notice of one of their rate limits; 0 for any other record; -EUCLEAN if the
 * bytes are not a record. ret_suppressed may be NULL.
 */
ST_EXPORT int st_kmsg_parse_verity(const char *record, size_t len, struct st_verity_error *ret,
				   uint64_t *ret_suppressed);

#define ST_VERITY_KEEP_MAX 1024

struct st_verity_report {
	uint64_t count;                 /* verity errors in the log (after after_seq) */
	uint64_t suppressed;            /* more the kernel did not print (rate limits) */
	uint64_t last_seq;              /* the last record read (any kind); 0 if none */
	bool lost;                      /* records were overwritten before they could be read */
	bool booted;                    /* a booted image was found to map the errors onto */
	struct st_verity_error *errors; /* the last ones, oldest first */
	size_t n_errors;
};

/*
 * Read this boot's kernel log (kmsg_path NULL: /dev/kmsg, without waiting;
 * else a file of records one per line, continuation lines starting with a
 * space, as tests and saved logs have), count the verity errors in records
 * after after_seq, keep the last keep of them (at most ST_VERITY_KEEP_MAX),
 * and map each onto the booted deployment's image (booted.json): the
 * object's digest and the paths naming it. fs-verity names an inode of a
 * filesystem; it is matched against the repository's objects and the image
 * on the same device. overlayfs names a file: an object's name, or the
 * image's file without a digest. Errors that match nothing stay unmapped.
 */
ST_EXPORT int st_sysroot_verity_errors(struct st_sysroot *s, const char *kmsg_path, uint64_t after_seq,
				       size_t keep, struct st_verity_report **ret);
ST_EXPORT struct st_verity_report *st_verity_report_free(struct st_verity_report *r);

#ifdef __cplusplus
}
#endif
#endif
