/* SPDX-License-Identifier: MIT */
/*
 * SHA-256 (FIPS 180-4) on the x86 SHA extensions, see sha256-ni.h.
 *
 * How the instructions split the work (Intel SDM, SHA256RNDS2/MSG1/MSG2):
 * the eight working variables live in two registers, "ABEF" (dwords 3..0 =
 * A, B, E, F) and "CDGH" (C, D, G, H). sha256rnds2(cdgh, abef, wk) runs two
 * rounds with the low two dwords of wk (W[t] + K[t]) and returns the new
 * ABEF; the old ABEF is then the new CDGH, so the two registers swap roles
 * every call. sha256msg1 and sha256msg2 compute the sigma0 and sigma1 parts
 * of the message schedule W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16],
 * four words at a time; the W[t-7] term is added in between.
 */
#include "verity/sha256-ni.h"

#if defined(__x86_64__) || defined(__i386__)

#include <cpuid.h>
#include <immintrin.h>
#include <pthread.h>
#include <string.h>

#define NI __attribute__((target("sha,sse4.1")))
#define NI_INLINE NI __attribute__((always_inline)) static inline

/* FIPS 180-4, 4.2.2: the round constants. */
static const uint32_t K[64] __attribute__((aligned(16))) = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* FIPS 180-4, 5.3.3: the initial hash value H0..H7. */
#define H0 0x6a09e667
#define H1 0xbb67ae85
#define H2 0x3c6ef372
#define H3 0xa54ff53a
#define H4 0x510e527f
#define H5 0x9b05688c
#define H6 0x1f83d9ab
#define H7 0x5be0cd19

/*
 * W[t] + K[t] of the padding block that ends every 4096-byte message: 0x80,
 * zeros, and the length 32768 bits as a big-endian 64-bit number.
 */
static uint32_t pad4096_wk[64] __attribute__((aligned(16)));
static bool usable;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static uint32_t rotr(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

static void init(void)
{
	unsigned eax, ebx, ecx, edx;
	uint32_t w[64] = { [0] = 0x80000000u, [15] = 4096 * 8 };

	/* Leaf 1 ECX bit 19: SSE4.1. Leaf 7.0 EBX bit 29: SHA. */
	if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & (1u << 19)))
		return;
	if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) || !(ebx & (1u << 29)))
		return;

	/* FIPS 180-4, 6.2.2 step 1, done once in plain C. */
	for (size_t t = 16; t < 64; t++) {
		uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
		uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);

		w[t] = s1 + w[t - 7] + s0 + w[t - 16];
	}
	for (size_t t = 0; t < 64; t++)
		pad4096_wk[t] = w[t] + K[t];
	usable = true;
}

bool sha256_ni_usable(void)
{
	if (pthread_once(&init_once, init) != 0)
		return false;
	return usable;
}

/* Message words are big endian: swap the bytes of each 32-bit lane. */
NI_INLINE __m128i load_be(const uint8_t *p)
{
	const __m128i swap = _mm_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3);

	return _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)p), swap);
}

NI_INLINE __m128i load_k(const uint32_t *k)
{
	return _mm_load_si128((const __m128i *)k);
}

/* Four rounds; wk holds W[t..t+3] + K[t..t+3]. */
NI_INLINE void rounds4(__m128i *abef, __m128i *cdgh, __m128i wk)
{
	*cdgh = _mm_sha256rnds2_epu32(*cdgh, *abef, wk);
	*abef = _mm_sha256rnds2_epu32(*abef, *cdgh, _mm_shuffle_epi32(wk, 0x0e));
}

/* W[t..t+3] from m0 = W[t-16..t-13], m1 = W[t-12..], m2 = W[t-8..], m3 = W[t-4..t-1]. */
NI_INLINE __m128i schedule(__m128i m0, __m128i m1, __m128i m2, __m128i m3)
{
	__m128i x = _mm_sha256msg1_epu32(m0, m1);             /* W[t-16] + s0(W[t-15]) */
	x = _mm_add_epi32(x, _mm_alignr_epi8(m3, m2, 4));     /* + W[t-7] */
	return _mm_sha256msg2_epu32(x, m3);                   /* + s1(W[t-2]) */
}

/*
 * One 64-byte block into the state. The message is kept as four registers
 * m[0..3] rotating through the schedule: m[i % 4] holds W[4i..4i+3] when
 * rounds 4i..4i+3 run.
 */
NI_INLINE void compress1(__m128i *abef, __m128i *cdgh, const uint8_t *p)
{
	__m128i a = *abef, c = *cdgh;
	__m128i m0 = load_be(p), m1 = load_be(p + 16), m2 = load_be(p + 32), m3 = load_be(p + 48);

	rounds4(&a, &c, _mm_add_epi32(m0, load_k(K + 0)));
	rounds4(&a, &c, _mm_add_epi32(m1, load_k(K + 4)));
	rounds4(&a, &c, _mm_add_epi32(m2, load_k(K + 8)));
	rounds4(&a, &c, _mm_add_epi32(m3, load_k(K + 12)));
	for (size_t t = 16; t < 64; t += 16) {
		m0 = schedule(m0, m1, m2, m3);
		rounds4(&a, &c, _mm_add_epi32(m0, load_k(K + t)));
		m1 = schedule(m1, m2, m3, m0);
		rounds4(&a, &c, _mm_add_epi32(m1, load_k(K + t + 4)));
		m2 = schedule(m2, m3, m0, m1);
		rounds4(&a, &c, _mm_add_epi32(m2, load_k(K + t + 8)));
		m3 = schedule(m3, m0, m1, m2);
		rounds4(&a, &c, _mm_add_epi32(m3, load_k(K + t + 12)));
	}
	*abef = _mm_add_epi32(*abef, a);
	*cdgh = _mm_add_epi32(*cdgh, c);
}

/* compress1() on two independent messages, instruction by instruction interleaved. */
NI_INLINE void compress2(__m128i *abef0, __m128i *cdgh0, const uint8_t *p,
			 __m128i *abef1, __m128i *cdgh1, const uint8_t *q)
{
	__m128i a0 = *abef0, c0 = *cdgh0, a1 = *abef1, c1 = *cdgh1;
	__m128i m0 = load_be(p), m1 = load_be(p + 16), m2 = load_be(p + 32), m3 = load_be(p + 48);
	__m128i n0 = load_be(q), n1 = load_be(q + 16), n2 = load_be(q + 32), n3 = load_be(q + 48);
	__m128i k;

#define BOTH(m, n, koff)                                          \
	do {                                                      \
		k = load_k(K + (koff));                           \
		rounds4(&a0, &c0, _mm_add_epi32(m, k));           \
		rounds4(&a1, &c1, _mm_add_epi32(n, k));           \
	} while (0)

	BOTH(m0, n0, 0);
	BOTH(m1, n1, 4);
	BOTH(m2, n2, 8);
	BOTH(m3, n3, 12);
	for (size_t t = 16; t < 64; t += 16) {
		m0 = schedule(m0, m1, m2, m3);
		n0 = schedule(n0, n1, n2, n3);
		BOTH(m0, n0, t);
		m1 = schedule(m1, m2, m3, m0);
		n1 = schedule(n1, n2, n3, n0);
		BOTH(m1, n1, t + 4);
		m2 = schedule(m2, m3, m0, m1);
		n2 = schedule(n2, n3, n0, n1);
		BOTH(m2, n2, t + 8);
		m3 = schedule(m3, m0, m1, m2);
		n3 = schedule(n3, n0, n1, n2);
		BOTH(m3, n3, t + 12);
	}
#undef BOTH
	*abef0 = _mm_add_epi32(*abef0, a0);
	*cdgh0 = _mm_add_epi32(*cdgh0, c0);
	*abef1 = _mm_add_epi32(*abef1, a1);
	*cdgh1 = _mm_add_epi32(*cdgh1, c1);
}

/* The padding block of a 4096-byte message: rounds only, the schedule is known. */
NI_INLINE void compress_pad4096(__m128i *abef, __m128i *cdgh)
{
	__m128i a = *abef, c = *cdgh;

	for (size_t t = 0; t < 64; t += 4)
		rounds4(&a, &c, load_k(pad4096_wk + t));
	*abef = _mm_add_epi32(*abef, a);
	*cdgh = _mm_add_epi32(*cdgh, c);
}

NI_INLINE void compress_pad4096_2(__m128i *abef0, __m128i *cdgh0, __m128i *abef1, __m128i *cdgh1)
{
	__m128i a0 = *abef0, c0 = *cdgh0, a1 = *abef1, c1 = *cdgh1;

	for (size_t t = 0; t < 64; t += 4) {
		__m128i wk = load_k(pad4096_wk + t);

		rounds4(&a0, &c0, wk);
		rounds4(&a1, &c1, wk);
	}
	*abef0 = _mm_add_epi32(*abef0, a0);
	*cdgh0 = _mm_add_epi32(*cdgh0, c0);
	*abef1 = _mm_add_epi32(*abef1, a1);
	*cdgh1 = _mm_add_epi32(*cdgh1, c1);
}

NI_INLINE void state_init(__m128i *abef, __m128i *cdgh)
{
	*abef = _mm_set_epi32((int)H0, (int)H1, (int)H4, (int)H5);
	*cdgh = _mm_set_epi32((int)H2, (int)H3, (int)H6, (int)H7);
}

/*
 * The digest is H0..H7 big endian. (CDGH high, ABEF high) = D C B A as
 * dwords 0..3; reversing all 16 bytes gives A B C D, each big endian.
 */
NI_INLINE void state_store(__m128i abef, __m128i cdgh, uint8_t out[32])
{
	const __m128i rev = _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);

	_mm_storeu_si128((__m128i *)out, _mm_shuffle_epi8(_mm_unpackhi_epi64(cdgh, abef), rev));
	_mm_storeu_si128((__m128i *)(out + 16), _mm_shuffle_epi8(_mm_unpacklo_epi64(cdgh, abef), rev));
}

NI void sha256_ni_digest(const void *data, size_t len, uint8_t out[32])
{
	const uint8_t *p = data;
	uint8_t tail[128] = { 0 };
	size_t rest = len % 64, tail_len = rest + 9 <= 64 ? 64 : 128;
	uint64_t bits = (uint64_t)len * 8;
	__m128i abef, cdgh;

	state_init(&abef, &cdgh);
	for (size_t i = 0; i + 64 <= len; i += 64)
		compress1(&abef, &cdgh, p + i);

	/* FIPS 180-4, 5.1.1: 0x80, zeros, the bit length as 64-bit big endian. */
	if (rest > 0)
		memcpy(tail, p + len - rest, rest);
	tail[rest] = 0x80;
	for (size_t i = 0; i < 8; i++)
		tail[tail_len - 1 - i] = (uint8_t)(bits >> (8 * i));
	for (size_t i = 0; i < tail_len; i += 64)
		compress1(&abef, &cdgh, tail + i);
	state_store(abef, cdgh, out);
}

NI void sha256_ni_block(const void *block, uint8_t out[32])
{
	const uint8_t *p = block;
	__m128i abef, cdgh;

	state_init(&abef, &cdgh);
	for (size_t i = 0; i < 4096; i += 64)
		compress1(&abef, &cdgh, p + i);
	compress_pad4096(&abef, &cdgh);
	state_store(abef, cdgh, out);
}

NI void sha256_ni_block2(const void *b0, const void *b1, uint8_t out0[32], uint8_t out1[32])
{
	const uint8_t *p = b0, *q = b1;
	__m128i abef0, cdgh0, abef1, cdgh1;

	state_init(&abef0, &cdgh0);
	state_init(&abef1, &cdgh1);
	for (size_t i = 0; i < 4096; i += 64)
		compress2(&abef0, &cdgh0, p + i, &abef1, &cdgh1, q + i);
	compress_pad4096_2(&abef0, &cdgh0, &abef1, &cdgh1);
	state_store(abef0, cdgh0, out0);
	state_store(abef1, cdgh1, out1);
}

#else /* not x86 */

#include <stdlib.h>

bool sha256_ni_usable(void)
{
	return false;
}

void sha256_ni_digest(const void *data, size_t len, uint8_t out[32])
{
	(void)data, (void)len, (void)out;
	abort(); /* callers check sha256_ni_usable() first */
}

void sha256_ni_block(const void *block, uint8_t out[32])
{
	(void)block, (void)out;
	abort();
}

void sha256_ni_block2(const void *b0, const void *b1, uint8_t out0[32], uint8_t out1[32])
{
	(void)b0, (void)b1, (void)out0, (void)out1;
	abort();
}

#endif
