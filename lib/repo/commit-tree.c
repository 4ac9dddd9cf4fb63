/* SPDX-License-Identifier: MIT */
/*
 * Committing a tree (image into images/, commit into commits/, one syncfs,
 * then the ref) and reading a commit's tree back.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "basic/error.h"
#include "basic/hex.h"
#include "basic/io.h"
#include "basic/publish.h"
#include "fundamental/parse-number.h"
#include "repo-internal.h"
#include "sealtree/image.h"
#include "sealtree/verity.h"
#include "sealtree/verity-policy.h"

struct image_sink {
	int fd;
	uint64_t size;
	const char *display;    /* names the file in a write error (ENOSPC, EIO) */
};

static int sink_write(void *userdata, const void *buf, size_t len)
{
	struct image_sink *s = userdata;
	int r = write_full(s->fd, buf, len);

	if (r < 0)
		return st_errf(r, "cannot write '%s'", s->display);
	s->size += len;
	return r;
}

/*
 * Never publish an image our own reader refuses: a refused image makes fsck
 * quarantine it and gc refuse the whole repository. The writer refuses such
 * trees itself; this read-back is the last check, on the bytes written.
 */
static int read_back(int fd)
{
	struct st_node *back = NULL;
	int r;

	st_error_clear();
	r = st_image_read_tree_fd(fd, NULL, &back, NULL);
	st_node_free(back);
	if (r < 0) {
		const char *d = st_error_detail();
		return st_errf(r, "the image just written does not read back, not publishing it: %s",
			       d ? d : strerror(-r));
	}
	return 0;
}

static int image_enable_verity(int fd, const char *display, void *userdata)
{
	int r = st_verity_enable_fd(fd);

	(void)userdata;
	if (r == -EEXIST)
		return 0;
	return r < 0 ? st_errf(r, "cannot enable fs-verity on '%s'", display) : 0;
}

/* An image already at the name is kept only if its bytes have the name's digest. */
static int image_is_good(int fd, const char *display, void *userdata)
{
	uint8_t got[ST_DIGEST_SIZE];
	int r;

	(void)display;
	r = st_verity_digest_fd(fd, got);
	if (r == -EIO)
		return 0;       /* unreadable (with fs-verity: it does not match its Merkle tree) */
	if (r < 0)
		return r;
	return memcmp(got, userdata, ST_DIGEST_SIZE) == 0;
}

int st_repo_write_image(struct st_repo *repo, struct st_node *root, uint8_t ret_digest[ST_DIGEST_SIZE],
			uint32_t *ret_version, uint64_t *ret_size)
{
	struct st_image_write_options wo = { .min_version = 0, .max_version = repo->image_version_max };
	struct image_sink sink = { .fd = -EBADF };
	struct publish_ops ops = { .prepare = repo->verity ? image_enable_verity : NULL, .check_existing = image_is_good };
	_cleanup_free_ char *display = NULL;
	struct publish_tmp t;
	uint8_t digest[ST_DIGEST_SIZE];
	char hex[65];
	uint32_t version;
	int r;

	if (!repo || !root)
		return -EINVAL;
	if (asprintf(&display, "%s/%s/<new image>", repo->path, REPO_IMAGES_DIR) < 0)
		return -ENOMEM;
	r = publish_begin(repo->images_fd, 0644, display, &t);
	if (r < 0)
		return r;
	sink.fd = t.fd;
	sink.display = display;
	r = st_image_write(root, &wo, sink_write, &sink, digest, &version);
	if (r >= 0)
		r = read_back(t.fd);
	if (r < 0) {
		publish_abort(&t);
		return r;
	}
	st_hex_encode(digest, sizeof(digest), hex);
	free(display);
	if (asprintf(&display, "%s/%s/%s", repo->path, REPO_IMAGES_DIR, hex) < 0) {
		publish_abort(&t);
		return -ENOMEM;
	}
	/* A corrupt image already at the name is replaced, never accepted (basic/publish.h). */
	ops.userdata = digest;
	r = publish_finish(&t, hex, display, 0, &ops);
	if (r < 0)
		return r;
	if (ret_digest)
		memcpy(ret_digest, digest, sizeof(digest));
	if (ret_version)
		*ret_version = version;
	if (ret_size)
		*ret_size = sink.size;
	return 0;
}

static int meta_cmp(const void *a, const void *b)
{
	return strcmp(((const struct st_commit_meta *)a)->key, ((const struct st_commit_meta *)b)->key);
}

static int commit_timestamp(const struct st_commit_options *opts, int64_t *ret)
{
	const char *sde = getenv("SOURCE_DATE_EPOCH");

	if (opts->has_timestamp) {
		*ret = opts->timestamp;
		return 0;
	}
	if (sde && *sde) {
		uint64_t v;

		if (safe_atou64_max(sde, UINT64_C(1) << 40, &v) < 0)
			return st_errf(-EINVAL, "SOURCE_DATE_EPOCH='%s' is not a number of seconds", sde);
		*ret = (int64_t)v;
		return 0;
	}
	*ret = (int64_t)time(NULL);
	return 0;
}

int st_repo_commit_tree(struct st_repo *repo, struct st_node *root, const struct st_commit_options *opts,
			uint8_t ret_id[ST_COMMIT_ID_SIZE], struct st_commit **ret_commit)
{
	_cleanup_free_ struct st_commit_meta *meta = NULL;
	struct st_commit c = { 0 };
	uint8_t id[ST_COMMIT_ID_SIZE], cur[ST_COMMIT_ID_SIZE];
	bool have_cur = false, expect_absent = false;
	char canon[ST_REF_NAME_MAX + 1];
	int r;

	if (!repo || !root || !opts || !opts->ref)
		return -EINVAL;
	r = st_ref_canonicalize(opts->ref, canon);
	if (r < 0)
		return r;

	switch (opts->parent_mode) {
	case ST_COMMIT_PARENT_REF:
		r = st_repo_read_ref(repo, opts->ref, cur);
		if (r == -ENOENT)
			expect_absent = true;
		else if (r < 0)
			return r;
		else {
			have_cur = true;
			c.has_parent = true;
			memcpy(c.parent, cur, sizeof(cur));
		}
		break;
	case ST_COMMIT_PARENT_GIVEN: {
		struct st_commit *p = NULL;

		r = st_repo_read_commit(repo, opts->parent, &p);
		if (r < 0)
			return r;
		st_commit_free(p);
		c.has_parent = true;
		memcpy(c.parent, opts->parent, sizeof(c.parent));
		break;
	}
	case ST_COMMIT_PARENT_NONE:
		break;
	default:
		return -EINVAL;
	}
	r = commit_timestamp(opts, &c.timestamp);
	if (r < 0)
		return r;
	c.version = (char *)opts->version;
	c.subject = (char *)opts->subject;
	c.body = (char *)opts->body;
	if (opts->n_metadata > 0) {
		meta = new(struct st_commit_meta, opts->n_metadata);
		if (!meta)
			return -ENOMEM;
		memcpy(meta, opts->metadata, opts->n_metadata * sizeof(*meta));
		qsort(meta, opts->n_metadata, sizeof(*meta), meta_cmp);
		for (size_t i = 1; i < opts->n_metadata; i++)
			if (strcmp(meta[i - 1].key, meta[i].key) == 0)
				return st_errf(-EINVAL, "metadata key '%s' given twice", meta[i].key);
		c.metadata = meta;
		c.n_metadata = opts->n_metadata;
	}
	repo_tree_stats(root, &c.n_inodes, &c.content_size);

	/* A tree that claims a verity policy must keep it (st_verity_policy_apply() makes one that does). */
	{
		struct st_verity_policy *policy = NULL;

		st_error_clear();
		r = st_verity_policy_check_tree(root, &policy);
		st_verity_policy_free(policy);
		if (r < 0)
			return st_errf(r == -EUCLEAN ? -EINVAL : r, "the tree does not keep the verity policy it claims: %s",
				       st_error_detail() ? st_error_detail() : strerror(-r));
	}

	/* Check the fields before the (long) image write. */
	{
		_cleanup_free_ char *tmp = NULL;
		size_t len;

		r = st_commit_serialize(&c, &tmp, &len);
		if (r < 0)
			return r;
	}
	r = st_repo_write_image(repo, root, c.image_digest, &c.image_version, &c.image_size);
	if (r < 0)
		return r;
	r = st_repo_write_commit(repo, &c, id);
	if (r < 0)
		return r;
	/* Objects, image and commit on disk before any ref can reach them. */
	r = st_repo_sync(repo);
	if (r < 0)
		return r;
	r = repo_write_ref_cas(repo, opts->ref, id, have_cur ? cur : NULL, expect_absent);
	if (r < 0)
		return r;
	if (ret_commit) {
		r = st_repo_read_commit(repo, id, ret_commit);
		if (r < 0)
			return r;
	}
	if (ret_id)
		memcpy(ret_id, id, sizeof(id));
	return 0;
}

static int read_image(struct st_repo *repo, const uint8_t image_digest[ST_DIGEST_SIZE],
		      const struct st_image_read_options *ro, struct st_node **ret_root)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ uint8_t *buf = NULL;
	uint8_t got[ST_DIGEST_SIZE];
	char hex[65];
	size_t len;
	int r;

	st_hex_encode(image_digest, ST_DIGEST_SIZE, hex);
	fd = st_repo_open_image(repo, image_digest);
	if (fd < 0)
		return fd;
	r = read_fd_all(fd, &buf, &len);
	if (r < 0)
		return st_errf(r, "cannot read image %s", hex);
	if (repo->verity) {
		/* The kernel's measurement: reads through this fd are checked against it. */
		r = st_verity_measure_fd(fd, got);
		if (r < 0)
			return st_errf(r == -ENODATA ? ST_E_CORRUPT : r, "image %s: no fs-verity measurement", hex);
	} else {
		r = st_verity_digest_buffer(buf, len, got);
		if (r < 0)
			return r;
	}
	if (memcmp(got, image_digest, ST_DIGEST_SIZE) != 0)
		return st_errf(ST_E_DIGEST, "image %s: its digest does not match its name (corrupt)", hex);
	r = st_image_read_tree(buf, len, ro, ret_root, NULL);
	if (r < 0) {
		const char *d = st_error_detail();
		return st_errf(r, "image %s: %s", hex, d ? d : "cannot parse");
	}
	return 0;
}

int st_repo_read_image_tree(struct st_repo *repo, const uint8_t image_digest[ST_DIGEST_SIZE],
			    struct st_node **ret_root)
{
	/* Objects are named by their digest: a file outside a verity policy still names its object. */
	struct st_image_read_options ro = { .flags = ST_IMAGE_READ_HARDLINKS_BFS | ST_IMAGE_READ_DIGEST_FROM_REDIRECT };

	return read_image(repo, image_digest, &ro, ret_root);
}

int st_repo_read_image_paths(struct st_repo *repo, const uint8_t image_digest[ST_DIGEST_SIZE],
			     const char *const *paths, size_t n_paths, struct st_node **ret_root)
{
	struct st_image_read_options ro = {
		.filters = paths,
		.n_filters = n_paths,
		.flags = ST_IMAGE_READ_HARDLINKS_BFS | ST_IMAGE_READ_DIGEST_FROM_REDIRECT | ST_IMAGE_READ_FILTER_PATHS,
	};

	return read_image(repo, image_digest, &ro, ret_root);
}

int st_repo_read_tree(struct st_repo *repo, const char *spec, struct st_commit **ret_commit,
		      struct st_node **ret_root)
{
	struct st_commit *c = NULL;
	uint8_t id[ST_COMMIT_ID_SIZE];
	int r;

	r = st_repo_resolve(repo, spec, id);
	if (r < 0)
		return r;
	r = st_repo_read_commit(repo, id, &c);
	if (r < 0)
		return r;
	if (ret_root) {
		r = st_repo_read_image_tree(repo, c->image_digest, ret_root);
		if (r < 0) {
			st_commit_free(c);
			return r;
		}
	}
	if (ret_commit)
		*ret_commit = c;
	else
		st_commit_free(c);
	return 0;
}
