/* SPDX-License-Identifier: MIT */
/*
 * show-commit: a small program using the installed libsealtree.
 *
 *   show-commit REPO SPEC
 *
 * Opens the repository, resolves SPEC (a ref, a commit id or a prefix of
 * one), and prints the commit id, the digest of its composefs image (what
 * `mount.composefs --digest` or `sealtree mount` checks) and the top-level
 * entries of its tree ("entry NAME file SIZE bytes", ...). Build it against the installed library with:
 *
 *   cc show-commit.c $(pkg-config --cflags --libs sealtree) -o show-commit
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <sealtree/error.h>
#include <sealtree/hex.h>
#include <sealtree/repo-objects.h>
#include <sealtree/repo.h>
#include <sealtree/tree.h>

static int show(const char *repo_path, const char *spec)
{
	struct st_repo *repo = NULL;
	struct st_commit *commit = NULL;
	struct st_node *root = NULL, *child;
	uint8_t id[ST_COMMIT_ID_SIZE];
	char hex[2 * ST_DIGEST_SIZE + 1];
	int r;

	r = st_repo_open(repo_path, &repo);
	if (r < 0) {
		fprintf(stderr, "show-commit: cannot open '%s': %s\n", repo_path, st_error_message(r));
		return r;
	}
	/* Readers hold the lock shared, so gc cannot delete what they read. */
	r = st_repo_lock_shared(repo, true);
	if (r >= 0)
		r = st_repo_resolve(repo, spec, id);
	if (r >= 0)
		r = st_repo_read_commit(repo, id, &commit);
	if (r >= 0)
		r = st_repo_read_image_tree(repo, commit->image_digest, &root);
	if (r < 0) {
		fprintf(stderr, "show-commit: %s: %s\n", spec, st_error_message(r));
		goto out;
	}

	st_hex_encode(id, sizeof(id), hex);
	printf("commit %s\n", hex);
	st_hex_encode(commit->image_digest, sizeof(commit->image_digest), hex);
	printf("image %s\n", hex);
	printf("subject %s\n", commit->subject ? commit->subject : "");
	for (size_t i = 0; (child = st_node_get_child(root, i)); i++) {
		struct st_entry e;

		st_node_get_entry(child, &e);
		if (S_ISDIR(e.mode))
			printf("entry %s dir %zu entries\n", e.name, e.n_children);
		else if (S_ISREG(e.mode))
			printf("entry %s file %llu bytes\n", e.name, (unsigned long long)e.size);
		else if (S_ISLNK(e.mode))
			printf("entry %s symlink -> %s\n", e.name, e.symlink_target);
		else
			printf("entry %s other\n", e.name);
	}
out:
	st_node_free(root);
	st_commit_free(commit);
	st_repo_free(repo);
	return r;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: show-commit REPO SPEC\n");
		return 2;
	}
	return show(argv[1], argv[2]) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
