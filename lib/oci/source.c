/* SPDX-License-Identifier: MIT */
/*
 * Sources of images: an OCI image layout (a directory, or an oci-archive
 * read into a private store by source-archive.c) and, through
 * source-docker.c, a docker-archive. Everything a source holds is
 * untrusted: files are opened beneath the source, never through a symlink,
 * each document is capped in size, and each blob is checked against the
 * digest and size its descriptor gives before anything of it is used.
 */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/beneath.h"
#include "basic/error.h"
#include "basic/io.h"
#include "basic/json.h"
#include "oci-internal.h"
#include "tree/tree-internal.h"

void oci_image_docs_done(struct oci_image_docs *d)
{
	free(d->manifest);
	free(d->config);
	oci_manifest_free(d->m);
	oci_config_free(d->c);
	*d = (struct oci_image_docs){ 0 };
}

struct st_oci_source *st_oci_source_free(struct st_oci_source *src)
{
	if (!src)
		return NULL;
	if (src->dir_fd >= 0)
		close(src->dir_fd);
	oci_source_archive_done(src);
	for (size_t i = 0; i < src->n_docker_layers; i++)
		free(src->docker_layers[i]);
	free(src->docker_layers);
	free(src->display);
	free(src->ref);
	free(src);
	return NULL;
}

static int source_new(enum oci_source_type type, const char *prefix, const char *path, const char *ref,
		      struct st_oci_source **ret)
{
	struct st_oci_source *src = calloc(1, sizeof(*src));

	if (!src)
		return -ENOMEM;
	src->type = type;
	src->dir_fd = -EBADF;
	src->store_fd = -EBADF;
	if (asprintf(&src->display, "%s:%s", prefix, path) < 0) {
		src->display = NULL;
		st_oci_source_free(src);
		return -ENOMEM;
	}
	if (ref && *ref) {
		src->ref = strdup(ref);
		if (!src->ref) {
			st_oci_source_free(src);
			return -ENOMEM;
		}
	}
	*ret = src;
	return 0;
}

int st_oci_source_open_layout(const char *dir, const char *ref, struct st_oci_source **ret)
{
	struct st_oci_source *src;
	int r;

	if (!dir || !ret)
		return -EINVAL;
	r = source_new(OCI_SOURCE_LAYOUT, "oci", dir, ref, &src);
	if (r < 0)
		return r;
	src->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (src->dir_fd < 0) {
		r = st_errf(-errno, "cannot open the OCI layout directory '%s': %m", dir);
		st_oci_source_free(src);
		return r;
	}
	*ret = src;
	return 0;
}

/* "PATH[:REF]": REF after the last ':' if what follows has no '/' (a path may hold ':' too). */
static int split_ref(const char *s, char **ret_path, char **ret_ref)
{
	const char *colon = strrchr(s, ':'), *at = strrchr(s, '@');
	const char *cut = NULL;

	if (at && (!colon || at > colon || (colon > at && strncmp(at, "@sha256:", 8) == 0)))
		cut = at;       /* oci:DIR@sha256:... */
	else if (colon && !strchr(colon, '/'))
		cut = colon;
	*ret_path = strndup(s, cut ? (size_t)(cut - s) : strlen(s));
	if (!*ret_path)
		return -ENOMEM;
	*ret_ref = NULL;
	if (cut) {
		*ret_ref = strdup(*cut == '@' ? cut : cut + 1);
		if (!*ret_ref) {
			free(*ret_path);
			return -ENOMEM;
		}
	}
	return 0;
}

int st_oci_source_open(const char *spec, const char *tmp_dir, struct st_oci_source **ret)
{
	_cleanup_free_ char *path = NULL, *ref = NULL;
	struct st_oci_source *src = NULL;
	int r;

	if (!spec || !ret)
		return -EINVAL;
	if (strncmp(spec, "oci:", 4) == 0) {
		r = split_ref(spec + 4, &path, &ref);
		if (r < 0)
			return r;
		return st_oci_source_open_layout(path, ref, ret);
	}
	if (strncmp(spec, "oci-archive:", 12) == 0) {
		r = split_ref(spec + 12, &path, &ref);
		if (r >= 0)
			r = source_new(OCI_SOURCE_OCI_ARCHIVE, "oci-archive", path, ref, &src);
	} else if (strncmp(spec, "docker-archive:", 15) == 0) {
		path = strdup(spec + 15);
		if (!path)
			return -ENOMEM;
		r = source_new(OCI_SOURCE_DOCKER_ARCHIVE, "docker-archive", path, NULL, &src);
	} else
		return st_errf(-EINVAL, "unknown source '%.200s' (oci:DIR[:TAG], oci-archive:FILE[:TAG] or "
			       "docker-archive:FILE)", spec);
	if (r < 0)
		return r;
	r = oci_source_unpack_archive(src, path, tmp_dir);
	if (r < 0) {
		st_oci_source_free(src);
		return r;
	}
	*ret = src;
	return 0;
}

int oci_source_open_file(struct st_oci_source *src, const char *relpath, int *ret_fd, uint64_t *ret_size)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	int r;

	if (src->tree) {
		struct st_node *n;

		r = st_tree_lookup(src->tree, relpath, &n);
		if (r < 0)
			return st_errf(-ENOENT, "%s: no '%s' in the archive", src->display, relpath);
		n = node_resolve(n);
		if (!node_is_reg(n))
			return st_errf(-EUCLEAN, "%s: '%s' is not a regular file", src->display, relpath);
		if (n->content || n->size == 0) {
			fd = memfd_create("oci-small-file", MFD_CLOEXEC);
			if (fd < 0)
				return -errno;
			r = write_full(fd, n->content, n->size);
			if (r < 0)
				return r;
			if (lseek(fd, 0, SEEK_SET) < 0)
				return -errno;
		} else {
			if (!n->payload)
				return st_errf(-EUCLEAN, "%s: '%s' has no contents", src->display, relpath);
			fd = openat_beneath(src->store_fd, n->payload, O_RDONLY | O_CLOEXEC, 0);
			if (fd < 0)
				return st_errf(fd, "%s: cannot open '%s'", src->display, relpath);
		}
		*ret_size = n->size;
		*ret_fd = TAKE_FD(fd);
		return 0;
	}
	fd = openat_beneath(src->dir_fd, relpath, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0);
	if (fd == -ENOENT)
		return st_errf(-ENOENT, "%s: no '%s'", src->display, relpath);
	if (fd < 0)
		return open_file_failed(fd, src->dir_fd, relpath, true);
	r = fd_check_regular(fd, relpath);
	if (r < 0)
		return r;
	if (fstat(fd, &st) < 0)
		return -errno;
	*ret_size = (uint64_t)st.st_size;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

int oci_source_read_file(struct st_oci_source *src, const char *relpath, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ uint8_t *buf = NULL;
	uint64_t size;
	size_t len;
	int r;

	r = oci_source_open_file(src, relpath, &fd, &size);
	if (r < 0)
		return r;
	if (size > max)
		return st_errf(-EFBIG, "%s: '%s' has %" PRIu64 " bytes, more than the %zu allowed", src->display,
			       relpath, size, max);
	r = read_fd_all(fd, &buf, &len);
	if (r < 0)
		return st_errf(r, "%s: cannot read '%s'", src->display, relpath);
	if (len > max)
		return st_errf(-EFBIG, "%s: '%s' grew past %zu bytes while it was read", src->display, relpath, max);
	buf[len] = '\0';
	*ret = (char *)TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

static void blob_path(const char *digest, char buf[96])
{
	snprintf(buf, 96, "blobs/sha256/%s", digest + 7);
}

int oci_source_read_blob(struct st_oci_source *src, const struct oci_descriptor *d, size_t max, char **ret,
			 size_t *ret_len)
{
	_cleanup_free_ char *buf = NULL;
	char path[96], got[ST_OCI_DIGEST_STRING_SIZE];
	uint8_t raw[OCI_DIGEST_SIZE];
	size_t len;
	int r;

	if (d->size > max)
		return st_errf(-EFBIG, "%s: blob %s declares %" PRIu64 " bytes, more than the %zu allowed", src->display,
			       d->digest, d->size, max);
	blob_path(d->digest, path);
	r = oci_source_read_file(src, path, max, &buf, &len);
	if (r < 0)
		return r;
	oci_sha256(buf, len, raw);
	oci_digest_format(raw, got);
	if (strcmp(got, d->digest) != 0)
		return st_errf(-EBADMSG, "%s: blob %s does not match its digest (its %zu bytes hash to %s)", src->display,
			       d->digest, len, got);
	if (len != d->size)
		return st_errf(-EBADMSG, "%s: blob %s has %zu bytes, its descriptor says %" PRIu64, src->display,
			       d->digest, len, d->size);
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

static int check_layout(struct st_oci_source *src)
{
	_cleanup_json_ struct json_value *v = NULL;
	_cleanup_free_ char *buf = NULL;
	const char *version;
	size_t len;
	int r;

	r = oci_source_read_file(src, "oci-layout", 4096, &buf, &len);
	if (r == -ENOENT)
		return st_errf(-ENOENT, "%s: not an OCI image layout (no oci-layout file)", src->display);
	if (r < 0)
		return r;
	r = json_parse(buf, len, NULL, &v);
	if (r < 0)
		return st_errf(r, "%s: oci-layout: %s", src->display, st_error_detail() ?: "invalid JSON");
	version = json_string(json_get(v, "imageLayoutVersion"));
	if (!version || strcmp(version, "1.0.0") != 0)
		return st_errf(-EOPNOTSUPP, "%s: oci-layout: imageLayoutVersion is not \"1.0.0\"", src->display);
	return 0;
}

/* The entry of index.json the source's ref names (a tag, @DIGEST, or the only entry). */
static int pick_entry(struct st_oci_source *src, const struct oci_index *x, const struct oci_descriptor **ret)
{
	const struct oci_descriptor *found = NULL;

	for (size_t i = 0; i < x->n_manifests; i++) {
		const struct oci_descriptor *d = &x->manifests[i];
		bool match = !src->ref || (src->ref[0] == '@' ? strcmp(d->digest, src->ref + 1) == 0
							      : d->ref_name && strcmp(d->ref_name, src->ref) == 0);

		if (!match)
			continue;
		if (found && strcmp(found->digest, d->digest) != 0)
			return st_errf(-ENOTUNIQ, "%s: index.json has several images%s%s; name one (oci:DIR:TAG)",
				       src->display, src->ref ? " tagged " : "", src->ref ?: "");
		found = d;
	}
	if (!found)
		return st_errf(-ENOENT, "%s: index.json has no image %s'%s'", src->display,
			       src->ref && src->ref[0] == '@' ? "" : "tagged ", src->ref ?: "");
	*ret = found;
	return 0;
}

/* Index -> (index ->) manifest: the manifest descriptor for the platform. */
static int resolve_manifest(struct st_oci_source *src, const struct st_oci_import_options *opts,
			    struct oci_image_docs *docs)
{
	const char *os = opts && opts->os ? opts->os : "linux";
	const char *arch = opts && opts->architecture ? opts->architecture : "amd64";
	const char *variant = opts ? opts->variant : NULL;
	_cleanup_free_ char *buf = NULL;
	struct oci_index *x = NULL;
	struct oci_descriptor cur = { 0 };
	const struct oci_descriptor *d;
	size_t len;
	int r;

	r = oci_source_read_file(src, "index.json", OCI_MANIFEST_MAX, &buf, &len);
	if (r < 0)
		return r;
	r = oci_index_parse(buf, len, "index.json", &x);
	if (r < 0)
		return st_errf(r, "%s: %s", src->display, st_error_detail() ?: "bad index.json");
	r = pick_entry(src, x, &d);
	if (r >= 0) {
		memcpy(cur.digest, d->digest, sizeof(cur.digest));
		cur.size = d->size;
	}
	oci_index_free(x);
	x = NULL;
	/* At most two levels of index (index.json, then an image index), then a manifest. */
	for (unsigned level = 0; r >= 0; level++) {
		enum oci_doc_kind kind;
		char what[128];

		free(buf);
		buf = NULL;
		r = oci_source_read_blob(src, &cur, OCI_MANIFEST_MAX, &buf, &len);
		if (r < 0)
			break;
		snprintf(what, sizeof(what), "%s: manifest %s", src->display, cur.digest);
		r = oci_doc_kind(buf, len, what, &kind);
		if (r < 0)
			break;
		if (kind == OCI_DOC_MANIFEST) {
			r = oci_manifest_parse(buf, len, what, &docs->m);
			if (r < 0)
				break;
			memcpy(docs->manifest_digest, cur.digest, sizeof(cur.digest));
			docs->manifest = TAKE_PTR(buf);
			docs->manifest_len = len;
			return 0;
		}
		if (level >= 1) {
			r = st_errf(-EUCLEAN, "%s: index nested more than twice", what);
			break;
		}
		snprintf(what, sizeof(what), "%s: index %s", src->display, cur.digest);
		r = oci_index_parse(buf, len, what, &x);
		if (r < 0)
			break;
		r = oci_index_select(x, os, arch, variant, &d);
		if (r < 0) {
			r = st_errf(r, "%s: index %s: %s", src->display, cur.digest, st_error_detail() ?: "");
			break;
		}
		memcpy(cur.digest, d->digest, sizeof(cur.digest));
		cur.size = d->size;
		x = oci_index_free(x);
	}
	oci_index_free(x);
	return r;
}

int oci_source_resolve(struct st_oci_source *src, const struct st_oci_import_options *opts,
		       struct oci_image_docs *ret)
{
	struct oci_image_docs docs = { 0 };
	char what[128];
	int r;

	if (src->type == OCI_SOURCE_DOCKER_ARCHIVE)
		r = oci_docker_resolve(src, &docs);
	else {
		r = check_layout(src);
		if (r >= 0)
			r = resolve_manifest(src, opts, &docs);
		if (r >= 0)
			r = oci_source_read_blob(src, &docs.m->config, OCI_CONFIG_MAX, &docs.config, &docs.config_len);
		if (r >= 0) {
			snprintf(what, sizeof(what), "%s: config %s", src->display, docs.m->config.digest);
			r = oci_config_parse(docs.config, docs.config_len, what, &docs.c);
		}
	}
	if (r >= 0 && docs.c->n_diff_ids != docs.m->n_layers)
		r = st_errf(-EUCLEAN, "%s: manifest %s has %zu layers but its config %zu diff_ids", src->display,
			    docs.manifest_digest, docs.m->n_layers, docs.c->n_diff_ids);
	if (r < 0) {
		oci_image_docs_done(&docs);
		return r;
	}
	*ret = docs;
	return 0;
}

int oci_source_open_layer(struct st_oci_source *src, const struct oci_image_docs *docs, size_t i, int *ret_fd)
{
	char path[96];
	uint64_t size;
	int fd, r;

	if (src->type == OCI_SOURCE_DOCKER_ARCHIVE)
		r = oci_source_open_file(src, src->docker_layers[i], &fd, &size);
	else {
		blob_path(docs->m->layers[i].digest, path);
		r = oci_source_open_file(src, path, &fd, &size);
	}
	if (r < 0)
		return r;
	if (size != docs->m->layers[i].size) {
		close(fd);
		return st_errf(-EBADMSG, "%s: layer %s has %" PRIu64 " bytes, the manifest says %" PRIu64, src->display,
			       docs->m->layers[i].digest, size, docs->m->layers[i].size);
	}
	*ret_fd = fd;
	return 0;
}
