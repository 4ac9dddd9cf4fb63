/* SPDX-License-Identifier: MIT */
/*
 * OCI container images in the repository's store (docs/formats/oci.md).
 *
 * An image is imported from a source (an OCI image layout directory, an
 * oci-archive or a docker-archive tar file); every blob is checked against
 * its digest before it is used, each layer is read once (tar, gzip or zstd),
 * its files become objects in the same objects/ as host commits (named by
 * fs-verity digest, so a file shared with the host is stored once), the
 * layers' whiteouts are applied to build the merged tree, and that tree
 * becomes one composefs image and one commit under the ref of NAME:TAG:
 *
 *   user spelling   oci/NAME:TAG            e.g. oci/docker.io/library/debian:12
 *   ref             refs/oci/NAME/+TAG      (':' of a registry port becomes '+')
 *
 * The manifest and config blobs are kept byte for byte under REPO/oci/blobs/
 * and a per-layer record under REPO/oci/layers/, so the diff_ids can be
 * checked again and the image pushed again.
 *
 * Every function returns 0 (or >= 0) on success and a negative errno on
 * failure, with st_error_message() naming the blob, layer or entry.
 */
#ifndef SEALTREE_OCI_H
#define SEALTREE_OCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sealtree/repo.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef ST_EXPORT
#define ST_EXPORT __attribute__((visibility("default")))
#endif

/* "sha256:" and 64 lowercase hex digits, and the NUL. */
#define ST_OCI_DIGEST_STRING_SIZE 72

/* ---- Image names ---------------------------------------------------------- */

/*
 * An image name as users write it: NAME[:TAG] (TAG "latest" if omitted),
 * optionally spelt "oci/NAME:TAG". NAME is the OCI distribution grammar
 * (lowercase components of [a-z0-9] joined by '.', '_', '__' or '-',
 * separated by '/'), the first component may be a registry host with a
 * ":PORT"; TAG is [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
 *
 * st_oci_ref_of_name() writes the image's ref name ("refs/oci/NAME/+TAG") into
 * ret (ST_REF_NAME_MAX + 1 bytes); st_oci_name_of_ref() does the reverse
 * into "NAME:TAG". -EINVAL with a detail for anything off the grammar.
 * st_ref_canonicalize() accepts "oci/NAME:TAG" too, so every command that
 * takes a ref takes an image name.
 */
ST_EXPORT int st_oci_ref_of_name(const char *name, char ret[ST_REF_NAME_MAX + 1]);
ST_EXPORT int st_oci_name_of_ref(const char *ref, char ret[ST_REF_NAME_MAX + 1]);

/* ---- Sources ---------------------------------------------------------------- */

struct st_oci_source;

/*
 * Open a source:
 *   oci:DIR[:TAG|@DIGEST]   an OCI image layout directory (oci-layout,
 *                           index.json, blobs/sha256/...); TAG is matched
 *                           against org.opencontainers.image.ref.name of the
 *                           index, none = the index's only manifest;
 *   oci-archive:FILE[:TAG]  the same as a tar file;
 *   docker-archive:FILE     `docker save` / skopeo format (manifest.json).
 * Archives are unpacked into a temporary directory below tmp_dir (a
 * repository's tmp/, given by st_oci_import(); NULL = $TMPDIR or /tmp),
 * removed by st_oci_source_free(). A blob is only ever read from its own
 * file and checked against its digest while it is read.
 */
ST_EXPORT int st_oci_source_open(const char *spec, const char *tmp_dir, struct st_oci_source **ret);
/* An OCI layout directory (the pull of a registry client writes one); ref may be NULL. */
ST_EXPORT int st_oci_source_open_layout(const char *dir, const char *ref, struct st_oci_source **ret);
/* Accepts NULL; returns NULL. */
ST_EXPORT struct st_oci_source *st_oci_source_free(struct st_oci_source *src);

/* ---- Import ----------------------------------------------------------------- */

struct st_oci_import_options {
	const char *os, *architecture, *variant;        /* platform chosen from an index; NULL = linux, amd64, any */
	/*
	 * Decompressed bytes a layer may hold: at most max_layer_bytes (0 = no
	 * fixed cap) and at most 1 GiB + max_layer_ratio (0 = 100) times its
	 * compressed size, so a gzip bomb stops early with -EFBIG.
	 */
	uint64_t max_layer_bytes;
	uint32_t max_layer_ratio;
	const char *subject;                            /* commit subject; NULL = "oci import NAME:TAG" */
	/* A layer blob missing from the source may be its uncompressed tar, named by its diff_id
	 * (a partial pull rebuilds zstd:chunked layers so); checked against the diff_id like any layer. */
	bool layers_by_diff_id;
	/* Filled on return. */
	uint64_t layers;                                /* layers read */
	uint64_t files;                                 /* regular files with contents read from layers */
	uint64_t objects_written;                       /* objects newly published */
	char manifest_digest[ST_OCI_DIGEST_STRING_SIZE];
	uint32_t reserved[8];
};

/*
 * Import the image of src as name (NAME[:TAG], see above): check every
 * blob, read every layer, commit the merged tree and move the image's ref
 * (unconditionally: importing a new image under a tag replaces the old one,
 * as a registry's tag does). Nothing is published under a ref before every
 * blob and layer was verified; on failure the ref is unchanged. ret_id may
 * be NULL. opts may be NULL.
 */
ST_EXPORT int st_oci_import(struct st_repo *repo, struct st_oci_source *src, const char *name,
			    struct st_oci_import_options *opts, uint8_t ret_id[ST_COMMIT_ID_SIZE]);

/* ---- Stored images ---------------------------------------------------------- */

struct st_oci_layer_info {
	char digest[ST_OCI_DIGEST_STRING_SIZE];         /* of the blob as stored in the registry */
	char diff_id[ST_OCI_DIGEST_STRING_SIZE];        /* of the uncompressed tar */
	char *media_type;
	uint64_t size;                                  /* compressed bytes */
	uint64_t uncompressed_size;
	char split_digest[ST_OCI_DIGEST_STRING_SIZE];   /* its tar-split record's, "" if none was kept */
	uint64_t split_size;
};

struct st_oci_image {
	char *name;                                     /* NAME:TAG */
	uint8_t commit[ST_COMMIT_ID_SIZE];
	char manifest_digest[ST_OCI_DIGEST_STRING_SIZE];
	char config_digest[ST_OCI_DIGEST_STRING_SIZE];
	char *manifest_media_type;
	char *os, *architecture;                        /* from the config */
	int64_t created;                                /* the commit's timestamp */
	struct st_oci_layer_info *layers;
	size_t n_layers;
};

/* Every image (refs/oci/...), sorted by name; layers are not filled (n_layers is). */
ST_EXPORT int st_oci_list_images(struct st_repo *repo, struct st_oci_image **ret, size_t *ret_n);
/* One image by name, layers filled from its records. -ENOENT if there is none. */
ST_EXPORT int st_oci_get_image(struct st_repo *repo, const char *name, struct st_oci_image **ret);
/* The manifest or config blob of an image, byte for byte (kept under REPO/oci/blobs). */
ST_EXPORT int st_oci_read_blob(struct st_repo *repo, const char *digest, char **ret, size_t *ret_len);
ST_EXPORT void st_oci_image_free(struct st_oci_image *img);
ST_EXPORT void st_oci_image_list_free(struct st_oci_image *imgs, size_t n);

/*
 * Remove an image's ref, and its manifest, config and layer records if no
 * other image uses them. Its objects, image and commit stay until gc.
 */
ST_EXPORT int st_oci_remove_image(struct st_repo *repo, const char *name);

/* ---- Re-verifying layers ---------------------------------------------------- */

/* What st_oci_verify_image() found for one layer. */
struct st_oci_verify_layer {
	size_t index, n_layers;
	const char *digest;             /* the layer blob's, as the manifest says */
	const char *diff_id;            /* the config's */
	uint64_t files, bytes;          /* files rebuilt from objects, bytes of the rebuilt tar */
	int result;                     /* 0: the rebuilt tar hashes to the diff_id; else a negative errno */
	const char *detail;             /* why (naming the member and the object), NULL if result is 0 */
};
typedef void (*st_oci_verify_fn)(void *userdata, const struct st_oci_verify_layer *layer);

/*
 * Rebuild each layer's uncompressed tar of image name from its tar-split
 * record (docs/formats/tar-split.md) and the objects, checking every
 * object against its fs-verity digest and the tar's SHA-256 against the
 * config's diff_id; report is called once per layer, bottom first. Returns
 * 0 when every layer matched, -EBADMSG (detail: how many failed) when one
 * did not, or another negative errno if the image cannot be read.
 */
ST_EXPORT int st_oci_verify_image(struct st_repo *repo, const char *name, st_oci_verify_fn report, void *userdata);

/* ---- Space: what images and host trees share ------------------------------ */

struct st_oci_du_image {
	char *name;                     /* NAME:TAG */
	uint64_t objects, bytes;        /* objects its tree references, and their bytes */
	uint64_t unique_objects, unique_bytes;  /* of those, referenced by no other ref's tree */
};

struct st_oci_du {
	uint64_t stored_objects, stored_bytes;  /* every file in objects/ */
	uint64_t host_objects, host_bytes;      /* referenced by the trees of the other refs (host commits,
						 * deployments), mount pins (refs/mounts/) left out */
	uint64_t image_objects, image_bytes;    /* referenced by the trees of image refs */
	uint64_t shared_objects, shared_bytes;  /* referenced by both */
	struct st_oci_du_image *images;         /* sorted by name */
	size_t n_images;
};

/*
 * Count the objects the trees of every ref's commit reference (the tips,
 * not their history), each object once: by host refs, by images, by both,
 * and per image what no other ref references. Free with st_oci_du_free().
 */
ST_EXPORT int st_oci_du(struct st_repo *repo, struct st_oci_du **ret);
ST_EXPORT void st_oci_du_free(struct st_oci_du *du);

#ifdef __cplusplus
}
#endif
#endif
