/* SPDX-License-Identifier: MIT */
/* Private to lib/deploy: the sysroot handle and the helpers its files share. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/macro.h"
#include "names.h"
#include "sealtree/deploy.h"
#include "sealtree/repo-read.h"
#include "sealtree/repo-objects.h"

struct st_sysroot {
	char *path;
	int fd;                         /* SYSROOT */
	int deploy_fd;                  /* SYSROOT/sealtree/deploy */
	int boot_fd;                    /* SYSROOT/boot */
	int lock_fd;                    /* SYSROOT/sealtree/lock, while held */
	bool exclusive;                 /* the lock is held exclusive */
	bool boot_separate;             /* boot/ is another filesystem: entry paths without /boot */
	struct st_repo *repo;
};

static inline void st_sysroot_freep(struct st_sysroot **s)
{
	st_sysroot_free(*s);
}
static inline void st_deploy_list_freep(struct st_deploy_list **l)
{
	st_deploy_list_free(*l);
}
static inline void st_node_freep(struct st_node **n)
{
	st_node_free(*n);
}
static inline void st_commit_freep(struct st_commit **c)
{
	st_commit_free(*c);
}

#define ENTRY_PREFIX "sealtree-"
#define ENTRY_SUFFIX ".conf"
#define BOOT_ID_HEX 64
#define DEPLOY_ID_MAX (2 * ST_COMMIT_ID_SIZE + 6)

/* ---- kvfile.c: "KEY VALUE" line files (BLS entries, origin) -------------- */

#define KV_FILE_MAX (64 * 1024)
#define KV_LINE_MAX 4096
#define KV_LINES_MAX 64

struct kv_pair {
	char *key;
	char *value;                    /* "" when the line holds only the key */
};
struct kv_file {
	struct kv_pair *pairs;
	size_t n;
};
/* Parse untrusted bytes; -EUCLEAN with a detail naming the line. */
int kv_parse(const void *data, size_t len, struct kv_file *ret);
void kv_file_release(struct kv_file *f);
/* The value of the first pair with key, or NULL. */
const char *kv_get(const struct kv_file *f, const char *key);
/* Read and parse dirfd/name (at most KV_FILE_MAX bytes). */
int kv_read_at(int dirfd, const char *name, struct kv_file *ret);

/* list.c: the boot counter at the end of name[0..len) (see st_deployment.boot_counter), or 0. */
size_t boot_counter_len(const char *name, size_t len);


/* ---- fsutil.c ------------------------------------------------------------- */

/* rm -rf name under dirfd (no error if it does not exist). */
int rm_rf_at(int dirfd, const char *name);
/* Write data to dirfd/name atomically and durably (temporary name, fsync, rename). */
int write_file_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode);
/* mkdirat that accepts an existing directory. */
int mkdir_p_at(int dirfd, const char *path, mode_t mode);
/* A fresh unique temporary name "PREFIX.tmp-XXXXXX" (buf of at least strlen(prefix)+12). */
void tmp_name(const char *prefix, char *buf, size_t size);
int fsync_at(int dirfd, const char *name);

/* ---- list.c / switch.c ---------------------------------------------------- */

void deployment_release(struct st_deployment *d);
int sysroot_require_exclusive(struct st_sysroot *s);
/* After a crash: entries.staging, entries.prev, .tmp-* directories. */
int sysroot_recover(struct st_sysroot *s);
/* Remove deployments, pins and boot dirs that no entry of list names. */
int sysroot_prune_unused(struct st_sysroot *s, const struct st_deploy_list *list, struct st_cleanup_stats *stats);
/* kmsg-verity.c: the SEQ of a kernel log record; -EUCLEAN if it is not one. */
int kmsg_record_seq(const char *record, size_t len, uint64_t *ret);

/* Read booted.json from $SEALTREE_RUN_DIR or /run/sealtree. NULL if absent. */
int booted_read(struct st_booted **ret);
struct st_booted *booted_free(struct st_booted *b);
/* Parse booted.json bytes (untrusted). */
int booted_parse(const void *data, size_t len, struct st_booted **ret);

/* ---- bootfiles.c ---------------------------------------------------------- */

struct boot_files {
	char kver[256];
	struct st_node *vmlinuz, *initramfs;    /* borrowed from the tree */
	struct st_node *devicetree;             /* borrowed, or NULL: none in the tree */
	char dir[ST_OS_NAME_MAX + 1 + BOOT_ID_HEX + 1];  /* OS-BOOTDIGEST */
};
/* Find usr/lib/modules/KVER/{vmlinuz,initramfs.img} in root; fill bf (dir included). */
int boot_files_find(struct st_node *root, const char *os, struct boot_files *bf);
/* Copy into boot/sealtree/DIR unless there. ret_new: whether it was copied. */
int boot_files_install(struct st_sysroot *s, const struct boot_files *bf, bool *ret_new);

/* ---- etc-merge.c ---------------------------------------------------------- */

struct etc_conflicts {
	struct st_etc_conflict *v;
	size_t n, cap;
};
void etc_conflicts_release(struct etc_conflicts *c);

/*
 * Write the merge of base (usr/etc of the old commit, or NULL), local
 * (local_parent_fd/name, the old deployment's etc; local_parent_fd -1: none)
 * and new_root (usr/etc of the new commit, or NULL) as dest_parent_fd/name
 * (which must not exist). name is the same on both sides. Conflicts are
 * appended to *conflicts; they never fail the merge.
 */
int etc_merge(struct st_repo *repo, struct st_node *base, int local_parent_fd, const char *local_name,
	      struct st_node *new_root, int dest_parent_fd, const char *dest_name, struct etc_conflicts *conflicts);
/* Escape a path for the conflicts file ("\xHH" for bytes <= 0x20, '\\', 0x7f). */
int path_escape(const char *path, char **ret);

/* kargs.c: split an entry's options into kargs and the sealtree= value. */
int kargs_split_options(const char *options, char **ret_kargs, char **ret_value);

/*
 * deploy.c: the part of an image a deployment needs: usr/etc and, with
 * boot, what boot_files_find() looks at. Costs what those subtrees cost.
 */
int deploy_read_image(struct st_sysroot *s, const uint8_t image[ST_DIGEST_SIZE], bool boot, struct st_node **ret);

/* deploy.c: the /etc merge of a new deployment (see st_sysroot_deploy()). */
int deploy_merge_etc(struct st_sysroot *s, const char *from_os, const char *from_id,
		     const uint8_t *from_commit, struct st_node *new_root, const uint8_t *new_image,
		     int dest_fd, struct etc_conflicts *conf);
int write_conflicts_file(int dfd, const struct etc_conflicts *conf);

/* stage.c: record a staged deployment (deploy/staged) for finalize-staged. */
int stage_write(struct st_sysroot *s, const char *os, const char *id, const char *kargs,
		const struct st_deploy_options *o);
/* The staged deployment "OS/ID" and the last finalization failure, each NULL if none. */
int stage_load(struct st_sysroot *s, char **ret_staged, char **ret_boot_dir, char **ret_failed);
