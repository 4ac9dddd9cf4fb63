/* SPDX-License-Identifier: MIT */
/* Internals shared by the files of lib/remote. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "sealtree/remote.h"

/* The message a summary signature covers, and the summary's SHA-256. */
int summary_signed_message(const void *data, size_t len, uint8_t ret_hash[32],
			   uint8_t ret_msg[sizeof(ST_SUMMARY_SIGNATURE_DOMAIN) + 32]);

/* REPO/remotes/NAME/seen: the timestamp of the newest summary accepted (0 if none). */
int remote_read_seen(struct st_repo *repo, const char *name, int64_t *ret);
int remote_write_seen(struct st_repo *repo, const char *name, int64_t ts);
