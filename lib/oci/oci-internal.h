/* SPDX-License-Identifier: MIT */
/*
 * The OCI layer's internals: the parsers of manifests, indexes and configs
 * (manifest.c), digests (digest.c), sources (source*.c), layers (layer.c),
 * the merge of layers (merge.c) and the stored records (store.c). Shared by
 * lib/oci only; the registry client (registry*.c) builds on them too.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Until include/sealtree/oci.h (the public import API) lands, the one size it defines. */
#ifndef ST_OCI_DIGEST_STRING_SIZE
#define ST_OCI_DIGEST_STRING_SIZE 72
#endif

/* Media types (OCI image-spec 1.1, Docker image manifest v2 schema 2). */
#define OCI_MT_INDEX "application/vnd.oci.image.index.v1+json"
#define OCI_MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define OCI_MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define OCI_MT_LAYER "application/vnd.oci.image.layer.v1.tar"
#define OCI_MT_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define OCI_MT_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define DOCKER_MT_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define DOCKER_MT_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define DOCKER_MT_CONFIG "application/vnd.docker.container.image.v1+json"
#define DOCKER_MT_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"

/* Caps on untrusted documents (the distribution spec's 4 MiB for manifests). */
#define OCI_MANIFEST_MAX (4u * 1024 * 1024)
#define OCI_CONFIG_MAX (8u * 1024 * 1024)
#define OCI_LAYERS_MAX 1024u
#define OCI_INDEX_ENTRIES_MAX 4096u

#define OCI_DIGEST_SIZE 32

/* "sha256:" + 64 lowercase hex digits exactly; -EOPNOTSUPP for another algorithm, -EINVAL otherwise. */
int oci_digest_parse(const char *s, uint8_t ret[OCI_DIGEST_SIZE]);
void oci_digest_format(const uint8_t d[OCI_DIGEST_SIZE], char ret[ST_OCI_DIGEST_STRING_SIZE]);
/* SHA-256 of a buffer. */
void oci_sha256(const void *data, size_t len, uint8_t ret[OCI_DIGEST_SIZE]);

enum oci_compression {
	OCI_COMPRESSION_NONE,
	OCI_COMPRESSION_GZIP,
	OCI_COMPRESSION_ZSTD,
};

struct oci_descriptor {
	char *media_type;
	char digest[ST_OCI_DIGEST_STRING_SIZE];
	uint64_t size;
	/* index entries only */
	char *os, *architecture, *variant;
	char *ref_name;                 /* annotation org.opencontainers.image.ref.name, or NULL */
};

struct oci_index {
	char *media_type;               /* NULL if the document has none (an OCI index may omit it) */
	struct oci_descriptor *manifests;
	size_t n_manifests;
};

struct oci_manifest {
	char *media_type;               /* OCI_MT_MANIFEST or DOCKER_MT_MANIFEST */
	struct oci_descriptor config;
	struct oci_descriptor *layers;
	size_t n_layers;
};

struct oci_config {
	char *os, *architecture, *variant;
	char (*diff_ids)[ST_OCI_DIGEST_STRING_SIZE];
	size_t n_diff_ids;
};

enum oci_doc_kind {
	OCI_DOC_INDEX,                  /* OCI index or Docker manifest list */
	OCI_DOC_MANIFEST,               /* OCI or Docker schema 2 image manifest */
};

/*
 * What a manifest-like document is, by its mediaType (or, for an OCI
 * document without one, by its shape). what names it in errors ("manifest
 * sha256:..."). -EOPNOTSUPP for Docker schema 1 and unknown media types.
 */
int oci_doc_kind(const void *data, size_t len, const char *what, enum oci_doc_kind *ret);
int oci_index_parse(const void *data, size_t len, const char *what, struct oci_index **ret);
int oci_manifest_parse(const void *data, size_t len, const char *what, struct oci_manifest **ret);
int oci_config_parse(const void *data, size_t len, const char *what, struct oci_config **ret);
struct oci_index *oci_index_free(struct oci_index *x);
struct oci_manifest *oci_manifest_free(struct oci_manifest *m);
struct oci_config *oci_config_free(struct oci_config *c);
void oci_descriptor_done(struct oci_descriptor *d);

/*
 * The index entry for a platform (os, architecture: required; variant: NULL
 * = any). -ENOENT with a detail listing the platforms the index offers.
 */
int oci_index_select(const struct oci_index *x, const char *os, const char *architecture, const char *variant,
		     const struct oci_descriptor **ret);

/* The compression of a layer media type; -EOPNOTSUPP names an unknown one. */
int oci_layer_compression(const char *media_type, enum oci_compression *ret);

/* A streaming SHA-256 (OpenSSL's, with SHA-NI where the CPU has it). */
struct oci_hash {
	void *ctx;
};
int oci_hash_init(struct oci_hash *h);
void oci_hash_update(struct oci_hash *h, const void *data, size_t len);
void oci_hash_final(struct oci_hash *h, uint8_t ret[OCI_DIGEST_SIZE]);
void oci_hash_done(struct oci_hash *h);
