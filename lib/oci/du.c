/* SPDX-License-Identifier: MIT */
/*
 * st_oci_du(): what the store holds and who shares it. Every ref's tip
 * commit tree is walked once; each object (a regular file stored out of
 * line, each inode once per tree) goes into a table keyed by its fs-verity
 * digest recording whether a host ref (any ref outside refs/oci/) reaches
 * it and how many images do (and the first of them). Objects are shared
 * by digest, so a file a host tree and an image both hold counts once.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/error.h"
#include "sealtree/hex.h"
#include "oci-internal.h"
#include "repo/repo-internal.h"
#include "tree/tree-internal.h"

struct du_entry {
	uint8_t digest[ST_DIGEST_SIZE];
	bool used, host;
	uint32_t n_images;
	uint32_t first_image;
	uint32_t last_owner;            /* the ref that counted it last: each tree counts an object once */
	uint64_t size;
};

struct du_table {
	struct du_entry *e;
	size_t cap, n;
};

static uint64_t key_of(const uint8_t d[ST_DIGEST_SIZE])
{
	uint64_t k;

	memcpy(&k, d, sizeof(k));
	return k;
}

static int table_grow(struct du_table *t)
{
	struct du_table nt = { .cap = t->cap ? t->cap * 2 : 4096 };

	nt.e = calloc(nt.cap, sizeof(*nt.e));
	if (!nt.e)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++) {
		size_t j;

		if (!t->e[i].used)
			continue;
		for (j = key_of(t->e[i].digest) & (nt.cap - 1); nt.e[j].used; j = (j + 1) & (nt.cap - 1))
			;
		nt.e[j] = t->e[i];
	}
	nt.n = t->n;
	free(t->e);
	*t = nt;
	return 0;
}

static int table_get(struct du_table *t, const uint8_t d[ST_DIGEST_SIZE], struct du_entry **ret)
{
	size_t j;

	if ((t->n + 1) * 2 > t->cap) {
		int r = table_grow(t);

		if (r < 0)
			return r;
	}
	for (j = key_of(d) & (t->cap - 1); t->e[j].used; j = (j + 1) & (t->cap - 1))
		if (memcmp(t->e[j].digest, d, ST_DIGEST_SIZE) == 0) {
			*ret = &t->e[j];
			return 0;
		}
	t->e[j] = (struct du_entry){ .used = true, .last_owner = UINT32_MAX };
	memcpy(t->e[j].digest, d, ST_DIGEST_SIZE);
	t->n++;
	*ret = &t->e[j];
	return 1;
}

/* owner: the ref's index; image: its index among images, or -1 for a host ref. */
static int walk(struct du_table *t, const struct st_node *n, uint32_t owner, int image, struct st_oci_du_image *img)
{
	for (size_t i = 0; i < n->n_children; i++) {
		const struct st_node *c = n->children[i];
		struct du_entry *e;
		int r;

		if (c->link_target)
			continue;
		if (node_is_dir(c)) {
			r = walk(t, c, owner, image, img);
			if (r < 0)
				return r;
			continue;
		}
		if (!node_is_reg(c) || !c->has_digest || c->content || !c->payload)
			continue;
		r = table_get(t, c->digest, &e);
		if (r < 0)
			return r;
		e->size = c->size;
		if (e->last_owner == owner)
			continue;
		e->last_owner = owner;
		if (img) {
			img->objects++;
			img->bytes += c->size;
		}
		if (image < 0)
			e->host = true;
		else if (e->n_images++ == 0)
			e->first_image = (uint32_t)image;
	}
	return 0;
}

void st_oci_du_free(struct st_oci_du *du)
{
	if (!du)
		return;
	for (size_t i = 0; i < du->n_images; i++)
		free(du->images[i].name);
	free(du->images);
	free(du);
}

/* Files and bytes in objects/XX/. */
static void count_stored(struct st_repo *repo, struct st_oci_du *du)
{
	for (unsigned b = 0; b < 256; b++) {
		char name[3] = { "0123456789abcdef"[b >> 4], "0123456789abcdef"[b & 15], 0 };
		int fd = openat(repo->objects_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		struct dirent *de;
		DIR *d;

		if (fd < 0)
			continue;
		d = fdopendir(fd);
		if (!d) {
			close(fd);
			continue;
		}
		while ((de = readdir(d))) {
			struct stat st;

			if (de->d_name[0] == '.' || fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
			    !S_ISREG(st.st_mode))
				continue;
			du->stored_objects++;
			du->stored_bytes += (uint64_t)st.st_size;
		}
		closedir(d);
	}
}

int st_oci_du(struct st_repo *repo, struct st_oci_du **ret)
{
	struct du_table t = { 0 };
	struct st_ref *refs = NULL;
	struct st_oci_du *du;
	size_t n_refs = 0;
	int r;

	if (!repo || !ret)
		return -EINVAL;
	du = calloc(1, sizeof(*du));
	if (!du)
		return -ENOMEM;
	r = st_repo_list_refs(repo, true, &refs, &n_refs);
	if (r < 0)
		goto out;
	du->images = calloc(n_refs ? n_refs : 1, sizeof(*du->images));
	if (!du->images) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n_refs; i++) {
		char name[ST_REF_NAME_MAX + 1], hex[2 * ST_COMMIT_ID_SIZE + 1];
		struct st_node *root = NULL;
		int image = -1;

		if (strncmp(refs[i].name, "refs/oci/", 9) == 0 && repo_oci_name_of_ref(refs[i].name, name) >= 0) {
			du->images[du->n_images].name = strdup(name);
			if (!du->images[du->n_images].name) {
				r = -ENOMEM;
				goto out;
			}
			image = (int)du->n_images++;
		}
		/* Mount pins hold what is mounted (an image or a host commit): not owners of their own. */
		else if (strncmp(refs[i].name, "refs/mounts/", 12) == 0)
			continue;
		st_error_clear();
		st_hex_encode(refs[i].id, ST_COMMIT_ID_SIZE, hex);
		r = st_repo_read_tree(repo, hex, NULL, &root);
		if (r < 0) {
			r = st_errf(r, "ref '%s': %s", refs[i].name, st_error_detail() ?: "cannot read its tree");
			goto out;
		}
		r = walk(&t, root, (uint32_t)i, image, image >= 0 ? &du->images[image] : NULL);
		st_node_free(root);
		if (r < 0)
			goto out;
	}
	for (size_t j = 0; j < t.cap; j++) {
		const struct du_entry *e = &t.e[j];

		if (!e->used)
			continue;
		if (e->host) {
			du->host_objects++;
			du->host_bytes += e->size;
		}
		if (e->n_images) {
			du->image_objects++;
			du->image_bytes += e->size;
		}
		if (e->host && e->n_images) {
			du->shared_objects++;
			du->shared_bytes += e->size;
		}
		if (!e->host && e->n_images == 1) {
			du->images[e->first_image].unique_objects++;
			du->images[e->first_image].unique_bytes += e->size;
		}
	}
	count_stored(repo, du);
out:
	st_ref_list_free(refs, n_refs);
	free(t.e);
	if (r < 0) {
		st_oci_du_free(du);
		return r;
	}
	*ret = du;
	return 0;
}
