/* SPDX-License-Identifier: MIT */
/*
 * The SHA-256 index, REPO/cache/sha256 (docs/formats/repository.md, "The
 * SHA-256 index"): content SHA-256 -> fs-verity digest of the object that
 * holds those bytes, so that a zstd:chunked layer whose TOC names files by
 * SHA-256 only can be pulled partially (lib/oci/chunked-pull.c).
 *
 * A cache, never trusted: an entry may be stale (its object collected) or
 * wrong (a damaged or edited file), so whoever uses a hit opens the object
 * and checks its SHA-256 first. A missing or damaged file reads as empty.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct st_repo;

#define SHA256_INDEX_FILE "sha256"
#define SHA256_INDEX_MAGIC "STSHAIX1"
#define SHA256_INDEX_HEADER 16u
#define SHA256_INDEX_RECORD 64u
/* At most this many entries (256 MiB of file); beyond, pairs are left out (misses, never errors). */
#define SHA256_INDEX_MAX (1u << 22)

struct sha256_pair {
	uint8_t sha256[32];
	uint8_t verity[32];
};

struct sha256_index {
	struct sha256_pair *pairs;      /* sorted by sha256, unique */
	size_t n;
};

/* Parse a file's bytes (untrusted): -EUCLEAN with a detail if anything is off. */
int sha256_index_parse(const void *data, size_t len, struct sha256_index *ret);

/*
 * Load REPO/cache/sha256. A missing file is an empty index (0); a damaged
 * one too, but returns -EUCLEAN with a detail (callers other than fsck may
 * ignore it: the next write replaces the file).
 */
int sha256_index_load(struct st_repo *repo, struct sha256_index *ret);
void sha256_index_done(struct sha256_index *ix);

/* The fs-verity digest stored for sha256: true and ret_verity, or false. */
bool sha256_index_lookup(const struct sha256_index *ix, const uint8_t sha256[32], uint8_t ret_verity[32]);

/*
 * Add pairs (any order, duplicates allowed; sorted in place) to the file:
 * under an exclusive flock(2) on REPO/cache/, the file is read, merged
 * (a new pair replaces an old one for the same SHA-256) and published
 * atomically (temporary file, rename). n == 0 writes nothing.
 */
int sha256_index_add(struct st_repo *repo, struct sha256_pair *pairs, size_t n);

/* Replace the file by exactly these pairs (fsck --repair); sorted in place. */
int sha256_index_replace(struct st_repo *repo, struct sha256_pair *pairs, size_t n);

/*
 * Drop the entries whose object keep() refuses (gc, after the sweep). No
 * file, or nothing dropped: nothing written. Returns how many were dropped.
 */
int sha256_index_prune(struct st_repo *repo, bool (*keep)(void *userdata, const uint8_t verity[32]), void *userdata);

/* A thread-safe growing list of pairs (importers that learn them on several threads). */
struct sha256_pairs {
	struct sha256_pair *p;
	size_t n, cap;
	bool oom;
};
void sha256_pairs_push(struct sha256_pairs *l, const uint8_t sha256[32], const uint8_t verity[32]);
void sha256_pairs_done(struct sha256_pairs *l);
