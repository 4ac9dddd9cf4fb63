/* SPDX-License-Identifier: MIT */
/*
 * Names in a sysroot (docs/formats/sysroot.md): OS (stateroot) names,
 * deployment ids COMMIT.SERIAL, the sealtree=OS/ID karg, pin refs. Built as
 * its own archive on lib/basic alone, so that prepare-root, which must not
 * link the deploy layer (it pulls the repository's tar code), reads these
 * names by the very rules deploy writes them with.
 */
#pragma once

#include <stdint.h>

#include "sealtree/deploy.h"

/* "COMMIT.SERIAL" (64 lowercase hex digits, '.', 0-9999 without leading zeros). -EINVAL if id is not one. */
int deploy_id_parse(const char *id, uint8_t commit[ST_COMMIT_ID_SIZE], unsigned *ret_serial);
/* "sealtree=OS/ID" word: split into os and id (malloc'ed). */
int deploy_ref_parse(const char *value, char **ret_os, char **ret_id);
/* refs/deployments/OS/ID */
int deploy_pin_name(const char *os, const char *id, char **ret);
