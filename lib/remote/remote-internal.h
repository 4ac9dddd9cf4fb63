/* SPDX-License-Identifier: MIT */
/* Internals shared by the files of lib/remote. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "sealtree/remote.h"

/* The message a summary signature covers, and the summary's SHA-256. */
int summary_signed_message(const void *data, size_t len, uint8_t ret_hash[32],
			   uint8_t ret_msg[sizeof(ST_SUMMARY_SIGNATURE_DOMAIN) + 32]);

/* REPO/remotes/NAME/seen: the timestamp of the newest summary accepted (0 if none). */
int remote_read_seen(struct st_repo *repo, const char *name, int64_t *ret);
int remote_write_seen(struct st_repo *repo, const char *name, int64_t ts);

/*
 * Partial downloads (partial.c): REPO/tmp/pull/<hex digest>, the first bytes
 * of a large object, kept across attempts and pulls. partial_length(): how
 * many of them a request may ask the server to skip (fewer than size; 0
 * without a usable file). partial_open(): create or reopen it, locked, cut
 * to len bytes, those hashed into hasher (reset first); -EBUSY: another pull
 * writes it; -ESTALE: it holds fewer than len bytes now.
 */
#define PARTIAL_MIN (1024u * 1024u)     /* smaller objects are fetched whole every time */
struct st_verity_hasher;
uint64_t partial_length(struct st_repo *repo, const uint8_t digest[32], uint64_t size);
int partial_open(struct st_repo *repo, const uint8_t digest[32], uint64_t len, struct st_verity_hasher *hasher,
		 int *ret_fd);
int partial_remove(struct st_repo *repo, const uint8_t digest[32]);
/* Remove every partial file no pull holds (after a pull that completed). */
int partial_sweep(struct st_repo *repo);
/*
 * The image of a commit whose objects are still coming: REPO/tmp/pull/<hex
 * digest>.image, kept once verified so that a pull killed or failed before
 * the image is published does not fetch it again. partial_image_keep():
 * best effort: an fd holding its lock while the pull runs (fsck and sweeps
 * skip locked files), or a negative errno the caller may ignore.
 * partial_image_read(): its bytes (malloc'ed, size) only if they have that
 * fs-verity digest and size, else -ENOENT (and a wrong file is removed).
 */
int partial_image_keep(struct st_repo *repo, const uint8_t digest[32], const void *data, size_t len);
int partial_image_read(struct st_repo *repo, const uint8_t digest[32], uint64_t size, char **ret);
void partial_image_remove(struct st_repo *repo, const uint8_t digest[32]);

/*
 * The places a remote's files are fetched from (sources.c): its url and its
 * mirrors, each without trailing '/'. Metadata (summary, signatures,
 * commits) is asked of the url first, then each mirror; content (images,
 * objects) of each mirror in order first, then the url. A source that fails
 * (after the transport's retries) hands the file to the next one.
 */
struct pull_sources {
	char **base;            /* [0]: the url, then the mirrors */
	size_t n;
};
int pull_sources_init(const struct st_remote *remote, struct pull_sources *ret);
void pull_sources_release(struct pull_sources *s);
/* The base of the i-th source to ask for metadata / for content (i < s->n). */
const char *pull_sources_metadata(const struct pull_sources *s, size_t i);
const char *pull_sources_content(const struct pull_sources *s, size_t i);
