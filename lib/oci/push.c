/* SPDX-License-Identifier: MIT */
/*
 * st_oci_push(): a commit's tree -> our pax tar (st_repo_export_tar) in
 * tmp/ -> a zstd:chunked layer in tmp/ (chunked-write.c) -> config and
 * manifest -> the registry (distribution spec "Push": HEAD to skip a blob
 * it has, POST /blobs/uploads/ then PUT LOCATION?digest= with the whole
 * blob, then PUT of the manifest under the tag). See docs/formats/oci.md,
 * "Pushing".
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "basic/beneath.h"
#include "basic/error.h"
#include "chunked.h"
#include "fundamental/macro.h"
#include "oci-internal.h"
#include "push-internal.h"
#include "registry-internal.h"
#include "sealtree/oci-push.h"

#if defined(__x86_64__)
#define PUSH_ARCH "amd64"
#elif defined(__aarch64__)
#define PUSH_ARCH "arm64"
#else
#define PUSH_ARCH "amd64"
#endif

static int status_error(const char *what, const char *method, const char *url, const struct http_send_result *res)
{
	int r = res->status == 401 || res->status == 403 ? -EACCES : res->status == 404 ? -ENOENT : -EIO;

	return st_errf(r, "%s: %s %s answered %ld%s%.300s", what, method, url, res->status, res->body ? ": " : "",
		       res->body ? res->body : "");
}

int push_send_auth(struct registry *reg, const char *method, const char *url, const char *content_type,
		     const void *body, int fd, uint64_t len, struct http_send_result *ret)
{
	_cleanup_free_ char *ct = NULL;
	int r;

	if (content_type && asprintf(&ct, "Content-Type: %s", content_type) < 0)
		return -ENOMEM;
	for (unsigned attempt = 0;; attempt++) {
		const char *headers[3] = {};
		size_t nh = 0;

		if (reg->authorization)
			headers[nh++] = reg->authorization;
		if (ct)
			headers[nh++] = ct;
		r = http_send(reg->http, method, url, headers, body, fd, len, ret);
		if (r < 0 || ret->status != 401 || attempt > 0)
			return r;
		http_send_result_done(ret);
		r = registry_reauth(reg);
		if (r < 0)
			return r;
	}
}

/* The upload URL of a Location header: absolute http(s), or a path below base. */
static int upload_url(struct registry *reg, const char *location, const char *digest, char **ret)
{
	const char *sep = strchr(location, '?') ? "&" : "?";

	if (location[0] == '/')
		return asprintf(ret, "%s%s%sdigest=%s", reg->base, location, sep, digest) < 0 ? -ENOMEM : 0;
	if (strncmp(location, "http://", 7) == 0 || strncmp(location, "https://", 8) == 0)
		return asprintf(ret, "%s%sdigest=%s", location, sep, digest) < 0 ? -ENOMEM : 0;
	return st_errf(-EUCLEAN, "%s: the upload location '%.200s' is not a URL", reg->base, location);
}

int push_has_blob(struct registry *reg, const char *digest, bool *ret)
{
	_cleanup_(http_send_result_done) struct http_send_result res = {};
	_cleanup_free_ char *url = NULL;
	int r;

	if (asprintf(&url, "%s/v2/%s/blobs/%s", reg->base, reg->name, digest) < 0)
		return -ENOMEM;
	r = push_send_auth(reg, "HEAD", url, NULL, NULL, -1, 0, &res);
	if (r < 0)
		return r;
	*ret = res.status == 200;
	return 0;
}

int push_blob(struct registry *reg, const char *digest, const void *body, int fd, uint64_t len,
		     struct st_oci_push_options *o)
{
	_cleanup_(http_send_result_done) struct http_send_result res = {};
	_cleanup_free_ char *url = NULL, *put = NULL;
	char what[ST_OCI_DIGEST_STRING_SIZE + 8];
	bool has;
	int r;

	(void)snprintf(what, sizeof(what), "blob %s", digest);
	r = push_has_blob(reg, digest, &has);
	if (r < 0)
		return r;
	if (has) {
		o->blobs_present++;
		return 0;
	}
	if (asprintf(&url, "%s/v2/%s/blobs/uploads/", reg->base, reg->name) < 0)
		return -ENOMEM;
	r = push_send_auth(reg, "POST", url, NULL, "", -1, 0, &res);
	if (r < 0)
		return r;
	if (res.status != 202 || !res.location)
		return res.status == 202 ? st_errf(-EUCLEAN, "%s: POST %s gave no Location", what, url)
					 : status_error(what, "POST", url, &res);
	r = upload_url(reg, res.location, digest, &put);
	if (r < 0)
		return r;
	http_send_result_done(&res);
	r = push_send_auth(reg, "PUT", put, "application/octet-stream", body, fd, len, &res);
	if (r < 0)
		return r;
	if (res.status != 201)
		return status_error(what, "PUT", put, &res);
	o->blobs_uploaded++;
	o->bytes_uploaded += len;
	return 0;
}

static int build_config(const struct st_commit *c, const struct chunked_result *cr, const struct st_oci_push_options *o,
			char **ret, size_t *ret_len)
{
	struct tm tm;
	time_t t = (time_t)c->timestamp;
	char created[64];
	int n;

	if (!gmtime_r(&t, &tm) || strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return -EINVAL;
	n = asprintf(ret,
		     "{\"created\":\"%s\",\"architecture\":\"%s\",\"os\":\"%s\",\"config\":{},"
		     "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]},"
		     "\"history\":[{\"created\":\"%s\",\"created_by\":\"sealtree oci push\"}]}",
		     created, o->architecture ? o->architecture : PUSH_ARCH, o->os ? o->os : "linux", cr->diff_id,
		     created);
	if (n < 0)
		return -ENOMEM;
	*ret_len = (size_t)n;
	return 0;
}

static int build_manifest(const char *config_digest, size_t config_len, const struct chunked_result *cr,
			  const char *base_digest, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *hdrs = NULL, *delta = NULL;
	int n;

	/* Our tar headers frame, if written (not with plain_chunked). */
	if (cr->hdrs_length > 0 &&
	    asprintf(&hdrs, ",\"" CHUNKED_ANN_HDRS_DIGEST "\":\"%s\",\"" CHUNKED_ANN_HDRS_POSITION "\":\"%" PRIu64 ":%"
		     PRIu64 ":%" PRIu64 "\"", cr->hdrs_digest, cr->hdrs_offset, cr->hdrs_length, cr->hdrs_uncompressed) < 0)
		return -ENOMEM;
	/* The pair's digest, and its delta against the base's if one was written (docs/formats/oci.md, "TOC deltas"). */
	if (cr->hdrs_length > 0 &&
	    asprintf(&delta, ",\"" CHUNKED_ANN_PAIR_DIGEST "\":\"%s\"", cr->pair_digest) < 0)
		return -ENOMEM;
	if (cr->delta_length > 0) {
		char *with = NULL;

		if (asprintf(&with, "%s,\"" CHUNKED_ANN_DELTA_BASE "\":\"%s\",\"" CHUNKED_ANN_DELTA_DIGEST "\":\"%s\",\""
			     CHUNKED_ANN_DELTA_POSITION "\":\"%" PRIu64 ":%" PRIu64 "\"", delta, base_digest,
			     cr->delta_digest, cr->delta_offset, cr->delta_length) < 0)
			return -ENOMEM;
		free(delta);
		delta = with;
	}
	n = asprintf(ret,
			 "{\"schemaVersion\":2,\"mediaType\":\"" OCI_MT_MANIFEST "\","
			 "\"config\":{\"mediaType\":\"" OCI_MT_CONFIG "\",\"digest\":\"%s\",\"size\":%zu},"
			 "\"layers\":[{\"mediaType\":\"" OCI_MT_LAYER_ZSTD "\",\"digest\":\"%s\",\"size\":%" PRIu64 ","
			 "\"annotations\":{\"" CHUNKED_ANN_TOC_DIGEST "\":\"%s\",\"" CHUNKED_ANN_TOC_POSITION
			 "\":\"%" PRIu64 ":%" PRIu64 ":%" PRIu64 ":%u\"%s%s}}]}",
			 config_digest, config_len, cr->blob_digest, cr->blob_size, cr->toc_digest, cr->toc_offset,
			 cr->toc_length, cr->toc_uncompressed, CHUNKED_TOC_TYPE, hdrs ? hdrs : "",
			 delta ? delta : "");

	if (n < 0)
		return -ENOMEM;
	*ret_len = (size_t)n;
	return 0;
}

static int make_layer(struct st_repo *repo, const char *spec, bool plain, const struct chunked_base *base,
		      struct st_commit **ret_commit, int *ret_fd, struct chunked_result *cr)
{
	_cleanup_close_ int tmp_dfd = -EBADF, tar_fd = -EBADF, out_fd = -EBADF;
	struct st_node *root = NULL;
	struct st_commit *c = NULL;
	int r;

	r = st_repo_read_tree(repo, spec, &c, &root);
	if (r < 0)
		return r;
	/* What our import (and a runtime's safety) refuses is not pushed: no device nodes. */
	r = oci_check_no_devices(root, spec);
	if (r < 0)
		goto out;
	tmp_dfd = openat_beneath(st_repo_dirfd(repo), "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (tmp_dfd < 0) {
		r = st_errf(tmp_dfd, "cannot open the repository's tmp/");
		goto out;
	}
	tar_fd = openat(tmp_dfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	out_fd = openat(tmp_dfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (tar_fd < 0 || out_fd < 0) {
		r = st_errf(-errno, "cannot create temporary files in tmp/");
		goto out;
	}
	r = st_repo_export_tar(repo, root, tar_fd);
	if (r < 0)
		goto out;
	r = chunked_write(tar_fd, out_fd, plain ? CHUNKED_WRITE_PLAIN : 0, plain ? NULL : base, cr);
	if (r < 0)
		goto out;
	*ret_commit = TAKE_PTR(c);
	*ret_fd = TAKE_FD(out_fd);
out:
	st_node_free(root);
	st_commit_free(c);
	return r;
}

/*
 * The pair (TOC and tar headers frame) of the first layer of the image at
 * ref in the destination repository, fetched by Range and checked against
 * that manifest's annotations: 1 (base filled), 0 when it has none (not an
 * image of ours, or no such tag), or -errno. Nothing here is trusted by a
 * client: a pull checks what the delta rebuilds against its own manifest.
 */
static int fetch_base(struct st_repo *repo, struct registry *reg, const char *ref, struct chunked_base *base,
		      uint8_t **ret_data)
{
	_cleanup_(registry_response_done) struct registry_response resp = {};
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int tmp_dfd = -EBADF;
	struct oci_manifest *m = NULL;
	size_t len = 0;
	int r;

	if (asprintf(&path, "/v2/%s/manifests/%s", reg->name, ref) < 0)
		return -ENOMEM;
	r = registry_get(reg, path, OCI_MT_MANIFEST, OCI_MANIFEST_MAX, &resp);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return st_errf(r, "the delta base %s: cannot read its manifest", ref);
	if (oci_manifest_parse(resp.body, resp.len, ref, &m) < 0 || m->n_layers == 0) {
		oci_manifest_free(m);
		st_error_clear();
		return 0;
	}
	tmp_dfd = openat_beneath(st_repo_dirfd(repo), "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (tmp_dfd < 0) {
		oci_manifest_free(m);
		return st_errf(tmp_dfd, "cannot open the repository's tmp/");
	}
	r = chunked_fetch_pair(reg, tmp_dfd, resp.body, resp.len, 0, &m->layers[0], ret_data, &len, base->digest);
	oci_manifest_free(m);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return st_errf(r, "the delta base %s: %s", ref, st_error_detail() ?: "cannot read its TOC");
	base->data = *ret_data;
	base->len = len;
	return 1;
}

int st_oci_push(struct st_repo *repo, const char *spec, const char *destination, struct st_oci_push_options *o)
{
	_cleanup_(registry_ref_done) struct registry_ref ref = {};
	_cleanup_free_ char *config = NULL, *manifest = NULL;
	_cleanup_close_ int layer_fd = -EBADF;
	struct st_oci_push_options defaults = {};
	struct chunked_result cr;
	struct chunked_base base = {};
	_cleanup_free_ uint8_t *base_data = NULL;
	struct st_commit *c = NULL;
	struct registry *reg = NULL;
	char config_digest[ST_OCI_DIGEST_STRING_SIZE];
	uint8_t d[OCI_DIGEST_SIZE];
	size_t config_len, manifest_len;
	int r;

	if (!repo || !spec || !destination)
		return -EINVAL;
	if (!o)
		o = &defaults;
	r = registry_ref_parse(destination, &ref);
	if (r < 0)
		return r;
	if (!ref.tag)
		return st_errf(-EINVAL, "'%s': push needs a tag (REGISTRY/NAME:TAG)", destination);
	o->layers = 0;
	/* An image of the repository: its own config and layers (push-image.c). */
	if (!o->flatten && strncmp(spec, "oci/", 4) == 0 && strchr(spec, ':'))
		return push_image(repo, spec, &ref, o);
	r = registry_new(&ref, o->creds, !o->no_tls_verify, 1, 0, &reg);
	if (r < 0)
		return r;
	reg->push = true;
	r = registry_connect(reg);
	/* A delta of the TOC against the image at --delta-from (in the same repository). */
	if (r >= 0 && !o->plain_chunked && o->delta_from)
		r = fetch_base(repo, reg, o->delta_from, &base, &base_data);
	if (r >= 0)
		r = make_layer(repo, spec, o->plain_chunked, r > 0 ? &base : NULL, &c, &layer_fd, &cr);
	if (r < 0)
		goto out;
	o->delta_bytes = cr.delta_length;
	r = build_config(c, &cr, o, &config, &config_len);
	st_commit_free(c);
	if (r < 0)
		goto out;
	oci_sha256(config, config_len, d);
	oci_digest_format(d, config_digest);
	r = build_manifest(config_digest, config_len, &cr, base.digest, &manifest, &manifest_len);
	if (r < 0)
		goto out;
	oci_sha256(manifest, manifest_len, d);
	oci_digest_format(d, o->manifest_digest);
	memcpy(o->layer_digest, cr.blob_digest, sizeof(o->layer_digest));
	o->files = cr.files;
	o->entries = cr.entries;
	o->layer_size = cr.blob_size;
	o->tar_size = cr.tar_size;
	r = push_blob(reg, cr.blob_digest, NULL, layer_fd, cr.blob_size, o);
	if (r >= 0)
		r = push_blob(reg, config_digest, config, -1, config_len, o);
	if (r >= 0)
		r = push_manifest(reg, ref.tag, OCI_MT_MANIFEST, manifest, manifest_len);
out:
	registry_free(reg);
	return r;
}

int push_manifest(struct registry *reg, const char *tag, const char *media_type, const char *manifest, size_t len)
{
	_cleanup_(http_send_result_done) struct http_send_result res = {};
	_cleanup_free_ char *url = NULL;
	int r;

	if (asprintf(&url, "%s/v2/%s/manifests/%s", reg->base, reg->name, tag) < 0) {
		url = NULL;
		return -ENOMEM;
	}
	r = push_send_auth(reg, "PUT", url, media_type, manifest, -1, len, &res);
	if (r >= 0 && res.status != 201)
		r = status_error("manifest", "PUT", url, &res);
	return r;
}
