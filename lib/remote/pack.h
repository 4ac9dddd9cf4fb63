/* SPDX-License-Identifier: MIT */
/*
 * Packs (docs/formats/remote.md, "Packs"): a pack body of zstd frames, one
 * per object, and its index, named packs/<SHA-256 of the index>.{index,pack}.
 * pack-index.c decodes an index from untrusted bytes (every count, offset
 * and size checked before the first lookup) and encodes one; pack-write.c
 * writes packs, pack-fetch.c pulls objects out of them by Range requests.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sealtree/remote.h"

/* An index holds at most this many entries (224 MiB of index). */
#define PACK_ENTRIES_MAX (UINT64_C(1) << 22)
/* An object in a pack is at most this large (2^40 bytes). */
#define PACK_OBJECT_SIZE_MAX (UINT64_C(1) << 40)
#define PACK_INDEX_SIZE_MAX ST_PACK_INDEX_SIZE_MAX

/* The largest zstd frame an object of size bytes may take (zstd's compressBound fits under it). */
static inline uint64_t pack_csize_max(uint64_t size)
{
	return size + size / 256 + 64;
}

/*
 * A commit's image travels in its packs as an entry keyed by its fs-verity
 * digest. In a pack from F it is compressed with F's image as a raw prefix
 * (zstd refPrefix, what `zstd --patch-from` does), with this window.
 */
static inline int pack_image_window_log(size_t prefix_len, size_t len)
{
	uint64_t need = (uint64_t)prefix_len + len;
	int log = 20;

	while (log < 31 && (UINT64_C(1) << log) < need)
		log++;
	return log;
}

struct pack_image {
	uint8_t digest[32];
	const void *data;
	size_t len;
	const void *prefix;             /* from's image, or NULL */
	size_t prefix_len;
};

/*
 * The image delta (image-delta.c): in a pack from F, besides the image's
 * own entry, an entry keyed pack_image_delta_key(C's image digest) holds
 * C's image as its dumpfile text (size: the text's length) compressed
 * against F's dumpfile text as a raw prefix, with a content checksum. The
 * dumps are printed from the images read with ST_IMAGE_READ_HARDLINKS_BFS;
 * the image is written back from the dump at the commit's format version
 * (min = max) and must have the commit's digest.
 */
void pack_image_delta_key(const uint8_t image_digest[32], uint8_t ret[32]);
/* The dumpfile text of an image (malloc'ed, not NUL-terminated). */
int pack_image_dump(const void *image, size_t len, char **ret, size_t *ret_len);
/* The image a dump (untrusted) gives, at most max bytes (else -EFBIG), and its fs-verity digest. */
int pack_image_from_dump(const char *dump, size_t len, uint32_t version, size_t max, void **ret, size_t *ret_len,
			 uint8_t ret_digest[32]);
/*
 * The delta frame of img (which has a prefix): -EUCLEAN if C's dump does not
 * give back C's image (no delta is offered then). ret_dump_len: the entry's size.
 */
struct pack_image;
int pack_image_delta_make(const struct pack_image *img, uint32_t version, int level, void **ret, size_t *ret_len,
			  size_t *ret_dump_len);

struct pack_entry {
	uint8_t digest[32];
	uint64_t offset, csize, size;
	/*
	 * Not in the index: set by pack-fetch.c on an entry it makes for an
	 * object delta, the base object's bytes its frame is decoded against
	 * (a raw prefix); digest is then the object's, not the entry's key.
	 */
	const void *prefix;
	size_t prefix_len;
};

/* SHA-256 of domain (domain_len bytes, its NUL included), a and b (b may be NULL): an entry key that names no object. */
void pack_entry_key(const char *domain, size_t domain_len, const uint8_t a[32], const uint8_t *b, uint8_t ret[32]);

/*
 * Object deltas (object-delta.c, docs/formats/remote.md "Object deltas"):
 * in a pack from F, an object Y of C of PACK_DELTA_MIN..PACK_DELTA_MAX
 * bytes at a path where F's image has another object X (a regular file,
 * at most PACK_DELTA_MAX bytes) also travels as Y compressed against X as
 * a raw prefix, in an entry keyed pack_object_delta_key(X, Y) whose size
 * is Y's. Writer and client find the same pairs from the two images.
 */
#define PACK_DELTA_MIN (64u * 1024u)
#define PACK_DELTA_MAX (64u * 1024u * 1024u)
struct pack_delta_pair {
	uint8_t key[32], object[32], base[32];
	uint64_t size, base_size;
	size_t walk_order;      /* position in the walk: of an object's paths, the first wins */
};
struct want_list;
void pack_object_delta_key(const uint8_t base[32], const uint8_t object[32], uint8_t ret[32]);
/*
 * The pairs for the objects of wanted (sorted by digest) between C's image
 * and F's (both parsed here, alike on both sides): each object at most
 * once (its first path, in name order), sorted by object digest. *ret
 * malloc'ed.
 */
int pack_object_delta_pairs(const void *image, size_t len, const void *from_image, size_t from_len,
			    const struct want_list *wanted, struct pack_delta_pair **ret, size_t *ret_n);
/* Object digest of repo, of exactly size bytes (else -EUCLEAN), mapped read-only (*ret NULL for 0 bytes). */
struct st_repo;
int pack_object_map(struct st_repo *repo, const uint8_t digest[32], uint64_t size, const void **ret);
/* The pair of object in pairs (sorted by object), or NULL. */
const struct pack_delta_pair *pack_delta_pair_find(const struct pack_delta_pair *pairs, size_t n, const uint8_t object[32]);

struct pack_index {
	uint8_t commit[32];
	bool has_from;
	uint8_t from[32];
	uint64_t pack_size;
	struct pack_entry *entries;     /* sorted by digest, unique, frames back to back from offset 0 */
	size_t n_entries;
};

struct pack_index *pack_index_free(struct pack_index *idx);
/*
 * Decode an index from untrusted bytes. -EUCLEAN (detail: the entry or
 * field and why) for anything but the canonical form, -EOPNOTSUPP for
 * another version, compression or an incompatible feature flag.
 */
int pack_index_parse(const void *data, size_t len, struct pack_index **ret);
/* Encode idx (entries as above; checked, -EINVAL otherwise). *ret is malloc'ed. */
int pack_index_serialize(const struct pack_index *idx, void **ret, size_t *ret_len);
/* The entry of digest, or NULL (binary search). */
const struct pack_entry *pack_index_find(const struct pack_index *idx, const uint8_t digest[32]);

/* "packs/<64 hex>.index" / ".pack" of an index's SHA-256 into buf. */
void pack_relpath(const uint8_t index_sha256[32], bool body, char buf[80]);

/*
 * Frame reuse (pack-reuse.c): a new pack copies the frame an existing pack
 * of REPO/packs/ holds for an object instead of compressing it again, after
 * decoding it and checking its digest (a frame that fails is compressed
 * afresh). Image entries of packs from F are never reused.
 */
struct pack_reuse;
struct st_verity_hasher;
struct pack_reuse_frame {
	int fd;                         /* the old pack's body (owned by the pack_reuse) */
	uint64_t offset, csize;
};
/* Per thread: a decoder, its output buffer and a hasher. */
struct pack_reuse_state {
	struct ZSTD_DCtx_s *dctx;
	void *out;
	size_t out_size;
	struct st_verity_hasher *hasher;
};
int pack_reuse_open(struct st_repo *repo, struct pack_reuse **ret);
struct pack_reuse *pack_reuse_free(struct pack_reuse *pr);
/* Where an existing pack holds digest (of size bytes): true and *ret, or false. pr may be NULL. */
bool pack_reuse_find(const struct pack_reuse *pr, const uint8_t digest[32], uint64_t size, struct pack_reuse_frame *ret);
/* The frame's bytes (malloc'ed) once it decodes to exactly size bytes of that digest; -EUCLEAN if not. */
int pack_reuse_read(const struct pack_reuse_frame *f, const uint8_t digest[32], uint64_t size,
		    struct pack_reuse_state *st, void **ret, size_t *ret_len);
int pack_reuse_state_init(struct pack_reuse_state *st);
void pack_reuse_state_done(struct pack_reuse_state *st);

/* ---- pulling from packs (pack-fetch.c) ---- */

struct http;
struct pack_run;
struct want_list;
struct object_dirs;

struct pack_pull {
	struct http *http;
	const char *base;               /* the remote's URL, no trailing '/' */
	struct st_repo *repo;
	struct object_dirs *dirs;       /* repo's objects/XX/, opened once (object-sink.h); may be NULL */
	struct st_pull_options *opts;   /* warning(); objects_from_packs and pack_bytes are added to */
	/* An object was published (its size); the caller counts and reports progress. */
	void (*object_done)(void *userdata, uint64_t size);
	void *userdata;
	uint8_t image_digest[32];       /* of the commit being pulled */
	const void *image;              /* ... and that image, verified (object deltas), or NULL */
	size_t image_len;
	/* Set by pack_pull_init(). */
	const struct st_summary *summary;
	struct pack_index **indices;    /* per summary pack: fetched once */
	bool *bad;                      /* per summary pack: failed, not used again */
	bool no_ranges;                 /* the server ignores Range: no pack is used */
	struct pack_run *prefetch;      /* pack_pull_prefetch()'s ranges, until pack_pull_prefetch_finish() */
	struct want_list *prefetch_asked;       /* what it asked for (sorted by digest) ... */
	struct want_list *prefetch_published;   /* ... and published (the same order) */
};

/* Start using the packs summary offers (it outlives pp); pack_pull_done() releases. */
int pack_pull_init(struct pack_pull *pp, const struct st_summary *summary);
void pack_pull_done(struct pack_pull *pp);

/*
 * The image (digest, size, format version from the commit) of commit out
 * of a pack: a pack from a commit whose image this repository has (its
 * image delta rebuilt against it, else the image's frame decompressed
 * against it), else the full pack; checked against the digest. *ret is
 * malloc'ed, size bytes. -ENOENT: no pack could give it (warnings said
 * why), fetch it loose.
 */
int pack_fetch_image(struct pack_pull *pp, const uint8_t commit[32], const uint8_t digest[32], uint64_t size,
		     uint32_t version, char **ret);

/*
 * The objects with the image (docs/formats/remote.md, "Round trips"):
 * every entry of the pack pack_fetch_image() tries first for commit (its
 * index fetched now) that the repository lacks, the image and its delta
 * excepted, queued as ranges that the image's requests run with, so that
 * they need not wait for the image, its decoding and the missing set.
 * Once the commit is trusted only: the index is named by the signed
 * summary, every object is verified against its digest before it is
 * published. pp->image_digest must be set. 0 (nothing queued is fine), or
 * a negative errno (local: memory, the repository).
 * pack_pull_prefetch_finish(): after pack_fetch_image() (or any
 * http_run()), the ranges run out, their last frames decoded; a pack that
 * failed is warned about and not used again; *ret_asked: the objects asked
 * for (sorted, each once; NULL if none), *ret_published: those of them
 * published (verified, on disk; NULL if none): both kept until the next
 * pack_pull_prefetch() or pack_pull_done().
 */
int pack_pull_prefetch(struct pack_pull *pp, const uint8_t commit[32]);
int pack_pull_prefetch_finish(struct pack_pull *pp, const struct want_list **ret_asked,
			      const struct want_list **ret_published);
/*
 * How many connections a pull of commit out of packs keeps busy at once:
 * the requests in flight (jobs) when the index of the pack it starts with
 * comes in parts (http_get_range()), else 1 (a small update).
 */
unsigned pack_pull_connections(struct pack_pull *pp, const uint8_t commit[32]);

/*
 * Fetch from the packs offered for commit the objects of *missing
 * they hold (docs/formats/remote.md, "Pulling from packs"), each verified
 * and published at once; *missing keeps the others, for loose fetches. A
 * pack that fails (bad index, a server that ignores Range, wrong bytes) is
 * skipped with a warning naming it; only local failures (memory, the
 * repository) are returned, as a negative errno.
 */
int pack_pull_objects(struct pack_pull *pp, const uint8_t commit[32], struct want_list *missing);

/*
 * Partial pack entries (pack-partial.c): tmp/pull/<hex digest>.zst, the
 * compressed bytes of a large object's frame received so far. Entries of
 * at least PACK_PARTIAL_MIN compressed bytes get one.
 * pack_partial_length(): bytes kept (0: none, or not shorter than csize).
 * pack_partial_open(): create or reopen it, locked, cut to len bytes;
 * -EBUSY: another pull writes it; -ESTALE: it holds fewer than len bytes.
 */
#define PACK_PARTIAL_MIN (1024u * 1024u)
uint64_t pack_partial_length(struct st_repo *repo, const uint8_t digest[32], uint64_t csize);
int pack_partial_open(struct st_repo *repo, const uint8_t digest[32], uint64_t len, int *ret_fd);
void pack_partial_remove(struct st_repo *repo, const uint8_t digest[32]);
