/* SPDX-License-Identifier: MIT */
/*
 * The untrusted parts of a zstd:chunked layer (docs/formats/oci.md,
 * "Partial pulls"): the manifest annotations that locate the TOC, and the
 * TOC itself. Every offset is checked against the layer's frames; file
 * frames must be sorted, not overlap and not be empty; names are only
 * used in messages.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/error.h"
#include "basic/json.h"
#include "chunked.h"
#include "fundamental/macro.h"
#include "fundamental/parse-number.h"
#include "sealtree/hex.h"

void chunked_toc_done(struct chunked_toc *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->files[i].name);
	free(t->files);
	*t = (struct chunked_toc){};
}

/* The manifest parsed (*doc) and its layer index (*ret, in *doc): -ENOENT if there is none. */
static int manifest_layer(const void *manifest, size_t len, size_t index, struct json_value **doc,
			  const struct json_value **ret)
{
	const struct json_value *layers;
	int r;

	r = json_parse(manifest, len, &(struct json_limits){ .max_bytes = OCI_MANIFEST_MAX }, doc);
	if (r < 0)
		return r;
	layers = json_get(*doc, "layers");
	if (!json_is(layers, JSON_ARRAY) || index >= layers->n)
		return -ENOENT;
	*ret = &layers->items[index];
	return 0;
}

/*
 * A layer's annotation pair that locates a part of it: DIGEST_KEY names a
 * sha256 digest, POSITION_KEY holds N_FIELDS unsigned numbers joined by ':'.
 * -ENOENT when the layer or either annotation is absent; the numbers are
 * only parsed here, their meaning is the caller's to check.
 */
static int layer_part_annotations(const void *manifest, size_t len, size_t index, const char *digest_key,
				  const char *position_key, const char *what, const char *shape, unsigned n_fields,
				  char ret_digest[ST_OCI_DIGEST_STRING_SIZE], uint64_t *ret_fields)
{
	_cleanup_json_ struct json_value *doc = NULL;
	const struct json_value *layer, *ann;
	const char *dg, *pos;
	uint64_t v[4] = {};
	int r;

	assert(n_fields <= ELEMENTSOF(v));
	r = manifest_layer(manifest, len, index, &doc, &layer);
	if (r < 0)
		return r;
	ann = json_get(layer, "annotations");
	dg = json_string(json_get(ann, digest_key));
	pos = json_string(json_get(ann, position_key));
	if (!dg || !pos)
		return -ENOENT;
	if (oci_digest_parse(dg, (uint8_t[OCI_DIGEST_SIZE]){}) < 0)
		return st_errf(-EUCLEAN, "the %s digest '%.80s' is not a sha256 digest", what, dg);
	for (unsigned i = 0; i < n_fields; i++) {
		bool last = i + 1 == n_fields;
		char num[24];
		size_t n = strcspn(pos, ":");

		if (n == 0 || n >= sizeof(num) || last == (pos[n] == ':'))
			return st_errf(-EUCLEAN, "the %s position '%.80s' is not %s", what, pos, shape);
		memcpy(num, pos, n);
		num[n] = '\0';
		if (safe_atou64(num, &v[i]) < 0)
			return st_errf(-EUCLEAN, "the %s position '%.80s' is not %s", what, pos, shape);
		pos += n + !last;
	}
	memcpy(ret_digest, dg, strlen(dg) + 1);
	memcpy(ret_fields, v, n_fields * sizeof(v[0]));
	return 0;
}

int chunked_layer_position(const void *manifest, size_t len, size_t index, uint64_t blob_size,
			   char ret_digest[ST_OCI_DIGEST_STRING_SIZE], uint64_t *ret_offset, uint64_t *ret_length,
			   uint64_t *ret_uncompressed)
{
	char dg[ST_OCI_DIGEST_STRING_SIZE];
	uint64_t v[4] = {};     /* -O3 cannot see that a success filled them */
	int r;

	r = layer_part_annotations(manifest, len, index, CHUNKED_ANN_TOC_DIGEST, CHUNKED_ANN_TOC_POSITION,
				   "TOC", "OFFSET:LENGTH:LENGTH:TYPE", 4, dg, v);
	if (r < 0)
		return r;
	if (v[3] != CHUNKED_TOC_TYPE)
		return -ENOENT;         /* another TOC kind: not ours to read */
	if (v[0] < 8 || v[1] == 0 || v[1] > CHUNKED_TOC_MAX || v[2] == 0 || v[2] > CHUNKED_TOC_MAX ||
	    v[0] > blob_size || v[1] > blob_size - v[0])
		return st_errf(-EUCLEAN, "the TOC position %" PRIu64 ":%" PRIu64 ":%" PRIu64
			       " does not fit a layer of %" PRIu64 " bytes", v[0], v[1], v[2], blob_size);
	memcpy(ret_digest, dg, sizeof(dg));
	*ret_offset = v[0];
	*ret_length = v[1];
	*ret_uncompressed = v[2];
	return 0;
}

int chunked_headers_position(const void *manifest, size_t len, size_t index, uint64_t blob_size,
			     char ret_digest[ST_OCI_DIGEST_STRING_SIZE], uint64_t *ret_offset, uint64_t *ret_length,
			     uint64_t *ret_uncompressed)
{
	char dg[ST_OCI_DIGEST_STRING_SIZE];
	uint64_t v[3] = {};     /* as above */
	int r;

	r = layer_part_annotations(manifest, len, index, CHUNKED_ANN_HDRS_DIGEST, CHUNKED_ANN_HDRS_POSITION,
				   "tar headers", "OFFSET:LENGTH:LENGTH", 3, dg, v);
	if (r < 0)
		return r;
	if (v[0] < 8 || v[1] == 0 || v[1] > CHUNKED_HDRS_MAX || v[2] == 0 || v[2] > CHUNKED_HDRS_MAX ||
	    v[0] > blob_size || v[1] > blob_size - v[0])
		return st_errf(-EUCLEAN, "the tar headers position %" PRIu64 ":%" PRIu64 ":%" PRIu64
			       " does not fit a layer of %" PRIu64 " bytes", v[0], v[1], v[2], blob_size);
	memcpy(ret_digest, dg, sizeof(dg));
	*ret_offset = v[0];
	*ret_length = v[1];
	*ret_uncompressed = v[2];
	return 0;
}

int chunked_headers_split(const uint8_t *data, size_t len, size_t n_runs, struct chunked_run *ret)
{
	size_t off = 0;

	for (size_t i = 0; i < n_runs; i++) {
		uint32_t l = 0;

		if (len - off < 4)
			return st_errf(-EUCLEAN, "the tar headers frame ends after %zu of its %zu runs", i, n_runs);
		for (unsigned k = 0; k < 4; k++)
			l |= (uint32_t)data[off + k] << (8 * k);
		off += 4;
		if (l > len - off)
			return st_errf(-EUCLEAN, "run %zu of the tar headers frame claims %" PRIu32 " bytes, %zu are left",
				       i, l, len - off);
		ret[i] = (struct chunked_run){ .offset = off, .length = l };
		off += l;
	}
	if (off != len)
		return st_errf(-EUCLEAN, "the tar headers frame has %zu bytes after its %zu runs", len - off, n_runs);
	return 0;
}

static int cmp_offset(const void *a, const void *b)
{
	const struct chunked_file *x = a, *y = b;

	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int hex32(const char *s, uint8_t ret[32])
{
	return s && strlen(s) == 64 && st_hex_decode(s, 64, ret, 32) == 0 ? 0 : -EINVAL;
}

int chunked_toc_parse(const void *json, size_t len, uint64_t frames_end, struct chunked_toc *ret)
{
	_cleanup_json_ struct json_value *doc = NULL;
	_cleanup_(chunked_toc_done) struct chunked_toc t = {};
	const struct json_value *entries;
	uint64_t version;
	int r;

	r = json_parse(json, len, &(struct json_limits){ .max_bytes = CHUNKED_TOC_MAX, .max_depth = 8 }, &doc);
	if (r < 0)
		return st_errf(-EUCLEAN, "the TOC is not JSON: %s", st_error_detail() ? st_error_detail() : "malformed");
	if (json_u64(json_get(doc, "version"), &version) < 0 || version != 1)
		return st_errf(-EOPNOTSUPP, "the TOC is not version 1");
	entries = json_get(doc, "entries");
	if (!json_is(entries, JSON_ARRAY))
		return st_errf(-EUCLEAN, "the TOC has no entries");
	t.files = calloc(entries->n ? entries->n : 1, sizeof(*t.files));
	if (!t.files)
		return -ENOMEM;
	for (size_t i = 0; i < entries->n; i++) {
		const struct json_value *e = &entries->items[i];
		const char *type = json_string(json_get(e, "type")), *name = json_string(json_get(e, "name"));
		struct chunked_file *f = &t.files[t.n];
		const char *dg, *vd;

		if (!type || !name)
			return st_errf(-EUCLEAN, "TOC entry %zu has no type or name", i);
		if (strcmp(type, "chunk") == 0 || json_get(e, "chunkSize"))
			return st_errf(-EOPNOTSUPP, "TOC entry '%.200s': files in chunks are not read partially", name);
		if (strcmp(type, "reg") != 0)
			continue;
		if (json_u64(json_get(e, "size"), &f->size) < 0)
			return st_errf(-EUCLEAN, "TOC entry '%.200s': no size", name);
		if (f->size == 0)
			continue;
		dg = json_string(json_get(e, "digest"));
		if (!dg || oci_digest_parse(dg, f->sha256) < 0)
			return st_errf(-EUCLEAN, "TOC entry '%.200s': no sha256 digest", name);
		vd = json_string(json_get(e, CHUNKED_KEY_VERITY));
		if (vd) {
			if (hex32(vd, f->verity) < 0)
				return st_errf(-EUCLEAN, "TOC entry '%.200s': a bad " CHUNKED_KEY_VERITY, name);
			f->has_verity = true;
		}
		if (json_u64(json_get(e, "offset"), &f->offset) < 0 || json_u64(json_get(e, "endOffset"), &f->end) < 0)
			return st_errf(-EUCLEAN, "TOC entry '%.200s': no offset and endOffset", name);
		if (f->offset >= f->end || f->end > frames_end)
			return st_errf(-EUCLEAN, "TOC entry '%.200s': frame [%" PRIu64 ", %" PRIu64
				       ") is not inside the layer's %" PRIu64 " bytes of frames", name, f->offset, f->end,
				       frames_end);
		f->name = strdup(name);
		if (!f->name)
			return -ENOMEM;
		t.n++;
	}
	qsort(t.files, t.n, sizeof(*t.files), cmp_offset);
	for (size_t i = 1; i < t.n; i++)
		if (t.files[i].offset < t.files[i - 1].end)
			return st_errf(-EUCLEAN, "TOC entry '%.200s': its frame overlaps that of '%.200s'", t.files[i].name,
				       t.files[i - 1].name);
	*ret = t;
	t = (struct chunked_toc){};
	return 0;
}

/* The sha256 digest annotation key of layer index: 1 (ret set), 0 if absent, -EUCLEAN if not a digest. */
static int layer_digest_annotation(const struct json_value *layer, const char *key,
				   char ret[ST_OCI_DIGEST_STRING_SIZE])
{
	const char *dg = json_string(json_get(json_get(layer, "annotations"), key));

	if (!dg)
		return 0;
	if (oci_digest_parse(dg, (uint8_t[OCI_DIGEST_SIZE]){}) < 0)
		return st_errf(-EUCLEAN, "the annotation %s '%.80s' is not a sha256 digest", key, dg);
	memcpy(ret, dg, strlen(dg) + 1);
	return 1;
}

int chunked_delta_position(const void *manifest, size_t len, size_t index, uint64_t blob_size,
			   struct chunked_delta *ret)
{
	_cleanup_json_ struct json_value *doc = NULL;
	const struct json_value *layer;
	char dg[ST_OCI_DIGEST_STRING_SIZE];
	uint64_t v[2] = {};
	int r, has_base, has_pos;

	*ret = (struct chunked_delta){};
	r = manifest_layer(manifest, len, index, &doc, &layer);
	if (r < 0)
		return r;
	r = layer_digest_annotation(layer, CHUNKED_ANN_PAIR_DIGEST, ret->pair);
	if (r <= 0)
		return r < 0 ? r : -ENOENT;
	has_base = layer_digest_annotation(layer, CHUNKED_ANN_DELTA_BASE, ret->base);
	if (has_base < 0)
		return has_base;
	r = layer_part_annotations(manifest, len, index, CHUNKED_ANN_DELTA_DIGEST, CHUNKED_ANN_DELTA_POSITION,
				   "TOC delta", "OFFSET:LENGTH", 2, dg, v);
	if (r < 0 && r != -ENOENT)
		return r;
	has_pos = r == 0;
	if (has_base != has_pos)
		return st_errf(-EUCLEAN, "the TOC delta annotations are incomplete (%s without %s)",
			       has_base ? CHUNKED_ANN_DELTA_BASE : CHUNKED_ANN_DELTA_POSITION,
			       has_base ? CHUNKED_ANN_DELTA_POSITION : CHUNKED_ANN_DELTA_BASE);
	if (!has_pos)
		return 0;
	if (v[1] == 0 || v[1] > CHUNKED_TOC_MAX || v[0] > blob_size || v[1] > blob_size - v[0])
		return st_errf(-EUCLEAN, "the TOC delta position %" PRIu64 ":%" PRIu64
			       " does not fit a layer of %" PRIu64 " bytes", v[0], v[1], blob_size);
	memcpy(ret->digest, dg, sizeof(dg));
	ret->offset = v[0];
	ret->length = v[1];
	ret->has_delta = true;
	return 0;
}
