/* SPDX-License-Identifier: MIT */
/*
 * Output helpers shared by the read-side commands (ls, cat, dump, diff,
 * checkout, mount). Paths and names are printed with print_escaped()
 * (escape.h), so that one entry is always one line.
 */
#pragma once

#include <stdio.h>

#include "escape.h"
#include "sealtree/repo-read.h"

/* The ten-character "drwxr-xr-x" of a mode (suid/sgid/sticky as s/S/t/T) into buf[11]. */
void format_mode(unsigned mode, char buf[11]);

/* A short type name: file, dir, symlink, fifo, socket, chr, blk. */
const char *type_name(unsigned mode);

/* Open the repository (shared lock) and load spec's tree; prints errors. NULL on failure. */
struct st_repo *open_tree_or_fail(const char *spec, struct st_node **ret_root);

static inline void node_freep(struct st_node **n)
{
	st_node_free(*n);
}
static inline void repo_freep(struct st_repo **r)
{
	st_repo_free(*r);
}
