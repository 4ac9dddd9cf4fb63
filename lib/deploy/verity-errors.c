/* SPDX-License-Identifier: MIT */
/*
 * Verity errors of this boot: read the kernel log without waiting, keep the
 * count and the last errors (kmsg-verity.c parses each record), and map
 * each one back to the booted deployment's image: which object (its digest)
 * and which paths. The kernel names an fs-verity failure by filesystem and
 * inode number, and an overlayfs one by the data file's name, so the
 * mapping walks the booted image once and compares every file's object:
 * by name for overlayfs, by inode (one fstatat per file, only while an
 * inode is unresolved) for fs-verity. That is the only way back from an
 * inode to a path without a kernel index, and it only runs when there are
 * errors to explain.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "basic/error.h"
#include "basic/hex.h"
#include "basic/beneath.h"
#include "deploy-internal.h"
#include "fundamental/parse-number.h"
#include "sealtree/tree.h"

#define KMSG_FILE_MAX (16u * 1024 * 1024)
#define KMSG_BUF 8192

struct collect {
	struct st_verity_report *rep;
	size_t keep;
	size_t next;                    /* ring position in rep->errors once full */
	uint64_t after_seq;
};

static void error_release(struct st_verity_error *e)
{
	for (size_t i = 0; i < e->n_paths; i++)
		free(e->paths[i]);
	e->n_paths = 0;
}

struct st_verity_report *st_verity_report_free(struct st_verity_report *r)
{
	if (!r)
		return NULL;
	for (size_t i = 0; i < r->n_errors; i++)
		error_release(&r->errors[i]);
	free(r->errors);
	free(r);
	return NULL;
}

static void report_freep(struct st_verity_report **r)
{
	st_verity_report_free(*r);
}

static int collect_record(struct collect *c, const char *rec, size_t len)
{
	struct st_verity_error e;
	uint64_t seq, suppressed = 0;
	int r;

	if (kmsg_record_seq(rec, len, &seq) < 0)
		return 0;               /* not a record: a garbled line of a saved log */
	if (seq > c->rep->last_seq)
		c->rep->last_seq = seq;
	if (seq <= c->after_seq && c->after_seq > 0)
		return 0;
	r = st_kmsg_parse_verity(rec, len, &e, &suppressed);
	if (r < 0) {
		st_error_clear();
		return 0;
	}
	if (r == 2)
		c->rep->suppressed += suppressed;
	if (r != 1)
		return 0;
	c->rep->count++;
	if (c->keep == 0)
		return 0;
	if (c->rep->n_errors < c->keep)
		c->rep->errors[c->rep->n_errors++] = e;
	else {
		c->rep->errors[c->next] = e;
		c->next = (c->next + 1) % c->keep;
	}
	return 0;
}

/* /dev/kmsg: one record per read(), EAGAIN at the end, EPIPE where records were overwritten. */
static int read_kmsg_device(int fd, struct collect *c)
{
	_cleanup_free_ char *buf = malloc(KMSG_BUF);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n = read(fd, buf, KMSG_BUF);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			if (errno == EPIPE) {
				c->rep->lost = true;
				continue;
			}
			return st_errf(negative_errno(), "cannot read the kernel log");
		}
		if (n == 0)
			return 0;
		(void)collect_record(c, buf, (size_t)n);
	}
}

/* A saved log: records one per line; lines starting with a space continue the previous one. */
static int read_kmsg_file(const char *path, struct collect *c)
{
	_cleanup_free_ char *data = NULL;
	const char *p, *end;
	size_t len;
	int r;

	r = read_file_capped(AT_FDCWD, path, KMSG_FILE_MAX, 0, &data, &len);
	if (r == -ENOENT)
		return st_errf(r, "no kernel log '%s'", path);
	if (r < 0)
		return r;
	p = data;
	end = p + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;

		if (*p != ' ' && e - p > 0 && e - p <= KMSG_BUF)
			(void)collect_record(c, p, (size_t)(e - p));
		p = nl ? nl + 1 : end;
	}
	return 0;
}

/* The name the kernel gives the block device dev ("vda2"), from sysfs; NULL if unknown. */
static char *device_name(dev_t dev)
{
	_cleanup_free_ char *data = NULL;
	char path[64];
	size_t len;

	(void)snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/uevent", major(dev), minor(dev));
	if (read_file_capped(AT_FDCWD, path, 4096, 0, &data, &len) < 0) {
		st_error_clear();
		return NULL;
	}
	for (const char *p = data, *end = p + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)) ?: end;

		if (nl - p > 8 && memcmp(p, "DEVNAME=", 8) == 0 && nl - p - 8 < 64)
			return strndup(p + 8, (size_t)(nl - p - 8));
		p = nl + 1;
	}
	return NULL;
}

struct map {
	struct st_verity_report *rep;
	int objects_fd;
	const char *devname;            /* the repository's device, or NULL if unknown */
	size_t pending_inodes;          /* fs-verity errors whose object is not found yet */
};

static bool error_on_our_fs(const struct map *m, const struct st_verity_error *e)
{
	return e->inode != 0 && (!m->devname || strcmp(m->devname, e->device) == 0);
}

static int add_path(struct st_verity_error *e, struct st_node *node)
{
	char *path = NULL;
	int r;

	e->n_paths_total++;
	if (e->n_paths >= ST_VERITY_PATHS_MAX)
		return 0;
	r = st_node_path(node, &path);
	if (r < 0)
		return r;
	e->paths[e->n_paths++] = path;
	return 0;
}

static int map_node(struct map *m, struct st_node *node)
{
	struct st_entry ent;
	const char *base;
	bool have_ino = false;
	struct stat st;
	int r;

	st_node_get_entry(node, &ent);
	for (size_t i = 0; i < ent.n_children; i++) {
		r = map_node(m, st_node_get_child(node, i));
		if (r < 0)
			return r;
	}
	if ((ent.mode & S_IFMT) != S_IFREG)
		return 0;
	base = ent.payload ? strrchr(ent.payload, '/') : NULL;
	base = base ? base + 1 : ent.payload;
	for (size_t i = 0; i < m->rep->n_errors; i++) {
		struct st_verity_error *e = &m->rep->errors[i];
		bool match = false;

		if (e->is_image)
			continue;
		switch (e->kind) {
		case ST_VERITY_ERROR_CORRUPTED:
		case ST_VERITY_ERROR_FSVERITY:
			if (!ent.has_digest || !ent.payload || !error_on_our_fs(m, e))
				break;
			if (e->mapped) {        /* found by inode already: the same object elsewhere */
				match = memcmp(e->digest, ent.digest, ST_DIGEST_SIZE) == 0;
				break;
			}
			if (!have_ino) {
				if (fstatat(m->objects_fd, ent.payload, &st, AT_SYMLINK_NOFOLLOW) < 0)
					break;
				have_ino = true;
			}
			match = S_ISREG(st.st_mode) && (uint64_t)st.st_ino == e->inode;
			break;
		case ST_VERITY_ERROR_WRONG_DIGEST:
		case ST_VERITY_ERROR_NO_DIGEST:
			match = base && strcmp(base, e->name) == 0;
			break;
		case ST_VERITY_ERROR_IMAGE_NO_DIGEST:
			match = ent.name && strcmp(ent.name, e->name) == 0;
			break;
		default:
			break;
		}
		if (!match)
			continue;
		if (!e->mapped && ent.has_digest) {
			memcpy(e->digest, ent.digest, ST_DIGEST_SIZE);
			if (e->inode)
				m->pending_inodes--;
		}
		e->mapped = true;
		r = add_path(e, node);
		if (r < 0)
			return r;
	}
	return 0;
}

static int map_errors(struct st_sysroot *s, struct st_verity_report *rep)
{
	_cleanup_(st_node_freep) struct st_node *root = NULL;
	_cleanup_free_ char *devname = NULL;
	_cleanup_close_ int objects_fd = -EBADF;
	struct st_booted *b = NULL;
	uint8_t image[ST_DIGEST_SIZE];
	char image_rel[80];
	struct stat st;
	struct map m = { .rep = rep };
	int r;

	r = booted_read(&b);
	if (r < 0 || !b || !b->image || strlen(b->image) != 2 * ST_DIGEST_SIZE ||
	    hex_decode_lower(b->image, 2 * ST_DIGEST_SIZE, image, ST_DIGEST_SIZE) < 0) {
		booted_free(b);
		st_error_clear();
		return 0;
	}
	booted_free(b);
	rep->booted = true;
	if (rep->n_errors == 0)
		return 0;
	objects_fd = openat(st_repo_dirfd(s->repo), "objects", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (objects_fd < 0)
		return st_errf(negative_errno(), "cannot open the repository's objects/");
	if (fstat(objects_fd, &st) < 0)
		return negative_errno();
	devname = device_name(st.st_dev);
	m.objects_fd = objects_fd;
	m.devname = devname;

	/* fs-verity errors on the image file itself. */
	st_repo_image_relpath(image, image_rel);
	if (fstatat(st_repo_dirfd(s->repo), image_rel, &st, AT_SYMLINK_NOFOLLOW) == 0)
		for (size_t i = 0; i < rep->n_errors; i++) {
			struct st_verity_error *e = &rep->errors[i];

			if (error_on_our_fs(&m, e) && (uint64_t)st.st_ino == e->inode) {
				e->mapped = e->is_image = true;
				memcpy(e->digest, image, ST_DIGEST_SIZE);
			}
		}
	for (size_t i = 0; i < rep->n_errors; i++)
		if (!rep->errors[i].is_image && error_on_our_fs(&m, &rep->errors[i]))
			m.pending_inodes++;

	/* An image that cannot be read (its own blocks corrupted) leaves the object errors unmapped. */
	r = st_repo_read_image_tree(s->repo, image, &root);
	if (r < 0) {
		st_error_clear();
		return 0;
	}
	return map_node(&m, root);
}

int st_sysroot_verity_errors(struct st_sysroot *s, const char *kmsg_path, uint64_t after_seq, size_t keep,
			     struct st_verity_report **ret)
{
	_cleanup_(report_freep) struct st_verity_report *rep = NULL;
	_cleanup_close_ int fd = -EBADF;
	const char *path = kmsg_path ? kmsg_path : "/dev/kmsg";
	struct collect c;
	struct stat st;
	int r;

	if (!s || !ret)
		return -EINVAL;
	if (keep > ST_VERITY_KEEP_MAX)
		keep = ST_VERITY_KEEP_MAX;
	rep = new0(struct st_verity_report, 1);
	if (!rep)
		return -ENOMEM;
	if (keep > 0) {
		rep->errors = new0(struct st_verity_error, keep);
		if (!rep->errors)
			return -ENOMEM;
	}
	c = (struct collect){ .rep = rep, .keep = keep, .after_seq = after_seq };
	if (stat(path, &st) < 0)
		return st_errf(negative_errno(), "cannot open the kernel log '%s'", path);
	if (S_ISCHR(st.st_mode)) {
		fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			return st_errf(negative_errno(), "cannot open the kernel log '%s'", path);
		r = read_kmsg_device(fd, &c);
	} else
		r = read_kmsg_file(path, &c);
	if (r < 0)
		return r;
	/* Oldest first: rotate the ring so that it starts at c.next. */
	if (c.next > 0) {
		_cleanup_free_ struct st_verity_error *tmp = new0(struct st_verity_error, rep->n_errors);

		if (!tmp)
			return -ENOMEM;
		for (size_t i = 0; i < rep->n_errors; i++)
			tmp[i] = rep->errors[(c.next + i) % rep->n_errors];
		memcpy(rep->errors, tmp, rep->n_errors * sizeof(*tmp));
	}
	r = map_errors(s, rep);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(rep);
	return 0;
}
