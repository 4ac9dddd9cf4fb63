/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the trust chain (sealtree/seal.h): each link failing on its
 * own gives that link's verdict and stops the later ones. Linked against
 * lib/trust and the repository core only (no libarchive).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/hex.h"
#include "basic/test-util.h"
#include "basic/test.h"
#include "sealtree/repo-objects.h"
#include "sealtree/seal.h"

#define OK ST_SEAL_OK
#define FAILED ST_SEAL_FAILED
#define SKIPPED ST_SEAL_SKIPPED

static struct st_repo *repo;
static struct st_key *key1, *key2;
static uint8_t c_old[ST_COMMIT_ID_SIZE], c_new[ST_COMMIT_ID_SIZE], c_unsigned[ST_COMMIT_ID_SIZE];

static void commit_one(struct st_node *root, const char *ref, int64_t ts, const char *version,
		       uint8_t id[ST_COMMIT_ID_SIZE])
{
	struct st_commit_options co = {
		.ref = ref, .version = version, .has_timestamp = true, .timestamp = ts,
		.parent_mode = ST_COMMIT_PARENT_NONE,
	};

	if (st_repo_commit_tree(repo, root, &co, id, NULL) < 0) {
		fprintf(stderr, "cannot commit\n");
		exit(1);
	}
}

/* A repository with main -> c_new (2.0, t=200, signed by key1), c_old (1.0, t=100, signed), other -> unsigned. */
static void setup(void)
{
	char *src, *path, *f;
	struct st_node *root = NULL;

	if (repo)
		return;
	src = test_join(test_tmpdir(), "src");
	path = test_join(test_tmpdir(), "repo");
	mkdir(src, 0755);
	f = test_join(src, "file");
	test_write_string(f, "contents of a file that is larger than sixty-four bytes, so it is an object\n");
	if (st_repo_init(path, ST_REPO_VERITY_OFF, &repo) < 0 || st_repo_import_directory(repo, src, NULL, &root) < 0 ||
	    st_key_generate(&key1) < 0 || st_key_generate(&key2) < 0) {
		fprintf(stderr, "cannot set up the repository\n");
		exit(1);
	}
	commit_one(root, "other", 50, NULL, c_unsigned);
	commit_one(root, "main", 100, "1.0", c_old);
	commit_one(root, "main", 200, "2.0", c_new);
	if (st_repo_sign_commit(repo, c_old, key1) < 0 || st_repo_sign_commit(repo, c_new, key1) < 0) {
		fprintf(stderr, "cannot sign\n");
		exit(1);
	}
	st_node_free(root);
	free(src);
	free(path);
	free(f);
}

/* A store trusting key1 (and key2), revoking revoked, with policy text. */
static struct st_trust_store *store_new(const struct st_key *revoked, const char *policy)
{
	struct st_trust_store *s = NULL;

	if (st_trust_store_new(&s) < 0 || st_trust_store_add_key(s, st_key_public_raw(key1), false) < 0 ||
	    st_trust_store_add_key(s, st_key_public_raw(key2), false) < 0 ||
	    (revoked && st_trust_store_add_key(s, st_key_public_raw(revoked), true) < 0) ||
	    (policy && st_trust_store_set_policy(s, policy, strlen(policy)) < 0)) {
		fprintf(stderr, "cannot build a store\n");
		exit(1);
	}
	return s;
}

/* Run the chain; the states of the six links must be as given. */
static struct st_seal_result *chain(const uint8_t *id, const struct st_seal_options *o, const enum st_seal_state want[6])
{
	struct st_seal_result *res = NULL;
	bool ok = true;

	if (st_seal_chain(repo, id, o, &res) < 0) {
		fprintf(stderr, "st_seal_chain failed: %s\n", st_error_message(-EINVAL));
		exit(1);
	}
	for (int l = 0; l < ST_SEAL_LINK_COUNT; l++) {
		if (res->links[l].state != want[l])
			fprintf(stderr, "  link %s: %s (%s), expected %s\n", st_seal_link_to_string(l),
				st_seal_state_to_string(res->links[l].state), res->links[l].reason,
				st_seal_state_to_string(want[l]));
		ok &= res->links[l].state == want[l];
		ok &= res->links[l].reason[0] != '\0';
		if (want[l] == FAILED)
			ok &= res->failed_link == (enum st_seal_link)l;
	}
	if (!ok) {
		st_seal_result_free(res);
		return NULL;
	}
	return res;
}

static void corrupt_file(const char *rel, off_t at)
{
	int fd = openat(st_repo_dirfd(repo), rel, O_RDWR | O_CLOEXEC);
	char c;

	if (fd < 0 || pread(fd, &c, 1, at) != 1)
		exit(1);
	c ^= 1;
	if (pwrite(fd, &c, 1, at) != 1)
		exit(1);
	close(fd);
}

TEST(all_links_up_to_the_image)
{
	struct st_trust_store *s;
	struct st_seal_result *res;
	struct st_seal_options o = { .ref = "main", .flags = ST_SEAL_CHECK_IMAGE };

	setup();
	s = store_new(NULL, NULL);
	o.store = s;
	res = chain(c_new, &o, (enum st_seal_state[]){ OK, OK, SKIPPED, OK, SKIPPED, SKIPPED });
	ASSERT_TRUE(res);
	ASSERT_TRUE(res->ok);
	ASSERT_TRUE(res->has_signer);
	ASSERT_MEMEQ(res->signer_key_id, st_key_id(key1), ST_KEY_ID_SIZE);
	ASSERT_TRUE(res->commit && res->trust);
	ASSERT_TRUE(!res->mounted);
	st_seal_result_free(res);
	st_trust_store_free(s);
}

TEST(commit_link)
{
	struct st_trust_store *s;
	struct st_seal_result *res;
	struct st_seal_options o = { .flags = ST_SEAL_CHECK_IMAGE };
	uint8_t missing[ST_COMMIT_ID_SIZE] = { 1, 2, 3 };
	char hex[65], rel[80];

	setup();
	s = store_new(NULL, NULL);
	o.store = s;
	res = chain(missing, &o, (enum st_seal_state[]){ FAILED, SKIPPED, SKIPPED, SKIPPED, SKIPPED, SKIPPED });
	ASSERT_TRUE(res);
	ASSERT_EQ(res->links[ST_SEAL_LINK_COMMIT].error, -ENOENT);
	ASSERT_TRUE(strstr(res->links[ST_SEAL_LINK_COMMIT].reason, "not in the repository"));
	ASSERT_TRUE(strstr(res->links[ST_SEAL_LINK_SIGNATURE].reason, "the commit link failed"));
	ASSERT_TRUE(!res->commit && !res->trust);
	st_seal_result_free(res);

	/* One flipped bit in the commit's bytes. */
	st_hex_encode(c_unsigned, ST_COMMIT_ID_SIZE, hex);
	snprintf(rel, sizeof(rel), "commits/%s", hex);
	corrupt_file(rel, 20);
	res = chain(c_unsigned, &o, (enum st_seal_state[]){ FAILED, SKIPPED, SKIPPED, SKIPPED, SKIPPED, SKIPPED });
	corrupt_file(rel, 20);
	ASSERT_TRUE(res);
	ASSERT_EQ(res->links[ST_SEAL_LINK_COMMIT].error, -EUCLEAN);
	st_seal_result_free(res);
	st_trust_store_free(s);
}

TEST(signature_link)
{
	struct st_trust_store *s;
	struct st_seal_result *res;
	struct st_seal_options o = { .ref = "main", .flags = ST_SEAL_CHECK_IMAGE | ST_SEAL_NO_DOWNGRADE };
	char pin[128], hex[65];

	setup();
	/* Unsigned. */
	s = store_new(NULL, NULL);
	o.store = s;
	o.ref = "other";
	res = chain(c_unsigned, &o, (enum st_seal_state[]){ OK, FAILED, SKIPPED, SKIPPED, SKIPPED, SKIPPED });
	ASSERT_TRUE(res);
	ASSERT_EQ(res->links[ST_SEAL_LINK_SIGNATURE].error, -EKEYREJECTED);
	ASSERT_TRUE(strstr(res->links[ST_SEAL_LINK_SIGNATURE].reason, "no signature"));
	ASSERT_TRUE(!res->has_signer);
	st_seal_result_free(res);
	st_trust_store_free(s);

	/* Unsigned under a 'none' policy: accepted, unless a signature is required. */
	s = store_new(NULL, "other none\n");
	o.store = s;
	res = chain(c_unsigned, &o, (enum st_seal_state[]){ OK, OK, OK, OK, SKIPPED, SKIPPED });
	ASSERT_TRUE(res && res->ok && !res->has_signer);
	st_seal_result_free(res);
	o.flags |= ST_SEAL_REQUIRE_SIGNATURE;
	res = chain(c_unsigned, &o, (enum st_seal_state[]){ OK, FAILED, SKIPPED, SKIPPED, SKIPPED, SKIPPED });
	ASSERT_TRUE(res);
	st_seal_result_free(res);
	st_trust_store_free(s);

	/* Revoked key. */
	o.ref = "main";
	s = store_new(key1, NULL);
	o.store = s;
	res = chain(c_new, &o, (enum st_seal_state[]){ OK, FAILED, SKIPPED, SKIPPED, SKIPPED, SKIPPED });
	ASSERT_TRUE(res);
	ASSERT_TRUE(strstr(res->links[ST_SEAL_LINK_SIGNATURE].reason, "revoked key"));
	st_seal_result_free(res);
	st_trust_store_free(s);

	/* A policy pinning the ref to key2: key1's valid signature is not enough. */
	st_hex_encode(st_key_id(key2), 8, hex);
	snprintf(pin, sizeof(pin), "main keys=%s\n", hex);
	s = store_new(NULL, pin);
	o.store = s;
	res = chain(c_new, &o, (enum st_seal_state[]){ OK, FAILED, SKIPPED, SKIPPED, SKIPPED, SKIPPED });
	ASSERT_TRUE(res);
	ASSERT_TRUE(strstr(res->links[ST_SEAL_LINK_SIGNATURE].reason, "not allowed by the policy"));
	st_seal_result_free(res);
	st_trust_store_free(s);
}

TEST(rollback_link)
{
	struct st_trust_store *s;
	struct st_seal_result *res;
	struct st_seal_options o = { .ref = "main", .flags = ST_SEAL_CHECK_IMAGE | ST_SEAL_NO_DOWNGRADE };
	struct st_accepted floor = { .timestamp = 150, .version = "1.5" };

	setup();
	s = store_new(NULL, NULL);
	o.store = s;
	/* The caller's floor alone (no ref: prepare-root with a floor from the boot loader). */
	o.ref = NULL;
	o.floor = &floor;
	res = chain(c_old, &o, (enum st_seal_state[]){ OK, OK, FAILED, SKIPPED, SKIPPED, SKIPPED });
	ASSERT_TRUE(res);
	ASSERT_EQ(res->links[ST_SEAL_LINK_ROLLBACK].error, -ESTALE);
	ASSERT_TRUE(strstr(res->links[ST_SEAL_LINK_ROLLBACK].reason, "below the rollback floor"));
	ASSERT_TRUE(strstr(res->rollback, "older than the last accepted commit's timestamp 150"));
	ASSERT_TRUE(!strstr(res->links[ST_SEAL_LINK_ROLLBACK].reason, "Stale file handle"));
	st_seal_result_free(res);
	res = chain(c_new, &o, (enum st_seal_state[]){ OK, OK, OK, OK, SKIPPED, SKIPPED });
	ASSERT_TRUE(res && res->ok);
	st_seal_result_free(res);

	/* The ref's record: accept c_new, then c_old is a downgrade (by timestamp, then by version). */
	o.floor = NULL;
	o.ref = "main";
	o.flags |= ST_SEAL_RECORD_ACCEPTED;
	res = chain(c_new, &o, (enum st_seal_state[]){ OK, OK, OK, OK, SKIPPED, OK });
	ASSERT_TRUE(res && res->ok);    /* recorded here, or already by mount_link */
	st_seal_result_free(res);
	res = chain(c_old, &o, (enum st_seal_state[]){ OK, OK, FAILED, SKIPPED, SKIPPED, SKIPPED });
	ASSERT_TRUE(res);
	ASSERT_TRUE(strstr(res->links[ST_SEAL_LINK_ROLLBACK].reason, "older than the last accepted"));
	ASSERT_TRUE(strstr(res->links[ST_SEAL_LINK_ROLLBACK].reason, "version '2.0'"));
	st_seal_result_free(res);
	/* Without NO_DOWNGRADE the old commit passes, and the record does not move back. */
	o.flags &= ~(unsigned)ST_SEAL_NO_DOWNGRADE;
	res = chain(c_old, &o, (enum st_seal_state[]){ OK, OK, SKIPPED, OK, SKIPPED, OK });
	ASSERT_TRUE(res && res->ok && !res->recorded);
	st_seal_result_free(res);
	{
		struct st_accepted last;

		ASSERT_OK(st_repo_read_accepted(repo, "main", &last));
		ASSERT_MEMEQ(last.commit_id, c_new, ST_COMMIT_ID_SIZE);
	}
	st_trust_store_free(s);
}

TEST(image_link)
{
	struct st_trust_store *s;
	struct st_seal_result *res;
	struct st_seal_options o = { .ref = "main", .flags = ST_SEAL_CHECK_IMAGE };
	struct st_commit *c = NULL;
	char rel[80], moved[96];

	setup();
	s = store_new(NULL, NULL);
	o.store = s;
	ASSERT_OK(st_repo_read_commit(repo, c_new, &c));
	st_repo_image_relpath(c->image_digest, rel);
	corrupt_file(rel, 1100);
	res = chain(c_new, &o, (enum st_seal_state[]){ OK, OK, SKIPPED, FAILED, SKIPPED, SKIPPED });
	corrupt_file(rel, 1100);
	ASSERT_TRUE(res);
	ASSERT_EQ(res->links[ST_SEAL_LINK_IMAGE].error, -EBADMSG);
	ASSERT_TRUE(strstr(res->links[ST_SEAL_LINK_IMAGE].reason, "is corrupt"));
	st_seal_result_free(res);

	snprintf(moved, sizeof(moved), "%s.away", rel);
	ASSERT_TRUE(renameat(st_repo_dirfd(repo), rel, st_repo_dirfd(repo), moved) == 0);
	res = chain(c_new, &o, (enum st_seal_state[]){ OK, OK, SKIPPED, FAILED, SKIPPED, SKIPPED });
	ASSERT_TRUE(renameat(st_repo_dirfd(repo), moved, st_repo_dirfd(repo), rel) == 0);
	ASSERT_TRUE(res);
	ASSERT_EQ(res->links[ST_SEAL_LINK_IMAGE].error, -ENOENT);
	st_seal_result_free(res);
	st_commit_free(c);
	st_trust_store_free(s);
}

TEST(mount_link)
{
	struct st_trust_store *s;
	struct st_seal_result *res;
	char *target = test_join(test_tmpdir(), "mnt");
	struct st_seal_options o = { .ref = "main", .mount_target = target, .flags = ST_SEAL_REQUIRE_SIGNATURE };

	setup();
	mkdir(target, 0755);
	s = store_new(NULL, NULL);
	o.store = s;
	/* No fs-verity and not allowed: the mount link fails, nothing is mounted or recorded. */
	o.flags |= ST_SEAL_RECORD_ACCEPTED;
	res = chain(c_new, &o, (enum st_seal_state[]){ OK, OK, SKIPPED, OK, FAILED, SKIPPED });
	ASSERT_TRUE(res);
	ASSERT_TRUE(strstr(res->links[ST_SEAL_LINK_MOUNT].reason, "has no fs-verity"));
	ASSERT_TRUE(!res->mounted);
	st_seal_result_free(res);

	/* Allowed: a real mount where this machine can (root, erofs, overlayfs). */
	o.flags |= ST_SEAL_ALLOW_UNVERIFIED;
	ASSERT_OK(st_seal_chain(repo, c_new, &o, &res));
	if (!res->ok) {
		fprintf(stderr, "mount link: %s\n", res->links[ST_SEAL_LINK_MOUNT].reason);
		ASSERT_EQ(res->failed_link, ST_SEAL_LINK_MOUNT);
		ASSERT_EQ(res->links[ST_SEAL_LINK_RECORD].state, SKIPPED);
		st_seal_result_free(res);
		st_trust_store_free(s);
		free(target);
		TEST_SKIP("cannot mount here");
	}
	ASSERT_TRUE(res->mounted && !res->verity);
	ASSERT_EQ(res->links[ST_SEAL_LINK_RECORD].state, OK);
	ASSERT_TRUE(strstr(res->links[ST_SEAL_LINK_MOUNT].reason, "NOT verified"));
	ASSERT_OK(st_repo_umount(repo, target, false, NULL));
	st_seal_result_free(res);
	st_trust_store_free(s);
	free(target);
}

/* The repository layer's small-file calls, the only way lib/trust reaches a repository's files. */
TEST(repo_small_files)
{
	char *buf = NULL, *outside = test_join(test_tmpdir(), "outside");
	size_t len;
	int fd;

	setup();
	mkdir(outside, 0755);
	ASSERT_OK(st_repo_write_file(repo, "state/test/a", "hello", 5));
	ASSERT_OK(st_repo_read_file(repo, "state/test/a", 16, &buf, &len));
	ASSERT_EQ(len, 5);
	ASSERT_STREQ(buf, "hello");
	free(buf);
	ASSERT_ERR(st_repo_read_file(repo, "state/test/a", 4, &buf, &len), -EFBIG);
	ASSERT_ERR(st_repo_read_file(repo, "state/test/none", 16, &buf, &len), -ENOENT);
	ASSERT_ERR(st_repo_read_file(repo, "../outside", 16, &buf, &len), -EUCLEAN);
	/* A symlink at the end or on the way is never followed, for reading, writing or locking. */
	ASSERT_TRUE(symlinkat(outside, st_repo_dirfd(repo), "state/test/link") == 0);
	ASSERT_ERR(st_repo_read_file(repo, "state/test/link", 16, &buf, &len), -EUCLEAN);
	ASSERT_ERR(st_repo_write_file(repo, "state/test/link/x", "x", 1), -EUCLEAN);
	ASSERT_ERR(st_repo_lock_file(repo, "state/test/link/lock", true), -EUCLEAN);
	ASSERT_ERR(st_repo_lock_file(repo, "state/test/link", false), -EUCLEAN);
	ASSERT_TRUE(faccessat(AT_FDCWD, outside, F_OK, 0) == 0);
	{
		char *x = test_join(outside, "x");

		ASSERT_TRUE(access(x, F_OK) < 0);   /* nothing written outside */
		free(x);
	}
	/* A FIFO is refused without blocking. */
	ASSERT_TRUE(mkfifoat(st_repo_dirfd(repo), "state/test/fifo", 0644) == 0);
	ASSERT_ERR(st_repo_read_file(repo, "state/test/fifo", 16, &buf, &len), -EUCLEAN);
	ASSERT_ERR(st_repo_lock_file(repo, "state/test/fifo", false), -EUCLEAN);
	/* Replacing keeps one file; a lock is a held fd. */
	ASSERT_OK(st_repo_write_file(repo, "state/test/a", "bye", 3));
	ASSERT_OK(st_repo_read_file(repo, "state/test/a", 16, &buf, &len));
	ASSERT_STREQ(buf, "bye");
	free(buf);
	fd = st_repo_lock_file(repo, "state/test/lock", true);
	ASSERT_TRUE(fd >= 0);
	close(fd);
	free(outside);
}

TEST(bad_calls)
{
	struct st_trust_store *s;
	struct st_seal_result *res = NULL;
	struct st_seal_options o = {};

	setup();
	s = store_new(NULL, NULL);
	ASSERT_ERR(st_seal_chain(repo, c_new, &o, &res), -EINVAL);              /* no store */
	o.store = s;
	o.flags = ST_SEAL_NO_DOWNGRADE;
	ASSERT_ERR(st_seal_chain(repo, c_new, &o, &res), -EINVAL);              /* neither ref nor floor */
	o.flags = ST_SEAL_RECORD_ACCEPTED;
	ASSERT_ERR(st_seal_chain(repo, c_new, &o, &res), -EINVAL);              /* record without ref */
	o.flags = 0;
	o.mount_target = "relative";
	ASSERT_ERR(st_seal_chain(repo, c_new, &o, &res), -EINVAL);
	o.mount_target = NULL;
	o.reserved[2] = 1;
	ASSERT_ERR(st_seal_chain(repo, c_new, &o, &res), -EINVAL);
	ASSERT_TRUE(res == NULL);
	ASSERT_STREQ(st_seal_link_to_string(ST_SEAL_LINK_ROLLBACK), "rollback");
	ASSERT_STREQ(st_seal_state_to_string(ST_SEAL_FAILED), "failed");
	st_trust_store_free(s);
}

TEST_MAIN()
