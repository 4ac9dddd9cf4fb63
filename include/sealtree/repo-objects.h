/* SPDX-License-Identifier: MIT */
/*
 * sealtree object store: the content-addressed part of a repository.
 *
 *   REPO/objects/XX/Y{62}    file contents, named by their fs-verity digest
 *   REPO/images/H{64}        composefs images, named by their fs-verity digest
 *
 * Every function returns 0 (or a non-negative value) on success and a
 * negative errno on failure, with st_error_message() naming the object.
 */
#ifndef SEALTREE_REPO_OBJECTS_H
#define SEALTREE_REPO_OBJECTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sealtree/repo.h"
#include "sealtree/tree.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef ST_EXPORT
#define ST_EXPORT __attribute__((visibility("default")))
#endif

/* Relative path of an object: "objects/XX/Y{62}" into buf (at least 74 bytes). */
ST_EXPORT void st_repo_object_relpath(const uint8_t digest[ST_DIGEST_SIZE], char buf[74]);
/* Relative path of an image: "images/H{64}" into buf (at least 72 bytes). */
ST_EXPORT void st_repo_image_relpath(const uint8_t digest[ST_DIGEST_SIZE], char buf[72]);

/* Open an object or image read-only (O_CLOEXEC); -ENOENT names the object. Returns the fd. */
ST_EXPORT int st_repo_open_object(struct st_repo *repo, const uint8_t digest[ST_DIGEST_SIZE]);
ST_EXPORT int st_repo_open_image(struct st_repo *repo, const uint8_t digest[ST_DIGEST_SIZE]);

/* 1 if present, 0 if not, or a negative errno. */
ST_EXPORT int st_repo_has_object(struct st_repo *repo, const uint8_t digest[ST_DIGEST_SIZE]);

/*
 * Read a commit's image into a tree (the image's digest is checked against
 * its name first: by the kernel's measurement on a verity repository,
 * otherwise computed from the same fd). Hardlinks are placed as the writer
 * numbers them (ST_IMAGE_READ_HARDLINKS_BFS), so writing the tree again
 * gives the same image.
 */
ST_EXPORT int st_repo_read_image_tree(struct st_repo *repo, const uint8_t image_digest[ST_DIGEST_SIZE],
				      struct st_node **ret_root);

/*
 * The same, loading only the subtrees at paths (ST_IMAGE_READ_FILTER_PATHS
 * patterns: "usr/etc", "usr/lib/modules/" followed by an asterisk): the
 * image is checked whole, but only the inodes on those paths are parsed,
 * so the tree costs what the subtrees cost.
 */
ST_EXPORT int st_repo_read_image_paths(struct st_repo *repo, const uint8_t image_digest[ST_DIGEST_SIZE],
				       const char *const *paths, size_t n_paths, struct st_node **ret_root);

/* Write an image of root into images/ (not synced). ret_size: its size in bytes. */
ST_EXPORT int st_repo_write_image(struct st_repo *repo, struct st_node *root, uint8_t ret_digest[ST_DIGEST_SIZE],
				  uint32_t *ret_version, uint64_t *ret_size);

#ifdef __cplusplus
}
#endif
#endif
