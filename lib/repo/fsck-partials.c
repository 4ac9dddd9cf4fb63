/* SPDX-License-Identifier: MIT */
/*
 * fsck of tmp/pull/: the partial downloads a pull keeps for its large
 * objects, DIGEST for a loose one and DIGEST.zst for a pack frame's
 * compressed bytes (lib/remote/partial.c and pack-partial.c,
 * docs/formats/remote.md). Each file there
 * is flock()ed by the one fetch writing it; one that no process holds is
 * left over from a pull that was killed or failed. It is reported, and
 * --repair removes it while holding its lock, so a pull that opens the same
 * name meanwhile sees the file it locked is no longer the one named there
 * and downloads that object afresh. A locked one belongs to a running pull
 * and is never touched. Nothing here is repository content: the bytes are
 * unverified until a pull has the whole object and checks its digest.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/dirent-util.h"
#include "basic/error.h"
#include "basic/macro.h"
#include "repo/fsck-internal.h"

#define PARTIALS_DIR REPO_TMP_DIR "/pull"

/*
 * The object's digest in lowercase hex, as a pull names it: a loose download,
 * ".zst" a pack frame's bytes, ".image" an image kept until its objects are in.
 */
static bool partial_name_valid(const char *name)
{
	return strspn(name, "0123456789abcdef") == HEX64_LEN &&
	       (name[HEX64_LEN] == '\0' || strcmp(name + HEX64_LEN, ".zst") == 0 || strcmp(name + HEX64_LEN, ".image") == 0);
}

static void check_partial(struct fsck *f, DIR *d, const char *name)
{
	_cleanup_close_ int fd = -EBADF;
	char path[sizeof(PARTIALS_DIR) + 256 + 1];
	const char *what;
	struct stat st;

	(void)snprintf(path, sizeof(path), "%s/%s", PARTIALS_DIR, name);
	fd = openat(dirfd(d), name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return;         /* its pull completed or gave up meanwhile */
	if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			return; /* a running pull writes it */
		fsck_warn(f, path, "cannot lock the partial download: %s", strerror(errno));
		return;
	}
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 || !partial_name_valid(name))
		what = "not a partial download a pull writes (a pull ignores it)";
	else
		what = NULL;
	if (!f->repair) {
		if (what)
			fsck_warn(f, path, "%s; --repair or gc removes it", what);
		else
			fsck_warn(f, path, "partial download (%lld bytes, unverified) that no pull holds; the next pull "
				  "resumes it, --repair or gc removes it", (long long)st.st_size);
		return;
	}
	/* Removed while locked: a pull that opened it meanwhile finds the name gone and starts over. */
	if (unlinkat(dirfd(d), name, fd >= 0 && S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0 && errno != ENOENT) {
		fsck_report(f, ST_FSCK_WARNING, ST_FSCK_UNFIXABLE, path, NULL, "cannot remove %s: %s",
			    what ? "it" : "the partial download no pull holds", strerror(errno));
		return;
	}
	if (what)
		fsck_report(f, ST_FSCK_WARNING, ST_FSCK_FIXED, path, NULL, "%s: removed", what);
	else
		fsck_report(f, ST_FSCK_WARNING, ST_FSCK_FIXED, path, NULL,
			    "partial download (%lld bytes, unverified) that no pull holds: removed", (long long)st.st_size);
}

int fsck_check_partials(struct fsck *f)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int r;

	r = opendir_beneath(st_repo_dirfd(f->repo), PARTIALS_DIR, &d);
	if (r == -ENOENT)
		return 0;
	if (r == -ENOTDIR || r == -ELOOP) {
		fsck_warn(f, PARTIALS_DIR, "is not a directory (a pull cannot keep partial downloads; gc removes it)");
		return 0;
	}
	if (r < 0)
		return st_errf(r, "cannot open '%s/%s'", st_repo_path(f->repo), PARTIALS_DIR);
	while ((r = readdir_next(d, &de)) > 0)
		check_partial(f, d, de->d_name);
	if (r < 0)
		return st_errf(r, "cannot read '%s/%s'", st_repo_path(f->repo), PARTIALS_DIR);
	return 0;
}
