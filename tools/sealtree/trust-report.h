/* SPDX-License-Identifier: MIT */
/* Printing a signature verdict (verify, show, mount --require-signature). */
#pragma once

#include <stdio.h>

#include "sealtree/trust.h"

/* "3f2a9c01d4e5b6a7": the short form of a key id. */
void key_id_short_hex(const uint8_t id[ST_KEY_ID_SIZE], char buf[ST_KEY_ID_SHORT_HEX + 1]);

/* One line per signature and the policy, each line starting with prefix. */
void trust_report_text(FILE *f, const struct st_trust_result *res, const char *prefix);

/*
 * A JSON object (no newline after it). ref may be NULL; rollback_error, when
 * not NULL, says why --no-downgrade refused the commit (then "accepted" is false).
 */
void trust_report_json(FILE *f, const struct st_trust_result *res, const char *ref, const char *rollback_error);

/* Why the commit is not accepted, in one line, e.g. "no signature" or "revoked key ID (and ...)". */
void trust_failure_reason(const struct st_trust_result *res, char *buf, size_t size);

/* A JSON string literal. */
void json_print_string(FILE *f, const char *s);

/* "pem" or "ostree" (alias "raw"); -EINVAL otherwise. */
int parse_key_format(const char *s, enum st_key_format *ret);
