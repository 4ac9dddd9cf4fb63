/* SPDX-License-Identifier: MIT */
/*
 * st_oci_import(): an image from a source into the repository. The order
 * is what makes a failure leave nothing behind: choose and verify the
 * manifest and config; read every layer (layer.c checks its digest and
 * diff_id) and merge it (merge.c); only then keep the documents and the
 * layer records, write the composefs image and the commit, and move the
 * image's ref last (st_repo_commit_tree()). Objects stored from a layer
 * that then fails are unreferenced and left to gc.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/error.h"
#include "oci-internal.h"
#include "repo/repo-internal.h"
#include "repo/sha256-index.h"

int st_oci_ref_of_name(const char *name, char ret[ST_REF_NAME_MAX + 1])
{
	if (name && strncmp(name, "oci/", 4) == 0)
		name += 4;
	return repo_oci_ref_of_name(name, ret);
}

int st_oci_name_of_ref(const char *ref, char ret[ST_REF_NAME_MAX + 1])
{
	return repo_oci_name_of_ref(ref, ret);
}

/* The uncompressed tar of a layer under blobs/sha256/<diff_id hex> (a partial pull's), as a layer. */
static int open_layer_by_diff_id(struct st_oci_source *src, const char *diff_id, int *ret_fd,
				 struct oci_descriptor *ret)
{
	char path[96];
	uint64_t size;
	int r;

	(void)snprintf(path, sizeof(path), "blobs/sha256/%s", diff_id + 7);
	r = oci_source_open_file(src, path, ret_fd, &size);
	if (r < 0)
		return r;
	*ret = (struct oci_descriptor){ .media_type = strdup(OCI_MT_LAYER), .size = size };
	if (!ret->media_type) {
		close(*ret_fd);
		return -ENOMEM;
	}
	memcpy(ret->digest, diff_id, sizeof(ret->digest));
	return 0;
}

static int read_layers(struct st_repo *repo, struct st_oci_source *src, const struct oci_image_docs *docs,
		       struct st_oci_import_options *opts, struct oci_layer_result *results, struct sha256_pairs *learned,
		       struct st_node **ret_root)
{
	struct oci_merge *mg = NULL;
	int r;

	r = oci_merge_new(&mg);
	if (r < 0)
		return r;
	for (size_t i = 0; i < docs->m->n_layers; i++) {
		const struct oci_descriptor *d = &docs->m->layers[i];
		struct st_node *tree = NULL;
		struct oci_descriptor by_diff_id = {};
		char what[160];
		int fd;

		r = oci_source_open_layer(src, docs, i, &fd);
		if (r == -ENOENT && opts && opts->layers_by_diff_id) {
			r = open_layer_by_diff_id(src, docs->c->diff_ids[i], &fd, &by_diff_id);
			if (r >= 0)
				d = &by_diff_id;
		}
		if (r >= 0) {
			r = oci_layer_read(repo, fd, d, docs->c->diff_ids[i], opts, learned, &tree, &results[i]);
			close(fd);
		}
		if (d == &by_diff_id) {
			d = &docs->m->layers[i];
			free(by_diff_id.media_type);
		}
		if (r < 0) {
			r = st_errf(r, "%s: %s", src->display, st_error_detail() ?: "cannot read a layer");
			break;
		}
		snprintf(what, sizeof(what), "%s: layer %s", src->display, d->digest);
		r = oci_merge_layer(mg, tree, results[i].lower_links, results[i].n_lower_links, what);
		if (r < 0)
			break;
		if (opts) {
			opts->layers++;
			opts->files += results[i].files;
			opts->objects_written += results[i].objects_written;
		}
	}
	if (r < 0) {
		oci_merge_free(mg);
		return r;
	}
	return oci_merge_finish(mg, ret_root);
}

int st_oci_import(struct st_repo *repo, struct st_oci_source *src, const char *name,
		  struct st_oci_import_options *opts, uint8_t ret_id[ST_COMMIT_ID_SIZE])
{
	char ref[ST_REF_NAME_MAX + 1], canon_name[ST_REF_NAME_MAX + 1];
	_cleanup_free_ struct oci_layer_result *results = NULL;
	_cleanup_free_ char *subject = NULL;
	_cleanup_(sha256_pairs_done) struct sha256_pairs learned = {};
	struct oci_image_docs docs = { 0 };
	struct st_node *root = NULL;
	struct st_commit_meta meta[3];
	struct st_commit_options co = { 0 };
	uint8_t id[ST_COMMIT_ID_SIZE];
	int r;

	if (!repo || !src || !name)
		return -EINVAL;
	r = st_oci_ref_of_name(name, ref);
	if (r < 0)
		return r;
	r = st_oci_name_of_ref(ref, canon_name);
	if (r < 0)
		return r;
	if (opts) {
		opts->layers = opts->files = opts->objects_written = 0;
		opts->manifest_digest[0] = '\0';
	}
	r = oci_source_resolve(src, opts, &docs);
	if (r < 0)
		return r;
	results = calloc(docs.m->n_layers ? docs.m->n_layers : 1, sizeof(*results));
	if (!results) {
		r = -ENOMEM;
		goto out;
	}
	r = read_layers(repo, src, &docs, opts, results, &learned, &root);
	if (r < 0)
		goto out;
	r = oci_store_blob(repo, docs.manifest_digest, docs.manifest, docs.manifest_len);
	if (r >= 0)
		r = oci_store_blob(repo, docs.m->config.digest, docs.config, docs.config_len);
	/* Each layer's tar-split record before the record that names it. */
	for (size_t i = 0; r >= 0 && i < docs.m->n_layers; i++)
		r = oci_store_split(repo, &results[i]);
	if (r >= 0)
		r = oci_store_record(repo, &docs, results);
	if (r < 0)
		goto out;

	meta[0] = (struct st_commit_meta){ .key = (char *)OCI_META_CONFIG, .value = docs.m->config.digest };
	meta[1] = (struct st_commit_meta){ .key = (char *)OCI_META_MANIFEST, .value = docs.manifest_digest };
	meta[2] = (struct st_commit_meta){ .key = (char *)OCI_META_NAME, .value = canon_name };
	if (!(opts && opts->subject) && asprintf(&subject, "oci import %s", canon_name) < 0) {
		subject = NULL;
		r = -ENOMEM;
		goto out;
	}
	co.ref = ref;
	co.subject = opts && opts->subject ? opts->subject : subject;
	co.metadata = meta;
	co.n_metadata = 3;
	co.parent_mode = ST_COMMIT_PARENT_NONE;
	r = st_repo_commit_tree(repo, root, &co, id, NULL);
	if (r < 0)
		goto out;
	/* What the layers' files taught the SHA-256 index (a failure only costs later partial pulls). */
	if (sha256_index_add(repo, learned.p, learned.n) < 0)
		st_error_clear();
	if (opts)
		memcpy(opts->manifest_digest, docs.manifest_digest, sizeof(opts->manifest_digest));
	if (ret_id)
		memcpy(ret_id, id, sizeof(id));
out:
	for (size_t i = 0; results && i < docs.m->n_layers; i++)
		oci_layer_result_done(&results[i]);
	st_node_free(root);
	oci_image_docs_done(&docs);
	return r;
}
