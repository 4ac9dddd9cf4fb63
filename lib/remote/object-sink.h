/* SPDX-License-Identifier: MIT */
/*
 * One object arriving from a remote (a loose file or a pack entry): its
 * bytes go to a temporary file in its objects/XX/ directory while its
 * fs-verity digest is computed; only when the size and the digest are the
 * ones the image names does it get its name (fs-verity enabled first on a
 * verity repository), at once, so that an interrupted pull keeps it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/publish.h"
#include "sealtree/repo.h"
#include "sealtree/verity.h"

/*
 * The objects/XX/ directories of a repository, each opened (made if need
 * be) once per pull instead of once per object: a pull of 58k objects
 * spent more system time walking to them than writing. Sinks on several
 * threads may share one: a slot is filled once, atomically.
 */
struct object_dirs {
	struct st_repo *repo;
	_Atomic int fd[256];            /* -EBADF until first used */
};
void object_dirs_init(struct object_dirs *d, struct st_repo *repo);
void object_dirs_done(struct object_dirs *d);
/* objects/XX/ (XX: first, in hex), made if need be, opened once: a borrowed fd, or a negative errno. */
int object_dirs_get(struct object_dirs *d, uint8_t first);
/*
 * Whether the repository has the object digest at size bytes (1) or not
 * (0: absent, or not a regular file of that size), one fstatat in its
 * objects/XX/; a negative errno with a detail otherwise.
 */
int object_dirs_have(struct object_dirs *d, const uint8_t digest[ST_DIGEST_SIZE], uint64_t size);

struct object_sink {
	struct st_repo *repo;
	struct object_dirs *dirs;       /* optional, kept across object_sink_init(): borrowed directory fds */
	uint8_t digest[ST_DIGEST_SIZE];
	uint64_t size;                  /* what the image (or the pack index: a prefetch) says */
	char relpath[74];               /* "objects/XX/Y{62}"; relpath + 8 names it in messages */
	struct publish_tmp tmp;
	bool open;
	struct st_verity_hasher *hasher;
	uint64_t got;
	int partial_fd;                 /* a partial download (partial.c) written instead of a temporary file, or -EBADF */
};

/* Start (nothing is opened before the first byte). s->hasher and s->dirs are kept. */
void object_sink_init(struct object_sink *s, struct st_repo *repo, const uint8_t digest[ST_DIGEST_SIZE], uint64_t size);
/* Write and hash len bytes; -EFBIG (nothing written) beyond the size the image gives. */
int object_sink_write(struct object_sink *s, const void *buf, size_t len);
/*
 * Check size and digest, then publish. -EUCLEAN with a detail naming the
 * object when the bytes are not the object's. The sink is reset either way
 * (its hasher kept for the next object).
 */
int object_sink_finish(struct object_sink *s);
/*
 * Write to the partial file fd (partial.c, locked, its first len bytes
 * already hashed into s->hasher) from byte len on, instead of a temporary
 * file; the sink owns fd. object_sink_finish() links that very file into
 * objects/ once verified and removes its tmp/pull name; object_sink_reset()
 * empties it; object_sink_release() closes it, its bytes kept for later.
 */
void object_sink_attach_partial(struct object_sink *s, int fd, uint64_t len);
/* Drop the temporary file (if any) and the bytes hashed; the sink can start again. */
void object_sink_reset(struct object_sink *s);
/* object_sink_reset() and free the hasher. */
void object_sink_release(struct object_sink *s);

/* publish_ops.check_existing of a content-addressed file: its fs-verity digest is userdata's (32 bytes). */
int object_has_digest(int fd, const char *display, void *userdata);
/* publish_ops.prepare of a file published into a verity repository: enable fs-verity (already on: fine). */
int object_enable_verity(int fd, const char *display, void *userdata);
