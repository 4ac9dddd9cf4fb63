/* SPDX-License-Identifier: MIT */
/*
 * The sealtree command: one binary, one file per command (cmd-*.c). Each
 * command parses its own options with getopt_long and returns the process
 * exit code: 0 on success, 1 on failure (message already printed), 2 on a
 * usage error.
 */
#pragma once

#include <stdbool.h>

#include "sealtree/repo.h"
#include "tool-util.h"

/* Global options, parsed before the command name. */
struct sealtree_globals {
	const char *repo_path;          /* --repo, else $SEALTREE_REPO; NULL if neither */
	bool quiet;                     /* -q: no progress output */
};

extern struct sealtree_globals globals;

enum repo_lock_mode {
	REPO_LOCK_NONE,
	REPO_LOCK_SHARED,
	REPO_LOCK_EXCLUSIVE,
};

/*
 * Open the repository named by --repo / $SEALTREE_REPO and take its lock.
 * Prints the error and returns NULL on failure.
 */
struct st_repo *open_repo_or_fail(enum repo_lock_mode lock);

/*
 * open_repo_or_fail(), then resolve SPEC (a ref, a commit id or a prefix of
 * one) into ID. Prints the error and returns NULL on failure.
 */
struct st_repo *open_repo_resolved(enum repo_lock_mode lock, const char *spec, uint8_t id[ST_COMMIT_ID_SIZE]);

/* true if progress lines should be drawn (stderr is a terminal and not -q). */
bool show_progress(void);

/* Commands. argv[0] is the command name. */
#define SEALTREE_COMMANDS(X) \
	X(init, "create a repository") \
	X(commit, "store a tree and record a commit") \
	X(log, "show the history of a ref") \
	X(show, "show one commit") \
	X(refs, "list refs") \
	X(ref, "create, move or delete a ref") \
	X(ls, "list a directory of a commit") \
	X(cat, "print a file of a commit") \
	X(diff, "compare two commits") \
	X(dump, "print a commit's tree as a composefs dumpfile") \
	X(checkout, "write a commit's tree into a directory") \
	X(export, "write a commit's tree as a tar archive") \
	X(mount, "mount a commit with the kernel's composefs") \
	X(umount, "unmount what sealtree mount mounted") \
	X(gc, "delete what no ref reaches") \
	X(prune, "drop old history of a ref") \
	X(fsck, "check the repository") \
	X(keygen, "create a signing key") \
	X(sign, "sign a commit") \
	X(verify, "check a commit's signatures against the trust policy") \
	X(summary, "write the summary a published repository is pulled by") \
	X(pack, "write a pack of the objects a commit adds") \
	X(remote, "add, list or delete remotes") \
	X(pull, "fetch refs of a remote, only what is missing") \
	X(admin, "deploy commits as bootable systems (sealtree admin --help)") \
	X(oci, "container images: import, pull, list, inspect, remove, mount (sealtree oci --help)")

#define DECLARE_COMMAND(name, summary) int cmd_##name(int argc, char **argv);
SEALTREE_COMMANDS(DECLARE_COMMAND)
#undef DECLARE_COMMAND

/* sealtree oci pull (cmd-oci-pull.c), a verb of cmd_oci(). */
int oci_pull(int argc, char **argv);
int oci_push(int argc, char **argv);
int oci_verify(int argc, char **argv);
