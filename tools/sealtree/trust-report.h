/* SPDX-License-Identifier: MIT */
/* Printing a signature verdict (verify, show, mount --require-signature). */
#pragma once

#include <stdio.h>

#include "escape.h"
#include "sealtree/seal.h"
#include "sealtree/trust.h"

/* "3f2a9c01d4e5b6a7": the short form of a key id. */
void key_id_short_hex(const uint8_t id[ST_KEY_ID_SIZE], char buf[ST_KEY_ID_SHORT_HEX + 1]);

/* One line per signature and the policy, each line starting with prefix. */
void trust_report_text(FILE *f, const struct st_trust_result *res, const char *prefix);

/*
 * A JSON object (no newline after it). ref may be NULL. With chain (verify),
 * "accepted" is the whole chain's verdict, "rollback" says why the rollback
 * link refused, and "links" lists every link's verdict.
 */
void trust_report_json(FILE *f, const struct st_trust_result *res, const char *ref,
		       const struct st_seal_result *chain);

/* One line per link of the chain: "link NAME: STATE: REASON", reasons escaped. */
void seal_report_text(FILE *f, const struct st_seal_result *chain);
/* "links":[{"link":...,"state":...,"reason":...},...] (no braces around it). */
void seal_report_json_links(FILE *f, const struct st_seal_result *chain);


/* "pem" or "ostree" (alias "raw"); -EINVAL otherwise. */
int parse_key_format(const char *s, enum st_key_format *ret);
