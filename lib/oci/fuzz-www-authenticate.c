/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: a WWW-Authenticate value from an untrusted registry. What
 * parses is Basic or Bearer (the latter with a realm), and no value holds
 * a control character: they end up in URLs and request headers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "registry-internal.h"

#define CHECK(x)                    \
	do {                        \
		if (!(x))           \
			abort();    \
	} while (0)

static void check_text(const char *s)
{
	for (; s && *s; s++)
		CHECK((unsigned char)*s >= 0x20 || *s == '\t');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct auth_challenge ch = {};

	if (auth_challenge_parse((const char *)data, size, &ch) < 0)
		return 0;
	CHECK(ch.scheme == AUTH_BASIC || ch.scheme == AUTH_BEARER);
	CHECK(ch.scheme != AUTH_BEARER || (ch.realm && ch.realm[0]));
	check_text(ch.realm);
	check_text(ch.service);
	check_text(ch.scope);
	auth_challenge_release(&ch);
	return 0;
}
