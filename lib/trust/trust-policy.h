/* SPDX-License-Identifier: MIT */
/* The per-ref signature policy (policy.conf), see docs/formats/signatures.md. */
#pragma once

#include "sealtree/trust.h"

#define TRUST_POLICY_FILE_MAX (64 * 1024)
#define TRUST_POLICY_RULES_MAX 1024
#define TRUST_POLICY_KEYS_MAX 64

struct trust_policy;

/* Untrusted text; -EUCLEAN names the line. An empty policy is valid (everything any-trusted). */
int trust_policy_parse(const void *data, size_t len, struct trust_policy **ret);
struct trust_policy *trust_policy_free(struct trust_policy *p);
/* The first rule whose glob matches ref; the default (any-trusted) for NULL p, NULL ref or no match. */
void trust_policy_lookup(const struct trust_policy *p, const char *ref, struct st_policy_rule *ret);
