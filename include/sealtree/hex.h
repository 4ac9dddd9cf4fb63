/* SPDX-License-Identifier: MIT */
/*
 * sealtree hex: digests, commit ids and key ids as lowercase hexadecimal,
 * the one encoder and decoder the library and its tools use.
 */
#ifndef SEALTREE_HEX_H
#define SEALTREE_HEX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef ST_EXPORT
#define ST_EXPORT __attribute__((visibility("default")))
#endif

/* Encode len bytes as lowercase hex into out (2*len+1 bytes, NUL-terminated). */
ST_EXPORT void st_hex_encode(const uint8_t *in, size_t len, char *out);

/*
 * Decode exactly 2*len hex digits (either case) from the slen bytes at s
 * into out. Returns 0, or -EINVAL if s is not exactly 2*len hex digits;
 * out is written only on success.
 */
ST_EXPORT int st_hex_decode(const char *s, size_t slen, uint8_t *out, size_t len);

#ifdef __cplusplus
}
#endif
#endif
