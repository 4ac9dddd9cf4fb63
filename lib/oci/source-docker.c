/* SPDX-License-Identifier: MIT */
/*
 * docker-archive sources (`docker save`, skopeo's docker-archive:):
 * manifest.json lists, per image, the config file and the layer files in
 * order; nothing in the archive names a layer by digest. The config is
 * identified by its SHA-256 (checked against its file name when that is
 * "<hex>.json"), each layer by the SHA-256 of its file, and the layer's
 * uncompressed stream must match the config's diff_id (checked by the
 * layer reader as for every source). From these a Docker schema 2 manifest
 * is synthesized (docs/formats/oci.md), so that the image is stored and
 * described exactly as one from a layout or a registry.
 */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/error.h"
#include "basic/json.h"
#include "oci-internal.h"

#define DOCKER_MT_LAYER_TAR "application/vnd.docker.image.rootfs.diff.tar"

/* SHA-256 and the compression (by magic number) of a layer file, read whole. */
static int hash_layer(struct st_oci_source *src, const char *path, char ret_digest[ST_OCI_DIGEST_STRING_SIZE],
		      uint64_t *ret_size, const char **ret_mt)
{
	_cleanup_close_ int fd = -EBADF;
	struct oci_hash h = { 0 };
	uint8_t buf[65536], magic[4] = { 0 }, raw[OCI_DIGEST_SIZE];
	uint64_t size, total = 0;
	int r;

	r = oci_source_open_file(src, path, &fd, &size);
	if (r < 0)
		return r;
	r = oci_hash_init(&h);
	if (r < 0)
		return r;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0) {
			r = st_errf(-errno, "%s: cannot read layer '%s': %m", src->display, path);
			oci_hash_done(&h);
			return r;
		}
		if (n == 0)
			break;
		if (total < sizeof(magic))
			memcpy(magic + total, buf, MIN(sizeof(magic) - total, (size_t)n));
		oci_hash_update(&h, buf, (size_t)n);
		total += (uint64_t)n;
	}
	oci_hash_final(&h, raw);
	oci_hash_done(&h);
	oci_digest_format(raw, ret_digest);
	*ret_size = total;
	if (magic[0] == 0x1f && magic[1] == 0x8b)
		*ret_mt = DOCKER_MT_LAYER_GZIP;
	else if (magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd)
		*ret_mt = OCI_MT_LAYER_ZSTD;
	else
		*ret_mt = DOCKER_MT_LAYER_TAR;
	return 0;
}

/* Append to a growing string. */
static int _printf_(3, 4) put(char **buf, size_t *len, const char *fmt, ...)
{
	_cleanup_free_ char *piece = NULL;
	va_list ap;
	char *b;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&piece, fmt, ap);
	va_end(ap);
	if (n < 0) {
		piece = NULL;
		return -ENOMEM;
	}
	b = realloc(*buf, *len + (size_t)n + 1);
	if (!b)
		return -ENOMEM;
	memcpy(b + *len, piece, (size_t)n + 1);
	*buf = b;
	*len += (size_t)n;
	return 0;
}

static int read_config(struct st_oci_source *src, const char *path, struct oci_image_docs *docs,
		       char ret_digest[ST_OCI_DIGEST_STRING_SIZE])
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	uint8_t raw[OCI_DIGEST_SIZE];
	char what[160];
	int r;

	r = oci_source_read_file(src, path, OCI_CONFIG_MAX, &docs->config, &docs->config_len);
	if (r < 0)
		return r;
	oci_sha256(docs->config, docs->config_len, raw);
	oci_digest_format(raw, ret_digest);
	/* "<64 hex>.json" (or "blobs/sha256/<hex>") names the digest it must have. */
	if ((strlen(base) == 69 && strcmp(base + 64, ".json") == 0 && strncmp(base, ret_digest + 7, 64) != 0) ||
	    (strlen(base) == 64 && strncmp(path, "blobs/sha256/", 13) == 0 && strcmp(base, ret_digest + 7) != 0))
		return st_errf(-EBADMSG, "%s: config '%s' does not match the digest its name gives (it hashes to %s)",
			       src->display, path, ret_digest);
	snprintf(what, sizeof(what), "%s: config %s", src->display, ret_digest);
	return oci_config_parse(docs->config, docs->config_len, what, &docs->c);
}

static int synthesize(struct st_oci_source *src, const struct json_value *layers, const char *config_digest,
		      struct oci_image_docs *docs)
{
	_cleanup_free_ char *m = NULL;
	size_t len = 0;
	uint8_t raw[OCI_DIGEST_SIZE];
	char what[160];
	int r;

	r = put(&m, &len, "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":\"%s\",\"digest\":\"%s\","
		"\"size\":%zu},\"layers\":[", DOCKER_MT_MANIFEST, DOCKER_MT_CONFIG, config_digest, docs->config_len);
	for (size_t i = 0; r >= 0 && i < layers->n; i++) {
		char digest[ST_OCI_DIGEST_STRING_SIZE];
		const char *mt;
		uint64_t size;

		r = hash_layer(src, src->docker_layers[i], digest, &size, &mt);
		if (r >= 0)
			r = put(&m, &len, "%s{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%" PRIu64 "}", i ? "," : "", mt,
				digest, size);
	}
	if (r >= 0)
		r = put(&m, &len, "]}");
	if (r < 0)
		return r;
	oci_sha256(m, len, raw);
	oci_digest_format(raw, docs->manifest_digest);
	snprintf(what, sizeof(what), "%s: manifest.json", src->display);
	r = oci_manifest_parse(m, len, what, &docs->m);
	if (r < 0)
		return r;
	docs->manifest = TAKE_PTR(m);
	docs->manifest_len = len;
	return 0;
}

int oci_docker_resolve(struct st_oci_source *src, struct oci_image_docs *docs)
{
	_cleanup_json_ struct json_value *v = NULL;
	_cleanup_free_ char *buf = NULL;
	char config_digest[ST_OCI_DIGEST_STRING_SIZE];
	const struct json_value *img, *layers;
	const char *config;
	size_t len;
	int r;

	r = oci_source_read_file(src, "manifest.json", OCI_MANIFEST_MAX, &buf, &len);
	if (r < 0)
		return r;
	r = json_parse(buf, len, NULL, &v);
	if (r < 0)
		return st_errf(r, "%s: manifest.json: %s", src->display, st_error_detail() ?: "invalid JSON");
	if (!json_is(v, JSON_ARRAY) || v->n == 0)
		return st_errf(-EUCLEAN, "%s: manifest.json is not a non-empty array", src->display);
	if (v->n > 1)
		return st_errf(-ENOTUNIQ, "%s: manifest.json lists %zu images (only archives of one image are supported)",
			       src->display, v->n);
	img = &v->items[0];
	config = json_string(json_get(img, "Config"));
	layers = json_get(img, "Layers");
	if (!config || !json_is(layers, JSON_ARRAY))
		return st_errf(-EUCLEAN, "%s: manifest.json: no Config or no Layers", src->display);
	if (layers->n > OCI_LAYERS_MAX)
		return st_errf(-EUCLEAN, "%s: manifest.json: more than %u layers", src->display, OCI_LAYERS_MAX);
	src->docker_layers = calloc(layers->n ? layers->n : 1, sizeof(char *));
	if (!src->docker_layers)
		return -ENOMEM;
	for (size_t i = 0; i < layers->n; i++) {
		if (!json_string(&layers->items[i]))
			return st_errf(-EUCLEAN, "%s: manifest.json: Layers[%zu] is not a string", src->display, i);
		src->docker_layers[i] = strdup(layers->items[i].str);
		if (!src->docker_layers[i])
			return -ENOMEM;
		src->n_docker_layers = i + 1;
	}
	r = read_config(src, config, docs, config_digest);
	if (r < 0)
		return r;
	return synthesize(src, layers, config_digest, docs);
}
