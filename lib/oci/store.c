/* SPDX-License-Identifier: MIT */
/*
 * What the repository keeps of an image besides its tree (docs/formats/oci.md):
 *
 *   REPO/oci/blobs/sha256/HEX     the manifest and config, byte for byte
 *   REPO/oci/records/HEX          per manifest: its layers' digests, diff_ids,
 *                                 sizes and media types (a text record)
 *   refs/oci/NAME/+TAG            the commit; its metadata names manifest and config
 *
 * Everything read back is checked as untrusted: blobs against their
 * digest, records line by line.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/beneath.h"
#include "basic/error.h"
#include "fundamental/parse-number.h"
#include "oci-internal.h"
#include "repo/repo-internal.h"

#define RECORD_MAGIC "sealtree-oci-record 1\n"

static void blob_relpath(const char *digest, char buf[128])
{
	snprintf(buf, 128, OCI_BLOBS_DIR "/%s", digest + 7);
}

int oci_store_blob(struct st_repo *repo, const char *digest, const void *data, size_t len)
{
	char path[128];

	blob_relpath(digest, path);
	return st_repo_write_file(repo, path, data, len);
}

/* A media type goes into a record as one word: printable ASCII without spaces. */
static bool word_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s <= ' ' || *s > '~')
			return false;
	return true;
}

int oci_store_record(struct st_repo *repo, const struct oci_image_docs *docs, const struct oci_layer_result *layers)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 256 + docs->m->n_layers * 500;
	char path[128];

	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	if (!word_ok(docs->m->media_type))
		return st_errf(-EUCLEAN, "manifest %s: media type with spaces or control characters", docs->manifest_digest);
	len += (size_t)snprintf(buf + len, cap - len, RECORD_MAGIC "manifest %s %zu %s\nconfig %s %zu\n",
				docs->manifest_digest, docs->manifest_len, docs->m->media_type, docs->m->config.digest,
				docs->config_len);
	for (size_t i = 0; i < docs->m->n_layers; i++) {
		const struct oci_descriptor *d = &docs->m->layers[i];

		if (!word_ok(d->media_type) || strlen(d->media_type) > 200)
			return st_errf(-EUCLEAN, "layer %s: media type too long or with spaces", d->digest);
		len += (size_t)snprintf(buf + len, cap - len, "layer %s %s %" PRIu64 " %" PRIu64 " %s\n", d->digest,
					layers[i].diff_id, d->size, layers[i].uncompressed, d->media_type);
		if (layers[i].split_digest[0])
			len += (size_t)snprintf(buf + len, cap - len, "split %s %zu\n", layers[i].split_digest,
						layers[i].split.len);
	}
	snprintf(path, sizeof(path), OCI_RECORDS_DIR "/%s", docs->manifest_digest + 7);
	return st_repo_write_file(repo, path, buf, len);
}

int oci_store_split(struct st_repo *repo, struct oci_layer_result *l)
{
	uint8_t d[OCI_DIGEST_SIZE];
	char path[128];
	int r;

	oci_sha256(l->split.data, l->split.len, d);
	oci_digest_format(d, l->split_digest);
	snprintf(path, sizeof(path), OCI_SPLIT_DIR "/%s", l->split_digest + 7);
	r = st_repo_write_file(repo, path, l->split.data, l->split.len);
	if (r < 0)
		l->split_digest[0] = '\0';
	return r;
}

int oci_read_split(struct st_repo *repo, const char *digest, uint64_t size, uint8_t **ret, size_t *ret_len)
{
	_cleanup_free_ char *buf = NULL;
	uint8_t want[OCI_DIGEST_SIZE], got[OCI_DIGEST_SIZE];
	char path[128];
	size_t len;
	int r;

	if (oci_digest_parse(digest, want) < 0)
		return -EINVAL;
	snprintf(path, sizeof(path), OCI_SPLIT_DIR "/%s", digest + 7);
	r = st_repo_read_file(repo, path, ST_TAR_SPLIT_MAX, &buf, &len);
	if (r == -ENOENT)
		return st_errf(r, "its tar-split record %s is missing", path);
	if (r < 0)
		return st_errf(r, "cannot read its tar-split record %s", path);
	oci_sha256(buf, len, got);
	if (len != size || memcmp(want, got, sizeof(got)) != 0)
		return st_errf(-EBADMSG, "its tar-split record %s is damaged (%zu bytes that do not match its digest)",
			       path, len);
	*ret = (uint8_t *)TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

int st_oci_read_blob(struct st_repo *repo, const char *digest, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *buf = NULL;
	uint8_t want[OCI_DIGEST_SIZE], got[OCI_DIGEST_SIZE];
	char path[128];
	size_t len;
	int r;

	if (!repo || !digest || !ret || !ret_len)
		return -EINVAL;
	if (oci_digest_parse(digest, want) < 0)
		return st_errf(-EINVAL, "'%.80s' is not a sha256 digest", digest);
	blob_relpath(digest, path);
	r = st_repo_read_file(repo, path, OCI_CONFIG_MAX, &buf, &len);
	if (r == -ENOENT)
		return st_errf(r, "no blob %s in the repository", digest);
	if (r < 0)
		return r;
	oci_sha256(buf, len, got);
	if (memcmp(want, got, sizeof(got)) != 0)
		return st_errf(-EBADMSG, "%s: the stored blob does not match its digest (corrupt)", path);
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

void st_oci_image_free(struct st_oci_image *img)
{
	if (!img)
		return;
	for (size_t i = 0; i < img->n_layers; i++)
		free(img->layers[i].media_type);
	free(img->layers);
	free(img->name);
	free(img->manifest_media_type);
	free(img->os);
	free(img->architecture);
	*img = (struct st_oci_image){ 0 };
}

void st_oci_image_list_free(struct st_oci_image *imgs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		st_oci_image_free(&imgs[i]);
	free(imgs);
}

/* The next space- or newline-terminated word of a record line. */
static const char *word(const char **p, const char *end, size_t *ret_len)
{
	const char *s = *p, *e = s;

	while (e < end && *e != ' ' && *e != '\n')
		e++;
	*ret_len = (size_t)(e - s);
	*p = e < end && *e == ' ' ? e + 1 : e;
	return s;
}

static int digest_word(const char *s, size_t len, char ret[ST_OCI_DIGEST_STRING_SIZE])
{
	uint8_t raw[OCI_DIGEST_SIZE];
	char tmp[ST_OCI_DIGEST_STRING_SIZE];

	if (len != ST_OCI_DIGEST_STRING_SIZE - 1)
		return -EUCLEAN;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (oci_digest_parse(tmp, raw) < 0)
		return -EUCLEAN;
	memcpy(ret, tmp, sizeof(tmp));
	return 0;
}

/* Parse oci/records/HEX (untrusted: every line checked, exactly the shape oci_store_record() writes). */
static int parse_record(const char *buf, size_t len, const char *path, struct st_oci_image *img)
{
	const char *p = buf, *end = buf + len;
	size_t lineno = 1, cap = 0;

	if (len < strlen(RECORD_MAGIC) || memcmp(buf, RECORD_MAGIC, strlen(RECORD_MAGIC)) != 0)
		return st_errf(-EUCLEAN, "%s: not an image record", path);
	p += strlen(RECORD_MAGIC);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *kw, *w[5];
		size_t kl, wl[5], n = 0;

		lineno++;
		if (!nl)
			return st_errf(-EUCLEAN, "%s: line %zu: no newline", path, lineno);
		kw = word(&p, nl, &kl);
		while (p < nl && n < 5) {
			w[n] = word(&p, nl, &wl[n]);
			n++;
		}
		if (p != nl)
			return st_errf(-EUCLEAN, "%s: line %zu: too many fields", path, lineno);
		p = nl + 1;
		if (kl == 8 && memcmp(kw, "manifest", 8) == 0 && n == 3) {
			if (digest_word(w[0], wl[0], img->manifest_digest) < 0)
				return st_errf(-EUCLEAN, "%s: line %zu: bad digest", path, lineno);
			img->manifest_media_type = strndup(w[2], wl[2]);
			if (!img->manifest_media_type)
				return -ENOMEM;
		} else if (kl == 6 && memcmp(kw, "config", 6) == 0 && n == 2) {
			if (digest_word(w[0], wl[0], img->config_digest) < 0)
				return st_errf(-EUCLEAN, "%s: line %zu: bad digest", path, lineno);
		} else if (kl == 5 && memcmp(kw, "layer", 5) == 0 && n == 5) {
			struct st_oci_layer_info *l;

			if (img->n_layers >= OCI_LAYERS_MAX)
				return st_errf(-EUCLEAN, "%s: more than %u layers", path, OCI_LAYERS_MAX);
			if (GROW(img->layers, cap, img->n_layers + 1) < 0)
				return -ENOMEM;
			l = &img->layers[img->n_layers];
			*l = (struct st_oci_layer_info){ 0 };
			if (digest_word(w[0], wl[0], l->digest) < 0 || digest_word(w[1], wl[1], l->diff_id) < 0 ||
			    parse_uint_n(w[2], wl[2], 10, INT64_MAX, PARSE_CANONICAL, &l->size) < 0 ||
			    parse_uint_n(w[3], wl[3], 10, INT64_MAX, PARSE_CANONICAL, &l->uncompressed_size) < 0)
				return st_errf(-EUCLEAN, "%s: line %zu: bad layer", path, lineno);
			l->media_type = strndup(w[4], wl[4]);
			if (!l->media_type)
				return -ENOMEM;
			img->n_layers++;
		} else if (kl == 5 && memcmp(kw, "split", 5) == 0 && n == 2) {
			struct st_oci_layer_info *l = img->n_layers ? &img->layers[img->n_layers - 1] : NULL;

			if (!l || l->split_digest[0])
				return st_errf(-EUCLEAN, "%s: line %zu: a split line not after its layer", path, lineno);
			if (digest_word(w[0], wl[0], l->split_digest) < 0 ||
			    parse_uint_n(w[1], wl[1], 10, ST_TAR_SPLIT_MAX, PARSE_CANONICAL, &l->split_size) < 0)
				return st_errf(-EUCLEAN, "%s: line %zu: bad split line", path, lineno);
		} else
			return st_errf(-EUCLEAN, "%s: line %zu: unknown line", path, lineno);
	}
	if (!img->manifest_media_type || !img->config_digest[0])
		return st_errf(-EUCLEAN, "%s: no manifest or config line", path);
	return 0;
}

static const char *meta_get(const struct st_commit *c, const char *key)
{
	for (size_t i = 0; i < c->n_metadata; i++)
		if (strcmp(c->metadata[i].key, key) == 0)
			return c->metadata[i].value;
	return NULL;
}

/* The image whose ref is ref (canonical "refs/oci/..."), pointing at id. */
static int load_image(struct st_repo *repo, const char *ref, const uint8_t id[ST_COMMIT_ID_SIZE],
		      struct st_oci_image *img)
{
	char name[ST_REF_NAME_MAX + 1], path[128];
	_cleanup_free_ char *rec = NULL, *config = NULL;
	struct st_commit *c = NULL;
	struct oci_config *cfg = NULL;
	const char *manifest;
	size_t len;
	int r;

	*img = (struct st_oci_image){ 0 };
	r = repo_oci_name_of_ref(ref, name);
	if (r < 0)
		return r;
	img->name = strdup(name);
	if (!img->name)
		return -ENOMEM;
	memcpy(img->commit, id, ST_COMMIT_ID_SIZE);
	r = st_repo_read_commit(repo, id, &c);
	if (r < 0)
		return r;
	img->created = c->timestamp;
	manifest = meta_get(c, OCI_META_MANIFEST);
	if (!manifest || digest_word(manifest, strlen(manifest), img->manifest_digest) < 0) {
		st_commit_free(c);
		return st_errf(-EUCLEAN, "image %s: its commit names no manifest (not made by oci import)", name);
	}
	st_commit_free(c);
	snprintf(path, sizeof(path), OCI_RECORDS_DIR "/%s", img->manifest_digest + 7);
	r = st_repo_read_file(repo, path, OCI_RECORD_MAX, &rec, &len);
	if (r < 0)
		return st_errf(r, "image %s: cannot read its record %s", name, path);
	r = parse_record(rec, len, path, img);
	if (r < 0)
		return r;
	r = st_oci_read_blob(repo, img->config_digest, &config, &len);
	if (r < 0)
		return r;
	r = oci_config_parse(config, len, img->config_digest, &cfg);
	if (r < 0)
		return r;
	img->os = TAKE_PTR(cfg->os);
	img->architecture = TAKE_PTR(cfg->architecture);
	oci_config_free(cfg);
	return 0;
}

int st_oci_list_images(struct st_repo *repo, struct st_oci_image **ret, size_t *ret_n)
{
	struct st_ref *refs = NULL;
	struct st_oci_image *imgs = NULL;
	size_t n_refs = 0, n = 0;
	int r;

	if (!repo || !ret || !ret_n)
		return -EINVAL;
	r = st_repo_list_refs(repo, true, &refs, &n_refs);
	if (r < 0)
		return r;
	imgs = calloc(n_refs ? n_refs : 1, sizeof(*imgs));
	if (!imgs) {
		st_ref_list_free(refs, n_refs);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n_refs; i++) {
		char name[ST_REF_NAME_MAX + 1];

		if (strncmp(refs[i].name, "refs/oci/", 9) != 0)
			continue;
		if (repo_oci_name_of_ref(refs[i].name, name) < 0) {
			st_error_clear();
			continue;
		}
		r = load_image(repo, refs[i].name, refs[i].id, &imgs[n]);
		n++;
		if (r < 0)
			break;
	}
	st_ref_list_free(refs, n_refs);
	if (r < 0) {
		st_oci_image_list_free(imgs, n);
		return r;
	}
	/* refs come sorted by ref name; image names sort the same but for the '+' of a port: good enough. */
	*ret = imgs;
	*ret_n = n;
	return 0;
}

int st_oci_get_image(struct st_repo *repo, const char *name, struct st_oci_image **ret)
{
	char ref[ST_REF_NAME_MAX + 1];
	uint8_t id[ST_COMMIT_ID_SIZE];
	struct st_oci_image *img;
	int r;

	if (!repo || !name || !ret)
		return -EINVAL;
	r = st_oci_ref_of_name(name, ref);
	if (r < 0)
		return r;
	r = st_repo_read_ref(repo, ref, id);
	if (r == -ENOENT)
		return st_errf(r, "no image '%s' in the repository", name);
	if (r < 0)
		return r;
	img = calloc(1, sizeof(*img));
	if (!img)
		return -ENOMEM;
	r = load_image(repo, ref, id, img);
	if (r < 0) {
		st_oci_image_free(img);
		free(img);
		return r;
	}
	*ret = img;
	return 0;
}

static void unlink_rel(struct st_repo *repo, const char *rel)
{
	const char *base;
	_cleanup_close_ int dfd = openat_beneath_parent(st_repo_dirfd(repo), rel, &base);

	if (dfd >= 0)
		(void)unlinkat(dfd, base, 0);
}

int st_oci_remove_image(struct st_repo *repo, const char *name)
{
	struct st_oci_image *img = NULL, *all = NULL;
	char ref[ST_REF_NAME_MAX + 1], path[128];
	bool manifest_used = false, config_used = false;
	size_t n = 0;
	int r;

	r = st_oci_get_image(repo, name, &img);
	if (r < 0)
		return r;
	r = st_oci_ref_of_name(name, ref);
	if (r >= 0)
		r = st_repo_delete_ref(repo, ref);
	if (r >= 0)
		r = st_oci_list_images(repo, &all, &n);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		manifest_used |= strcmp(all[i].manifest_digest, img->manifest_digest) == 0;
		config_used |= strcmp(all[i].config_digest, img->config_digest) == 0;
	}
	if (!manifest_used) {
		snprintf(path, sizeof(path), OCI_RECORDS_DIR "/%s", img->manifest_digest + 7);
		unlink_rel(repo, path);
		blob_relpath(img->manifest_digest, path);
		unlink_rel(repo, path);
	}
	if (!config_used) {
		blob_relpath(img->config_digest, path);
		unlink_rel(repo, path);
	}
	st_oci_image_list_free(all, n);
out:
	st_oci_image_free(img);
	free(img);
	return r;
}
