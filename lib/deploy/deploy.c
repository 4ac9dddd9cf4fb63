/* SPDX-License-Identifier: MIT */
/*
 * admin deploy: a commit becomes a bootable deployment. Order matters for
 * crash safety (docs/formats/sysroot.md, "The atomic switch"): everything
 * the new entry will name (boot files, deployment directory with its /etc,
 * pin) is written under temporary names, renamed into place and flushed
 * before the entries are switched, so an interruption at any instant
 * leaves the old entries naming whole deployments and, at worst, leftovers
 * the next command removes.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "basic/error.h"
#include "basic/hex.h"
#include "deploy-internal.h"
#include "sealtree/seal.h"
#include "sealtree/trust.h"

static void st_repo_unlockp(struct st_repo **r)
{
	if (*r)
		st_repo_unlock(*r);
}

void st_deploy_options_release(struct st_deploy_options *o)
{
	struct etc_conflicts c = { .v = o->conflicts, .n = o->n_conflicts };

	free(o->id);
	free(o->os_used);
	free(o->merged_from);
	etc_conflicts_release(&c);
	o->id = o->os_used = o->merged_from = NULL;
	o->conflicts = NULL;
	o->n_conflicts = 0;
}

int path_escape(const char *path, char **ret)
{
	size_t n = strlen(path), o = 0;
	char *out = malloc(4 * n + 1);

	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)path[i];

		if (c <= 0x20 || c == '\\' || c == 0x7f) {
			(void)snprintf(out + o, 5, "\\x%02x", c);
			o += 4;
		} else
			out[o++] = (char)c;
	}
	out[o] = '\0';
	*ret = out;
	return 0;
}

/* The OS to deploy to: the given one, the default's, or the only stateroot. */
static int pick_os(struct st_sysroot *s, const struct st_deploy_list *l, const char *given, char **ret)
{
	const char *os = given;
	struct stat st;

	if (!os && l->n > 0)
		os = l->d[0].os;
	if (!os)
		return st_errf(-EINVAL, "no deployment yet: name the OS with --os (see 'admin os-init')");
	if (!st_os_name_valid(os))
		return st_errf(-EINVAL, "'%s' is not a valid OS name (1 to %d bytes of [A-Za-z0-9._+-], not starting "
					"with '.' or '-')", os, ST_OS_NAME_MAX);
	if (fstatat(s->deploy_fd, os, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
		return st_errf(-ENOENT, "stateroot '%s' does not exist (create it with 'admin os-init %s')", os, os);
	*ret = strdup(os);
	return *ret ? 0 : -ENOMEM;
}

/*
 * The trust chain (st_seal_chain()): the commit's bytes, its signature
 * under the ref's policy, with --no-downgrade the anti-rollback record,
 * and the image's digest; nothing is mounted and nothing recorded here
 * (deploy records the commit once the switch is done).
 */
static int check_trust(struct st_sysroot *s, struct st_deploy_options *o, const char *ref,
		       const uint8_t id[ST_COMMIT_ID_SIZE])
{
	struct st_trust_store *store = NULL;
	struct st_seal_result *res = NULL;
	struct st_seal_options so = {};
	int r;

	if ((o->flags & ST_DEPLOY_NO_DOWNGRADE) && !ref)
		return st_errf(-EINVAL, "--no-downgrade needs a ref, not a commit id");
	r = st_trust_store_load(o->keys_dir, &store);
	if (r < 0)
		return st_errf(r, "cannot load the trust store: %s", st_error_detail() ? st_error_detail() : "");
	so.store = store;
	so.ref = ref;
	so.flags = ST_SEAL_CHECK_IMAGE | (o->flags & ST_DEPLOY_REQUIRE_SIGNATURE ? ST_SEAL_REQUIRE_SIGNATURE : 0) |
		   (o->flags & ST_DEPLOY_NO_DOWNGRADE ? ST_SEAL_NO_DOWNGRADE : 0);
	r = st_seal_chain(s->repo, id, &so, &res);
	if (r < 0)
		goto out;
	if (!res->ok) {
		const struct st_seal_verdict *v = &res->links[res->failed_link];

		r = st_errf(v->error < 0 ? v->error : -EKEYREJECTED, "refused: broken link: %s: %s",
			    st_seal_link_to_string(res->failed_link), v->reason);
		goto out;
	}
	if (res->has_signer) {
		char kid[2 * ST_KEY_ID_SIZE + 1];

		st_hex_encode(res->signer_key_id, ST_KEY_ID_SIZE, kid);
		(void)snprintf(o->trust, sizeof(o->trust), "signed by key %.16s", kid);
	} else
		(void)snprintf(o->trust, sizeof(o->trust), "unsigned, accepted by the policy");
out:
	st_seal_result_free(res);
	st_trust_store_free(store);
	return r;
}

static const struct st_deployment *merge_source(const struct st_deploy_list *l, const char *os)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->d[i].booted && !l->d[i].broken && strcmp(l->d[i].os, os) == 0)
			return &l->d[i];
	for (size_t i = 0; i < l->n; i++)
		if (!l->d[i].broken && strcmp(l->d[i].os, os) == 0)
			return &l->d[i];
	return NULL;
}

static int make_kargs(const struct st_deploy_options *o, const struct st_deployment *from, char **ret)
{
	_cleanup_free_ char *k = strdup(o->flags & ST_DEPLOY_KARGS_GIVEN ? (o->kargs ? o->kargs : "")
					: from && from->kargs ? from->kargs : "");
	int r;

	if (!k)
		return -ENOMEM;
	r = st_kargs_check(k);
	if (r < 0)
		return r;
	for (size_t i = 0; i < o->n_kargs_delete; i++) {
		r = st_kargs_delete(&k, o->kargs_delete[i]);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < o->n_kargs_append; i++) {
		r = st_kargs_append(&k, o->kargs_append[i]);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(k);
	return 0;
}

int deploy_read_image(struct st_sysroot *s, const uint8_t image[ST_DIGEST_SIZE], bool boot, struct st_node **ret)
{
	/* Component "*" is any KVER: boot_files_find() counts the kernels itself. */
	static const char *const paths[] = {
		"usr/etc",
		"usr/lib/modules/*/vmlinuz",
		"usr/lib/modules/*/initramfs.img",
		"usr/lib/modules/*/devicetree",
		"usr/lib/modules/*/dtb",
	};

	return st_repo_read_image_paths(s->repo, image, paths, boot ? ELEMENTSOF(paths) : 1, ret);
}

/* usr/etc of a tree, or NULL. */
static struct st_node *usr_etc(struct st_node *root)
{
	struct st_node *n = NULL;
	struct st_entry e;

	if (!root || st_tree_lookup(root, "usr/etc", &n) < 0) {
		st_error_clear();
		return NULL;
	}
	st_node_get_entry(n, &e);
	return S_ISDIR(e.mode) ? n : NULL;
}

/*
 * Write the merged etc/ into dest_fd: base usr/etc of from_commit, local
 * deploy/FROM_OS/FROM_ID/etc, new usr/etc of new_root (from_os NULL: the
 * defaults alone).
 */
int deploy_merge_etc(struct st_sysroot *s, const char *from_os, const char *from_id,
		     const uint8_t *from_commit, struct st_node *new_root, const uint8_t *new_image,
		     int dest_fd, struct etc_conflicts *conf)
{
	_cleanup_(st_node_freep) struct st_node *base_root = NULL;
	_cleanup_close_ int lpfd = -EBADF;
	struct st_node *base = NULL;
	int r;

	if (from_os) {
		_cleanup_(st_commit_freep) struct st_commit *bc = NULL;
		char path[ST_OS_NAME_MAX + DEPLOY_ID_MAX + 2];

		r = st_repo_read_commit(s->repo, from_commit, &bc);
		if (r < 0)
			return r;
		/* The same image (a redeploy): its usr/etc is read already. */
		if (new_root && new_image && memcmp(bc->image_digest, new_image, ST_DIGEST_SIZE) == 0)
			base = new_root;
		else {
			r = deploy_read_image(s, bc->image_digest, false, &base_root);
			if (r < 0)
				return r;
			base = base_root;
		}
		(void)snprintf(path, sizeof(path), "%s/%s", from_os, from_id);
		lpfd = openat(s->deploy_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (lpfd < 0)
			return st_errf(negative_errno(), "cannot open deploy/%s", path);
	}
	r = etc_merge(s->repo, usr_etc(base), lpfd, "etc", usr_etc(new_root), dest_fd, "etc", conf);
	if (r < 0)
		return st_errf(r, "/etc merge: %s", st_error_detail() ? st_error_detail() : "failed");
	return 0;
}

static int write_state_files(int dfd, const struct st_deploy_options *o, const char *os, const char *hex,
			     const char *ref, const char *merged_from, const struct boot_files *bf,
			     const struct etc_conflicts *conf)
{
	_cleanup_free_ char *origin = NULL;
	int r;

	(void)o;
	if (asprintf(&origin, "sealtree-origin 1\nos %s\ncommit %s\n%s%s%s%s%s%sboot %s\nkernel %s\ntimestamp %lld\n",
		     os, hex, ref ? "ref " : "", ref ? ref : "", ref ? "\n" : "", merged_from ? "merged-from " : "",
		     merged_from ? merged_from : "", merged_from ? "\n" : "", bf->dir, bf->kver,
		     (long long)time(NULL)) < 0)
		return -ENOMEM;
	r = write_file_atomic_at(dfd, "origin", origin, strlen(origin), 0644);
	if (r < 0)
		return r;
	return write_conflicts_file(dfd, conf);
}

int write_conflicts_file(int dfd, const struct etc_conflicts *conf)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	FILE *f;

	f = open_memstream(&text, &len);
	if (!f)
		return -ENOMEM;
	for (size_t i = 0; i < conf->n; i++) {
		_cleanup_free_ char *esc = NULL;

		if (path_escape(conf->v[i].path, &esc) < 0) {
			fclose(f);
			return -ENOMEM;
		}
		fprintf(f, "%s %s\n", conf->v[i].kind, esc);
	}
	if (fclose(f) != 0)
		return -ENOMEM;
	return write_file_atomic_at(dfd, "conflicts", text ? text : "", len, 0644);
}

/* One syncfs per filesystem written: deploy/ and, if it is another one, boot/. */
static int flush_sysroot(struct st_sysroot *s)
{
	struct stat a, b;

	if (fstat(s->deploy_fd, &a) < 0 || fstat(s->boot_fd, &b) < 0 || syncfs(s->deploy_fd) < 0)
		return negative_errno();
	if (a.st_dev != b.st_dev && syncfs(s->boot_fd) < 0)
		return negative_errno();
	return 0;
}

/* Insert d into l at index at (d is moved in). */
static int list_insert(struct st_deploy_list *l, size_t at, struct st_deployment *d)
{
	struct st_deployment *v = realloc_array(l->d, l->n + 1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	l->d = v;
	memmove(&v[at + 1], &v[at], (l->n - at) * sizeof(*v));
	v[at] = *d;
	memset(d, 0, sizeof(*d));
	l->n++;
	return 0;
}

int st_sysroot_deploy(struct st_sysroot *s, struct st_deploy_options *o)
{
	_cleanup_(st_deploy_list_freep) struct st_deploy_list *l = NULL;
	_cleanup_(st_commit_freep) struct st_commit *c = NULL;
	_cleanup_(st_node_freep) struct st_node *root = NULL;
	_cleanup_(st_repo_unlockp) struct st_repo *locked = NULL;
	_cleanup_free_ char *os = NULL, *kargs = NULL, *pin = NULL, *merged_from = NULL, *ref_name = NULL;
	_cleanup_close_ int osfd = -EBADF, tfd = -EBADF;
	struct etc_conflicts conf = {};
	struct st_deployment nd = {};
	const struct st_deployment *from = NULL;
	struct boot_files bf = {};
	uint8_t id[ST_COMMIT_ID_SIZE];
	char hex[2 * ST_COMMIT_ID_SIZE + 1], did[DEPLOY_ID_MAX + 1], tmp[DEPLOY_ID_MAX + 16];
	const char *ref = NULL;
	bool boot_new = false, pinned = false;
	unsigned serial;
	int r;

	r = sysroot_require_exclusive(s);
	if (r < 0)
		return r;
	r = st_repo_lock_shared(s->repo, true);
	if (r < 0)
		return r;
	locked = s->repo;
	r = st_sysroot_load(s, &l);
	if (r < 0)
		return r;
	r = pick_os(s, l, o->os, &os);
	if (r < 0)
		return r;
	/* A ref (canonical name: one policy rule, one record) or a commit; an id is never a ref. */
	r = st_repo_resolve_ref(s->repo, o->spec, id, &ref_name);
	if (r < 0)
		return r;
	ref = ref_name;
	st_hex_encode(id, ST_COMMIT_ID_SIZE, hex);
	r = check_trust(s, o, ref, id);
	if (r < 0)
		return r;
	r = st_repo_read_commit(s->repo, id, &c);
	if (r < 0)
		return r;
	r = deploy_read_image(s, c->image_digest, true, &root);
	if (r < 0)
		return r;
	r = boot_files_find(root, os, &bf);
	if (r < 0)
		return r;
	if (!(o->flags & ST_DEPLOY_NO_MERGE))
		from = merge_source(l, os);
	r = make_kargs(o, from ? from : (l->n > 0 && strcmp(l->d[0].os, os) == 0 ? &l->d[0] : NULL), &kargs);
	if (r < 0)
		return r;

	osfd = openat(s->deploy_fd, os, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (osfd < 0)
		return st_errf(negative_errno(), "cannot open stateroot '%s'", os);
	for (serial = 0;; serial++) {
		if (serial > 9999)
			return st_errf(-EMLINK, "10000 deployments of commit %s in '%s'", hex, os);
		(void)snprintf(did, sizeof(did), "%s.%u", hex, serial);
		if (faccessat(osfd, did, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
			break;
	}

	/* 1. Boot files (the likeliest to fail: a full /boot). */
	r = boot_files_install(s, &bf, &boot_new);
	if (r < 0)
		return r;

	/* 2. The deployment directory, under a temporary name. */
	tmp_name(did, tmp, sizeof(tmp));
	if (mkdirat(osfd, tmp, 0755) < 0) {
		r = st_errf(negative_errno(), "cannot create deploy/%s/%s", os, tmp);
		goto fail;
	}
	tfd = openat(osfd, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (tfd < 0) {
		r = negative_errno();
		goto fail;
	}
	if (from && asprintf(&merged_from, "%s/%s", from->os, from->id) < 0) {
		r = -ENOMEM;
		goto fail;
	}
	r = deploy_merge_etc(s, from ? from->os : NULL, from ? from->id : NULL, from ? from->commit : NULL, root,
			     c->image_digest, tfd,
			     &conf);
	if (r < 0)
		goto fail;
	r = write_state_files(tfd, o, os, hex, ref, merged_from, &bf, &conf);
	if (r < 0)
		goto fail;

	/* 3. The pin, then the directory under its name, then everything flushed. */
	r = deploy_pin_name(os, did, &pin);
	if (r >= 0)
		r = st_repo_write_ref(s->repo, pin, id, NULL);
	if (r < 0)
		goto fail;
	pinned = true;
	/*
	 * Renamed before the flush: until an entry names it, a directory whose
	 * contents a crash cut short is a leftover the next command removes.
	 */
	if (renameat(osfd, tmp, osfd, did) < 0) {
		r = st_errf(negative_errno(), "cannot move deploy/%s/%s into place", os, did);
		goto fail;
	}
	tmp[0] = '\0';
	(void)fsync(osfd);
	if (flush_sysroot(s) < 0) {
		r = st_errf(negative_errno(), "cannot flush the sysroot");
		goto fail;
	}

	/* 4. Staged: recorded for finalize-staged, which merges /etc again and switches at shutdown. */
	if (o->flags & ST_DEPLOY_STAGE) {
		r = stage_write(s, os, did, kargs, o);
		if (r < 0) {
			(void)rm_rf_at(osfd, did);
			goto fail;
		}
		o->staged = true;
		goto done;
	}

	/* 5. The switch. */
	nd.os = strdup(os);
	nd.id = strdup(did);
	nd.kargs = TAKE_PTR(kargs);
	nd.boot_dir = strdup(bf.dir);
	nd.version = c->version ? strdup(c->version) : NULL;
	memcpy(nd.commit, id, sizeof(id));
	if (o->flags & ST_DEPLOY_BOOT_COUNTING) {
		if (o->boot_tries < 1 || o->boot_tries > 99) {
			deployment_release(&nd);
			r = st_errf(-EINVAL, "boot tries must be 1 to 99, not %u", o->boot_tries);
			goto fail;
		}
		if (asprintf(&nd.boot_counter, "+%u", o->boot_tries) < 0) {
			deployment_release(&nd);
			r = -ENOMEM;
			goto fail;
		}
	}
	if (!nd.os || !nd.id || !nd.boot_dir || (c->version && !nd.version)) {
		deployment_release(&nd);
		r = -ENOMEM;
		goto fail;
	}
	r = list_insert(l, (o->flags & ST_DEPLOY_NOT_AS_DEFAULT) && l->n > 0 ? 1 : 0, &nd);
	if (r < 0) {
		deployment_release(&nd);
		goto fail;
	}
	r = st_sysroot_write_list(s, l);
	if (r < 0) {
		(void)rm_rf_at(osfd, did);
		goto fail;
	}
done:
	if (ref) {
		r = st_repo_record_accepted(s->repo, ref, id, c);
		if (r < 0)
			return st_errf(r, "deployed, but cannot record commit %s as accepted for '%s'", hex, ref);
	}
	o->id = strdup(did);
	o->os_used = TAKE_PTR(os);
	o->merged_from = TAKE_PTR(merged_from);
	o->conflicts = conf.v;
	o->n_conflicts = conf.n;
	o->boot_files_new = boot_new;
	return 0;

fail:
	{
		const char *detail = st_error_detail();
		char why[1024];
		bool has_detail = detail && *detail;

		(void)snprintf(why, sizeof(why), "%s", has_detail ? detail : "");
		if (tmp[0] && tfd >= 0)
			(void)rm_rf_at(osfd, tmp);
		if (pinned)
			(void)st_repo_delete_ref(s->repo, pin);
		if (boot_new) {
			_cleanup_close_ int bfd = openat(s->boot_fd, "sealtree", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (bfd >= 0)
				(void)rm_rf_at(bfd, bf.dir);
		}
		etc_conflicts_release(&conf);
		st_error_clear();
		return has_detail ? st_errf(r, "%s", why) : r;
	}
}
