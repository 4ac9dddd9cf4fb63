/* SPDX-License-Identifier: MIT */
/*
 * sealtree admin VERB: deployments of a sysroot (docs/man/sealtree-admin.1.md).
 * One file per verb group (cmd-admin-*.c); each verb returns the process
 * exit code like a command: 0, 1 on failure (printed), 2 on a usage error.
 */
#pragma once

#include <stdbool.h>

#include "sealtree.h"
#include "sealtree/deploy.h"
#include "sealtree/remote.h"

/* --sysroot PATH, default "/". */
extern const char *arg_sysroot;

/*
 * Open the sysroot and take its lock (exclusive for verbs that change it);
 * when another admin command holds it, say so and wait. Prints errors;
 * NULL on failure.
 */
struct st_sysroot *admin_open(const char *verb, bool exclusive);

static inline void sysroot_freep(struct st_sysroot **s)
{
	st_sysroot_free(*s);
}
static inline void deploy_list_freep(struct st_deploy_list **l)
{
	st_deploy_list_free(*l);
}

/*
 * The arguments of a verb with no option but --help: --help (-h) prints
 * usage to stdout and returns 0; an unknown option (named by getopt) or a
 * count of operands outside min..max prints why and returns -EINVAL (exit
 * 2); else 1, with the operands at argv[optind..argc-1].
 */
int admin_plain_args(const char *verb, int argc, char **argv, const char *usage, int min, int max);

/* Parse a deployment index of list; prints and returns -1 if it is not one. */
int admin_parse_index(const char *verb, const char *s, const struct st_deploy_list *l, size_t *ret);

/* Create $SEALTREE_RUN_DIR/staged (default /run/sealtree): sealtree-finalize-staged.path watches it. */
void admin_mark_staged(void);

/* Print "conflict: KIND /etc/PATH ..." lines, paths escaped. */
void admin_print_conflicts(const struct st_deploy_options *o);

/* Print a deploy's outcome (id, merge, conflicts). */
void admin_print_deployed(const struct st_deploy_options *o);

/*
 * cmd-admin-remote.c. REMOTE:REF: 1 and the two parts (ref canonical) if
 * spec has a ':', 0 if not, negative errno (printed) if malformed.
 */
/*
 * spec "oci:IMAGE" or "oci:[http(s)://]REGISTRY/NAME:TAG" (cmd-admin-oci.c): the
 * image's ref "oci/NAME:TAG" in *ret_local (freed by the caller), pulled first
 * from a registry. Logs and returns a negative errno on failure.
 */
int admin_oci_spec(const char *verb, struct st_sysroot *s, const char *spec, char **ret_local);
int admin_remote_spec_split(const char *verb, const char *spec, char remote[ST_REMOTE_NAME_MAX + 1],
			    char ref[ST_REF_NAME_MAX + 1]);
/* A tracked ref refs/remotes/REMOTE/REF: 1 and its parts, else 0. */
int admin_tracked_remote(const char *tracked, char remote[ST_REMOTE_NAME_MAX + 1], char ref[ST_REF_NAME_MAX + 1]);
/*
 * Pull ref of remote (dry_run: fetch and check, publish nothing). Prints
 * errors. ret_local: "refs/remotes/REMOTE/REF" (free it); ret_commit: the
 * remote's commit; ret_up_to_date: the local ref pointed there already.
 */
int admin_pull(const char *verb, struct st_sysroot *s, const char *remote, const char *ref, bool dry_run,
	       char **ret_local, uint8_t ret_commit[ST_COMMIT_ID_SIZE], bool *ret_up_to_date);

#define ADMIN_VERBS(X) \
	X(init_fs, "init-fs", "create the sysroot layout and its repository") \
	X(os_init, "os-init", "create a stateroot (an OS's /var)") \
	X(deploy, "deploy", "deploy a commit as the new default boot entry") \
	X(upgrade, "upgrade", "deploy the newest commit of the tracked ref") \
	X(switch, "switch", "deploy another ref and track it") \
	X(status, "status", "list the deployments in boot order") \
	X(rollback, "rollback", "make the rollback deployment the default") \
	X(set_default, "set-default", "make deployment INDEX the default") \
	X(undeploy, "undeploy", "remove deployment INDEX") \
	X(pin, "pin", "keep deployment INDEX through cleanup (--unpin to release)") \
	X(kargs, "kargs", "show or edit the default deployment's kernel arguments") \
	X(cleanup, "cleanup", "drop old deployments and unused boot files, then gc") \
	X(finalize_staged, "finalize-staged", "switch to the staged deployment (at shutdown)") \
	X(boot_complete, "boot-complete", "mark the booted deployment as good (boot counting)") \
	X(config_diff, "config-diff", "local /etc changes against the deployment's defaults") \
	X(verity_errors, "verity-errors", "this boot's verity errors, mapped to paths (--record: keep them)") \
	X(build_uki, "build-uki", "build a (signed) unified kernel image of a commit")

#define DECLARE_ADMIN_VERB(fn, name, summary) int admin_##fn(int argc, char **argv);
ADMIN_VERBS(DECLARE_ADMIN_VERB)
#undef DECLARE_ADMIN_VERB
