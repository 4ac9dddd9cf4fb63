/* SPDX-License-Identifier: MIT */
/*
 * The untrusted documents of an image: index (or Docker manifest list),
 * manifest (OCI or Docker schema 2) and config. Each is parsed by the strict
 * JSON parser (basic/json.h) and then checked field by field: every
 * descriptor has a media type, a canonical sha256 digest and a size; a
 * manifest has a config and at most OCI_LAYERS_MAX layers of known media
 * types; a config has os, architecture and one diff_id per layer. Errors
 * name the document (what) and the field.
 */
#include <errno.h>
#include <stdlib.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "basic/error.h"
#include "basic/json.h"
#include "oci-internal.h"

static int bad(const char *what, int r, const char *fmt, const char *field)
{
	return st_errf(r, "%s: %s '%s'", what, fmt, field);
}

static int parse_json(const void *data, size_t len, size_t max, const char *what, struct json_value **ret)
{
	struct json_limits lim = { .max_bytes = max, .max_depth = 32, .max_string = 256 * 1024 };
	char detail[256];
	int r;

	r = json_parse(data, len, &lim, ret);
	if (r < 0) {
		snprintf(detail, sizeof(detail), "%s", st_error_detail() ?: "invalid JSON");
		return st_errf(r, "%s: %s", what, detail);
	}
	if ((*ret)->type != JSON_OBJECT) {
		*ret = json_free(*ret);
		return st_errf(-EUCLEAN, "%s: not a JSON object", what);
	}
	return 0;
}

/* An optional string member: NULL if absent, -EUCLEAN if present but not a string. */
static int opt_string(const struct json_value *obj, const char *key, const char *what, char **ret)
{
	const struct json_value *v = json_get(obj, key);
	char *s;

	if (!v) {
		*ret = NULL;
		return 0;
	}
	if (v->type != JSON_STRING)
		return bad(what, -EUCLEAN, "not a string:", key);
	s = strdup(v->str);
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

static int req_string(const struct json_value *obj, const char *key, const char *what, char **ret)
{
	int r = opt_string(obj, key, what, ret);

	if (r >= 0 && !*ret)
		return bad(what, -EUCLEAN, "missing", key);
	return r;
}

void oci_descriptor_done(struct oci_descriptor *d)
{
	free(d->media_type);
	free(d->os);
	free(d->architecture);
	free(d->variant);
	free(d->ref_name);
	*d = (struct oci_descriptor){ 0 };
}

static int parse_descriptor(const struct json_value *v, const char *what, bool platform, struct oci_descriptor *d)
{
	const struct json_value *digest, *size, *p, *ann;
	uint8_t raw[OCI_DIGEST_SIZE];
	int r;

	*d = (struct oci_descriptor){ 0 };
	if (!json_is(v, JSON_OBJECT))
		return st_errf(-EUCLEAN, "%s: a descriptor is not an object", what);
	r = req_string(v, "mediaType", what, &d->media_type);
	if (r < 0)
		return r;
	digest = json_get(v, "digest");
	if (!json_string(digest))
		return st_errf(-EUCLEAN, "%s: a descriptor (%s) has no digest", what, d->media_type);
	r = oci_digest_parse(digest->str, raw);
	if (r == -EOPNOTSUPP)
		return st_errf(r, "%s: digest '%.80s' is not sha256 (the only algorithm supported)", what, digest->str);
	if (r < 0)
		return st_errf(-EUCLEAN, "%s: malformed digest '%.80s'", what, digest->str);
	oci_digest_format(raw, d->digest);
	size = json_get(v, "size");
	if (!size || json_u64(size, &d->size) < 0 || d->size > INT64_MAX)
		return st_errf(-EUCLEAN, "%s: descriptor %s has no valid size", what, d->digest);
	if (!platform)
		return 0;
	p = json_get(v, "platform");
	if (p) {
		if (p->type != JSON_OBJECT)
			return st_errf(-EUCLEAN, "%s: descriptor %s: platform is not an object", what, d->digest);
		r = opt_string(p, "os", what, &d->os);
		if (r >= 0)
			r = opt_string(p, "architecture", what, &d->architecture);
		if (r >= 0)
			r = opt_string(p, "variant", what, &d->variant);
		if (r < 0)
			return r;
	}
	ann = json_get(v, "annotations");
	if (ann) {
		if (ann->type != JSON_OBJECT)
			return st_errf(-EUCLEAN, "%s: descriptor %s: annotations is not an object", what, d->digest);
		r = opt_string(ann, "org.opencontainers.image.ref.name", what, &d->ref_name);
		if (r < 0)
			return r;
	}
	return 0;
}

static int check_schema2(const struct json_value *v, const char *what)
{
	const struct json_value *sv = json_get(v, "schemaVersion");
	uint64_t n;

	if (!sv || json_u64(sv, &n) < 0)
		return st_errf(-EUCLEAN, "%s: no schemaVersion", what);
	if (n == 1)
		return st_errf(-EOPNOTSUPP, "%s: Docker schema 1 manifests are not supported", what);
	if (n != 2)
		return st_errf(-EOPNOTSUPP, "%s: schemaVersion %" PRIu64 " (only 2 is known)", what, n);
	return 0;
}

int oci_doc_kind(const void *data, size_t len, const char *what, enum oci_doc_kind *ret)
{
	_cleanup_json_ struct json_value *v = NULL;
	const char *mt;
	int r;

	r = parse_json(data, len, OCI_MANIFEST_MAX, what, &v);
	if (r < 0)
		return r;
	r = check_schema2(v, what);
	if (r < 0)
		return r;
	mt = json_string(json_get(v, "mediaType"));
	if (json_get(v, "mediaType") && !mt)
		return st_errf(-EUCLEAN, "%s: mediaType is not a string", what);
	if (!mt) {
		/* An OCI document may omit its mediaType: tell by its shape. */
		bool m = json_get(v, "manifests"), l = json_get(v, "layers") || json_get(v, "config");

		if (m == l)
			return st_errf(-EUCLEAN, "%s: neither an index nor a manifest (no mediaType)", what);
		*ret = m ? OCI_DOC_INDEX : OCI_DOC_MANIFEST;
		return 0;
	}
	if (strcmp(mt, OCI_MT_INDEX) == 0 || strcmp(mt, DOCKER_MT_LIST) == 0)
		*ret = OCI_DOC_INDEX;
	else if (strcmp(mt, OCI_MT_MANIFEST) == 0 || strcmp(mt, DOCKER_MT_MANIFEST) == 0)
		*ret = OCI_DOC_MANIFEST;
	else
		return st_errf(-EOPNOTSUPP, "%s: unsupported media type '%.100s'", what, mt);
	return 0;
}

struct oci_index *oci_index_free(struct oci_index *x)
{
	if (!x)
		return NULL;
	for (size_t i = 0; i < x->n_manifests; i++)
		oci_descriptor_done(&x->manifests[i]);
	free(x->manifests);
	free(x->media_type);
	free(x);
	return NULL;
}

int oci_index_parse(const void *data, size_t len, const char *what, struct oci_index **ret)
{
	_cleanup_json_ struct json_value *v = NULL;
	const struct json_value *ms;
	struct oci_index *x;
	int r;

	r = parse_json(data, len, OCI_MANIFEST_MAX, what, &v);
	if (r < 0)
		return r;
	r = check_schema2(v, what);
	if (r < 0)
		return r;
	ms = json_get(v, "manifests");
	if (!json_is(ms, JSON_ARRAY))
		return st_errf(-EUCLEAN, "%s: no 'manifests' array (not an index)", what);
	if (ms->n > OCI_INDEX_ENTRIES_MAX)
		return st_errf(-EUCLEAN, "%s: %zu manifests, more than %u", what, ms->n, OCI_INDEX_ENTRIES_MAX);
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	r = opt_string(v, "mediaType", what, &x->media_type);
	if (r >= 0 && x->media_type && strcmp(x->media_type, OCI_MT_INDEX) != 0 &&
	    strcmp(x->media_type, DOCKER_MT_LIST) != 0)
		r = st_errf(-EUCLEAN, "%s: mediaType '%.100s' is not an index's", what, x->media_type);
	if (r >= 0) {
		x->manifests = calloc(ms->n ? ms->n : 1, sizeof(*x->manifests));
		if (!x->manifests)
			r = -ENOMEM;
	}
	for (size_t i = 0; r >= 0 && i < ms->n; i++) {
		r = parse_descriptor(&ms->items[i], what, true, &x->manifests[i]);
		x->n_manifests = i + 1;
	}
	if (r < 0) {
		oci_index_free(x);
		return r;
	}
	*ret = x;
	return 0;
}

int oci_index_select(const struct oci_index *x, const char *os, const char *architecture, const char *variant,
		     const struct oci_descriptor **ret)
{
	char offered[512];
	size_t o = 0;

	for (size_t i = 0; i < x->n_manifests; i++) {
		const struct oci_descriptor *d = &x->manifests[i];

		if (!d->os || !d->architecture || strcmp(d->os, os) != 0 || strcmp(d->architecture, architecture) != 0)
			continue;
		if (variant && (!d->variant || strcmp(d->variant, variant) != 0))
			continue;
		*ret = d;
		return 0;
	}
	offered[0] = '\0';
	for (size_t i = 0; i < x->n_manifests && o + 1 < sizeof(offered); i++) {
		const struct oci_descriptor *d = &x->manifests[i];
		int n = snprintf(offered + o, sizeof(offered) - o, "%s%.40s/%.40s%s%.20s", i ? ", " : "",
				 d->os ?: "?", d->architecture ?: "?", d->variant ? "/" : "", d->variant ?: "");

		if (n < 0)
			break;
		o += (size_t)n;
		if (o >= sizeof(offered))
			o = sizeof(offered) - 1;
	}
	return st_errf(-ENOENT, "no manifest for platform %s/%s%s%s in the index (it offers: %s)", os, architecture,
		       variant ? "/" : "", variant ?: "", x->n_manifests ? offered : "nothing");
}

int oci_layer_compression(const char *mt, enum oci_compression *ret)
{
	static const struct {
		const char *mt;
		enum oci_compression c;
	} known[] = {
		{ OCI_MT_LAYER, OCI_COMPRESSION_NONE },
		{ OCI_MT_LAYER_GZIP, OCI_COMPRESSION_GZIP },
		{ OCI_MT_LAYER_ZSTD, OCI_COMPRESSION_ZSTD },
		{ "application/vnd.oci.image.layer.nondistributable.v1.tar", OCI_COMPRESSION_NONE },
		{ "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", OCI_COMPRESSION_GZIP },
		{ "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", OCI_COMPRESSION_ZSTD },
		{ DOCKER_MT_LAYER_GZIP, OCI_COMPRESSION_GZIP },
		{ "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", OCI_COMPRESSION_GZIP },
		{ "application/vnd.docker.image.rootfs.diff.tar", OCI_COMPRESSION_NONE },
	};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(mt, known[i].mt) == 0) {
			*ret = known[i].c;
			return 0;
		}
	return st_errf(-EOPNOTSUPP, "unsupported layer media type '%.100s'", mt);
}

struct oci_manifest *oci_manifest_free(struct oci_manifest *m)
{
	if (!m)
		return NULL;
	oci_descriptor_done(&m->config);
	for (size_t i = 0; i < m->n_layers; i++)
		oci_descriptor_done(&m->layers[i]);
	free(m->layers);
	free(m->media_type);
	free(m);
	return NULL;
}

static int manifest_fill(const struct json_value *v, const char *what, struct oci_manifest *m)
{
	const struct json_value *layers;
	bool docker;
	int r;

	r = check_schema2(v, what);
	if (r < 0)
		return r;
	r = opt_string(v, "mediaType", what, &m->media_type);
	if (r < 0)
		return r;
	if (!m->media_type) {
		m->media_type = strdup(OCI_MT_MANIFEST);
		if (!m->media_type)
			return -ENOMEM;
	}
	if (strcmp(m->media_type, OCI_MT_MANIFEST) != 0 && strcmp(m->media_type, DOCKER_MT_MANIFEST) != 0)
		return st_errf(-EOPNOTSUPP, "%s: mediaType '%.100s' is not an image manifest's", what, m->media_type);
	docker = strcmp(m->media_type, DOCKER_MT_MANIFEST) == 0;
	r = parse_descriptor(json_get(v, "config"), what, false, &m->config);
	if (r < 0)
		return r;
	if (strcmp(m->config.media_type, docker ? DOCKER_MT_CONFIG : OCI_MT_CONFIG) != 0 &&
	    strcmp(m->config.media_type, OCI_MT_CONFIG) != 0)
		return st_errf(-EOPNOTSUPP, "%s: config %s has media type '%.100s', not an image config", what,
			       m->config.digest, m->config.media_type);
	if (m->config.size > OCI_CONFIG_MAX)
		return st_errf(-EFBIG, "%s: config %s declares %" PRIu64 " bytes (at most %u)", what, m->config.digest,
			       m->config.size, OCI_CONFIG_MAX);
	layers = json_get(v, "layers");
	if (!json_is(layers, JSON_ARRAY))
		return st_errf(-EUCLEAN, "%s: no 'layers' array", what);
	if (layers->n > OCI_LAYERS_MAX)
		return st_errf(-EUCLEAN, "%s: %zu layers, more than %u", what, layers->n, OCI_LAYERS_MAX);
	m->layers = calloc(layers->n ? layers->n : 1, sizeof(*m->layers));
	if (!m->layers)
		return -ENOMEM;
	for (size_t i = 0; i < layers->n; i++) {
		enum oci_compression c;

		r = parse_descriptor(&layers->items[i], what, false, &m->layers[i]);
		m->n_layers = i + 1;
		if (r < 0)
			return r;
		r = oci_layer_compression(m->layers[i].media_type, &c);
		if (r < 0)
			return st_errf(r, "%s: layer %s: unsupported media type '%.100s'", what, m->layers[i].digest,
				       m->layers[i].media_type);
	}
	return 0;
}

int oci_manifest_parse(const void *data, size_t len, const char *what, struct oci_manifest **ret)
{
	_cleanup_json_ struct json_value *v = NULL;
	struct oci_manifest *m;
	int r;

	r = parse_json(data, len, OCI_MANIFEST_MAX, what, &v);
	if (r < 0)
		return r;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	r = manifest_fill(v, what, m);
	if (r < 0) {
		oci_manifest_free(m);
		return r;
	}
	*ret = m;
	return 0;
}

struct oci_config *oci_config_free(struct oci_config *c)
{
	if (!c)
		return NULL;
	free(c->os);
	free(c->architecture);
	free(c->variant);
	free(c->diff_ids);
	free(c);
	return NULL;
}

static int config_fill(const struct json_value *v, const char *what, struct oci_config *c)
{
	const struct json_value *rootfs, *ids;
	int r;

	r = req_string(v, "os", what, &c->os);
	if (r >= 0)
		r = req_string(v, "architecture", what, &c->architecture);
	if (r >= 0)
		r = opt_string(v, "variant", what, &c->variant);
	if (r < 0)
		return r;
	rootfs = json_get(v, "rootfs");
	if (!json_is(rootfs, JSON_OBJECT))
		return st_errf(-EUCLEAN, "%s: no 'rootfs' object", what);
	if (!json_string(json_get(rootfs, "type")) || strcmp(json_get(rootfs, "type")->str, "layers") != 0)
		return st_errf(-EUCLEAN, "%s: rootfs.type is not \"layers\"", what);
	ids = json_get(rootfs, "diff_ids");
	if (!json_is(ids, JSON_ARRAY))
		return st_errf(-EUCLEAN, "%s: no rootfs.diff_ids array", what);
	if (ids->n > OCI_LAYERS_MAX)
		return st_errf(-EUCLEAN, "%s: %zu diff_ids, more than %u", what, ids->n, OCI_LAYERS_MAX);
	c->diff_ids = calloc(ids->n ? ids->n : 1, sizeof(*c->diff_ids));
	if (!c->diff_ids)
		return -ENOMEM;
	for (size_t i = 0; i < ids->n; i++) {
		uint8_t raw[OCI_DIGEST_SIZE];

		if (!json_string(&ids->items[i]) || oci_digest_parse(ids->items[i].str, raw) < 0)
			return st_errf(-EUCLEAN, "%s: rootfs.diff_ids[%zu] is not a sha256 digest", what, i);
		oci_digest_format(raw, c->diff_ids[i]);
		c->n_diff_ids = i + 1;
	}
	return 0;
}

int oci_config_parse(const void *data, size_t len, const char *what, struct oci_config **ret)
{
	_cleanup_json_ struct json_value *v = NULL;
	struct oci_config *c;
	int r;

	r = parse_json(data, len, OCI_CONFIG_MAX, what, &v);
	if (r < 0)
		return r;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	r = config_fill(v, what, c);
	if (r < 0) {
		oci_config_free(c);
		return r;
	}
	*ret = c;
	return 0;
}
