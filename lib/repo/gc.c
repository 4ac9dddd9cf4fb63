/* SPDX-License-Identifier: MIT */
/*
 * Garbage collection: mark what the roots reach (see repo-maint.h), then
 * sweep commits/, images/, objects/, tmp/ and stray temporary files.
 *
 * Marking reads every reachable commit and each reachable image once; the
 * marks are three hash sets of 32-byte keys, so memory follows the reachable
 * set, not the repository. The sweep reads each directory once (readdir, no
 * stat per entry) and stats only what it deletes. It deletes in the order
 * that keeps the repository valid if it stops at any instant: commits, then
 * images, then objects, with a syncfs() between steps so the order also
 * holds on disk after a crash.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/error.h"
#include "basic/macro.h"
#include "repo/maint-internal.h"
#include "repo/sha256-index.h"
#include "tree/tree-internal.h"

static void commit_freep(struct st_commit **c)
{
	st_commit_free(*c);
}

static void node_freep(struct st_node **n)
{
	st_node_free(*n);
}

int mark_chain(struct st_repo *repo, const char *ref_name, const uint8_t head[ST_COMMIT_ID_SIZE], bool pin,
	       const struct digest_set *stop, struct digest_set *commits, struct digest_set *images)
{
	uint8_t id[ST_COMMIT_ID_SIZE];
	char hex[65];
	int r;

	memcpy(id, head, sizeof(id));
	for (bool is_head = true;; is_head = false) {
		_cleanup_(commit_freep) struct st_commit *c = NULL;

		if (!is_head && stop && digest_set_contains(stop, id))
			return 0;
		/* Seen: its history was walked already (pins come last, see reach_mark()). */
		if (digest_set_contains(commits, id))
			return 0;
		st_error_clear();
		r = st_repo_read_commit(repo, id, &c);
		if (r == -ENOENT && !is_head)
			return 0; /* history pruned here */
		if (r == -ENOENT)
			return st_errf(r, "ref '%s' points at missing commit %s (see sealtree fsck --repair)",
				       ref_name, hex32(id, hex));
		if (r < 0 && st_error_detail()) /* the detail names the commit */
			return errf_wrap(r, "reached from ref '%s'", ref_name);
		if (r < 0)
			return st_errf(r, "commit %s reached from ref '%s'", hex32(id, hex), ref_name);
		r = digest_set_add(commits, id);
		if (r >= 0 && images)
			r = digest_set_add(images, c->image_digest);
		if (r < 0)
			return r;
		if (pin || !c->has_parent)
			return 0;
		memcpy(id, c->parent, sizeof(id));
	}
}

static int mark_file_object(void *userdata, struct st_node *node)
{
	struct digest_set *objects = userdata;
	uint8_t d[ST_DIGEST_SIZE];
	int r;

	if (node->has_digest) {
		r = digest_set_add(objects, node->digest);
		if (r < 0)
			return r;
	}
	/* The payload is what overlayfs opens; keep it too should it differ. */
	if (node->payload && parse_object_payload(node->payload, d) == 0) {
		r = digest_set_add(objects, d);
		if (r < 0)
			return r;
	}
	return 0;
}

static int mark_image(struct st_repo *repo, const uint8_t digest[ST_DIGEST_SIZE], struct digest_set *objects)
{
	_cleanup_(node_freep) struct st_node *root = NULL;
	char hex[65];
	int r;

	st_error_clear();
	r = st_repo_read_image_tree(repo, digest, &root);
	if (r < 0 && st_error_detail())
		return errf_wrap(r, "an image a reachable commit needs"); /* the detail names it */
	if (r < 0)
		return st_errf(r, "image %s, which a reachable commit needs", hex32(digest, hex));
	return tree_for_each_object_file(root, mark_file_object, objects);
}

void reach_release(struct reach *r)
{
	digest_set_release(&r->commits);
	digest_set_release(&r->images);
	digest_set_release(&r->objects);
	digest_set_release(&r->oci_splits);
	digest_set_release(&r->oci_pairs);
}

int mark_refs(struct st_repo *repo, const char *skip, const struct digest_set *stop, struct digest_set *commits,
	      struct digest_set *images)
{
	struct st_ref *refs = NULL;
	size_t n_refs = 0;
	int r;

	r = st_repo_list_refs(repo, true, &refs, &n_refs);
	if (r < 0)
		return r;
	for (int pass = 0; pass < 2 && r >= 0; pass++)
		for (size_t i = 0; i < n_refs && r >= 0; i++) {
			bool pin = strncmp(refs[i].name, PIN_PREFIX, strlen(PIN_PREFIX)) == 0;

			if (pin == (pass == 1) && !(skip && strcmp(refs[i].name, skip) == 0))
				r = mark_chain(repo, refs[i].name, refs[i].id, pin, stop, commits, images);
		}
	st_ref_list_free(refs, n_refs);
	return r;
}

int reach_mark(struct st_repo *repo, const struct digest_set *stop, struct reach *ret)
{
	_cleanup_(reach_release) struct reach reach = {};
	int r;

	r = mark_refs(repo, NULL, stop, &reach.commits, &reach.images);
	if (r < 0)
		return r;

	for (size_t i = 0; i < reach.images.cap; i++) {
		if (!(reach.images.used[i / 8] & (1u << (i % 8))))
			continue;
		r = mark_image(repo, reach.images.keys[i], &reach.objects);
		if (r < 0)
			return r;
	}
	r = mark_oci(repo, &reach.objects, &reach.oci_splits, &reach.oci_pairs);
	if (r < 0)
		return r;
	*ret = reach;
	reach = (struct reach){};
	return 0;
}

/* ---- sweep --------------------------------------------------------------- */

struct sweep {
	struct st_repo *repo;
	bool dry_run;
	struct st_gc_stats *stats;
};

/* Remove dirfd/name (a file, or a directory with everything under it). */
static int remove_tree(struct sweep *s, int dirfd, const char *name, uint64_t *bytes)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : negative_errno();
	if (S_ISDIR(st.st_mode)) {
		_cleanup_close_ int fd = -EBADF;
		struct name_entry *list = NULL;
		size_t n = 0;
		int r;

		fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return negative_errno();
		r = list_dir(fd, ".", &list, &n);
		for (size_t i = 0; i < n && r >= 0; i++)
			r = remove_tree(s, fd, list[i].name, bytes);
		name_list_free(list, n);
		if (r < 0)
			return r;
		if (!s->dry_run && unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
			return negative_errno();
		return 0;
	}
	if (!s->dry_run && unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
		return negative_errno();
	*bytes += (uint64_t)st.st_size;
	return 0;
}

/* Remove one entry, counting it: 1 if it was there, 0 if not. */
static int remove_counted(struct sweep *s, int dirfd, const char *dir, const char *name, uint64_t *count,
			  uint64_t *bytes)
{
	uint64_t b = 0;
	int r;

	r = remove_tree(s, dirfd, name, &b);
	if (r < 0)
		return st_errf(r, "cannot remove '%s/%s/%s'", s->repo->path, dir, name);
	(*count)++;
	*bytes += b;
	return 0;
}

/* commits/: "<id>" and "<id>.*" of commits not kept; stray temporary files. */
static int sweep_commits(struct sweep *s, const struct digest_set *keep)
{
	struct name_entry *list = NULL;
	size_t n = 0;
	int r;

	r = list_dir(s->repo->commits_fd, ".", &list, &n);
	if (r < 0)
		return st_errf(r, "cannot read '%s/%s'", s->repo->path, REPO_COMMITS_DIR);
	/* The commits themselves first, then what belongs to them (signatures). */
	for (int pass = 0; pass < 2 && r >= 0; pass++)
		for (size_t i = 0; i < n && r >= 0; i++) {
			const char *name = list[i].name;
			size_t len = strlen(name);
			uint8_t id[ST_COMMIT_ID_SIZE];
			uint64_t ignored = 0;

			if (is_temp_name(name)) {
				if (pass == 0)
					r = remove_counted(s, s->repo->commits_fd, REPO_COMMITS_DIR, name,
							   &s->stats->temp_removed, &s->stats->temp_bytes_removed);
				continue;
			}
			if (len < HEX64_LEN || hex_decode_lower(name, HEX64_LEN, id, 32) < 0 ||
			    (len > HEX64_LEN && name[HEX64_LEN] != '.'))
				continue; /* not ours to judge: fsck reports it */
			if (digest_set_contains(keep, id)) {
				if (pass == 0 && len == HEX64_LEN)
					s->stats->commits_kept++;
				continue;
			}
			if (pass == 0 && len == HEX64_LEN)
				r = remove_counted(s, s->repo->commits_fd, REPO_COMMITS_DIR, name,
						   &s->stats->commits_removed, &s->stats->commit_bytes_removed);
			else if (pass == 1 && len > HEX64_LEN)
				r = remove_counted(s, s->repo->commits_fd, REPO_COMMITS_DIR, name, &ignored,
						   &s->stats->commit_bytes_removed);
		}
	name_list_free(list, n);
	return r;
}

/*
 * The entries of dir (open as fd) named after a digest: the whole name in
 * images/, fanout and name in objects/XX/. Kept when in keep, else removed;
 * temporary files removed; any other name left for fsck to report.
 */
static int sweep_digests(struct sweep *s, int fd, const char *dir, const char *fanout,
			 const struct digest_set *keep, uint64_t *kept, uint64_t *removed, uint64_t *bytes)
{
	struct name_entry *list = NULL;
	size_t n = 0;
	int r;

	r = list_dir(fd, ".", &list, &n);
	if (r < 0)
		return st_errf(r, "cannot read '%s/%s'", s->repo->path, dir);
	for (size_t i = 0; i < n && r >= 0; i++) {
		const char *name = list[i].name;
		uint8_t d[ST_DIGEST_SIZE];

		if (is_temp_name(name))
			r = remove_counted(s, fd, dir, name, &s->stats->temp_removed, &s->stats->temp_bytes_removed);
		else if (fanout ? parse_object_name(fanout, name, d) < 0 :
				  strlen(name) != HEX64_LEN || hex_decode_lower(name, HEX64_LEN, d, 32) < 0)
			continue;
		else if (digest_set_contains(keep, d))
			(*kept)++;
		else
			r = remove_counted(s, fd, dir, name, removed, bytes);
	}
	name_list_free(list, n);
	return r;
}

static int sweep_images(struct sweep *s, const struct digest_set *keep)
{
	return sweep_digests(s, s->repo->images_fd, REPO_IMAGES_DIR, NULL, keep, &s->stats->images_kept,
			     &s->stats->images_removed, &s->stats->image_bytes_removed);
}

static int sweep_fanout(struct sweep *s, const char *fanout, const struct digest_set *keep)
{
	_cleanup_close_ int fd = -EBADF;
	char dir[sizeof(REPO_OBJECTS_DIR) + 3];

	(void)snprintf(dir, sizeof(dir), "%s/%s", REPO_OBJECTS_DIR, fanout);
	fd = openat(s->repo->objects_fd, fanout, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		/* Not a directory, or a symlink where one belongs: never followed, left for fsck to report. */
		return errno == ENOTDIR || errno == ELOOP ? 0 :
			st_errf(negative_errno(), "cannot open '%s/%s'", s->repo->path, dir);
	return sweep_digests(s, fd, dir, fanout, keep, &s->stats->objects_kept, &s->stats->objects_removed,
			     &s->stats->object_bytes_removed);
}

static int sweep_objects(struct sweep *s, const struct digest_set *keep)
{
	struct name_entry *list = NULL;
	size_t n = 0;
	int r;

	r = list_dir(s->repo->objects_fd, ".", &list, &n);
	if (r < 0)
		return st_errf(r, "cannot read '%s/%s'", s->repo->path, REPO_OBJECTS_DIR);
	for (size_t i = 0; i < n && r >= 0; i++) {
		uint8_t b;

		if (strlen(list[i].name) == 2 && hex_decode_lower(list[i].name, 2, &b, 1) == 0)
			r = sweep_fanout(s, list[i].name, keep);
	}
	name_list_free(list, n);
	return r;
}

/*
 * Temporary files of interrupted ref updates, in every directory a ref can
 * live in (depth: components of relpath, "refs" is 1). Deeper directories
 * hold no ref and no ref update's temporary file: never descended, so a
 * hostile deep tree cannot make gc fail (fsck reports it).
 */
static int sweep_refs_temp(struct sweep *s, int parent_fd, const char *name, const char *relpath, unsigned depth)
{
	_cleanup_close_ int fd = -EBADF;
	struct name_entry *list = NULL;
	size_t n = 0;
	int r;

	fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR || errno == ELOOP ? 0 :
			st_errf(negative_errno(), "cannot open '%s/%s'", s->repo->path, relpath);
	r = list_dir(fd, ".", &list, &n);
	if (r < 0)
		return st_errf(r, "cannot read '%s/%s'", s->repo->path, relpath);
	for (size_t i = 0; i < n && r >= 0; i++) {
		_cleanup_free_ char *sub = NULL;

		if (is_temp_name(list[i].name)) {
			r = remove_counted(s, fd, relpath, list[i].name, &s->stats->temp_removed,
					   &s->stats->temp_bytes_removed);
			continue;
		}
		if ((list[i].type != DT_DIR && list[i].type != DT_UNKNOWN) || depth + 1 >= ST_REF_DEPTH_MAX)
			continue;
		if (asprintf(&sub, "%s/%s", relpath, list[i].name) < 0)
			r = -ENOMEM;
		else
			r = sweep_refs_temp(s, fd, list[i].name, sub, depth + 1);
	}
	name_list_free(list, n);
	return r;
}

/* Everything in tmp/ (nothing runs under gc's exclusive lock), and refs' temporary files. */
static int sweep_tmp(struct sweep *s)
{
	struct name_entry *list = NULL;
	size_t n = 0;
	int r;

	r = list_dir(s->repo->tmp_fd, ".", &list, &n);
	if (r < 0)
		return st_errf(r, "cannot read '%s/%s'", s->repo->path, REPO_TMP_DIR);
	for (size_t i = 0; i < n && r >= 0; i++)
		r = remove_counted(s, s->repo->tmp_fd, REPO_TMP_DIR, list[i].name, &s->stats->temp_removed,
				   &s->stats->temp_bytes_removed);
	name_list_free(list, n);
	if (r >= 0)
		r = sweep_refs_temp(s, s->repo->dir_fd, REPO_REFS_DIR, REPO_REFS_DIR, 1);
	return r;
}

static int sync_step(struct sweep *s, uint64_t removed)
{
	if (s->dry_run || removed == 0)
		return 0;
	return st_repo_sync(s->repo);
}

int gc_sweep(struct st_repo *repo, const struct reach *keep, unsigned flags, struct st_gc_stats *stats)
{
	struct sweep s = { .repo = repo, .dry_run = flags & ST_GC_DRY_RUN, .stats = stats };
	int r;

	/* Records first: what they alone kept goes with the objects below. */
	r = sweep_oci(repo, &keep->oci_splits, &keep->oci_pairs, s.dry_run);
	if (r >= 0)
		r = sweep_commits(&s, &keep->commits);
	if (r >= 0)
		r = sync_step(&s, stats->commits_removed);
	if (r >= 0)
		r = sweep_images(&s, &keep->images);
	if (r >= 0)
		r = sync_step(&s, stats->images_removed);
	if (r >= 0)
		r = sweep_objects(&s, &keep->objects);
	if (r >= 0)
		r = sweep_tmp(&s);
	return r;
}

static bool index_keep(void *userdata, const uint8_t verity[32])
{
	return digest_set_contains(userdata, verity);
}

int st_repo_gc(struct st_repo *repo, unsigned flags, struct st_gc_stats *ret_stats)
{
	_cleanup_(reach_release) struct reach keep = {};
	struct st_gc_stats stats = {};
	int r;

	r = repo_check_exclusive(repo);
	if (r < 0)
		return r;
	r = reach_mark(repo, NULL, &keep);
	if (r < 0)
		return r;
	r = gc_sweep(repo, &keep, flags, &stats);
	if (r < 0)
		return r;
	/* The SHA-256 index forgets the objects just removed (a stale entry would only cost a check). */
	if (!(flags & ST_GC_DRY_RUN) && stats.objects_removed > 0) {
		r = sha256_index_prune(repo, index_keep, &keep.objects);
		if (r < 0)
			return r;
	}
	if (ret_stats)
		*ret_stats = stats;
	return 0;
}
