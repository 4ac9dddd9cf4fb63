/* SPDX-License-Identifier: MIT */
/* The verity errors of this boot in `admin status` (cmd-admin-verity.c). */
#pragma once

#include <stdbool.h>

#include "admin.h"

/*
 * Print the count of this boot's verity errors and the last three (a line
 * and its indented lines, or a "verity-errors" JSON member followed by ", "),
 * if booted is not NULL; reading failures are printed as "unknown".
 */
void admin_print_verity_summary(struct st_sysroot *s, const struct st_booted *booted, bool json);
