/* SPDX-License-Identifier: MIT */
/*
 * prepare-root: from the physical root at SYSROOT to the deployment's root
 * at SYSROOT, in the initramfs, before switch-root.
 *
 *   1. the deployment: sealtree=OS/ID, or the first deployment of the commit
 *      that sealtree.digest= names (a UKI can be built before deploying);
 *   2. the commit's image through the trust chain (st_seal_chain()), mounted
 *      read-only on RUN_DIR/root: for signed, a signature by an initramfs
 *      key and the initramfs's rollback floor; for verity and signed,
 *      fs-verity on the image fd and verity=require on the overlay;
 *   3. a tmpfs upper over it for the transient modes;
 *   4. the deployment's etc/ on /etc (or the image's /etc under a tmpfs
 *      overlay), the stateroot's var/ on /var, SYSROOT itself on /sysroot;
 *   5. the whole tree moved onto SYSROOT, where switch-root finds it.
 *
 * Every directory of the disk is reached with openat_beneath() (no symlink
 * followed: the disk is not trusted) and bound through its fd, so what is
 * mounted is what was checked. The chain writes nothing to the disk (no
 * pin: the deployment's ref pins the commit). A failure unmounts whatever
 * was mounted, so the caller can stop the boot with SYSROOT as it was.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/dirent-util.h"
#include "deploy/names.h"
#include "basic/beneath.h"
#include "basic/error.h"
#include "basic/hex.h"
#include "sealtree/boot.h"
#include "sealtree/seal.h"

struct prep {
	const struct st_prepare_options *o;
	struct st_prepare_result *res;
	int sysroot_fd;
	int deploy_fd;                  /* SYSROOT/sealtree/deploy */
	int dep_fd;                     /* deploy/OS/ID */
	char newroot[4096];             /* RUN_DIR/root */
	bool newroot_bound;             /* newroot is a private bind of itself */
	bool root_mounted;              /* the image is mounted on newroot */
};

static int fail(struct prep *p, const char *step, int r, const char *fmt, ...) _printf_(4, 5);
static int fail(struct prep *p, const char *step, int r, const char *fmt, ...)
{
	va_list ap;

	p->res->ok = false;
	snprintf(p->res->failed_step, sizeof(p->res->failed_step), "%s", step);
	va_start(ap, fmt);
	vsnprintf(p->res->reason, sizeof(p->res->reason), fmt, ap);
	va_end(ap);
	return st_errf(r < 0 ? r : -EINVAL, "%s: %s", step, p->res->reason);
}

static void note(struct prep *p, const char *fmt, ...) _printf_(2, 3);
static void note(struct prep *p, const char *fmt, ...)
{
	size_t used = strlen(p->res->notes);
	va_list ap;

	if (used && used + 2 < sizeof(p->res->notes)) {
		memcpy(p->res->notes + used, "; ", 3);
		used += 2;
	}
	va_start(ap, fmt);
	vsnprintf(p->res->notes + used, sizeof(p->res->notes) - used, fmt, ap);
	va_end(ap);
}

static const char *detail_or(const char *fallback)
{
	const char *d = st_error_detail();

	return d && *d ? d : fallback;
}

/* The effective mode: the policy's, raised (never lowered) by the command line. */
static enum st_composefs_mode effective_mode(struct prep *p)
{
	const struct st_boot_cmdline *c = p->o->cmdline;
	enum st_composefs_mode m = p->o->config->mode;

	if (c->has_mode) {
		if (c->mode_weaker || c->mode < m)
			note(p, "ignored sealtree.composefs=%s: the command line may tighten the policy (%s), never "
				"loosen it", c->mode_word, st_composefs_mode_to_string(m));
		else
			m = c->mode;
	}
	return m;
}

/* The deployment of commit with the lowest serial, in any stateroot. */
static int find_by_commit(struct prep *p, char *ret_os, size_t os_size, char *ret_id, size_t id_size)
{
	unsigned best = 10000;
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int r;

	r = opendir_beneath(p->deploy_fd, ".", &d);
	if (r < 0)
		return r;
	while ((r = readdir_next(d, &de)) > 0) {
		_cleanup_closedir_ DIR *od = NULL;
		struct dirent *e;

		if (de->d_name[0] == '.' || strlen(de->d_name) >= os_size)
			continue;
		if (opendir_beneath(p->deploy_fd, de->d_name, &od) < 0)
			continue;
		while (readdir_next(od, &e) > 0) {
			uint8_t commit[ST_COMMIT_ID_SIZE];
			unsigned serial;

			if (deploy_id_parse(e->d_name, commit, &serial) < 0 ||
			    memcmp(commit, p->o->cmdline->digest, ST_COMMIT_ID_SIZE))
				continue;
			if (serial < best && strlen(e->d_name) < id_size) {
				best = serial;
				/* both lengths were checked against the sizes above */
				memcpy(ret_os, de->d_name, strlen(de->d_name) + 1);
				memcpy(ret_id, e->d_name, strlen(e->d_name) + 1);
			}
		}
	}
	if (r < 0)
		return r;
	return best < 10000 ? 0 : -ENOENT;
}

static int open_deployment(struct prep *p)
{
	const struct st_boot_cmdline *c = p->o->cmdline;
	struct st_prepare_result *res = p->res;
	char path[sizeof(res->os) + sizeof(res->id) + 2];
	int r;

	p->deploy_fd = openat_beneath(p->sysroot_fd, "sealtree/deploy", O_RDONLY | O_DIRECTORY, 0);
	if (p->deploy_fd < 0)
		return fail(p, "deployment", p->deploy_fd, "'%s/sealtree/deploy': %s", p->o->sysroot,
			    detail_or(strerror(-p->deploy_fd)));
	if (c->os) {
		if (strlen(c->os) >= sizeof(res->os) || strlen(c->id) >= sizeof(res->id))
			return fail(p, "deployment", -EINVAL, "sealtree=%s/%s is too long", c->os, c->id);
		snprintf(res->os, sizeof(res->os), "%s", c->os);
		snprintf(res->id, sizeof(res->id), "%s", c->id);
	} else {
		char hex[2 * ST_COMMIT_ID_SIZE + 1];

		r = find_by_commit(p, res->os, sizeof(res->os), res->id, sizeof(res->id));
		if (r < 0) {
			st_hex_encode(c->digest, ST_COMMIT_ID_SIZE, hex);
			return fail(p, "deployment", r, "no deployment of commit %s (sealtree.digest=) in '%s'", hex,
				    p->o->sysroot);
		}
	}
	if (st_hex_decode(res->id, 2 * ST_COMMIT_ID_SIZE, res->commit, ST_COMMIT_ID_SIZE) < 0)
		return fail(p, "deployment", -EINVAL, "deployment '%s' is not COMMIT.SERIAL", res->id);
	res->has_commit = true;
	snprintf(path, sizeof(path), "%s/%s", res->os, res->id);
	p->dep_fd = openat_beneath(p->deploy_fd, path, O_RDONLY | O_DIRECTORY, 0);
	if (p->dep_fd < 0)
		return fail(p, "deployment", p->dep_fd, "deployment '%s' in '%s/sealtree/deploy': %s", path,
			    p->o->sysroot, p->dep_fd == -ENOENT ? "does not exist" : detail_or(strerror(-p->dep_fd)));
	return 0;
}

static void describe_links(struct prep *p, const struct st_seal_result *sr)
{
	size_t used = 0;

	for (enum st_seal_link l = 0; l < ST_SEAL_LINK_COUNT; l++) {
		int n = snprintf(p->res->links + used, sizeof(p->res->links) - used, "%s  %s: %s", used ? "\n" : "",
				 st_seal_link_to_string(l), st_seal_state_to_string(sr->links[l].state));

		if (n < 0 || (size_t)n >= sizeof(p->res->links) - used)
			break;
		used += (size_t)n;
	}
}

static int mount_image(struct prep *p, enum st_composefs_mode mode)
{
	const struct st_prepare_config *cfg = p->o->config;
	struct st_seal_options so = {};
	struct st_seal_result *sr = NULL;
	struct st_trust_store *empty = NULL;
	struct st_accepted floor = {};
	struct st_repo *repo = NULL;
	char repo_path[4096];
	int r;

	/* The repository is opened by path (the repository layer needs one); its directories are then checked beneath it. */
	r = fstatat_beneath(p->sysroot_fd, "sealtree/repo", &(struct stat){});
	if (r < 0)
		return fail(p, "repository", r, "'%s/sealtree/repo': %s", p->o->sysroot, detail_or(strerror(-r)));
	snprintf(repo_path, sizeof(repo_path), "%s/sealtree/repo", p->o->sysroot);
	r = st_repo_open(repo_path, &repo);
	if (r < 0)
		return fail(p, "repository", r, "cannot open '%s': %s", repo_path, detail_or(strerror(-r)));

	if (mode == ST_COMPOSEFS_SIGNED) {
		if (!p->o->store) {
			st_repo_free(repo);
			return fail(p, "signature", -ENOKEY, "signed mode without a key store from the initramfs");
		}
		so.store = p->o->store;
		so.flags |= ST_SEAL_REQUIRE_SIGNATURE;
		if (cfg->has_floor) {
			floor.timestamp = cfg->floor_timestamp;
			memcpy(floor.version, cfg->floor_version, sizeof(floor.version));
			so.floor = &floor;
			so.flags |= ST_SEAL_NO_DOWNGRADE;
		}
	} else {
		/* Below signed, the initramfs asks for no signature: the chain skips that link. */
		r = st_trust_store_new(&empty);
		if (r < 0) {
			st_repo_free(repo);
			return fail(p, "signature", r, "cannot make an empty key store");
		}
		so.flags |= ST_SEAL_SKIP_SIGNATURE;
		so.store = empty;
	}
	if (mode < ST_COMPOSEFS_VERITY)
		so.flags |= ST_SEAL_ALLOW_UNVERIFIED;
	so.flags |= ST_SEAL_NO_PIN;
	so.mount_target = p->newroot;

	r = st_seal_chain(repo, p->res->commit, &so, &sr);
	if (r < 0) {
		st_trust_store_free(empty);
		st_repo_free(repo);
		return fail(p, "chain", r, "%s", detail_or(strerror(-r)));
	}
	describe_links(p, sr);
	if (sr->commit) {
		memcpy(p->res->image, sr->commit->image_digest, sizeof(p->res->image));
		p->res->has_image = true;
	}
	if (!sr->ok) {
		const struct st_seal_verdict *v = &sr->links[sr->failed_link];

		r = fail(p, st_seal_link_to_string(sr->failed_link), v->error ? v->error : -EKEYREJECTED, "%s",
			 v->reason);
	} else {
		p->root_mounted = sr->mounted;
		p->res->verity = sr->verity;
		if (sr->verity_policy) {
			size_t off = 0, n = st_verity_policy_count(sr->verity_policy);

			for (size_t i = 0; i < n; i++) {
				const char *pre = st_verity_policy_prefix(sr->verity_policy, i);
				size_t l = strlen(pre);

				if (off + l + 2 > sizeof(p->res->verity_policy)) {
					/* Never a shorter list than the truth: say it is cut. */
					snprintf(p->res->verity_policy + off, sizeof(p->res->verity_policy) - off, "...\n");
					break;
				}
				memcpy(p->res->verity_policy + off, pre, l);
				off += l;
				p->res->verity_policy[off++] = '\n';
				p->res->verity_policy[off] = '\0';
			}
			note(p, "file contents are verified only under the image's signed verity policy (overlay "
			     "verity=on); files elsewhere are read unchecked");
		}
		if (mode == ST_COMPOSEFS_SIGNED && sr->has_signer) {
			p->res->signed_ok = true;
			memcpy(p->res->signer_key_id, sr->signer_key_id, ST_KEY_ID_SIZE);
		}
		if (!sr->verity)
			note(p, "file contents are not verified: the repository has no fs-verity");
		r = 0;
	}
	st_seal_result_free(sr);
	st_trust_store_free(empty);
	st_repo_free(repo);
	return r;
}

static int bind_fd(int fd, const char *target, unsigned long extra)
{
	char src[64];

	snprintf(src, sizeof(src), "/proc/self/fd/%d", fd);
	if (mount(src, target, NULL, MS_BIND, NULL) < 0)
		return -errno;
	if (extra && mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | extra, NULL) < 0) {
		int r = -errno;

		(void)umount2(target, MNT_DETACH);
		return r;
	}
	return 0;
}

/* A tmpfs at RUN_DIR/name with upper/ and work/ in it, for a transient overlay. */
static int transient_dirs(struct prep *p, const char *name, char *upper, char *work, size_t size)
{
	char dir[4096];

	snprintf(dir, sizeof(dir), "%s/%s", p->o->run_dir, name);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
		return -errno;
	if (snprintf(upper, size, "%s/upper", dir) >= (int)size || snprintf(work, size, "%s/work", dir) >= (int)size) {
		(void)umount2(dir, MNT_DETACH);
		return -ENAMETOOLONG;
	}
	if (mkdir(upper, 0755) < 0 || mkdir(work, 0700) < 0) {
		int r = -errno;

		(void)umount2(dir, MNT_DETACH);
		return r;
	}
	return 0;
}

/* An overlay on target whose lower layer is what target shows now. */
static int overlay_over(struct prep *p, const char *target, const char *name, bool readonly)
{
	char upper[4096], work[4096], opts[3 * 4096 + 64];
	int r;

	r = transient_dirs(p, name, upper, work, sizeof(upper));
	if (r < 0)
		return r;
	snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s", target, upper, work);
	r = mount("overlay", target, "overlay", readonly ? MS_RDONLY : 0, opts) < 0 ? -errno : 0;
	/* The overlay keeps its own reference to the tmpfs: the mount on RUN_DIR/name is not needed. */
	snprintf(upper, sizeof(upper), "%s/%s", p->o->run_dir, name);
	(void)umount2(upper, MNT_DETACH);
	return r;
}

static int assemble(struct prep *p)
{
	const struct st_prepare_config *cfg = p->o->config;
	char target[4096 + 16];
	int r;

	if (cfg->root_transient || cfg->root_transient_ro) {
		r = overlay_over(p, p->newroot, "transient-root", cfg->root_transient_ro);
		if (r < 0)
			return fail(p, "root", r, "cannot put a transient overlay over the root: %s", strerror(-r));
	}

	snprintf(target, sizeof(target), "%s/etc", p->newroot);
	if (cfg->etc_transient) {
		r = overlay_over(p, target, "transient-etc", false);
		if (r < 0)
			return fail(p, "etc", r, "cannot put a transient overlay over /etc: %s", strerror(-r));
	} else {
		_cleanup_close_ int etc_fd = openat_beneath(p->dep_fd, "etc", O_RDONLY | O_DIRECTORY, 0);

		if (etc_fd < 0)
			return fail(p, "etc", etc_fd, "deployment %s/%s has no etc/ directory: %s", p->res->os,
				    p->res->id, detail_or(strerror(-etc_fd)));
		r = bind_fd(etc_fd, target, 0);
		if (r < 0)
			return fail(p, "etc", r, "cannot bind the deployment's etc/ on /etc: %s", strerror(-r));
	}

	{
		char var[sizeof(p->res->os) + 8];
		_cleanup_close_ int var_fd = -EBADF;

		snprintf(var, sizeof(var), "%s/var", p->res->os);
		var_fd = openat_beneath(p->deploy_fd, var, O_RDONLY | O_DIRECTORY, 0);
		if (var_fd < 0)
			return fail(p, "var", var_fd, "stateroot %s has no var/ directory: %s", p->res->os,
				    detail_or(strerror(-var_fd)));
		snprintf(target, sizeof(target), "%s/var", p->newroot);
		r = bind_fd(var_fd, target, 0);
		if (r < 0)
			return fail(p, "var", r, "cannot bind the stateroot's var/ on /var: %s", strerror(-r));
	}

	snprintf(target, sizeof(target), "%s/sysroot", p->newroot);
	if (access(target, F_OK) == 0) {
		r = bind_fd(p->sysroot_fd, target, cfg->sysroot_readonly ? MS_RDONLY : 0);
		if (r < 0)
			return fail(p, "sysroot", r, "cannot bind the physical root on /sysroot: %s", strerror(-r));
	} else {
		note(p, "the image has no /sysroot directory: the physical root is not reachable after switch-root");
	}
	return 0;
}

/*
 * RUN_DIR/root as a private bind mount of itself: a mount can only be moved
 * from under a parent that is not shared, and the initramfs's /run usually is.
 */
static int make_newroot(struct prep *p)
{
	int r;

	if (snprintf(p->newroot, sizeof(p->newroot), "%s/root", p->o->run_dir) >= (int)sizeof(p->newroot))
		return fail(p, "setup", -ENAMETOOLONG, "run directory '%s' is too long", p->o->run_dir);
	if (mkdir(p->o->run_dir, 0755) < 0 && errno != EEXIST)
		return fail(p, "setup", -errno, "cannot make '%s': %m", p->o->run_dir);
	if (mkdir(p->newroot, 0755) < 0 && errno != EEXIST)
		return fail(p, "setup", -errno, "cannot make '%s': %m", p->newroot);
	if (mount(p->newroot, p->newroot, NULL, MS_BIND, NULL) < 0)
		return fail(p, "setup", -errno, "cannot bind '%s' on itself: %m", p->newroot);
	p->newroot_bound = true;
	if (mount(NULL, p->newroot, NULL, MS_PRIVATE, NULL) < 0) {
		r = -errno;
		return fail(p, "setup", r, "cannot make '%s' private: %s", p->newroot, strerror(-r));
	}
	return 0;
}

static void undo(struct prep *p)
{
	char dir[4096];

	if (p->root_mounted || p->newroot_bound)
		for (int i = 0; i < 4 && umount2(p->newroot, MNT_DETACH) == 0; i++)
			;
	snprintf(dir, sizeof(dir), "%s/transient-root", p->o->run_dir);
	(void)umount2(dir, MNT_DETACH);
	snprintf(dir, sizeof(dir), "%s/transient-etc", p->o->run_dir);
	(void)umount2(dir, MNT_DETACH);
}

int st_prepare_root(const struct st_prepare_options *o, struct st_prepare_result *res)
{
	struct prep p = {.o = o, .res = res, .sysroot_fd = -EBADF, .deploy_fd = -EBADF, .dep_fd = -EBADF};
	enum st_composefs_mode mode;
	int r;

	if (!o || !res || !o->sysroot || o->sysroot[0] != '/' || !o->run_dir || o->run_dir[0] != '/' || !o->config ||
	    !o->cmdline)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(o->reserved) / sizeof(o->reserved[0]); i++)
		if (o->reserved[i])
			return -EINVAL;
	*res = (struct st_prepare_result){};
	mode = res->mode = effective_mode(&p);

	if (!o->cmdline->os && !o->cmdline->has_digest) {
		if (mode == ST_COMPOSEFS_MAYBE) {
			res->ok = res->fallback = true;
			snprintf(res->reason, sizeof(res->reason),
				 "no sealtree= or sealtree.digest= on the kernel command line: the physical root "
				 "boots as it is (composefs = maybe)");
			return 0;
		}
		return fail(&p, "cmdline", -ENOENT,
			    "no sealtree=OS/ID or sealtree.digest= on the kernel command line (composefs = %s)",
			    st_composefs_mode_to_string(mode));
	}

	p.sysroot_fd = open(o->sysroot, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p.sysroot_fd < 0)
		return fail(&p, "sysroot", -errno, "cannot open '%s': %m", o->sysroot);
	r = open_deployment(&p);
	if (r >= 0)
		r = make_newroot(&p);
	if (r >= 0)
		r = mount_image(&p, mode);
	if (r >= 0)
		r = assemble(&p);
	/*
	 * The binds of the physical root (sysroot/, etc/, var/) are peers of
	 * its mount on o->sysroot when that is shared, as systemd's initrd
	 * makes every mount: moving the new root onto it would propagate a
	 * copy of the whole tree onto the bind at sysroot/, so that /sysroot
	 * showed the image again instead of the disk. Private, nothing
	 * propagates.
	 */
	if (r >= 0 && mount(NULL, p.newroot, NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		r = -errno;
		r = fail(&p, "move", r, "cannot make the new root private: %s", strerror(-r));
	}
	if (r >= 0 && mount(p.newroot, o->sysroot, NULL, MS_MOVE, NULL) < 0) {
		r = -errno;
		r = fail(&p, "move", r, "cannot move the new root onto '%s': %s", o->sysroot, strerror(-r));
	}
	if (r >= 0) {
		/*
		 * The top of the stack moved with its submounts; left on RUN_DIR/root
		 * are the layers under it (the sealed image below a transient overlay,
		 * which holds its own reference) and the private bind.
		 */
		for (int i = 0; i < 4 && umount2(p.newroot, MNT_DETACH) == 0; i++)
			;
		(void)rmdir(p.newroot);
		res->ok = true;
	} else {
		undo(&p);
	}
	safe_close(p.dep_fd);
	safe_close(p.deploy_fd);
	safe_close(p.sysroot_fd);
	return r;
}
