/* SPDX-License-Identifier: MIT */
/*
 * fsck: the driver, the checks of commits and refs, problem reporting and
 * the quarantine. Objects and images are in fsck-objects.c and
 * fsck-images.c; the order of the steps is explained in fsck-internal.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "basic/beneath.h"
#include "basic/error.h"
#include "basic/io.h"
#include "basic/publish.h"
#include "basic/macro.h"
#include "repo/fsck-internal.h"
#include "sealtree/hex.h"

/* ---- reporting ----------------------------------------------------------- */

static void report_v(struct fsck *f, enum st_fsck_severity severity, enum st_fsck_action action, const char *path,
		     const char *quarantine_path, const char *fmt, va_list ap)
{
	char message[2048];
	struct st_fsck_problem p = {
		.severity = severity,
		.action = action,
		.path = path,
		.message = message,
		.quarantine_path = quarantine_path,
	};

	(void)vsnprintf(message, sizeof(message), fmt, ap);
	f->opts->counts[severity]++;
	if (f->opts->report)
		f->opts->report(f->opts->userdata, &p);
}

void fsck_report(struct fsck *f, enum st_fsck_severity severity, enum st_fsck_action action, const char *path,
		 const char *quarantine_path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report_v(f, severity, action, path, quarantine_path, fmt, ap);
	va_end(ap);
}

void fsck_unfixable(struct fsck *f, const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report_v(f, ST_FSCK_ERROR, f->repair ? ST_FSCK_UNFIXABLE : ST_FSCK_REPORTED, path, NULL, fmt, ap);
	va_end(ap);
	f->opts->errors_remaining++;
}

/* ---- quarantine ---------------------------------------------------------- */

/* Create the directories leading to relpath (not relpath itself) beneath dirfd; an fd of the last one. */
static int mkdir_parents(int dirfd, const char *relpath)
{
	_cleanup_free_ char *p = strdup(relpath);
	char *slash;

	if (!p)
		return -ENOMEM;
	slash = strrchr(p, '/');
	if (!slash)
		return -EINVAL;
	*slash = '\0';
	return mkdirat_beneath(dirfd, p, 0755, false);
}

static int write_reason(int dirfd, const char *target, const char *path, const char *why)
{
	_cleanup_free_ char *name = NULL, *text = NULL;
	_cleanup_close_ int fd = -EBADF;
	const char *base;
	char when[64] = "";
	struct tm tm;
	time_t now = time(NULL);
	int r;

	if (gmtime_r(&now, &tm))
		(void)strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (asprintf(&name, "%s.reason", target) < 0 ||
	    asprintf(&text, "path: %s\nreason: %s\nquarantined: %s\n", path, why, when) < 0)
		return -ENOMEM;
	fd = openat_beneath_parent(dirfd, name, &base);
	if (fd < 0)
		return fd;
	r = publish_data(fd, base, name, text, strlen(text), 0644, PUBLISH_REPLACE, NULL);
	return r < 0 ? r : 0;
}

/* Move REPO/path to REPO/quarantine/path (".N" appended if taken) and record why. */
static int quarantine(struct fsck *f, const char *path, const char *why, char **ret_target)
{
	int dirfd = st_repo_dirfd(f->repo);
	_cleanup_free_ char *target = NULL;

	for (unsigned n = 0;; n++) {
		free(target);
		target = NULL;
		if (n >= 1000)
			return -EEXIST;
		if ((n == 0 ? asprintf(&target, "%s/%s", REPO_QUARANTINE_DIR, path) :
			      asprintf(&target, "%s/%s.%u", REPO_QUARANTINE_DIR, path, n)) < 0)
			return -ENOMEM;
		_cleanup_close_ int from_fd = -EBADF, to_fd = -EBADF;
		const char *from_base;

		/* Neither end through a symlink: what is moved is the entry itself, never what it points at. */
		to_fd = mkdir_parents(dirfd, target);
		if (to_fd < 0)
			return to_fd;
		from_fd = openat_beneath_parent(dirfd, path, &from_base);
		if (from_fd < 0)
			return from_fd;
		if (renameat2(from_fd, from_base, to_fd, strrchr(target, '/') + 1, RENAME_NOREPLACE) == 0)
			break;
		if (errno != EEXIST)
			return negative_errno();
	}
	/* The move is what matters; a missing reason file loses only the note. */
	(void)write_reason(dirfd, target, path, why);
	*ret_target = TAKE_PTR(target);
	return 0;
}

bool fsck_bad(struct fsck *f, const char *path, const char *fmt, ...)
{
	_cleanup_free_ char *target = NULL;
	char message[2048];
	va_list ap;
	int r;

	va_start(ap, fmt);
	(void)vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	if (!f->repair) {
		fsck_report(f, ST_FSCK_ERROR, ST_FSCK_REPORTED, path, NULL, "%s", message);
		f->opts->errors_remaining++;
		return false;
	}
	r = quarantine(f, path, message, &target);
	if (r < 0) {
		fsck_report(f, ST_FSCK_ERROR, ST_FSCK_UNFIXABLE, path, NULL, "%s (cannot quarantine it: %s)", message,
			    strerror(-r));
		f->opts->errors_remaining++;
		return false;
	}
	fsck_report(f, ST_FSCK_ERROR, ST_FSCK_QUARANTINED, path, target, "%s", message);
	return true;
}

/* ---- commits ------------------------------------------------------------- */

static void commit_freep(struct st_commit **c)
{
	st_commit_free(*c);
}

static int list_commits(struct fsck *f)
{
	int r;

	r = list_dir(f->repo->commits_fd, ".", &f->commit_names, &f->n_commit_names);
	if (r < 0)
		return st_errf(r, "cannot read '%s/%s'", f->repo->path, REPO_COMMITS_DIR);
	for (size_t i = 0; i < f->n_commit_names; i++) {
		uint8_t id[ST_COMMIT_ID_SIZE];

		if (strlen(f->commit_names[i].name) == HEX64_LEN &&
		    hex_decode_lower(f->commit_names[i].name, HEX64_LEN, id, 32) == 0) {
			r = digest_set_add(&f->commits_listed, id);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* "<id>.partial" (remote.md): the commit was fetched without its content (--commit-only, or a pull cut short). */
static bool commit_only(struct fsck *f, const uint8_t id[ST_COMMIT_ID_SIZE])
{
	char name[HEX64_LEN + sizeof(".partial")];

	st_hex_encode(id, ST_COMMIT_ID_SIZE, name);
	memcpy(name + HEX64_LEN, ".partial", sizeof(".partial"));
	return faccessat(f->repo->commits_fd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

static int check_commit(struct fsck *f, const char *path, const uint8_t id[ST_COMMIT_ID_SIZE])
{
	_cleanup_(commit_freep) struct st_commit *c = NULL;
	char hex[65];
	int r;

	st_error_clear();
	r = st_repo_read_commit(f->repo, id, &c);
	if (r == -ENOENT)
		return 0;
	f->opts->commits_checked++;
	if (r < 0) {
		if (!fsck_bad(f, path, "%s", st_error_message(r)))
			return digest_set_add(&f->commits_damaged, id);
		return 0;
	}
	if (!digest_set_contains(&f->images_ok, c->image_digest) && commit_only(f, id))
		fsck_note(f, path, "fetched by pull --commit-only or by a pull that did not finish: its image and "
				  "objects are not here (a pull completes it)");
	else if (!digest_set_contains(&f->images_ok, c->image_digest))
		fsck_unfixable(f, path, "its image images/%s is missing", hex32(c->image_digest, hex));
	if (c->has_parent && !digest_set_contains(&f->commits_listed, c->parent))
		fsck_note(f, path, "parent %s is not present: history was pruned here", hex32(c->parent, hex));
	return digest_set_add(&f->commits_ok, id);
}

static int check_commits(struct fsck *f)
{
	int r = 0;

	for (size_t i = 0; i < f->n_commit_names && r >= 0; i++) {
		const char *name = f->commit_names[i].name;
		size_t len = strlen(name);
		_cleanup_free_ char *path = NULL;
		uint8_t id[ST_COMMIT_ID_SIZE];

		if (asprintf(&path, "%s/%s", REPO_COMMITS_DIR, name) < 0)
			return -ENOMEM;
		if (is_temp_name(name))
			fsck_warn(f, path, "stray temporary file (gc removes it)");
		else if (len < HEX64_LEN || hex_decode_lower(name, HEX64_LEN, id, 32) < 0 ||
			 (len > HEX64_LEN && name[HEX64_LEN] != '.'))
			(void)fsck_bad(f, path, "not a commit name (64 lowercase hex digits, optionally .SUFFIX)");
		else if (len == HEX64_LEN)
			r = check_commit(f, path, id);
		else if (!digest_set_contains(&f->commits_listed, id))
			fsck_warn(f, path, "belongs to no commit (gc removes it)");
	}
	return r;
}

/* ---- refs ---------------------------------------------------------------- */

static void refs_free(struct fsck *f)
{
	for (size_t i = 0; i < f->n_refs; i++) {
		free(f->refs[i].relpath);
		free(f->refs[i].name);
		free(f->refs[i].detail);
	}
	free(f->refs);
}

static int add_ref(struct fsck *f, const char *relpath)
{
	static const char heads[] = REPO_HEADS_DIR "/";
	char canon[ST_REF_NAME_MAX + 1];
	struct fsck_ref *ref;
	int r, valid;

	r = GROW(f->refs, f->cap_refs, f->n_refs + 1);
	if (r < 0)
		return r;
	ref = &f->refs[f->n_refs];
	*ref = (struct fsck_ref){};
	ref->relpath = strdup(relpath);
	ref->name = strdup(strncmp(relpath, heads, strlen(heads)) == 0 ? relpath + strlen(heads) : relpath);
	if (!ref->relpath || !ref->name) {
		free(ref->relpath);
		free(ref->name);
		return -ENOMEM;
	}
	f->n_refs++;
	st_error_clear();
	/* Only the file a canonical name maps to is a ref (refs/heads/<64 hex> never is). */
	valid = repo_ref_name_of_path(relpath, canon);
	if (valid < 0)
		ref->result = valid;
	else
		ref->result = st_repo_read_ref(f->repo, canon, ref->id);
	if (ref->result < 0) {
		ref->detail = strdup(st_error_message(ref->result));
		if (!ref->detail)
			return -ENOMEM;
	}
	return 0;
}

/* depth: components of relpath ("refs" is 1); nothing deeper than ST_REF_DEPTH_MAX is a ref. */
static int list_refs_dir(struct fsck *f, int parent_fd, const char *name, const char *relpath, unsigned depth)
{
	_cleanup_close_ int fd = -EBADF;
	struct name_entry *list = NULL;
	size_t n = 0;
	int r;

	fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && (errno == ENOENT || errno == ELOOP || errno == ENOTDIR))
		return 0; /* a symlink or a file in place of refs/ was reported by check_layout() */
	if (fd < 0)
		return st_errf(negative_errno(), "cannot open '%s/%s'", f->repo->path, relpath);
	r = list_dir(fd, ".", &list, &n);
	if (r < 0)
		return st_errf(r, "cannot read '%s/%s'", f->repo->path, relpath);
	for (size_t i = 0; i < n && r >= 0; i++) {
		_cleanup_free_ char *sub = NULL;
		struct stat st;

		if (asprintf(&sub, "%s/%s", relpath, list[i].name) < 0) {
			r = -ENOMEM;
			break;
		}
		if (is_temp_name(list[i].name))
			fsck_warn(f, sub, "stray temporary file (gc removes it)");
		else if (fstatat(fd, list[i].name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue; /* vanished */
		else if (S_ISDIR(st.st_mode) && depth + 1 >= ST_REF_DEPTH_MAX)
			(void)fsck_bad(f, sub, "refs nested deeper than %d components: nothing in it is a ref",
				       ST_REF_DEPTH_MAX);
		else if (S_ISDIR(st.st_mode))
			r = list_refs_dir(f, fd, list[i].name, sub, depth + 1);
		else
			r = add_ref(f, sub);
	}
	name_list_free(list, n);
	return r;
}

static void check_refs(struct fsck *f)
{
	for (size_t i = 0; i < f->n_refs; i++) {
		const struct fsck_ref *ref = &f->refs[i];
		char hex[65];

		f->opts->refs_checked++;
		if (ref->result < 0)
			(void)fsck_bad(f, ref->relpath, "%s", ref->detail);
		else if (digest_set_contains(&f->commits_damaged, ref->id))
			fsck_unfixable(f, ref->relpath, "points at damaged commit %s", hex32(ref->id, hex));
		else if (!digest_set_contains(&f->commits_ok, ref->id))
			(void)fsck_bad(f, ref->relpath, "points at missing commit %s", hex32(ref->id, hex));
	}
}

/* ---- layout -------------------------------------------------------------- */

/* What a repository holds at fixed places besides objects/, images/, commits/ and tmp/ (st_repo_open() checks those). */
static const struct {
	const char *path;
	bool dir, required;
} layout[] = {
	{ REPO_CONFIG, false, true },
	{ REPO_LOCK_FILE, false, false },
	{ REPO_REFS_DIR, true, true },
	{ REPO_HEADS_DIR, true, true },
	{ REPO_MOUNTS_DIR, true, true },
	{ REPO_CACHE_DIR, true, false },
	{ REPO_QUARANTINE_DIR, true, false },
	{ "state", true, false },
	{ "state/accepted", true, false },
	{ "state/lock", false, false },
};

/*
 * A symlink, or another type, where the repository's own directory or file
 * belongs: reported; with --repair a directory's impostor goes to the
 * quarantine (moved, never followed) and the directory is made again.
 */
static void check_layout(struct fsck *f)
{
	int dirfd = st_repo_dirfd(f->repo);

	for (size_t i = 0; i < ELEMENTSOF(layout); i++) {
		const char *want = layout[i].dir ? "directory" : "regular file";
		struct stat st;
		int r;

		r = fstatat_beneath(dirfd, layout[i].path, &st);
		if (r == -ENOENT && !layout[i].required)
			continue;
		if (r == -ELOOP || r == -ENOTDIR)
			continue; /* under an impostor reported already */
		if (r == -ENOENT) {
			fsck_unfixable(f, layout[i].path, "the %s is missing", want);
			continue;
		}
		if (r < 0) {
			fsck_unfixable(f, layout[i].path, "cannot stat: %s", strerror(-r));
			continue;
		}
		if (layout[i].dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode))
			continue;
		if (!layout[i].dir || strcmp(layout[i].path, REPO_QUARANTINE_DIR) == 0) {
			fsck_unfixable(f, layout[i].path, "is a %s, not a %s (the repository holds no symlinks); remove it",
				       file_type_name(st.st_mode), want);
			continue;
		}
		if (fsck_bad(f, layout[i].path, "is a %s, not a %s (the repository holds no symlinks)",
			     file_type_name(st.st_mode), want)) {
			_cleanup_close_ int fd = mkdirat_beneath(dirfd, layout[i].path, 0755, true);

			if (fd < 0)
				fsck_unfixable(f, layout[i].path, "cannot make the directory again: %s", strerror(-fd));
		}
	}
}

/* ---- driver -------------------------------------------------------------- */

static void fsck_release(struct fsck *f)
{
	refs_free(f);
	name_list_free(f->commit_names, f->n_commit_names);
	name_list_free(f->image_names, f->n_image_names);
	fsck_objects_free(f);
	digest_set_release(&f->objects_ok);
	digest_set_release(&f->images_ok);
	digest_set_release(&f->commits_ok);
	digest_set_release(&f->commits_listed);
	digest_set_release(&f->commits_damaged);
}

int st_repo_fsck(struct st_repo *repo, struct st_fsck_options *opts)
{
	_cleanup_(fsck_release) struct fsck f = { .repo = repo, .opts = opts };
	int r;

	f.repair = opts->flags & ST_FSCK_REPAIR;
	if (f.repair) {
		r = repo_check_exclusive(repo);
		if (r < 0)
			return r;
	}
	opts->objects_checked = opts->object_bytes = 0;
	opts->images_checked = opts->commits_checked = opts->refs_checked = 0;
	memset(opts->counts, 0, sizeof(opts->counts));
	opts->errors_remaining = 0;

	check_layout(&f);
	/* List in the reverse of the order writers publish in (see fsck-internal.h). */
	r = list_refs_dir(&f, repo->dir_fd, REPO_REFS_DIR, REPO_REFS_DIR, 1);
	if (r >= 0)
		r = list_commits(&f);
	if (r >= 0)
		r = fsck_list_images(&f);
	if (r >= 0)
		r = fsck_list_objects(&f);
	/* Check bottom up, so what is quarantined is seen missing one level up. */
	if (r >= 0)
		r = fsck_check_objects(&f);
	if (r >= 0)
		r = fsck_check_images(&f);
	if (r >= 0)
		r = check_commits(&f);
	if (r >= 0)
		check_refs(&f);
	if (r >= 0)
		r = fsck_check_partials(&f);
	return r;
}
