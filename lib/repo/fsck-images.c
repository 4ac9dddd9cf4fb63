/* SPDX-License-Identifier: MIT */
/*
 * fsck of images/: each image's digest (and kernel measurement on a verity
 * repository), the hardened reader's full validation, and every object its
 * files reference present.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/error.h"
#include "basic/io.h"
#include "basic/macro.h"
#include "repo/fsck-internal.h"
#include "sealtree/image.h"
#include "sealtree/verity.h"
#include "sealtree/verity-policy.h"
#include "tree/tree-internal.h"

/* Missing objects reported per image before the rest is summed up. */
#define MISSING_REPORT_MAX 10

int fsck_list_images(struct fsck *f)
{
	int r;

	r = list_dir(f->repo->images_fd, ".", &f->image_names, &f->n_image_names);
	if (r < 0)
		return st_errf(r, "cannot read '%s/%s'", f->repo->path, REPO_IMAGES_DIR);
	return 0;
}

struct image_walk {
	struct fsck *f;
	const char *path;               /* "images/<hex>" */
	uint64_t missing;
	const struct st_verity_policy *policy;  /* the image's own, checked: files outside it may lack a digest */
	bool bad;
	char bad_why[256];
};

/* The image is bad because of this file: record why and stop the walk. */
static int file_bad(struct image_walk *w, struct st_node *node, const char *why, const char *payload)
{
	_cleanup_free_ char *file = NULL;
	int r = node_get_path(node, &file);

	if (r < 0)
		return r;
	if (payload)
		(void)snprintf(w->bad_why, sizeof(w->bad_why), "file '%s' %s '%s', not to an object", file, why, payload);
	else
		(void)snprintf(w->bad_why, sizeof(w->bad_why), "file '%s' (%" PRIu64 " bytes) %s", file, node->size,
			       why);
	w->bad = true;
	return -ECANCELED;
}

static int check_image_file(void *userdata, struct st_node *node)
{
	struct image_walk *w = userdata;
	_cleanup_free_ char *file = NULL;
	uint8_t d[ST_DIGEST_SIZE];
	char hex[65];
	int r;

	/*
	 * Without a redirect the kernel cannot open the file (EIO), while a
	 * digest would still let checkout find bytes: the readers disagree.
	 */
	if (!node->payload)
		return file_bad(w, node, "has no redirect to an object", NULL);
	if (parse_object_payload(node->payload, d) < 0)
		return file_bad(w, node, "redirects to", node->payload);
	if (!node->has_digest && !w->policy)
		return file_bad(w, node, "has no fs-verity digest for its object", NULL);
	if (node->has_digest && memcmp(d, node->digest, ST_DIGEST_SIZE) != 0)
		return file_bad(w, node, "has a digest other than the object it redirects to", NULL);

	if (digest_set_contains(&w->f->objects_ok, d))
		return 0;
	if (w->missing++ < MISSING_REPORT_MAX) {
		r = node_get_path(node, &file);
		if (r < 0)
			return r;
		fsck_unfixable(w->f, w->path, "file '%s' needs missing object objects/%.2s/%s", file, hex32(d, hex),
			       hex + 2);
	}
	return 0;
}

static void node_freep(struct st_node **n)
{
	st_node_free(*n);
}

static void policy_freep(struct st_verity_policy **p)
{
	st_verity_policy_free(*p);
}

/* true if the image is there and good enough to count as present. */
static bool check_image(struct fsck *f, const char *name, const uint8_t digest[ST_DIGEST_SIZE])
{
	_cleanup_(node_freep) struct st_node *root = NULL;
	_cleanup_(policy_freep) struct st_verity_policy *policy = NULL;
	_cleanup_free_ uint8_t *data = NULL;
	_cleanup_close_ int fd = -EBADF;
	struct image_walk w = { .f = f };
	uint8_t computed[ST_DIGEST_SIZE];
	char path[sizeof(REPO_IMAGES_DIR) + 1 + HEX64_LEN + 1], hex[65];
	struct stat st;
	size_t len = 0;
	int r;

	(void)snprintf(path, sizeof(path), "%s/%s", REPO_IMAGES_DIR, name);
	w.path = path;
	fd = openat(f->repo->images_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 && errno == ENOENT)
		return false;
	if (fd < 0 && (errno == ELOOP || errno == ENXIO || errno == ENODEV))
		return !fsck_bad(f, path, "not a regular file");
	if (fd < 0 || fstat(fd, &st) < 0) {
		fsck_unfixable(f, path, "cannot open: %s", strerror(errno));
		return true;
	}
	if (!S_ISREG(st.st_mode))
		return !fsck_bad(f, path, "not a regular file");
	f->opts->images_checked++;
	r = read_fd_all(fd, &data, &len);
	if (r == -EIO)
		return !fsck_bad(f, path, "content cannot be read (I/O error)");
	if (r < 0) {
		fsck_unfixable(f, path, "cannot read: %s", strerror(-r));
		return true;
	}
	r = st_verity_digest_buffer(data, len, computed);
	if (r < 0) {
		fsck_unfixable(f, path, "cannot hash: %s", strerror(-r));
		return true;
	}
	if (memcmp(computed, digest, ST_DIGEST_SIZE) != 0)
		return !fsck_bad(f, path, "content has fs-verity digest %s, not its name", hex32(computed, hex));
	if (st_repo_has_verity(f->repo)) {
		r = st_verity_measure_fd(fd, computed);
		if (r == -ENODATA && f->repair && st_verity_enable_fd(fd) == 0)
			fsck_report(f, ST_FSCK_ERROR, ST_FSCK_FIXED, path, NULL, "fs-verity was not enabled");
		else if (r < 0)
			fsck_unfixable(f, path, "fs-verity: %s", r == -ENODATA ? "not enabled" : strerror(-r));
		else if (memcmp(computed, digest, ST_DIGEST_SIZE) != 0)
			return !fsck_bad(f, path, "kernel fs-verity measurement %s differs from the name",
					 hex32(computed, hex));
	}
	st_error_clear();
	r = st_image_read_tree(data, len, NULL, &root, NULL);
	if (r < 0)
		return !fsck_bad(f, path, "not a valid composefs image: %s", st_error_message(r));
	/* A verity policy it claims must hold; outside its prefixes a file may lack its digest. */
	st_error_clear();
	r = st_verity_policy_check_tree(root, &policy);
	if (r < 0)
		return !fsck_bad(f, path, "%s", st_error_detail() ? st_error_detail() : st_error_message(r));
	w.policy = policy;
	r = tree_for_each_object_file(root, check_image_file, &w);
	if (w.bad)
		return !fsck_bad(f, path, "%s", w.bad_why);
	if (r < 0) {
		fsck_unfixable(f, path, "cannot check its files: %s", strerror(-r));
		return true;
	}
	if (w.missing > MISSING_REPORT_MAX)
		fsck_unfixable(f, path, "needs %" PRIu64 " more missing objects", w.missing - MISSING_REPORT_MAX);
	return true;
}

int fsck_check_images(struct fsck *f)
{
	for (size_t i = 0; i < f->n_image_names; i++) {
		const char *name = f->image_names[i].name;
		uint8_t d[ST_DIGEST_SIZE];
		_cleanup_free_ char *path = NULL;

		if (asprintf(&path, "%s/%s", REPO_IMAGES_DIR, name) < 0)
			return -ENOMEM;
		if (is_temp_name(name)) {
			fsck_warn(f, path, "stray temporary file (gc removes it)");
			continue;
		}
		if (strlen(name) != HEX64_LEN || hex_decode_lower(name, HEX64_LEN, d, 32) < 0) {
			(void)fsck_bad(f, path, "not an image name (64 lowercase hex digits)");
			continue;
		}
		if (check_image(f, name, d)) {
			int r = digest_set_add(&f->images_ok, d);
			if (r < 0)
				return r;
		}
	}
	return 0;
}
