/* SPDX-License-Identifier: MIT */
/*
 * Hex digits. st_hex_encode() and st_hex_decode() are public
 * (include/sealtree/hex.h); every hex check and decoder in lib/ is here.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sealtree/hex.h"

/* Value of one hex digit (either case), or -1. */
int hex_digit_value(char c);

/* true if the len bytes at s are all hex digits (only 0-9a-f with lower_only); true for len 0. */
bool hex_valid(const char *s, size_t len, bool lower_only);

/*
 * st_hex_decode() for names that must be canonical (objects, images,
 * commits, refs, key ids): uppercase digits are -EINVAL too.
 */
int hex_decode_lower(const char *s, size_t slen, uint8_t *out, size_t len);
