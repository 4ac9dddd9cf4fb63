/* SPDX-License-Identifier: MIT */
/*
 * Layers rebuilt from what the repository keeps: each layer's tar-split
 * record (docs/formats/tar-split.md, read as untrusted input) and the
 * objects it refers to. Every object is checked against its fs-verity
 * digest while it is copied (so a damaged object is named with the member
 * that holds it), the whole stream against the diff_id. Used by
 * `oci verify` and by `oci push` of an imported image (push-layers.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/error.h"
#include "basic/hex.h"
#include "oci-internal.h"
#include "sealtree/repo-objects.h"
#include "sealtree/verity.h"

#define COPY_BUF (1024u * 1024)

struct rebuild {
	struct st_repo *repo;
	const char *layer;              /* "layer N/M (sha256:...)" for messages */
	struct oci_hash sha;
	struct st_verity_hasher *vh;
	uint8_t *buf;
	int (*write)(void *userdata, const void *data, size_t len);
	void *userdata;
	uint64_t files;
};

static int emit(struct rebuild *rb, const void *p, size_t len)
{
	oci_hash_update(&rb->sha, p, len);
	return rb->write ? rb->write(rb->userdata, p, len) : 0;
}

/* A FILE segment: its object, copied while its fs-verity digest is computed. */
static int emit_file(struct rebuild *rb, const struct st_tar_split_seg *seg)
{
	_cleanup_close_ int fd = -EBADF;
	uint8_t got[ST_DIGEST_SIZE];
	char obj[74], member[300];
	uint64_t done = 0;
	int r;

	st_repo_object_relpath(seg->digest, obj);
	snprintf(member, sizeof(member), "member '%.*s'", (int)MIN(seg->name_len, (size_t)256), seg->name);
	fd = st_repo_open_object(rb->repo, seg->digest);
	if (fd < 0)
		return st_errf(fd, "%s, %s: its object %s %s", rb->layer, member, obj,
			       fd == -ENOENT ? "is missing" : "cannot be opened");
	st_verity_hasher_reset(rb->vh);
	for (;;) {
		ssize_t n = read(fd, rb->buf, COPY_BUF);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return st_errf(-errno, "%s, %s: cannot read its object %s", rb->layer, member, obj);
		if (n == 0)
			break;
		if ((uint64_t)n > seg->len - done)
			return st_errf(-EBADMSG, "%s, %s: its object %s has more than the %" PRIu64 " bytes the record says",
				       rb->layer, member, obj, seg->len);
		r = st_verity_hasher_update(rb->vh, rb->buf, (size_t)n);
		if (r < 0)
			return r;
		r = emit(rb, rb->buf, (size_t)n);
		if (r < 0)
			return r;
		done += (uint64_t)n;
	}
	if (done != seg->len)
		return st_errf(-EBADMSG, "%s, %s: its object %s has %" PRIu64 " bytes, the record says %" PRIu64,
			       rb->layer, member, obj, done, seg->len);
	r = st_verity_hasher_final(rb->vh, got);
	if (r < 0)
		return r;
	if (memcmp(got, seg->digest, sizeof(got)) != 0)
		return st_errf(-EBADMSG, "%s, %s: its object %s does not match its fs-verity digest (damaged)", rb->layer,
			       member, obj);
	rb->files++;
	return 0;
}

static int rebuild_record(struct rebuild *rb, const uint8_t *rec, size_t len)
{
	struct st_tar_split_iter it;
	struct st_tar_split_seg seg;
	int r;

	r = st_tar_split_iter_init(&it, rec, len);
	while (r >= 0 && (r = st_tar_split_next(&it, &seg)) > 0) {
		switch (seg.tag) {
		case ST_TAR_SPLIT_RAW:
			r = emit(rb, seg.data, (size_t)seg.len);
			break;
		case ST_TAR_SPLIT_ZERO:
			memset(rb->buf, 0, COPY_BUF);
			for (uint64_t left = seg.len; r >= 0 && left > 0;) {
				size_t k = (size_t)MIN(left, (uint64_t)COPY_BUF);

				r = emit(rb, rb->buf, k);
				left -= k;
			}
			break;
		case ST_TAR_SPLIT_FILE:
			r = emit_file(rb, &seg);
			break;
		default:
			r = -EUCLEAN;
			break;
		}
	}
	if (r < 0 && !st_error_detail())
		return st_errf(r, "%s: cannot rebuild its tar", rb->layer);
	if (r < 0 && !strstr(st_error_detail(), "layer "))
		return st_errf(r, "%s: %s", rb->layer, st_error_detail());
	return r;
}

int oci_layer_rebuild(struct st_repo *repo, const struct st_oci_image *img, size_t index,
		      int (*write)(void *userdata, const void *data, size_t len), void *userdata, uint64_t *ret_files,
		      uint64_t *ret_bytes)
{
	const struct st_oci_layer_info *l = &img->layers[index];
	_cleanup_free_ uint8_t *rec = NULL;
	struct rebuild rb = { .repo = repo, .write = write, .userdata = userdata };
	uint8_t d[OCI_DIGEST_SIZE];
	char what[128], got[ST_OCI_DIGEST_STRING_SIZE];
	struct st_tar_split_iter it;
	size_t len;
	int r;

	snprintf(what, sizeof(what), "layer %zu/%zu (%s)", index + 1, img->n_layers, l->digest);
	rb.layer = what;
	if (!l->split_digest[0])
		return st_errf(-ENOENT, "%s: no tar-split record was kept (imported by an older sealtree: import it "
			       "again)", what);
	r = oci_read_split(repo, l->split_digest, l->split_size, &rec, &len);
	if (r < 0)
		return st_errf(r, "%s: %s", what, st_error_detail() ?: "cannot read its tar-split record");
	rb.buf = malloc(COPY_BUF);
	if (!rb.buf)
		return -ENOMEM;
	r = oci_hash_init(&rb.sha);
	if (r >= 0)
		r = st_verity_hasher_new(&rb.vh);
	if (r >= 0)
		r = rebuild_record(&rb, rec, len);
	oci_hash_final(&rb.sha, d);
	oci_hash_done(&rb.sha);
	st_verity_hasher_free(rb.vh);
	free(rb.buf);
	if (r < 0)
		return r;
	oci_digest_format(d, got);
	if (strcmp(got, l->diff_id) != 0)
		return st_errf(-EBADMSG, "%s: the rebuilt tar hashes to %s, its diff_id is %s", what, got, l->diff_id);
	/* The iterator checked that the record's end says the bytes its segments make. */
	(void)st_tar_split_iter_init(&it, rec, len);
	if (ret_files)
		*ret_files = rb.files;
	if (ret_bytes) {
		struct st_tar_split_seg seg;

		while (st_tar_split_next(&it, &seg) > 0)
			;
		*ret_bytes = it.covered;
	}
	return 0;
}

int st_oci_verify_image(struct st_repo *repo, const char *name, st_oci_verify_fn report, void *userdata)
{
	_cleanup_free_ char *config = NULL;
	struct st_oci_image *img = NULL;
	struct oci_config *cfg = NULL;
	size_t len, failed = 0;
	int r;

	if (!repo || !name)
		return -EINVAL;
	r = st_oci_get_image(repo, name, &img);
	if (r < 0)
		return r;
	r = st_oci_read_blob(repo, img->config_digest, &config, &len);
	if (r >= 0)
		r = oci_config_parse(config, len, img->config_digest, &cfg);
	if (r >= 0 && cfg->n_diff_ids != img->n_layers)
		r = st_errf(-EUCLEAN, "image %s: its config has %zu diff_ids for %zu layers", name, cfg->n_diff_ids,
			    img->n_layers);
	for (size_t i = 0; r >= 0 && i < img->n_layers; i++) {
		struct st_oci_verify_layer v = { .index = i, .n_layers = img->n_layers, .digest = img->layers[i].digest,
						 .diff_id = cfg->diff_ids[i] };
		char detail[1024];

		st_error_clear();
		if (strcmp(cfg->diff_ids[i], img->layers[i].diff_id) != 0)
			v.result = st_errf(-EBADMSG, "layer %zu/%zu (%s): its record says diff_id %s, the config %s",
					   i + 1, img->n_layers, img->layers[i].digest, img->layers[i].diff_id,
					   cfg->diff_ids[i]);
		else
			v.result = oci_layer_rebuild(repo, img, i, NULL, NULL, &v.files, &v.bytes);
		if (v.result < 0) {
			snprintf(detail, sizeof(detail), "%s", st_error_detail() ?: strerror(-v.result));
			v.detail = detail;
			failed++;
		}
		if (report)
			report(userdata, &v);
	}
	if (r >= 0 && failed)
		r = st_errf(-EBADMSG, "image %s: %zu of %zu layers do not rebuild to their diff_id", name, failed,
			    img->n_layers);
	oci_config_free(cfg);
	st_oci_image_free(img);
	free(img);
	return r;
}
