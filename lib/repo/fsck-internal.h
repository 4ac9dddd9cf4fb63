/* SPDX-License-Identifier: MIT */
/*
 * fsck's state, shared by fsck.c (driver, commits, refs, reporting,
 * quarantine), fsck-objects.c and fsck-images.c.
 *
 * Listing runs in the reverse of the order writers publish (refs, commits,
 * images, objects), so under the shared lock a commit running meanwhile
 * never makes a listed ref, commit or image look like it lacks what it
 * needs. Checking runs the other way (objects, images, commits, refs), so
 * what --repair quarantines at one level is seen missing at the next.
 */
#pragma once

#include "repo/maint-internal.h"

struct fanout;

struct fsck_ref {
	char *relpath;                  /* "refs/heads/main" */
	char *name;                     /* as st_repo_read_ref() takes it: "main", "refs/mounts/x" */
	int result;                     /* of reading it; 0 = id is valid */
	char *detail;                   /* the error message when result < 0 */
	uint8_t id[ST_COMMIT_ID_SIZE];
};

struct fsck {
	struct st_repo *repo;
	struct st_fsck_options *opts;
	bool repair;

	/* Listings. */
	struct fsck_ref *refs;
	size_t n_refs, cap_refs;
	struct name_entry *commit_names;
	size_t n_commit_names;
	struct name_entry *image_names;
	size_t n_image_names;
	struct fanout *fanouts;         /* objects/XX directories (fsck-objects.c) */
	size_t n_fanouts;

	/* After checking: what is there and good enough to be referenced. */
	struct digest_set objects_ok, images_ok, commits_ok;
	struct digest_set commits_listed, commits_damaged;
};

/* Report a problem at path (relative to REPO). */
void fsck_report(struct fsck *f, enum st_fsck_severity severity, enum st_fsck_action action, const char *path,
		 const char *quarantine_path, const char *fmt, ...) _printf_(6, 7);
#define fsck_warn(f, path, ...) fsck_report(f, ST_FSCK_WARNING, ST_FSCK_REPORTED, path, NULL, __VA_ARGS__)
#define fsck_note(f, path, ...) fsck_report(f, ST_FSCK_NOTE, ST_FSCK_REPORTED, path, NULL, __VA_ARGS__)

/* An error that --repair cannot fix (it says so). */
void fsck_unfixable(struct fsck *f, const char *path, const char *fmt, ...) _printf_(3, 4);

/*
 * A bad file or directory at path: an error; with --repair it is moved to
 * the quarantine. Returns true if it was moved (it is gone).
 */
bool fsck_bad(struct fsck *f, const char *path, const char *fmt, ...) _printf_(3, 4);

int fsck_list_images(struct fsck *f);
int fsck_list_objects(struct fsck *f);
void fsck_objects_free(struct fsck *f);
int fsck_check_objects(struct fsck *f);
int fsck_check_images(struct fsck *f);
/* tmp/pull/: partial downloads no pull holds (fsck-partials.c). */
int fsck_check_partials(struct fsck *f);
