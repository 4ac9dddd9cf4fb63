/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Value of one hex digit (either case), or -1. */
int hex_digit_value(char c);

/*
 * Decode exactly 2*len hex characters from s into out. Returns 0, or -EINVAL
 * if s does not hold exactly that many hex digits before its end (slen).
 */
int hex_decode_exact(const char *s, size_t slen, uint8_t *out, size_t len);

/* Encode len bytes as lowercase hex into out (2*len+1 bytes, NUL-terminated). */
void hex_encode(const uint8_t *in, size_t len, char *out);
