/* SPDX-License-Identifier: MIT */
/*
 * The trust chain as one call (include/sealtree/seal.h): commit, signature
 * under the policy, anti-rollback, image digest on the fd to be mounted,
 * mount with verity=require, record. Each link gets a verdict in plain
 * words; the first failure stops the chain. The repository is read and
 * written only through the repository layer's API.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/error.h"
#include "basic/hex.h"
#include "sealtree/seal.h"
#include "trust-internal.h"

const char *st_seal_link_to_string(enum st_seal_link link)
{
	static const char *const names[ST_SEAL_LINK_COUNT] = {
		[ST_SEAL_LINK_COMMIT] = "commit",
		[ST_SEAL_LINK_SIGNATURE] = "signature",
		[ST_SEAL_LINK_ROLLBACK] = "rollback",
		[ST_SEAL_LINK_IMAGE] = "image",
		[ST_SEAL_LINK_MOUNT] = "mount",
		[ST_SEAL_LINK_RECORD] = "record",
	};
	return (unsigned)link < ST_SEAL_LINK_COUNT ? names[link] : "unknown";
}

const char *st_seal_state_to_string(enum st_seal_state state)
{
	static const char *const names[ST_SEAL_STATE_COUNT] = {
		[ST_SEAL_SKIPPED] = "skipped",
		[ST_SEAL_OK] = "ok",
		[ST_SEAL_FAILED] = "failed",
	};
	return (unsigned)state < ST_SEAL_STATE_COUNT ? names[state] : "unknown";
}

struct st_seal_result *st_seal_result_free(struct st_seal_result *res)
{
	if (res) {
		st_commit_free(res->commit);
		st_trust_result_free(res->trust);
		st_verity_policy_free(res->verity_policy);
		free(res);
	}
	return NULL;
}

static void link_set(struct st_seal_result *res, enum st_seal_link l, enum st_seal_state state, const char *fmt, ...)
	_printf_(4, 5);
static void link_set(struct st_seal_result *res, enum st_seal_link l, enum st_seal_state state, const char *fmt, ...)
{
	va_list ap;

	res->links[l].state = state;
	va_start(ap, fmt);
	(void)vsnprintf(res->links[l].reason, sizeof(res->links[l].reason), fmt, ap);
	va_end(ap);
}

/*
 * Link l failed with r: its reason is the library's detail in plain words;
 * strerror() only where the detail alone does not say it (I/O and system
 * errors), never for a domain refusal ("Stale file handle" for a rollback).
 */
static void link_fail(struct st_seal_result *res, enum st_seal_link l, int r, const char *what)
{
	const char *detail = st_error_detail();
	bool domain = r == -ESTALE || r == -EBADMSG || r == -EUCLEAN || r == -EKEYREJECTED || r == -ENODATA;
	char msg[ST_SEAL_REASON_MAX];

	if (detail && domain)
		(void)snprintf(msg, sizeof(msg), "%s", detail);
	else
		(void)snprintf(msg, sizeof(msg), "%s", st_error_message(r));
	st_error_clear();
	res->links[l].error = r;
	if (what)
		link_set(res, l, ST_SEAL_FAILED, "%s: %s", what, msg);
	else
		link_set(res, l, ST_SEAL_FAILED, "%s", msg);
	if (res->ok) {
		res->ok = false;
		res->failed_link = l;
	}
}

static int link_commit(struct st_repo *repo, struct st_seal_result *res)
{
	char hex[2 * ST_COMMIT_ID_SIZE + 1];
	int r;

	st_hex_encode(res->commit_id, ST_COMMIT_ID_SIZE, hex);
	r = st_repo_read_commit(repo, res->commit_id, &res->commit);
	if (r == -ENOENT) {
		st_error_clear();
		res->links[ST_SEAL_LINK_COMMIT].error = r;
		link_set(res, ST_SEAL_LINK_COMMIT, ST_SEAL_FAILED, "commit %s is not in the repository", hex);
		res->ok = false;
		res->failed_link = ST_SEAL_LINK_COMMIT;
		return r;
	}
	if (r < 0) {
		link_fail(res, ST_SEAL_LINK_COMMIT, r, NULL);
		return r;
	}
	link_set(res, ST_SEAL_LINK_COMMIT, ST_SEAL_OK, "commit %s: its bytes hash to its id", hex);
	return 0;
}

static int link_signature(struct st_repo *repo, const struct st_seal_options *o, struct st_seal_result *res)
{
	char id[ST_KEY_ID_SHORT_HEX + 1], why[ST_SEAL_REASON_MAX];
	const struct st_trust_result *t;
	int r;

	r = st_repo_trust_check(repo, o->store, o->ref, res->commit_id,
				(o->flags & ST_SEAL_REQUIRE_SIGNATURE) ? ST_TRUST_REQUIRE_SIGNATURE : 0, &res->trust);
	if (r < 0) {
		link_fail(res, ST_SEAL_LINK_SIGNATURE, r, "cannot check the signatures");
		return r;
	}
	t = res->trust;
	if (t->verdict == ST_TRUST_VALID) {
		memcpy(res->signer_key_id, t->sigs[t->valid_index].key_id, ST_KEY_ID_SIZE);
		res->has_signer = true;
		key_id_short(res->signer_key_id, id);
		link_set(res, ST_SEAL_LINK_SIGNATURE, ST_SEAL_OK, "valid signature by trusted key %s%s%s%s", id,
			 t->rule.pattern ? " (policy rule '" : " (default policy)", t->rule.pattern ? t->rule.pattern : "",
			 t->rule.pattern ? "')" : "");
		return 0;
	}
	if (t->verdict == ST_TRUST_UNSIGNED_OK) {
		link_set(res, ST_SEAL_LINK_SIGNATURE, ST_SEAL_OK,
			 "no valid signature, and none required: the policy for this ref is 'none'");
		return 0;
	}
	st_trust_result_reason(t, why, sizeof(why));
	res->links[ST_SEAL_LINK_SIGNATURE].error = -EKEYREJECTED;
	link_set(res, ST_SEAL_LINK_SIGNATURE, ST_SEAL_FAILED, "not valid: %s", why);
	res->ok = false;
	res->failed_link = ST_SEAL_LINK_SIGNATURE;
	return -EKEYREJECTED;
}

static int link_rollback(struct st_repo *repo, const struct st_seal_options *o, struct st_seal_result *res)
{
	struct st_accepted last;
	bool have_last = false;
	int r;

	if (o->floor) {
		r = st_accepted_check(o->floor, res->commit);
		if (r < 0) {
			link_fail(res, ST_SEAL_LINK_ROLLBACK, r, "below the rollback floor");
			goto refused;
		}
	}
	if (o->ref) {
		r = st_repo_read_accepted(repo, o->ref, &last);
		if (r >= 0) {
			have_last = true;
			r = st_accepted_check(&last, res->commit);
		} else if (r == -ENOENT) {
			st_error_clear();
			r = 0;
		}
		if (r < 0) {
			link_fail(res, ST_SEAL_LINK_ROLLBACK, r, NULL);
			goto refused;
		}
	}
	if (have_last)
		link_set(res, ST_SEAL_LINK_ROLLBACK, ST_SEAL_OK,
			 "not older than the last accepted commit (timestamp %" PRId64 "%s%s%s)%s", last.timestamp,
			 *last.version ? ", version '" : "", last.version, *last.version ? "'" : "",
			 o->floor ? " nor the floor" : "");
	else if (o->ref)
		link_set(res, ST_SEAL_LINK_ROLLBACK, ST_SEAL_OK, "no commit accepted for this ref yet%s",
			 o->floor ? "; not older than the floor" : "");
	else
		link_set(res, ST_SEAL_LINK_ROLLBACK, ST_SEAL_OK, "not older than the floor");
	return 0;
refused:
	(void)snprintf(res->rollback, sizeof(res->rollback), "%s", res->links[ST_SEAL_LINK_ROLLBACK].reason);
	return -ESTALE;
}

static int link_image(struct st_repo *repo, struct st_seal_result *res, int *ret_fd)
{
	char hex[2 * ST_DIGEST_SIZE + 1];
	int r;

	r = st_repo_open_image_checked(repo, res->commit, ret_fd);
	if (r < 0) {
		link_fail(res, ST_SEAL_LINK_IMAGE, r, NULL);
		return r;
	}
	st_hex_encode(res->commit->image_digest, ST_DIGEST_SIZE, hex);
	link_set(res, ST_SEAL_LINK_IMAGE, ST_SEAL_OK, "image %s: fs-verity digest %s on the fd to be mounted", hex,
		 st_repo_has_verity(repo) ? "measured by the kernel" : "computed");
	return 0;
}

static int link_mount(struct st_repo *repo, const struct st_seal_options *o, struct st_seal_result *res, int fd)
{
	bool verity = st_repo_has_verity(repo);
	int r;

	if (!verity && !(o->flags & ST_SEAL_ALLOW_UNVERIFIED)) {
		res->links[ST_SEAL_LINK_MOUNT].error = -EOPNOTSUPP;
		link_set(res, ST_SEAL_LINK_MOUNT, ST_SEAL_FAILED,
			 "file contents: repository '%s' has no fs-verity, so the kernel cannot check what the image "
			 "names (not mounted; allow unverified objects to mount anyway)",
			 st_repo_path(repo));
		res->ok = false;
		res->failed_link = ST_SEAL_LINK_MOUNT;
		return -EOPNOTSUPP;
	}
	r = st_repo_mount_image_fd_policy(repo, res->commit_id, res->commit, fd, o->mount_target,
					  (verity ? ST_REPO_MOUNT_VERITY : ST_REPO_MOUNT_NO_VERITY) |
						  (o->flags & ST_SEAL_NO_PIN ? ST_REPO_MOUNT_NO_PIN : 0),
					  &res->verity_policy);
	if (r < 0) {
		link_fail(res, ST_SEAL_LINK_MOUNT, r, "cannot mount");
		return r;
	}
	res->mounted = true;
	res->verity = verity;
	if (res->verity_policy) {
		char list[ST_SEAL_REASON_MAX / 2] = "";
		size_t n = st_verity_policy_count(res->verity_policy), off = 0;

		for (size_t i = 0; i < n && off < sizeof(list); i++) {
			int w = snprintf(list + off, sizeof(list) - off, "%s%s", i ? " " : "",
					 st_verity_policy_prefix(res->verity_policy, i));
			off += w > 0 ? (size_t)w : 0;
		}
		link_set(res, ST_SEAL_LINK_MOUNT, ST_SEAL_OK, "mounted read-only on '%s', file contents verified by "
			 "the kernel under the image's verity policy only (verity=on): %s", o->mount_target, list);
		return 0;
	}
	link_set(res, ST_SEAL_LINK_MOUNT, ST_SEAL_OK, "mounted read-only on '%s', %s", o->mount_target,
		 verity ? "file contents verified by the kernel (verity=require)"
			: "file contents NOT verified (no fs-verity)");
	return 0;
}

static int link_record(struct st_repo *repo, const struct st_seal_options *o, struct st_seal_result *res)
{
	int r;

	r = st_repo_record_accepted(repo, o->ref, res->commit_id, res->commit);
	if (r < 0) {
		link_fail(res, ST_SEAL_LINK_RECORD, r, "cannot record the commit as accepted");
		if (res->mounted) {
			/* A sealed mount whose record failed would let a later downgrade pass: undo it. */
			(void)st_repo_umount(repo, o->mount_target, false, NULL);
			st_error_clear();
			res->mounted = false;
		}
		return r;
	}
	res->recorded = r > 0;
	link_set(res, ST_SEAL_LINK_RECORD, ST_SEAL_OK, "%s",
		 r > 0 ? "recorded as the last accepted commit for this ref"
		       : "the record already holds this or a newer commit: kept");
	return 0;
}

int st_seal_chain(struct st_repo *repo, const uint8_t commit_id[ST_COMMIT_ID_SIZE], const struct st_seal_options *o,
		  struct st_seal_result **ret)
{
	struct st_seal_result *res;
	int fd = -EBADF;
	bool run_image, run_mount, run_record, stop = false;

	if (!repo || !o || !o->store || !ret)
		return -EINVAL;
	for (size_t i = 0; i < ELEMENTSOF(o->reserved); i++)
		if (o->reserved[i])
			return -EINVAL;
	if ((o->flags & ST_SEAL_NO_DOWNGRADE) && !o->ref && !o->floor)
		return st_errf(-EINVAL, "the rollback link needs a ref or a floor");
	if ((o->flags & ST_SEAL_SKIP_SIGNATURE) && (o->flags & ST_SEAL_REQUIRE_SIGNATURE))
		return st_errf(-EINVAL, "a signature cannot be both required and skipped");
	if ((o->flags & ST_SEAL_RECORD_ACCEPTED) && !o->ref)
		return st_errf(-EINVAL, "recording an accepted commit needs a ref");
	if (o->mount_target && o->mount_target[0] != '/')
		return st_errf(-EINVAL, "mount target '%s' is not an absolute path", o->mount_target);

	res = calloc(1, sizeof(*res));
	if (!res)
		return -ENOMEM;
	memcpy(res->commit_id, commit_id, ST_COMMIT_ID_SIZE);
	res->ok = true;
	run_mount = o->mount_target != NULL;
	run_image = run_mount || (o->flags & ST_SEAL_CHECK_IMAGE);
	run_record = (o->flags & ST_SEAL_RECORD_ACCEPTED) != 0;

	for (enum st_seal_link l = 0; l < ST_SEAL_LINK_COUNT; l++) {
		bool asked = l == ST_SEAL_LINK_COMMIT ||
			     (l == ST_SEAL_LINK_SIGNATURE && !(o->flags & ST_SEAL_SKIP_SIGNATURE)) ||
			     (l == ST_SEAL_LINK_ROLLBACK && (o->flags & ST_SEAL_NO_DOWNGRADE)) ||
			     (l == ST_SEAL_LINK_IMAGE && run_image) || (l == ST_SEAL_LINK_MOUNT && run_mount) ||
			     (l == ST_SEAL_LINK_RECORD && run_record);

		if (stop) {
			link_set(res, l, ST_SEAL_SKIPPED, "not checked: the %s link failed",
				 st_seal_link_to_string(res->failed_link));
			continue;
		}
		if (!asked) {
			link_set(res, l, ST_SEAL_SKIPPED, "not asked for");
			continue;
		}
		switch (l) {
		case ST_SEAL_LINK_COMMIT:
			stop = link_commit(repo, res) < 0;
			break;
		case ST_SEAL_LINK_SIGNATURE:
			stop = link_signature(repo, o, res) < 0;
			break;
		case ST_SEAL_LINK_ROLLBACK:
			stop = link_rollback(repo, o, res) < 0;
			break;
		case ST_SEAL_LINK_IMAGE:
			stop = link_image(repo, res, &fd) < 0;
			break;
		case ST_SEAL_LINK_MOUNT:
			stop = link_mount(repo, o, res, fd) < 0;
			break;
		case ST_SEAL_LINK_RECORD:
			stop = link_record(repo, o, res) < 0;
			break;
		default:
			break;
		}
	}
	if (fd >= 0)
		(void)close(fd);
	if (!res->ok)
		st_error_clear();
	*ret = res;
	return 0;
}
