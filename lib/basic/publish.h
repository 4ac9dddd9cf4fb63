/* SPDX-License-Identifier: MIT */
/*
 * The one way a file is written into a repository: a temporary file in the
 * target directory itself (O_TMPFILE where the filesystem has it, else a
 * hidden ".pub-..." name, which gc and fsck treat as a writer's temporary),
 * written, synced if asked, then given its name: linked without replacing
 * (content-addressed files: objects, images, commits, signatures' commits) or
 * renamed over what is there (refs, state, caches, config).
 *
 * On a name that exists already, a content-addressed writer says with
 * check_existing() whether the file there is what the name promises (the
 * same bytes, or the same digest): if it is, it is kept (returns 0); if it is
 * not (corrupt, truncated, or not a regular file at all), it is replaced
 * atomically by the new file (returns 1), never silently accepted.
 *
 * Failures record a detail naming the file being written (display), so that
 * ENOSPC and EIO say which file.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum publish_flags {
	PUBLISH_REPLACE = 1u << 0,      /* rename over an existing file; else never replace a good one */
	PUBLISH_SYNC = 1u << 1,         /* fsync the file before it gets its name, and the directory after */
};

struct publish_ops {
	/* Called on the complete file (read-only fd) before it gets its name, e.g. to enable fs-verity. */
	int (*prepare)(int fd, const char *display, void *userdata);
	/*
	 * The file already at the name (read-only, a regular file): 1 if it is
	 * what the name promises (kept), 0 if not (replaced), or a negative errno.
	 * NULL: an existing file is kept unchecked.
	 */
	int (*check_existing)(int fd, const char *display, void *userdata);
	void *userdata;
};

/* A file being written: publish_begin(), write to fd, publish_finish() or publish_abort(). */
struct publish_tmp {
	int dir_fd;                     /* not owned */
	int fd;                         /* O_RDWR */
	bool is_tmpfile;                /* else tmp_name is its name in dir_fd */
	char tmp_name[40];
};

/* Start a file in dir_fd with mode (the umask does not narrow it). display names it in errors. */
int publish_begin(int dir_fd, mode_t mode, const char *display, struct publish_tmp *ret);

/*
 * Give the written file its name (see above). t is consumed whatever the
 * result. 1: published; 0: an existing good file was kept.
 */
int publish_finish(struct publish_tmp *t, const char *name, const char *display, unsigned flags,
		   const struct publish_ops *ops);

void publish_abort(struct publish_tmp *t);

/*
 * Publish fd (O_RDWR, a file written elsewhere on the same filesystem, such
 * as a download resumed in tmp/) into dir_fd like a file of publish_begin():
 * linked through /proc/self/fd, never renamed, so its old name stays and is
 * the caller's to remove. publish_finish() consumes fd.
 */
void publish_adopt(int dir_fd, int fd, struct publish_tmp *ret);

/* publish_begin(), write data, publish_finish(). */
int publish_data(int dir_fd, const char *name, const char *display, const void *data, size_t len, mode_t mode,
		 unsigned flags, const struct publish_ops *ops);

/* check_existing for publish_data(): the existing file holds exactly these bytes (userdata: a struct publish_bytes). */
struct publish_bytes {
	const void *data;
	size_t len;
};
int publish_same_bytes(int fd, const char *display, void *userdata);

/* Test hook: temporary names only, as on a filesystem without O_TMPFILE. */
void publish_force_named_tmp(bool on);
/* Test hook: O_TMPFILEs linked through /proc/self/fd, as where linkat(AT_EMPTY_PATH) is refused. */
void publish_force_proc_link(bool on);
