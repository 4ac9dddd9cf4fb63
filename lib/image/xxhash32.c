/* SPDX-License-Identifier: MIT */
/* xxHash32, written from the published algorithm description. */
#include "xxhash32.h"

#define P1 0x9E3779B1U
#define P2 0x85EBCA77U
#define P3 0xC2B2AE3DU
#define P4 0x27D4EB2FU
#define P5 0x165667B1U

static inline uint32_t rotl(uint32_t x, unsigned r)
{
	return (x << r) | (x >> (32 - r));
}

static inline uint32_t load32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint32_t round32(uint32_t acc, uint32_t lane)
{
	return rotl(acc + lane * P2, 13) * P1;
}

uint32_t xxh32(const void *data, size_t len, uint32_t seed)
{
	const uint8_t *p = data, *end = p + len;
	uint32_t h;

	if (len >= 16) {
		uint32_t a = seed + P1 + P2, b = seed + P2, c = seed, d = seed - P1;

		for (; end - p >= 16; p += 16) {
			a = round32(a, load32(p));
			b = round32(b, load32(p + 4));
			c = round32(c, load32(p + 8));
			d = round32(d, load32(p + 12));
		}
		h = rotl(a, 1) + rotl(b, 7) + rotl(c, 12) + rotl(d, 18);
	} else {
		h = seed + P5;
	}
	h += (uint32_t)len;
	for (; end - p >= 4; p += 4)
		h = rotl(h + load32(p) * P3, 17) * P4;
	for (; p < end; p++)
		h = rotl(h + *p * P5, 11) * P1;
	h ^= h >> 15;
	h *= P2;
	h ^= h >> 13;
	h *= P3;
	h ^= h >> 16;
	return h;
}
