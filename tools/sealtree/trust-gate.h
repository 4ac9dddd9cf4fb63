/* SPDX-License-Identifier: MIT */
/*
 * The trust links checked before a sealed mount (mount --require-signature):
 * the commit's bytes against its id, its signatures under the policy, and
 * with no_downgrade the anti-rollback record. The image and file links are
 * checked by st_repo_mount() itself.
 */
#pragma once

#include <stdbool.h>

#include "sealtree/repo.h"

struct trust_gate {
	const char *keys_dir;           /* NULL: the system trust store */
	bool no_downgrade;
	/* Filled by trust_gate_check(). */
	const char *ref;                /* spec, when it names a ref; else NULL */
	struct st_commit *commit;
	char valid_key[17];             /* short id of the key that validated it */
};

/*
 * Check the links for commit id (named by spec). On failure print
 * "sealtree: mount: refused: broken link: <link>: <why>" and return -1.
 */
int trust_gate_check(struct st_repo *repo, const char *spec, const uint8_t id[ST_COMMIT_ID_SIZE],
		     struct trust_gate *g);
/* After the mount: record the commit as accepted for its ref. Prints on failure. */
int trust_gate_accept(struct st_repo *repo, const uint8_t id[ST_COMMIT_ID_SIZE], struct trust_gate *g);
void trust_gate_release(struct trust_gate *g);
