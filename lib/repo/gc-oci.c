/* SPDX-License-Identifier: MIT */
/*
 * What gc keeps for images besides their trees: the tar-split record of
 * each layer (docs/formats/tar-split.md) refers to the objects of every
 * file of the layer, including files a later layer hid or removed, which
 * the merged tree no longer reaches. The records an image ref names (its
 * commit's oci.manifest -> oci/records/HEX -> "split" lines) are kept and
 * their objects marked; records no image names are swept. So are the TOC
 * pairs a partial pull keeps in cache/chunked-pairs (docs/formats/oci.md
 * "TOC deltas"): a pair stays while a kept image's manifest names it in a
 * layer's io.sealtree.toc-pair-checksum, the base of the next delta.
 *
 * Records are read as untrusted: one that does not parse marks what it
 * parsed so far (keeping more never loses data) and nothing else.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/dirent-util.h"
#include "basic/error.h"
#include "basic/hex.h"
#include "basic/json.h"
#include "repo/maint-internal.h"
#include "tree/tar-split.h"

#define SPLIT_DIR "oci/tar-split"
#define RECORDS_DIR "oci/records"
#define RECORD_MAX (1024u * 1024)
#define BLOBS_DIR "oci/blobs/sha256"
#define PAIRS_DIR "cache/chunked-pairs"
#define PAIR_ANNOTATION "io.sealtree.toc-pair-checksum"
#define MANIFEST_MAX (4u * 1024 * 1024)

static int mark_split(struct st_repo *repo, const uint8_t id[32], struct digest_set *objects, struct digest_set *splits)
{
	_cleanup_free_ char *buf = NULL;
	struct st_tar_split_iter it;
	struct st_tar_split_seg seg;
	char path[sizeof(SPLIT_DIR) + 66], hex[65];
	size_t len;
	int r;

	r = digest_set_add(splits, id);
	if (r <= 0)
		return r;
	snprintf(path, sizeof(path), SPLIT_DIR "/%s", hex32(id, hex));
	r = st_repo_read_file(repo, path, ST_TAR_SPLIT_MAX, &buf, &len);
	if (r < 0) {
		st_error_clear();
		return r == -ENOMEM ? r : 0;
	}
	if (st_tar_split_iter_init(&it, buf, len) < 0) {
		st_error_clear();
		return 0;
	}
	while ((r = st_tar_split_next(&it, &seg)) > 0)
		if (seg.tag == ST_TAR_SPLIT_FILE) {
			r = digest_set_add(objects, seg.digest);
			if (r < 0)
				return r;
		}
	st_error_clear();
	return 0;
}

/*
 * DIR/HEX for the manifest digest "sha256:HEX", read whole (at most max
 * bytes): 1 with *ret_buf set; 0 when the digest is malformed or the file
 * cannot be read (a damaged image keeps what it reached, never fails gc);
 * -ENOMEM.
 */
static int read_manifest_file(struct st_repo *repo, const char *dir, const char *manifest, size_t max,
			      char **ret_buf, size_t *ret_len)
{
	_cleanup_free_ char *path = NULL;
	int r;

	if (strncmp(manifest, "sha256:", 7) != 0 || strlen(manifest) != 71)
		return 0;
	if (asprintf(&path, "%s/%s", dir, manifest + 7) < 0)
		return -ENOMEM;
	r = st_repo_read_file(repo, path, max, ret_buf, ret_len);
	if (r < 0) {
		st_error_clear();
		return r == -ENOMEM ? r : 0;
	}
	return 1;
}

/* The "split sha256:HEX SIZE" lines of one image record. */
static int mark_record(struct st_repo *repo, const char *manifest, struct digest_set *objects,
		       struct digest_set *splits)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r;

	r = read_manifest_file(repo, RECORDS_DIR, manifest, RECORD_MAX, &buf, &len);
	if (r <= 0)
		return r;
	for (const char *p = buf; p && p < buf + len;) {
		const char *nl = memchr(p, '\n', (size_t)(buf + len - p));
		uint8_t id[32];

		if (!nl)
			break;
		if (nl - p > 6 + 7 + 64 && memcmp(p, "split sha256:", 13) == 0 && p[13 + 64] == ' ' &&
		    hex_decode_lower(p + 13, 64, id, sizeof(id)) >= 0) {
			r = mark_split(repo, id, objects, splits);
			if (r < 0)
				return r;
		}
		p = nl + 1;
	}
	return 0;
}

/* The TOC pairs the layers of the manifest (kept verbatim in BLOBS_DIR) name. */
static int mark_pairs(struct st_repo *repo, const char *manifest, struct digest_set *pairs)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_json_ struct json_value *doc = NULL;
	const struct json_value *layers;
	size_t len;
	int r;

	r = read_manifest_file(repo, BLOBS_DIR, manifest, MANIFEST_MAX, &buf, &len);
	if (r <= 0)
		return r;
	r = json_parse(buf, len, &(struct json_limits){ .max_bytes = MANIFEST_MAX }, &doc);
	if (r < 0) {
		st_error_clear();
		return r == -ENOMEM ? r : 0;
	}
	layers = json_get(doc, "layers");
	if (!json_is(layers, JSON_ARRAY))
		return 0;
	for (size_t i = 0; i < layers->n; i++) {
		const char *dg = json_string(json_get(json_get(&layers->items[i], "annotations"), PAIR_ANNOTATION));
		uint8_t id[32];

		if (dg && strncmp(dg, "sha256:", 7) == 0 && strlen(dg) == 71 &&
		    hex_decode_lower(dg + 7, 64, id, sizeof(id)) >= 0) {
			r = digest_set_add(pairs, id);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int mark_oci(struct st_repo *repo, struct digest_set *objects, struct digest_set *splits, struct digest_set *pairs)
{
	struct st_ref *refs = NULL;
	size_t n_refs = 0;
	int r;

	r = st_repo_list_refs(repo, true, &refs, &n_refs);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n_refs && r >= 0; i++) {
		struct st_commit *c = NULL;

		if (strncmp(refs[i].name, "refs/oci/", 9) != 0)
			continue;
		if (st_repo_read_commit(repo, refs[i].id, &c) < 0) {
			st_error_clear();       /* mark_refs() reports a missing commit */
			continue;
		}
		for (size_t k = 0; k < c->n_metadata && r >= 0; k++)
			if (strcmp(c->metadata[k].key, "oci.manifest") == 0) {
				r = mark_record(repo, c->metadata[k].value, objects, splits);
				if (r >= 0)
					r = mark_pairs(repo, c->metadata[k].value, pairs);
			}
		st_commit_free(c);
	}
	st_ref_list_free(refs, n_refs);
	return r;
}

/* Remove the files of DIR named by a SHA-256 in hex that keep does not hold. */
static int sweep_named(struct st_repo *repo, const char *dir, const struct digest_set *keep, bool dry_run)
{
	DIR *d = NULL;
	struct dirent *de;
	int r;

	r = opendir_beneath(st_repo_dirfd(repo), dir, &d);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return st_errf(r, "cannot open %s", dir);
	while ((r = readdir_next(d, &de)) > 0) {
		uint8_t id[32];

		if (strlen(de->d_name) != 64 || hex_decode_lower(de->d_name, 64, id, sizeof(id)) < 0)
			continue;
		if (digest_set_contains(keep, id) || dry_run)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT) {
			r = st_errf(-errno, "cannot remove %s/%s", dir, de->d_name);
			break;
		}
	}
	closedir(d);
	return r < 0 ? r : 0;
}

int sweep_oci(struct st_repo *repo, const struct digest_set *splits, const struct digest_set *pairs, bool dry_run)
{
	int r = sweep_named(repo, SPLIT_DIR, splits, dry_run);

	return r < 0 ? r : sweep_named(repo, PAIRS_DIR, pairs, dry_run);
}
