/* SPDX-License-Identifier: MIT */
/*
 * oci push of an image of the repository ("oci/NAME:TAG"): its config,
 * byte for byte, and its original layers, each rebuilt from its tar-split
 * record and the objects (verify.c: every object checked against its
 * fs-verity digest, the tar against the layer's diff_id), compressed with
 * zstd into an unnamed file in tmp/, then uploaded. The config's diff_ids
 * are those of the rebuilt tars, so the image is the one imported; only
 * the layer blobs (compressed anew) and the manifest differ from the
 * registry it came from. Unless the destination repository has every
 * original layer blob already (a push back to where the image came from):
 * then nothing is rebuilt, the original manifest is put as it is and the
 * image keeps its digest. See docs/formats/oci.md, "Pushing".
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "basic/beneath.h"
#include "basic/error.h"
#include "basic/io.h"
#include "fundamental/cpus.h"
#include "push-internal.h"

#define ZSTD_LEVEL 3

struct zout {
	ZSTD_CCtx *cc;
	int fd;
	struct oci_hash sha;
	uint64_t bytes;
	uint8_t *buf;
	size_t cap;
};

static int zout_feed(struct zout *z, const void *p, size_t len, ZSTD_EndDirective mode)
{
	ZSTD_inBuffer in = { p, len, 0 };

	for (;;) {
		ZSTD_outBuffer out = { z->buf, z->cap, 0 };
		size_t left = ZSTD_compressStream2(z->cc, &out, &in, mode);
		int r;

		if (ZSTD_isError(left))
			return st_errf(-EIO, "zstd: %s", ZSTD_getErrorName(left));
		if (out.pos > 0) {
			r = pwrite_full(z->fd, z->buf, out.pos, z->bytes);
			if (r < 0)
				return st_errf(r, "cannot write a layer to tmp/");
			oci_hash_update(&z->sha, z->buf, out.pos);
			z->bytes += out.pos;
		}
		if (mode == ZSTD_e_end ? left == 0 : in.pos == in.size)
			return 0;
	}
}

static int zout_write(void *userdata, const void *data, size_t len)
{
	return zout_feed(userdata, data, len, ZSTD_e_continue);
}

struct pushed_layer {
	int fd;
	char digest[ST_OCI_DIGEST_STRING_SIZE];
	uint64_t size, tar_size, files;
};

/* Layer i rebuilt and compressed into an unnamed file of tmp/. */
static int make_layer(struct st_repo *repo, const struct st_oci_image *img, size_t i, int tmp_dfd,
		      struct pushed_layer *ret)
{
	struct zout z = { .fd = -EBADF };
	uint8_t d[OCI_DIGEST_SIZE];
	int r;

	z.fd = openat(tmp_dfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (z.fd < 0)
		return st_errf(-errno, "cannot create a temporary file in tmp/");
	z.cap = ZSTD_CStreamOutSize();
	z.buf = malloc(z.cap);
	z.cc = ZSTD_createCCtx();
	r = z.buf && z.cc ? oci_hash_init(&z.sha) : -ENOMEM;
	if (r >= 0) {
		(void)ZSTD_CCtx_setParameter(z.cc, ZSTD_c_compressionLevel, ZSTD_LEVEL);
		(void)ZSTD_CCtx_setParameter(z.cc, ZSTD_c_checksumFlag, 1);
		/* Several threads where libzstd has them (an error where it has not: then one). */
		(void)ZSTD_CCtx_setParameter(z.cc, ZSTD_c_nbWorkers, (int)MIN(cpus_available(0), 8u));
		r = oci_layer_rebuild(repo, img, i, zout_write, &z, &ret->files, &ret->tar_size);
		if (r >= 0)
			r = zout_feed(&z, NULL, 0, ZSTD_e_end);
		oci_hash_final(&z.sha, d);
		oci_hash_done(&z.sha);
	}
	ZSTD_freeCCtx(z.cc);
	free(z.buf);
	if (r < 0) {
		close(z.fd);
		return r;
	}
	oci_digest_format(d, ret->digest);
	ret->size = z.bytes;
	ret->fd = z.fd;
	return 0;
}

static int build_manifest(const struct st_oci_image *img, size_t config_len, const struct pushed_layer *layers,
			  char **ret, size_t *ret_len)
{
	size_t cap = 512 + img->n_layers * 200, len;
	char *m = malloc(cap);
	int n;

	if (!m)
		return -ENOMEM;
	n = snprintf(m, cap,
		     "{\"schemaVersion\":2,\"mediaType\":\"" OCI_MT_MANIFEST "\","
		     "\"config\":{\"mediaType\":\"" OCI_MT_CONFIG "\",\"digest\":\"%s\",\"size\":%zu},\"layers\":[",
		     img->config_digest, config_len);
	len = (size_t)n;
	for (size_t i = 0; i < img->n_layers; i++) {
		n = snprintf(m + len, cap - len, "%s{\"mediaType\":\"" OCI_MT_LAYER_ZSTD "\",\"digest\":\"%s\",\"size\":%" PRIu64 "}",
			     i ? "," : "", layers[i].digest, layers[i].size);
		len += (size_t)n;
	}
	len += (size_t)snprintf(m + len, cap - len, "]}");
	*ret = m;
	*ret_len = len;
	return 0;
}

/* Whether the destination repository holds every original layer blob of img. */
static int has_original_layers(struct registry *reg, const struct st_oci_image *img, bool *ret)
{
	bool has = img->n_layers > 0;
	int r;

	for (size_t i = 0; has && i < img->n_layers; i++) {
		r = push_has_blob(reg, img->layers[i].digest, &has);
		if (r < 0)
			return r;
	}
	*ret = has;
	return 0;
}

/* The original manifest, byte for byte (checked against its digest as it is read), and the config. */
static int push_original(struct st_repo *repo, struct registry *reg, const struct st_oci_image *img,
			 const char *config, size_t config_len, const char *tag, struct st_oci_push_options *o)
{
	_cleanup_free_ char *manifest = NULL;
	size_t len;
	int r;

	r = st_oci_read_blob(repo, img->manifest_digest, &manifest, &len);
	if (r < 0)
		return r;
	r = push_blob(reg, img->config_digest, config, -1, config_len, o);
	if (r < 0)
		return r;
	r = push_manifest(reg, tag, img->manifest_media_type, manifest, len);
	if (r < 0)
		return r;
	memcpy(o->manifest_digest, img->manifest_digest, sizeof(o->manifest_digest));
	memcpy(o->layer_digest, img->layers[0].digest, sizeof(o->layer_digest));
	o->layers = img->n_layers;
	o->blobs_present += img->n_layers;
	o->original_manifest = 1;
	return 0;
}

int push_image(struct st_repo *repo, const char *spec, const struct registry_ref *dest, struct st_oci_push_options *o)
{
	_cleanup_free_ char *config = NULL, *manifest = NULL;
	_cleanup_close_ int tmp_dfd = -EBADF;
	struct pushed_layer *layers = NULL;
	struct st_oci_image *img = NULL;
	struct registry *reg = NULL;
	size_t config_len, manifest_len, made = 0;
	uint8_t d[OCI_DIGEST_SIZE];
	bool originals;
	int r;

	r = st_oci_get_image(repo, spec + 4, &img);
	if (r < 0)
		return r;
	r = st_oci_read_blob(repo, img->config_digest, &config, &config_len);
	if (r < 0)
		goto out;
	r = registry_new(dest, o->creds, !o->no_tls_verify, 1, 0, &reg);
	if (r < 0)
		goto out;
	reg->push = true;
	r = registry_connect(reg);
	/* The destination has the original layers (a push back to the repository the image came
	 * from, or to a mirror of it): the original manifest goes as it is, the image keeps its digest. */
	if (r >= 0)
		r = has_original_layers(reg, img, &originals);
	if (r >= 0 && originals) {
		r = push_original(repo, reg, img, config, config_len, dest->tag, o);
		goto out;
	}
	if (r < 0)
		goto out;
	for (size_t i = 0; i < img->n_layers; i++)
		if (!img->layers[i].split_digest[0]) {
			r = st_errf(-ENOENT, "image %s: layer %zu/%zu has no tar-split record (imported by an older "
				    "sealtree): import it again, or push its tree with --flatten", img->name, i + 1,
				    img->n_layers);
			goto out;
		}
	tmp_dfd = openat_beneath(st_repo_dirfd(repo), "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (tmp_dfd < 0) {
		r = st_errf(tmp_dfd, "cannot open the repository's tmp/");
		goto out;
	}
	layers = calloc(img->n_layers ? img->n_layers : 1, sizeof(*layers));
	if (!layers) {
		r = -ENOMEM;
		goto out;
	}
	for (; made < img->n_layers; made++) {
		r = make_layer(repo, img, made, tmp_dfd, &layers[made]);
		if (r < 0)
			goto out;
		o->tar_size += layers[made].tar_size;
		o->layer_size += layers[made].size;
		o->files += layers[made].files;
	}
	r = build_manifest(img, config_len, layers, &manifest, &manifest_len);
	if (r < 0)
		goto out;
	oci_sha256(manifest, manifest_len, d);
	oci_digest_format(d, o->manifest_digest);
	if (img->n_layers)
		memcpy(o->layer_digest, layers[0].digest, sizeof(o->layer_digest));
	o->layers = img->n_layers;

	for (size_t i = 0; r >= 0 && i < img->n_layers; i++)
		r = push_blob(reg, layers[i].digest, NULL, layers[i].fd, layers[i].size, o);
	if (r >= 0)
		r = push_blob(reg, img->config_digest, config, -1, config_len, o);
	if (r >= 0)
		r = push_manifest(reg, dest->tag, OCI_MT_MANIFEST, manifest, manifest_len);
out:
	registry_free(reg);
	for (size_t i = 0; i < made; i++)
		close(layers[i].fd);
	free(layers);
	st_oci_image_free(img);
	free(img);
	return r;
}
