/* SPDX-License-Identifier: MIT */
/*
 * SHA-256 on the x86 SHA extensions (SHA-NI), specialised for fs-verity:
 * its Merkle tree hashes millions of independent 4096-byte blocks.
 *
 * The sha256rnds2 instruction does two rounds, and each depends on the state
 * the previous one produced, so one message runs at the latency of that chain
 * and leaves the unit idle between results. Two independent messages hashed
 * in the same loop fill those gaps; sha256_ni_block2() does that.
 *
 * A 4096-byte message is 64 blocks plus one padding block whose content, and
 * therefore whose whole message schedule, is the same for every such
 * message: it is computed once and that block costs only its rounds.
 *
 * Call nothing but sha256_ni_usable() unless it returned true.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Whether this CPU has SHA-NI and SSE4.1 (checked once). */
bool sha256_ni_usable(void);

/* out = SHA-256(data[0..len)), any length. */
void sha256_ni_digest(const void *data, size_t len, uint8_t out[32]);

/* out = SHA-256 of exactly 4096 bytes. */
void sha256_ni_block(const void *block, uint8_t out[32]);

/* Two 4096-byte messages at once: out0 = SHA-256(b0), out1 = SHA-256(b1). */
void sha256_ni_block2(const void *b0, const void *b1, uint8_t out0[32], uint8_t out1[32]);
