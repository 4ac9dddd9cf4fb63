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

#include "sealtree/oci.h"
#include "tree/tar-split.h"

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
/* Whether the buffer's SHA-256 is the digest "sha256:HEX" (false for a malformed digest). */
bool oci_sha256_matches(const void *data, size_t len, const char *digest);

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

/* ---- Sources (source.c, source-archive.c, source-docker.c) ---- */

struct st_digest_store;
struct st_node;

enum oci_source_type {
	OCI_SOURCE_LAYOUT,
	OCI_SOURCE_OCI_ARCHIVE,
	OCI_SOURCE_DOCKER_ARCHIVE,
};

struct st_oci_source {
	enum oci_source_type type;
	char *display;                  /* "oci:DIR", "docker-archive:FILE" */
	char *ref;                      /* TAG, @DIGEST, or NULL */
	int dir_fd;                     /* layout: the directory */
	/* archives: the archive read into a private digest store below tmp */
	char *tmp_path;                 /* removed by st_oci_source_free() */
	struct st_digest_store *store;
	int store_fd;
	struct st_node *tree;
	/* docker-archive: the layer files, in order, and the repo tags */
	char **docker_layers;
	size_t n_docker_layers;
};

/* The documents of the chosen image, each verified against its digest. */
struct oci_image_docs {
	char *manifest;                 /* the manifest's bytes (for docker-archive: synthesized, see oci.md) */
	size_t manifest_len;
	char manifest_digest[ST_OCI_DIGEST_STRING_SIZE];
	struct oci_manifest *m;
	char *config;
	size_t config_len;
	struct oci_config *c;
};
void oci_image_docs_done(struct oci_image_docs *d);

/* A file of the source by its path (beneath the layout, or inside the archive): never through a symlink. */
int oci_source_open_file(struct st_oci_source *src, const char *relpath, int *ret_fd, uint64_t *ret_size);
int oci_source_read_file(struct st_oci_source *src, const char *relpath, size_t max, char **ret, size_t *ret_len);
/* A blob of a layout (blobs/sha256/HEX), at most max bytes, its size and SHA-256 checked (-EBADMSG names it). */
int oci_source_read_blob(struct st_oci_source *src, const struct oci_descriptor *d, size_t max, char **ret,
			 size_t *ret_len);
/* Choose the image (index, tag, platform), read and check manifest and config. */
int oci_source_resolve(struct st_oci_source *src, const struct st_oci_import_options *opts,
		       struct oci_image_docs *ret);
/* Layer i of the resolved image: an fd of its blob (checked by the reader while it streams). */
int oci_source_open_layer(struct st_oci_source *src, const struct oci_image_docs *docs, size_t i, int *ret_fd);

/* source-archive.c: read an archive file into src's private store (tree, store_fd). */
int oci_source_unpack_archive(struct st_oci_source *src, const char *file, const char *tmp_dir);
void oci_source_archive_done(struct st_oci_source *src);
/* source-docker.c: resolve a docker-archive (manifest.json). */
int oci_docker_resolve(struct st_oci_source *src, struct oci_image_docs *ret);

/* ---- Layers (layer.c) and the merged tree (merge.c) ---- */

struct st_repo;

struct sha256_pairs;
/* A hardlink of a layer to a name that layer does not hold: resolved by the merge against the layers below. */
struct oci_lower_link {
	struct st_node *node;           /* its node in the layer's tree (resolve it: node_resolve()) */
	char *target;                   /* the link's target as the layer names it */
};

struct oci_layer_result {
	char diff_id[ST_OCI_DIGEST_STRING_SIZE];        /* SHA-256 of the uncompressed stream, as read */
	uint64_t uncompressed;
	uint64_t files, objects_written;
	struct st_tar_split split;      /* the stream's framing (tree/tar-split.h), owned */
	char split_digest[ST_OCI_DIGEST_STRING_SIZE];  /* SHA-256 of the record, once stored */
	struct oci_lower_link *lower_links;             /* owned (the targets; the nodes are the tree's) */
	size_t n_lower_links, cap_lower_links;
};
void oci_layer_result_done(struct oci_layer_result *r);

/*
 * Read a layer blob (fd, its descriptor d, the config's diff_id) once: the
 * blob is hashed as it is read, decompressed as d's media type says, the
 * uncompressed stream hashed and handed to the repository's tar reader,
 * whose files become objects of the repository. Only when the blob's
 * digest and size and the stream's diff_id all match is the layer's tree
 * returned (directories a member described marked ST_TAR_DIR_EXPLICIT);
 * otherwise -EBADMSG names the layer. -EFBIG when the stream is over the
 * limits of opts (a compression bomb stops there).
 */
int oci_layer_read(struct st_repo *repo, int fd, const struct oci_descriptor *d, const char *diff_id,
		   const struct st_oci_import_options *opts, struct sha256_pairs *learned, struct st_node **ret_tree,
		   struct oci_layer_result *ret);

/* -EINVAL naming the first character or block device under n (after what): layers carry none (merge.c). */
int oci_check_no_devices(const struct st_node *n, const char *what);
/* The merged tree of an image, built layer by layer (merge.c). */
struct oci_merge;
int oci_merge_new(struct oci_merge **ret);
/*
 * Apply a layer: its whiteouts (".wh.NAME" removes NAME of the layers
 * below, ".wh..wh..opq" empties its directory of them), then its entries
 * (a directory over a directory merges, anything else replaces). Takes
 * the layer's tree over in every case. what names the layer in errors.
 */
int oci_merge_layer(struct oci_merge *mg, struct st_node *layer, const struct oci_lower_link *links, size_t n_links,
		    const char *what);
/* The merged tree (hardlinks whose inode a later layer removed are re-formed); mg is freed. */
int oci_merge_finish(struct oci_merge *mg, struct st_node **ret_root);
struct oci_merge *oci_merge_free(struct oci_merge *mg);

/* ---- What the repository keeps of an image (store.c, docs/formats/oci.md) ---- */

#define OCI_BLOBS_DIR "oci/blobs/sha256"
#define OCI_RECORDS_DIR "oci/records"
#define OCI_RECORD_MAX (1024u * 1024)
#define OCI_META_NAME "oci.name"
#define OCI_META_MANIFEST "oci.manifest"
#define OCI_META_CONFIG "oci.config"

/* Keep a verified document (manifest or config) under oci/blobs/sha256/HEX. */
int oci_store_blob(struct st_repo *repo, const char *digest, const void *data, size_t len);
#define OCI_SPLIT_DIR "oci/tar-split"
/* Keep a layer's tar-split record under oci/tar-split/HEX (HEX: its SHA-256, filled into l->split_digest). */
int oci_store_split(struct st_repo *repo, struct oci_layer_result *l);
/* A stored tar-split record, checked against its digest and size (-EBADMSG names the file). */
int oci_read_split(struct st_repo *repo, const char *digest, uint64_t size, uint8_t **ret, size_t *ret_len);

/*
 * Rebuild layer index of img (its layer record, tar-split record and objects)
 * into write (may be NULL), checking every object against its fs-verity
 * digest and the stream against the layer's diff_id. Errors name the layer
 * and the member. ret_bytes: the stream's length.
 */
int oci_layer_rebuild(struct st_repo *repo, const struct st_oci_image *img, size_t index,
		      int (*write)(void *userdata, const void *data, size_t len), void *userdata, uint64_t *ret_files,
		      uint64_t *ret_bytes);

/* Keep the record of an image's layers (oci/records/<manifest hex>). */
int oci_store_record(struct st_repo *repo, const struct oci_image_docs *docs, const struct oci_layer_result *layers);
