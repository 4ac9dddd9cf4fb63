/* SPDX-License-Identifier: MIT */
/*
 * Strict base64, for the ostree key forms (lib/trust) and HTTP Basic
 * credentials (lib/oci). OpenSSL's EVP_DecodeBlock accepts whitespace,
 * ignores padding and returns padded lengths; a key parser wants
 * one encoding per key, so this decoder refuses everything but the
 * canonical text of exactly the expected number of bytes.
 */
#include <errno.h>
#include <stdbool.h>

#include "base64.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int value_of(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

size_t base64_encode(const uint8_t *in, size_t len, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		size_t n = len - i;

		if (n > 1)
			v |= (uint32_t)in[i + 1] << 8;
		if (n > 2)
			v |= in[i + 2];
		out[o++] = alphabet[(v >> 18) & 63];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = n > 1 ? alphabet[(v >> 6) & 63] : '=';
		out[o++] = n > 2 ? alphabet[v & 63] : '=';
	}
	out[o] = '\0';
	return o;
}

int base64_decode_exact(const char *s, size_t slen, uint8_t *out, size_t out_len)
{
	size_t pad = (3 - out_len % 3) % 3, o = 0;

	if (slen != BASE64_LEN(out_len))
		return -EINVAL;
	for (size_t i = 0; i < slen; i += 4) {
		bool last = i + 4 == slen;
		size_t n = last ? 3 - pad : 3;
		uint32_t w = 0;

		for (size_t j = 0; j < 4; j++) {
			int v = 0;

			if (last && j >= 4 - pad) {
				if (s[i + j] != '=')
					return -EINVAL;
			} else if ((v = value_of(s[i + j])) < 0)
				return -EINVAL;
			w = w << 6 | (uint32_t)v;
		}
		/* The bits past the last byte must be zero: one text per key. */
		if ((pad == 1 && last && (w & 0xff)) || (pad == 2 && last && (w & 0xffff)))
			return -EINVAL;
		for (size_t j = 0; j < n; j++)
			out[o++] = (uint8_t)(w >> (16 - 8 * j));
	}
	return 0;
}
