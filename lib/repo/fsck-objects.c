/* SPDX-License-Identifier: MIT */
/*
 * fsck of objects/ and images/: names, types and modes while listing, then
 * every object's fs-verity digest on all CPUs (st_verity_digest_many), the
 * kernel's measurement on a verity repository, and each image parsed with
 * the hardened reader and its object references resolved.
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
#include "tree/tree-internal.h"

/* Missing objects reported per image before the rest is summed up. */
#define MISSING_REPORT_MAX 10

#define OBJECT_MODE 0644

static bool is_dir_entry(int dirfd, const struct name_entry *e)
{
	struct stat st;

	if (e->type != DT_UNKNOWN)
		return e->type == DT_DIR;
	return fstatat(dirfd, e->name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

static int list_fanout(struct fsck *f, const char *fanout)
{
	_cleanup_close_ int fd = -EBADF;
	struct name_entry *list = NULL;
	char path[sizeof(REPO_OBJECTS_DIR) + 4 + OBJECT_NAME_LEN + 1];
	size_t n = 0;
	int r;

	fd = openat(f->repo->objects_fd, fanout, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return st_errf(negative_errno(), "cannot open '%s/%s/%s'", f->repo->path, REPO_OBJECTS_DIR, fanout);
	r = list_dir(fd, ".", &list, &n);
	if (r < 0)
		return st_errf(r, "cannot read '%s/%s/%s'", f->repo->path, REPO_OBJECTS_DIR, fanout);
	for (size_t i = 0; i < n && r >= 0; i++) {
		const char *name = list[i].name;
		struct fsck_object *o;
		struct stat st;

		(void)snprintf(path, sizeof(path), "%s/%s/%s", REPO_OBJECTS_DIR, fanout, name);
		if (is_temp_name(name)) {
			fsck_warn(f, path, "stray temporary file (gc removes it)");
			continue;
		}
		r = GROW(f->objects, f->cap_objects, f->n_objects + 1);
		if (r < 0)
			break;
		o = &f->objects[f->n_objects];
		if (parse_object_name(fanout, name, o->digest) < 0) {
			(void)fsck_bad(f, path, "not an object name (64 lowercase hex digits in all)");
			continue;
		}
		if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT)
				fsck_unfixable(f, path, "cannot stat: %s", strerror(errno));
			continue;
		}
		if (!S_ISREG(st.st_mode)) {
			(void)fsck_bad(f, path, "not a regular file");
			continue;
		}
		if ((st.st_mode & 07777) != OBJECT_MODE) {
			if (f->repair && fchmodat(fd, name, OBJECT_MODE, 0) == 0)
				fsck_report(f, ST_FSCK_WARNING, ST_FSCK_FIXED, path, NULL, "mode was %04o, not %04o",
					    (unsigned)(st.st_mode & 07777), OBJECT_MODE);
			else
				fsck_warn(f, path, "mode is %04o, not %04o", (unsigned)(st.st_mode & 07777),
					  OBJECT_MODE);
		}
		(void)snprintf(o->path, sizeof(o->path), "%s/%s", fanout, name);
		o->size = (uint64_t)st.st_size;
		f->n_objects++;
	}
	name_list_free(list, n);
	return r;
}

int fsck_list_objects(struct fsck *f)
{
	struct name_entry *list = NULL;
	size_t n = 0;
	int r;

	r = list_dir(f->repo->objects_fd, ".", &list, &n);
	if (r < 0)
		return st_errf(r, "cannot read '%s/%s'", f->repo->path, REPO_OBJECTS_DIR);
	for (size_t i = 0; i < n && r >= 0; i++) {
		const char *name = list[i].name;
		_cleanup_free_ char *path = NULL;
		uint8_t b;

		if (asprintf(&path, "%s/%s", REPO_OBJECTS_DIR, name) < 0) {
			r = -ENOMEM;
			break;
		}
		if (is_temp_name(name))
			fsck_warn(f, path, "stray temporary file (gc removes it)");
		else if (strlen(name) != 2 || !parse_lower_hex(name, 2, &b) || !is_dir_entry(f->repo->objects_fd, &list[i]))
			(void)fsck_bad(f, path, "not an object fan-out directory (two lowercase hex digits)");
		else
			r = list_fanout(f, name);
	}
	name_list_free(list, n);
	return r;
}

/* On a verity repository: fs-verity enabled and measuring as the name. false if the object went. */
static bool check_object_verity(struct fsck *f, const struct fsck_object *o, const char *path)
{
	_cleanup_close_ int fd = -EBADF;
	uint8_t measured[ST_DIGEST_SIZE];
	char hex[65];
	int r;

	fd = openat(f->repo->objects_fd, o->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		fsck_unfixable(f, path, "cannot open: %s", strerror(errno));
		return true;
	}
	r = st_verity_measure_fd(fd, measured);
	if (r == -ENODATA) {
		/* The content hashed right just now: enabling fs-verity fixes it. */
		if (f->repair && st_verity_enable_fd(fd) == 0) {
			fsck_report(f, ST_FSCK_ERROR, ST_FSCK_FIXED, path, NULL, "fs-verity was not enabled");
			return true;
		}
		fsck_unfixable(f, path, "fs-verity is not enabled on a verity repository");
		return true;
	}
	if (r < 0) {
		fsck_unfixable(f, path, "cannot measure fs-verity: %s", strerror(-r));
		return true;
	}
	if (memcmp(measured, o->digest, ST_DIGEST_SIZE) != 0) {
		safe_close(TAKE_FD(fd));
		return !fsck_bad(f, path, "kernel fs-verity measurement %s differs from the name",
				 hex32(measured, hex));
	}
	return true;
}

int fsck_check_objects(struct fsck *f)
{
	_cleanup_free_ struct st_verity_job *jobs = NULL;
	bool verity = st_repo_has_verity(f->repo);
	int r;

	jobs = new0(struct st_verity_job, f->n_objects);
	if (!jobs)
		return -ENOMEM;
	for (size_t i = 0; i < f->n_objects; i++)
		jobs[i] = (struct st_verity_job){ .dirfd = f->repo->objects_fd, .path = f->objects[i].path };
	r = st_verity_digest_many(jobs, f->n_objects, f->opts->threads);
	if (r < 0)
		return r;

	for (size_t i = 0; i < f->n_objects; i++) {
		const struct fsck_object *o = &f->objects[i];
		char path[sizeof(REPO_OBJECTS_DIR) + sizeof(o->path)], hex[65];

		(void)snprintf(path, sizeof(path), "%s/%s", REPO_OBJECTS_DIR, o->path);
		f->opts->objects_checked++;
		f->opts->object_bytes += o->size;
		if (jobs[i].result == -ENOENT)
			continue; /* removed meanwhile: nothing references it (see the listing order) */
		if (jobs[i].result == -EIO) {
			/* With fs-verity, what reads as EIO does not match its Merkle tree. */
			if (fsck_bad(f, path, "content cannot be read (I/O error%s)",
				     verity ? ": it does not match its fs-verity Merkle tree" : ""))
				continue;
		} else if (jobs[i].result < 0) {
			fsck_unfixable(f, path, "cannot read: %s", strerror(-jobs[i].result));
		} else if (memcmp(jobs[i].digest, o->digest, ST_DIGEST_SIZE) != 0) {
			if (fsck_bad(f, path, "content has fs-verity digest %s, not its name",
				     hex32(jobs[i].digest, hex)))
				continue;
		} else if (verity && !check_object_verity(f, o, path)) {
			continue;
		}
		/* Damaged but not moved still counts as present: the damage is reported once, here. */
		r = digest_set_add(&f->objects_ok, o->digest);
		if (r < 0)
			return r;
	}
	return 0;
}

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
	bool bad;
	char bad_why[256];
};

static int check_image_file(void *userdata, struct st_node *node)
{
	struct image_walk *w = userdata;
	_cleanup_free_ char *file = NULL;
	uint8_t d[ST_DIGEST_SIZE];
	char hex[65];
	int r;

	if (node->payload) {
		if (parse_object_payload(node->payload, d) < 0) {
			r = node_get_path(node, &file);
			if (r < 0)
				return r;
			(void)snprintf(w->bad_why, sizeof(w->bad_why), "file '%s' redirects to '%s', not to an object",
				       file, node->payload);
			w->bad = true;
			return -ECANCELED;
		}
		if (node->has_digest && memcmp(d, node->digest, ST_DIGEST_SIZE) != 0) {
			r = node_get_path(node, &file);
			if (r < 0)
				return r;
			(void)snprintf(w->bad_why, sizeof(w->bad_why),
				       "file '%s' has a digest other than the object it redirects to", file);
			w->bad = true;
			return -ECANCELED;
		}
	} else
		memcpy(d, node->digest, ST_DIGEST_SIZE);

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

/* true if the image is there and good enough to count as present. */
static bool check_image(struct fsck *f, const char *name, const uint8_t digest[ST_DIGEST_SIZE])
{
	_cleanup_(node_freep) struct st_node *root = NULL;
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
	if (fd < 0 && errno == ELOOP)
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
		if (strlen(name) != HEX64_LEN || !parse_lower_hex(name, HEX64_LEN, d)) {
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
