/* SPDX-License-Identifier: MIT */
/*
 * xxHash32 (Yann Collet's public algorithm), one-shot. EROFS uses it for the
 * per-inode xattr name filter (a 32-bit bloom filter); the writer also uses
 * it to hash xattrs for deduplication.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

uint32_t xxh32(const void *data, size_t len, uint32_t seed);
