/* SPDX-License-Identifier: MIT */
/* Base64 (RFC 4648): the ostree key forms (lib/trust) and HTTP Basic credentials (lib/oci). */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Strict base64 (RFC 4648, with padding, no whitespace): decode exactly out_len bytes. 0 or -EINVAL. */
int base64_decode_exact(const char *s, size_t slen, uint8_t *out, size_t out_len);
/* Encode into out (BASE64_LEN(len) + 1 bytes, NUL-terminated). Returns the length. */
size_t base64_encode(const uint8_t *in, size_t len, char *out);
#define BASE64_LEN(n) (((n) + 2) / 3 * 4)
