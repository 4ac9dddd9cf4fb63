/* SPDX-License-Identifier: MIT */
/*
 * sealtree boot: prepare-root, the step of the initramfs that turns the
 * physical root filesystem (mounted at /sysroot) into the root of one
 * deployment: the commit's composefs image, checked link by link
 * (st_seal_chain()), with the deployment's /etc and the stateroot's /var
 * bound in and the physical root kept at /sysroot. The policy comes from the
 * initramfs (prepare-root.conf), never from the disk; the kernel command
 * line names the deployment and may tighten the policy, never loosen it.
 * docs/formats/prepare-root.md specifies the files; docs/formats/sysroot.md
 * the deployments and booted.json.
 *
 * Every function returns 0 (or a non-negative value) on success and a
 * negative errno on failure with st_error_message() naming the file, line or
 * word concerned (-EUCLEAN for malformed configuration or command line).
 * Nothing here prints or exits; links no libarchive.
 */
#ifndef SEALTREE_BOOT_H
#define SEALTREE_BOOT_H

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

/* How much prepare-root requires, weakest first: a karg can only move it up. */
enum st_composefs_mode {
	ST_COMPOSEFS_MAYBE = 0,         /* as yes; but no sealtree= word on the command line boots the disk as it is */
	ST_COMPOSEFS_YES = 1,           /* the commit's image, digest checked; fs-verity where the repository has it */
	ST_COMPOSEFS_VERITY = 2,        /* every object and the image under fs-verity (verity=require) */
	ST_COMPOSEFS_SIGNED = 3,        /* verity, plus a valid signature by an initramfs key and anti-rollback */
	ST_COMPOSEFS_MODE_COUNT,
};
/* "maybe", "yes", "verity", "signed". */
ST_EXPORT const char *st_composefs_mode_to_string(enum st_composefs_mode mode);
/* -EINVAL for anything else. */
ST_EXPORT int st_composefs_mode_from_string(const char *s, enum st_composefs_mode *ret);

#define ST_PREPARE_CONFIG_MAX (64 * 1024)

/* The initramfs's policy: /etc/sealtree/prepare-root.conf. */
struct st_prepare_config {
	enum st_composefs_mode mode;    /* [composefs] enabled (default yes) */
	char *keys_dir;                 /* [composefs] keys: a trust store directory (trusted.d, revoked.d) */
	bool has_floor;                 /* [rollback] floor-timestamp / floor-version given */
	int64_t floor_timestamp;
	char floor_version[256];
	bool etc_transient;             /* [etc] transient: /etc is the image's under a tmpfs overlay */
	bool root_transient;            /* [root] transient: a tmpfs upper over / */
	bool root_transient_ro;         /* [root] transient-ro: the same, mounted read-only */
	bool sysroot_readonly;          /* [sysroot] readonly: /sysroot bound read-only (default true) */
};

/* Parse the file's bytes (at most ST_PREPARE_CONFIG_MAX). */
ST_EXPORT int st_prepare_config_parse(const void *data, size_t len, struct st_prepare_config **ret);
/* Read and parse path; a missing file gives the defaults. */
ST_EXPORT int st_prepare_config_load(const char *path, struct st_prepare_config **ret);
ST_EXPORT struct st_prepare_config *st_prepare_config_free(struct st_prepare_config *c);

#define ST_BOOT_CMDLINE_MAX 4096

/* What the kernel command line says to prepare-root. */
struct st_boot_cmdline {
	char *os, *id;                  /* sealtree=OS/ID, or NULL */
	bool has_digest;                /* sealtree.digest=COMMIT */
	uint8_t digest[ST_COMMIT_ID_SIZE];
	bool has_mode;                  /* sealtree.composefs=MODE (also 0/1/no/off: see the doc) */
	enum st_composefs_mode mode;
	bool mode_weaker;               /* a word asked for less than the policy: ignored, but recorded */
	char *mode_word;                /* that word, for the record */
};
/*
 * Parse a command line (words split as the kernel does: spaces, double
 * quotes). Unknown words are ignored; a malformed sealtree word, a word
 * given twice with different values, or a digest that disagrees with the
 * commit of sealtree=OS/ID is -EUCLEAN.
 */
ST_EXPORT int st_boot_cmdline_parse(const char *cmdline, struct st_boot_cmdline *ret);
ST_EXPORT void st_boot_cmdline_release(struct st_boot_cmdline *c);

struct st_prepare_options {
	const char *sysroot;            /* the physical root, mounted: "/sysroot" (absolute) */
	const char *run_dir;            /* "/run/sealtree": booted.json and the mount points made meanwhile */
	const struct st_prepare_config *config;
	const struct st_boot_cmdline *cmdline;
	/* Keys from the initramfs (config->keys_dir, loaded by the caller); required for signed. */
	const struct st_trust_store *store;
	uint64_t reserved[4];           /* zero */
};

#define ST_PREPARE_REASON_MAX 1024

/* What prepare-root did: written to RUN_DIR/booted.json. */
struct st_prepare_result {
	bool ok;                        /* the root is assembled at sysroot (or, fallback, left as it is) */
	bool fallback;                  /* maybe mode, no deployment named: the physical root boots as it is */
	enum st_composefs_mode mode;    /* the effective mode (policy tightened by the command line) */
	char os[65];
	char id[160];                   /* COMMIT.SERIAL */
	uint8_t commit[ST_COMMIT_ID_SIZE];
	bool has_commit;
	uint8_t image[32];
	bool has_image;
	bool verity;                    /* the overlay enforces verity=require, or verity=on under: */
	/*
	 * The image's own verity policy when it has one (its prefixes, each
	 * followed by '\n'; "" for none): checked to be kept by the image, and
	 * the overlay mounted with verity=on.
	 */
	char verity_policy[ST_PREPARE_REASON_MAX];
	bool signed_ok;                 /* a signature by an initramfs key was checked */
	uint8_t signer_key_id[ST_KEY_ID_SIZE];
	char failed_step[32];           /* with !ok: "cmdline", "deployment", "commit", "signature", ... */
	char reason[ST_PREPARE_REASON_MAX];     /* with !ok: why, in plain words */
	char notes[ST_PREPARE_REASON_MAX];      /* what was weaker than it could have been, and why */
	char links[ST_PREPARE_REASON_MAX];      /* the trust chain, one "link: state" per line */
};

/*
 * Assemble the root. On failure nothing that was mounted is left mounted
 * and ret->reason says why; the return value is the negative errno. The
 * result is filled in both cases (the caller writes booted.json with
 * st_prepare_result_write()). Needs CAP_SYS_ADMIN and a mount namespace in
 * which opts->sysroot is a mount point whose parent is not shared.
 */
ST_EXPORT int st_prepare_root(const struct st_prepare_options *opts, struct st_prepare_result *ret);

/* The result as booted.json (one flat object, docs/formats/sysroot.md), NUL-terminated, malloc'ed. */
ST_EXPORT int st_prepare_result_to_json(const struct st_prepare_result *res, char **ret);
/* Write it to dir/booted.json atomically (dir is made if missing). */
ST_EXPORT int st_prepare_result_write(const struct st_prepare_result *res, const char *dir);

#ifdef __cplusplus
}
#endif
#endif
