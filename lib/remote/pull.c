/* SPDX-License-Identifier: MIT */
/*
 * st_remote_pull(): summary -> commit and signatures (checked before
 * anything else is fetched) -> image (digest checked) -> the objects the
 * image names and the repository lacks, each verified against its fs-verity
 * digest before it gets its name -> the image published -> syncfs -> refs.
 * The transport is http.h; see docs/formats/remote.md.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/beneath.h"
#include "basic/error.h"
#include "basic/hex.h"
#include "basic/io.h"
#include "basic/publish.h"
#include "fundamental/macro.h"
#include "http.h"
#include "object-set.h"
#include "object-sink.h"
#include "pack.h"
#include "remote-internal.h"
#include "sealtree/image.h"
#include "sealtree/repo-objects.h"
#include "sealtree/seal.h"
#include "sealtree/verity.h"

#define COMMIT_FETCH_MAX (4u * 1024u * 1024u)
#define IMAGE_FETCH_MAX (UINT64_C(1) << 32)

struct pull {
	struct st_repo *repo;
	struct st_remote *remote;
	struct http *http;
	struct st_trust_store *store;   /* the remote's keys (empty with sign-verify=no) */
	struct pull_sources src;        /* the url and the mirrors */
	uint64_t inflight;              /* bytes received for objects not yet complete */
	const struct st_summary *summary;
	struct pack_pull *packs;        /* the packs on offer (pack.h), or NULL */
	struct st_pull_options *opts;
	struct st_pull_progress progress;
	/* count_only(): the objects counted so far, so that one shared by commits or refs counts once. */
	struct want_list counted;
	int objects_dirfd;
	struct object_dirs dirs;        /* objects/XX/, each opened once */
	bool warmed;                    /* the connections were opened with the summary (http_warm()) */
	int error;                      /* the first object that failed ... */
	char detail[768];               /* ... and why */
};

struct object_fetch {
	struct pull *p;
	struct object_sink sink;
	/* A large object over http(s): kept in REPO/tmp/pull (partial.c), resumed with Range. */
	uint64_t start;                 /* where the next body begins, until the partial file is open */
	size_t source;                  /* asked of pull_sources_content(source) */
	uint64_t counted;               /* of sink.got, in pull.inflight */
	bool restarted;                 /* a resumed download failed its digest and started over once */
};

static void pull_fail(struct pull *p, int r, const char *fmt, ...) _printf_(3, 4);
static void pull_fail(struct pull *p, int r, const char *fmt, ...)
{
	va_list ap;

	if (p->error)
		return;
	p->error = r;
	va_start(ap, fmt);
	(void)vsnprintf(p->detail, sizeof(p->detail), fmt, ap);
	va_end(ap);
}

/* Progress: objects completed, and bytes of completed objects plus those received for the ones in flight. */
static void report(struct pull *p)
{
	struct st_pull_progress pr = p->progress;

	pr.bytes_done += p->inflight;
	if (p->opts->progress)
		p->opts->progress(p->opts->progress_userdata, &pr);
}

/* The bytes o's sink holds now, in p->inflight (after every write, reset or release of the sink). */
static void track(struct object_fetch *o)
{
	o->p->inflight += o->sink.got - o->counted;     /* wraps back when got shrinks: the sum stays exact */
	o->counted = o->sink.got;
}

static int object_data(void *userdata, const void *buf, size_t len)
{
	struct object_fetch *o = userdata;
	int r = object_sink_write(&o->sink, buf, len);

	track(o);
	report(o->p);
	return r;
}

static void object_reset(void *userdata)
{
	struct object_fetch *o = userdata;

	object_sink_reset(&o->sink);
	track(o);
}

static const struct http_request_ops partial_ops;

/* The first body bytes of a large object: its partial file opened, locked, cut to where the body begins. */
static int partial_attach(struct object_fetch *o)
{
	int fd, r;

	if (!o->sink.hasher) {
		r = st_verity_hasher_new(&o->sink.hasher);
		if (r < 0)
			return r;
	}
	r = partial_open(o->p->repo, o->sink.digest, o->start, o->sink.hasher, &fd);
	if (r == -EBUSY && o->start == 0)
		return 0;       /* another pull writes it: this one takes a temporary file */
	if (r < 0)
		return st_errf(r, "object %s: cannot continue its partial download in tmp/pull%s", o->sink.relpath + 8,
			       r == -EBUSY ? " (another pull is writing it)" : "");
	object_sink_attach_partial(&o->sink, fd, o->start);
	return 0;
}

static int partial_data(void *userdata, const void *buf, size_t len)
{
	struct object_fetch *o = userdata;
	int r;

	if (o->sink.partial_fd < 0 && o->sink.got == 0 && !o->sink.open) {
		r = partial_attach(o);
		if (r < 0)
			return r;
	}
	r = object_sink_write(&o->sink, buf, len);
	track(o);
	report(o->p);
	return r;
}

/* The server sends the whole file: the kept bytes go. */
static void partial_reset(void *userdata)
{
	struct object_fetch *o = userdata;

	object_sink_reset(&o->sink);
	track(o);
	o->start = 0;
}

/* Before a retry: what the partial file holds is kept, the rest asked for. */
static uint64_t partial_resume(void *userdata)
{
	struct object_fetch *o = userdata;

	if (o->sink.partial_fd < 0) {
		object_sink_reset(&o->sink);    /* a temporary file after all, or nothing yet */
		track(o);
		return o->sink.open ? 0 : o->start;
	}
	return o->sink.got;
}

/*
 * A resumed download whose whole failed its digest: the kept bytes may be
 * what was wrong (a crash can leave unsynced zeros), so it is fetched once
 * more from its first byte before the object counts as bad.
 */
static bool partial_restart(struct object_fetch *o, uint64_t resumed_from)
{
	_cleanup_free_ char *url = NULL;

	if (resumed_from == 0 || o->restarted)
		return false;
	if (asprintf(&url, "%s/%s", pull_sources_content(&o->p->src, o->source), o->sink.relpath) < 0)
		return false;
	object_sink_reset(&o->sink);
	track(o);
	o->start = 0;
	o->restarted = true;
	return http_add(o->p->http, url, &partial_ops, o) >= 0;
}

static const struct http_request_ops object_ops;

/* Queue o at its source: a large object over http(s) resumably, from what an earlier attempt kept. */
static int object_add(struct object_fetch *o)
{
	const char *base = pull_sources_content(&o->p->src, o->source);
	_cleanup_free_ char *url = NULL;

	/* With another source left, a server that stopped answering is not waited for (http.h). */
	bool failover = o->source + 1 < o->p->src.n;

	if (asprintf(&url, "%s/%s", base, o->sink.relpath) < 0)
		return -ENOMEM;
	if (o->sink.size < PARTIAL_MIN || strncmp(base, "file:", 5) == 0)
		return http_add_with(o->p->http, url, &(struct http_request_options){ .failover = failover }, &object_ops, o);
	o->start = partial_length(o->p->repo, o->sink.digest, o->sink.size);
	return http_add_with(o->p->http, url, &(struct http_request_options){ .range_start = o->start, .failover = failover },
			     &partial_ops, o);
}

/* The object failed at its source: the next source, if any, is asked (its partial file dropped if its bytes were wrong). */
static bool object_failover(struct object_fetch *o, int r)
{
	if (o->source + 1 >= o->p->src.n || o->p->error)
		return false;
	if (o->sink.partial_fd >= 0 && (r == -EUCLEAN || r == -EFBIG || r == -EPROTO))
		(void)partial_remove(o->p->repo, o->sink.digest);
	object_sink_release(&o->sink);
	track(o);
	o->source++;
	o->restarted = false;
	o->p->opts->failovers++;
	return object_add(o) >= 0;
}

static void object_done(void *userdata, int result, const char *detail)
{
	struct object_fetch *o = userdata;
	struct pull *p = o->p;
	const char *name = o->sink.relpath + 8;
	uint64_t size = o->sink.size, resumed_from = o->start;
	bool partial = o->sink.partial_fd >= 0;
	int r = result;

	if (r == 0) {
		r = object_sink_finish(&o->sink);
		if (r == -EUCLEAN && partial && partial_restart(o, resumed_from))
			return;
		if (r < 0 && object_failover(o, r))
			return;
		if (r < 0)
			pull_fail(p, r, "%s", st_error_detail() ? st_error_detail() : "cannot publish the object");
	} else if (object_failover(o, r))
		return;
	else if (r == -EFBIG)
		pull_fail(p, -EUCLEAN, "object %s: the server sent more bytes than the image says (%llu)", name,
			  (unsigned long long)size);
	else if (r == -ENOENT)
		pull_fail(p, r, "object %s: %s", name, detail);
	else
		pull_fail(p, r, "object %s: %s", name, detail && *detail ? detail : st_error_message(r));
	/* A partial file whose bytes were refused goes; one cut by the network stays for the next pull. */
	if (partial && r < 0 && (r == -EUCLEAN || r == -EFBIG || r == -EPROTO || r == -ENOENT))
		(void)partial_remove(p->repo, o->sink.digest);
	object_sink_release(&o->sink);
	track(o);
	if (r == 0) {
		p->progress.objects_done++;
		p->progress.bytes_done += size;
		p->opts->objects_fetched++;
		p->opts->bytes_fetched += size;
		report(p);
	}
}

/* An object published out of a pack (pack-fetch.c). */
static void pack_object_done(void *userdata, uint64_t size)
{
	struct pull *p = userdata;

	p->progress.objects_done++;
	p->progress.bytes_done += size;
	p->opts->objects_fetched++;
	p->opts->bytes_fetched += size;
	report(p);
}

static const struct http_request_ops object_ops = { .data = object_data, .reset = object_reset, .done = object_done };

static const struct http_request_ops partial_ops = {
	.data = partial_data, .reset = partial_reset, .done = object_done, .resume = partial_resume,
};

/* ---- the missing set --------------------------------------------------------- */

/*
 * The objects root names (each once, sorted by digest) that the repository
 * lacks, or has at another size (ret), and how many of the others were
 * asked for by the prefetch (asked, sorted, may be NULL: published by it,
 * or not, when they are in ret too) with their bytes. What it published
 * (published, sorted, may be NULL) is there, verified: not looked up. A
 * pull that a crash cut short before its syncfs can leave named objects
 * whose bytes never reached the disk: on ext4 (data=ordered, delayed
 * allocation) and XFS they read short or empty, and are fetched again (and
 * replaced: the sink keeps an object already there only if it has its
 * digest). Each objects/XX/ is opened once (object_dirs_have(): beneath
 * the repository, kept for the sinks) and its objects looked up by name in
 * it: a stat beneath the repository per object cost an initial pull of 55k
 * objects 80 ms, alone on one core.
 */
static int missing_set(struct pull *p, struct st_node *root, const struct want_list *asked,
		       const struct want_list *published, struct want_list *ret, uint64_t *ret_asked,
		       uint64_t *ret_asked_bytes)
{
	struct want_list l = {};
	size_t n = 0, a = 0, b = 0;
	int r;

	*ret_asked = *ret_asked_bytes = 0;
	r = object_set_of_tree(root, &l);
	if (r < 0)
		return r;
	for (size_t i = 0; i < l.n; i++) {
		const uint8_t *d = l.v[i].digest;

		while (asked && a < asked->n && memcmp(asked->v[a].digest, d, ST_DIGEST_SIZE) < 0)
			a++;
		while (published && b < published->n && memcmp(published->v[b].digest, d, ST_DIGEST_SIZE) < 0)
			b++;
		if (asked && a < asked->n && memcmp(asked->v[a].digest, d, ST_DIGEST_SIZE) == 0) {
			(*ret_asked)++;
			*ret_asked_bytes += l.v[i].size;
		}
		if (published && b < published->n && memcmp(published->v[b].digest, d, ST_DIGEST_SIZE) == 0 &&
		    published->v[b].size == l.v[i].size)
			continue;
		r = object_dirs_have(&p->dirs, d, l.v[i].size);
		if (r < 0) {
			free(l.v);
			return r;
		}
		if (r == 0)
			l.v[n++] = l.v[i];
	}
	l.n = n;
	*ret = l;
	return 0;
}

/* ---- one ref ------------------------------------------------------------------ */

/*
 * GET a small file, metadata order (content: content order): the first
 * source that answers (with the file or a 404) is the answer; one that
 * fails otherwise hands over to the next.
 */
static int get_from(struct pull *p, bool content, size_t first, const char *rel, size_t max, char **ret, size_t *ret_len)
{
	int r = -EIO;

	for (size_t i = first; i < p->src.n; i++) {
		const char *base = content ? pull_sources_content(&p->src, i) : pull_sources_metadata(&p->src, i);
		_cleanup_free_ char *url = NULL;

		if (asprintf(&url, "%s/%s", base, rel) < 0)
			return -ENOMEM;
		r = http_get_with(p->http, url, &(struct http_request_options){ .failover = i + 1 < p->src.n }, max, ret,
				  ret_len);
		if (r >= 0 || r == -ENOENT || r == -EFBIG)
			return r;
		if (i + 1 < p->src.n)
			p->opts->failovers++;
	}
	return r;
}

static int get(struct pull *p, const char *rel, size_t max, char **ret, size_t *ret_len)
{
	return get_from(p, false, 0, rel, max, ret, ret_len);
}

/*
 * Two small metadata files at once (a file and its signatures): one round
 * trip instead of two. Each answer is get()'s; one that failed at the first
 * source for a reason another may not have is asked of the others, as get() does.
 */
static int get_pair(struct pull *p, const char *rel_a, size_t max_a, char **ret_a, size_t *ret_len_a, int *ret_ra,
		    const char *rel_b, size_t max_b, char **ret_b, size_t *ret_len_b, int *ret_rb)
{
	_cleanup_free_ char *url_a = NULL, *url_b = NULL;
	struct http_request_options o = { .failover = p->src.n > 1 };
	struct http_get ga, gb;
	int r;

	*ret_a = *ret_b = NULL;
	if (asprintf(&url_a, "%s/%s", pull_sources_metadata(&p->src, 0), rel_a) < 0 ||
	    asprintf(&url_b, "%s/%s", pull_sources_metadata(&p->src, 0), rel_b) < 0)
		return -ENOMEM;
	r = http_add_get(p->http, url_a, &o, max_a, &ga);
	if (r < 0)
		return r;
	r = http_add_get(p->http, url_b, &o, max_b, &gb);
	if (r < 0) {
		(void)http_run(p->http);        /* ga is on this stack: run out first */
		free(ga.buf);
		return r;
	}
	r = http_run(p->http);
	if (r < 0) {
		free(ga.buf);
		free(gb.buf);
		return r;
	}
	/* b first: when a fails, the error detail left is a's. */
	*ret_rb = http_get_take(&gb, url_b, ret_b, ret_len_b);
	if (p->src.n > 1 && *ret_rb < 0 && *ret_rb != -ENOENT && *ret_rb != -EFBIG) {
		p->opts->failovers++;
		*ret_rb = get_from(p, false, 1, rel_b, max_b, ret_b, ret_len_b);
	}
	*ret_ra = http_get_take(&ga, url_a, ret_a, ret_len_a);
	if (p->src.n > 1 && *ret_ra < 0 && *ret_ra != -ENOENT && *ret_ra != -EFBIG) {
		p->opts->failovers++;
		*ret_ra = get_from(p, false, 1, rel_a, max_a, ret_a, ret_len_a);
	}
	return 0;
}

static void summary_freep(struct st_summary **s)
{
	st_summary_free(*s);
}

static void sigset_freep(struct st_signature_set **s)
{
	st_signature_set_free(*s);
}

static void commit_freep(struct st_commit **c)
{
	st_commit_free(*c);
}

static void seal_result_freep(struct st_seal_result **r)
{
	st_seal_result_free(*r);
}

static void trust_result_freep(struct st_trust_result **r)
{
	st_trust_result_free(*r);
}

static void node_freep(struct st_node **n)
{
	st_node_free(*n);
}

/* Store the commit's signatures, merged with those the repository has. */
static int store_signatures(struct pull *p, const uint8_t id[ST_COMMIT_ID_SIZE], const struct st_signature_set *set)
{
	_cleanup_(sigset_freep) struct st_signature_set *local = NULL;
	_cleanup_free_ char *out = NULL, *display = NULL;
	_cleanup_close_ int dfd = -EBADF;
	char hex[2 * ST_COMMIT_ID_SIZE + 1], name[2 * ST_COMMIT_ID_SIZE + 5];
	size_t len;
	int r;

	r = st_repo_read_signatures(p->repo, id, &local);
	if (r == -ENOENT || r == -EUCLEAN)
		r = st_signature_set_new(id, &local);
	if (r < 0)
		return r;
	for (size_t i = 0; i < set->n_sigs; i++) {
		r = st_signature_set_add(local, &set->sigs[i]);
		if (r < 0)
			return r;
	}
	r = st_signature_set_serialize(local, &out, &len);
	if (r < 0)
		return r;
	st_hex_encode(id, ST_COMMIT_ID_SIZE, hex);
	(void)snprintf(name, sizeof(name), "%s.sig", hex);
	if (asprintf(&display, "%s/commits/%s", st_repo_path(p->repo), name) < 0)
		return -ENOMEM;
	dfd = openat_beneath(st_repo_dirfd(p->repo), "commits", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (dfd < 0)
		return st_errf(dfd, "cannot open '%s/commits'", st_repo_path(p->repo));
	r = publish_data(dfd, name, display, out, len, 0644, PUBLISH_REPLACE | PUBLISH_SYNC, NULL);
	return r < 0 ? r : 0;
}

/*
 * Anti-rollback of a remote ref: c may replace the commit local points at
 * only if it follows it (st_accepted_check: timestamp, then version). The
 * summary's timestamp stops a replayed summary; this stops a newer, validly
 * signed summary that names an older commit (a branch reset, or a summary
 * of another repository signed with the same key). -ESTALE naming both.
 */
static int check_downgrade(struct pull *p, const char *local, const char *hex, const struct st_commit *c)
{
	_cleanup_(commit_freep) struct st_commit *cur = NULL;
	struct st_accepted last = {};
	int r;

	if (p->opts->flags & ST_PULL_ALLOW_DOWNGRADE)
		return 0;
	r = st_repo_read_ref(p->repo, local, last.commit_id);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	r = st_repo_read_commit(p->repo, last.commit_id, &cur);
	if (r == -ENOENT)
		return 0;       /* its commit is gone (gc after a ref was forced): nothing to compare with */
	if (r < 0)
		return r;
	last.timestamp = cur->timestamp;
	(void)snprintf(last.version, sizeof(last.version), "%s", cur->version ? cur->version : "");
	r = st_accepted_check(&last, c);
	if (r == -ESTALE)
		return st_errf(r, "commit %s would move %s back: %s; refused as a rollback (pull --allow-downgrade takes it)",
			       hex, local, st_error_detail());
	return r;
}

/*
 * The commit and its signatures: fetched, the bytes checked against the id,
 * then the trust chain (st_seal_chain: commit and signature links) under the
 * remote's keys, and not older than the commit the remote ref points at
 * (check_downgrade). Nothing else is fetched for a commit that fails here.
 */
static int pull_commit(struct pull *p, const struct st_summary_ref *ref, const char *local, struct st_commit **ret)
{
	_cleanup_(commit_freep) struct st_commit *c = NULL;
	_cleanup_(sigset_freep) struct st_signature_set *set = NULL;
	_cleanup_(seal_result_freep) struct st_seal_result *res = NULL;
	_cleanup_(trust_result_freep) struct st_trust_result *tr = NULL;
	_cleanup_free_ char *data = NULL, *sigs = NULL;
	char hex[2 * ST_COMMIT_ID_SIZE + 1], rel[128], rel_sig[128];
	uint8_t id[ST_COMMIT_ID_SIZE];
	size_t len = 0, sigs_len = 0;
	int r, r_commit, r_sig, sig_error = 0;

	st_hex_encode(ref->commit, ST_COMMIT_ID_SIZE, hex);
	(void)snprintf(rel, sizeof(rel), "commits/%s", hex);
	(void)snprintf(rel_sig, sizeof(rel_sig), "commits/%s.sig", hex);
	/*
	 * The commit and its signatures together; nothing else before both are
	 * checked. A large pull opens the connections its next steps use at the
	 * same time (HEADs of the commit, answers ignored): a round trip saved.
	 */
	if (p->packs && !p->warmed && !(p->opts->flags & ST_PULL_COMMIT_ONLY)) {
		unsigned n = pack_pull_connections(p->packs, ref->commit);
		_cleanup_free_ char *url = NULL;

		if (n > 2) {
			if (asprintf(&url, "%s/%s", pull_sources_metadata(&p->src, 0), rel) < 0)
				return -ENOMEM;
			r = http_warm(p->http, url, n - 2);
			if (r < 0)
				return r;
		}
	}
	r = get_pair(p, rel, COMMIT_FETCH_MAX, &data, &len, &r_commit, rel_sig, ST_SIGNATURE_FILE_MAX, &sigs, &sigs_len,
		     &r_sig);
	if (r < 0)
		return r;
	if (r_commit < 0)
		return r_commit;
	st_commit_id_of(data, len, id);
	if (memcmp(id, ref->commit, sizeof(id)) != 0)
		return st_errf(-EUCLEAN, "%s/%s: the bytes received are not commit %s", pull_sources_metadata(&p->src, 0), rel, hex);
	r = st_commit_parse(data, len, &c);
	if (r < 0)
		return r;
	r = r_sig;
	if (r == -ENOENT)
		sigs = NULL;
	else if (r < 0)
		return r;
	else {
		r = st_signature_set_parse(sigs, sigs_len, &set);
		if (r < 0)
			sig_error = r;
	}
	if (p->remote->sign_verify) {
		/* Judged in memory first: a commit that fails leaves nothing behind. */
		r = st_trust_check(p->store, ref->name, id, set, sig_error, ST_TRUST_REQUIRE_SIGNATURE, &tr);
		if (r < 0)
			return r;
		if (!tr->accepted) {
			char why[256];

			st_trust_result_reason(tr, why, sizeof(why));
			return st_errf(-EKEYREJECTED, "commit %s of remote ref '%s' is not trusted: %s", hex, ref->name, why);
		}
	}
	r = check_downgrade(p, local, hex, c);
	if (r < 0)
		return r;
	if (!(p->opts->flags & ST_PULL_DRY_RUN)) {
		struct st_seal_options so = {
			.store = p->store,
			.ref = ref->name,
			.flags = p->remote->sign_verify ? ST_SEAL_REQUIRE_SIGNATURE : ST_SEAL_SKIP_SIGNATURE,
		};

		r = st_repo_write_commit(p->repo, c, NULL);
		if (r < 0)
			return r;
		if (set) {
			r = store_signatures(p, id, set);
			if (r < 0)
				return r;
		}
		r = st_seal_chain(p->repo, id, &so, &res);
		if (r < 0)
			return r;
		if (!res->ok)
			return st_errf(-EKEYREJECTED, "commit %s of remote ref '%s': %s link failed: %s", hex, ref->name,
				       st_seal_link_to_string(res->failed_link), res->links[res->failed_link].reason);
	}
	*ret = TAKE_PTR(c);
	return 0;
}

/* The image of c: fetched, its digest checked, held in memory until its objects are in. */
static int fetch_image(struct pull *p, const struct st_commit *c, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *data = NULL;
	uint8_t digest[ST_DIGEST_SIZE];
	char rel[72];
	size_t len;
	int r;

	st_repo_image_relpath(c->image_digest, rel);
	if (c->image_size > IMAGE_FETCH_MAX)
		return st_errf(-EFBIG, "image %s: %llu bytes, more than this client takes", rel + 7,
			       (unsigned long long)c->image_size);
	r = get_from(p, true, 0, rel, (size_t)c->image_size, &data, &len);
	if (r < 0)
		return r;
	r = st_verity_digest_buffer(data, len, digest);
	if (r < 0)
		return r;
	if (memcmp(digest, c->image_digest, sizeof(digest)) != 0 || len != c->image_size)
		return st_errf(-EUCLEAN, "%s: the bytes received do not have the commit's image digest", rel);
	*ret = TAKE_PTR(data);
	*ret_len = len;
	return 0;
}

static int publish_image(struct pull *p, const struct st_commit *c, const char *data, size_t len)
{
	struct publish_ops ops = {
		.prepare = st_repo_has_verity(p->repo) ? object_enable_verity : NULL,
		.check_existing = object_has_digest,
		.userdata = (void *)c->image_digest,
	};
	_cleanup_free_ char *display = NULL;
	_cleanup_close_ int dfd = -EBADF;
	char rel[72];
	int r;

	st_repo_image_relpath(c->image_digest, rel);
	if (asprintf(&display, "%s/%s", st_repo_path(p->repo), rel) < 0)
		return -ENOMEM;
	dfd = openat_beneath(st_repo_dirfd(p->repo), "images", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (dfd < 0)
		return st_errf(dfd, "cannot open '%s/images'", st_repo_path(p->repo));
	r = publish_data(dfd, rel + 7, display, data, len, 0644, 0, &ops);
	return r < 0 ? r : 0;
}

static int fetch_objects(struct pull *p, const struct want_list *missing)
{
	struct object_fetch *of;
	int r = 0;

	if (missing->n == 0)
		return 0;
	of = calloc(missing->n, sizeof(*of));
	if (!of)
		return -ENOMEM;
	for (size_t i = 0; i < missing->n && r >= 0; i++) {
		of[i].p = p;
		of[i].sink.dirs = &p->dirs;
		object_sink_init(&of[i].sink, p->repo, missing->v[i].digest, missing->v[i].size);
		r = object_add(&of[i]);
	}
	if (r >= 0)
		r = http_run(p->http);
	free(of);
	if (r < 0)
		return r;
	if (p->error)
		return st_errf(p->error, "%s", p->detail);
	return 0;
}

/*
 * commits/<id>.partial: the commit is stored without its image and objects,
 * by --commit-only or while a pull fetches them (fsck notes it rather than
 * calling the image missing when that pull is killed or fails); removed
 * once a pull brings its content.
 */
static int mark_commit_only(struct pull *p, const uint8_t id[ST_COMMIT_ID_SIZE], bool on)
{
	_cleanup_close_ int dfd = -EBADF;
	char name[2 * ST_COMMIT_ID_SIZE + sizeof(".partial")];
	int r;

	st_hex_encode(id, ST_COMMIT_ID_SIZE, name);
	memcpy(name + 2 * ST_COMMIT_ID_SIZE, ".partial", sizeof(".partial"));
	dfd = openat_beneath(st_repo_dirfd(p->repo), "commits", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (dfd < 0)
		return st_errf(dfd, "cannot open '%s/commits'", st_repo_path(p->repo));
	if (!on)
		return unlinkat(dfd, name, 0) < 0 && errno != ENOENT ? negative_errno() : 0;
	r = publish_data(dfd, name, name, "", 0, 0644, 0, NULL);
	return r < 0 ? r : 0;
}

/* Only count what is missing: --dry-run or --commit-only. */
static bool count_only(const struct pull *p)
{
	return p->opts->flags & (ST_PULL_DRY_RUN | ST_PULL_COMMIT_ONLY);
}

/*
 * The image of c and the objects it lacks, then the image published (an
 * image in images/ promises its objects); with count_only(), only counted.
 */
/*
 * The verified image, kept in tmp/pull (its lock's fd, or < 0: best effort)
 * when the objects still to come take longer than it did (their bytes at
 * least its size), so that a pull killed meanwhile does not fetch it again.
 * A small update does not pay for writing it.
 */
static int keep_image(struct pull *p, const struct st_commit *c, const char *image, size_t len, uint64_t coming)
{
	if (coming < len)
		return -EBADF;
	return partial_image_keep(p->repo, c->image_digest, image, len);
}

static int pull_content(struct pull *p, const uint8_t id[ST_COMMIT_ID_SIZE], const struct st_commit *c,
			struct st_pull_ref_result *res)
{
	_cleanup_(node_freep) struct st_node *root = NULL;
	_cleanup_free_ char *image = NULL;
	_cleanup_close_ int image_fd = -EBADF;  /* the lock of the image kept in tmp/pull */
	struct want_list missing = {};
	const struct want_list *asked = NULL, *published = NULL;
	uint64_t n_asked, asked_bytes;
	struct stat st;
	char rel[72];
	size_t len = 0, n_missing;
	int r, r2;

	st_repo_image_relpath(c->image_digest, rel);
	/* Its objects are in too, on disk (synced before it was named, below); a crash can leave it short. */
	if (fstatat(st_repo_dirfd(p->repo), rel, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size == c->image_size)
		return 0;
	if (!(p->opts->flags & ST_PULL_DRY_RUN)) {
		r = mark_commit_only(p, id, true);
		if (r < 0)
			return r;
	}
	if (p->packs)
		memcpy(p->packs->image_digest, c->image_digest, ST_DIGEST_SIZE);
	/* Kept by a pull killed or failed before its objects were in: verified again, not fetched again. */
	r = c->image_size <= IMAGE_FETCH_MAX ? partial_image_read(p->repo, c->image_digest, c->image_size, &image) : -ENOENT;
	if (r == 0)
		len = (size_t)c->image_size;
	if (r == -ENOENT && p->packs && c->image_size <= IMAGE_FETCH_MAX) {
		/* The objects start with the image (the commit is trusted): they need not wait for it. */
		if (!count_only(p)) {
			r = pack_pull_prefetch(p->packs, id);
			if (r < 0)
				return r;
			if (p->packs->prefetch_asked) {
				p->progress.objects_total += p->packs->prefetch_asked->n;
				p->progress.bytes_total += object_set_bytes(p->packs->prefetch_asked);
			}
			report(p);
		}
		r = pack_fetch_image(p->packs, id, c->image_digest, c->image_size, c->image_version, &image);
		if (r == 0)
			len = (size_t)c->image_size;
	}
	if (r == -ENOENT)
		r = fetch_image(p, c, &image, &len);
	/* The image is in and the objects still coming (http_get_range() returns once its parts are). */
	if (r == 0 && p->packs && p->packs->prefetch)
		image_fd = keep_image(p, c, image, len, object_set_bytes(p->packs->prefetch_asked));
	if (p->packs && r != -ENOMEM) {
		/* Before anything else runs (their ranges are queued): the objects in, or the pack given up. */
		r2 = pack_pull_prefetch_finish(p->packs, &asked, &published);
		if (r >= 0)
			r = r2;
	}
	if (r < 0)
		return r;
	r = st_image_read_tree(image, len, &(struct st_image_read_options){ .flags = ST_IMAGE_READ_DIGEST_FROM_REDIRECT },
			       &root, NULL);
	if (r < 0)
		return r;
	r = missing_set(p, root, asked, published, &missing, &n_asked, &asked_bytes);
	if (r < 0)
		return r;
	root = st_node_free(root);      /* the objects are all it was for: not held while they come */
	if (count_only(p)) {
		/* Nothing was stored for the commits counted before: what they lack counts once, there. */
		object_set_subtract(&missing, &p->counted);
		r = object_set_merge(&p->counted, &missing);
		if (r < 0) {
			free(missing.v);
			return r;
		}
	}
	/*
	 * Missing at the start: what the prefetch asked for (each was missing
	 * then; in the progress since), and what it did not ask for and is missing now.
	 */
	n_missing = (size_t)n_asked;
	res->bytes_missing += asked_bytes;
	for (size_t j = 0; j < missing.n; j++) {
		if (object_set_has(asked, missing.v[j].digest))
			continue;
		n_missing++;
		res->bytes_missing += missing.v[j].size;
		p->progress.objects_total++;
		p->progress.bytes_total += missing.v[j].size;
	}
	res->objects_missing += n_missing;
	if (!count_only(p)) {
		if (missing.n > 0 && image_fd < 0)
			image_fd = keep_image(p, c, image, len, object_set_bytes(&missing));
		report(p);
		/* Packs from the url (mirrors serve loose files); what they lack, loose below. */
		if (p->packs && missing.n > 0) {
			p->packs->image = image;
			p->packs->image_len = len;
			r = pack_pull_objects(p->packs, id, &missing);
			p->packs->image = NULL;
		}
		if (r >= 0)
			r = fetch_objects(p, &missing);
		/*
		 * The image is named only once the objects it names are on disk:
		 * a crash can leave the image named before the pull's last sync,
		 * and a later pull takes an image here to mean its objects are.
		 */
		if (r >= 0 && n_missing > 0)
			r = st_repo_sync(p->repo);
		if (r >= 0)
			r = publish_image(p, c, image, len);
		if (r >= 0)
			partial_image_remove(p->repo, c->image_digest);
		if (r >= 0)
			r = mark_commit_only(p, id, false);
	}
	free(missing.v);
	return r;
}

/*
 * A parent commit: its id is authenticated by the trusted child's bytes, so
 * no policy applies to it; fetched (unless the repository has it), checked
 * against the id, stored with whatever signatures it has.
 */
static int fetch_parent(struct pull *p, const uint8_t id[ST_COMMIT_ID_SIZE], struct st_commit **ret)
{
	_cleanup_(commit_freep) struct st_commit *c = NULL;
	_cleanup_(sigset_freep) struct st_signature_set *set = NULL;
	_cleanup_free_ char *data = NULL, *sigs = NULL;
	char hex[2 * ST_COMMIT_ID_SIZE + 1], rel[128];
	uint8_t got[ST_COMMIT_ID_SIZE];
	size_t len, sigs_len;
	int r;

	if (st_repo_read_commit(p->repo, id, ret) == 0)
		return 0;
	st_hex_encode(id, ST_COMMIT_ID_SIZE, hex);
	(void)snprintf(rel, sizeof(rel), "commits/%s", hex);
	r = get(p, rel, COMMIT_FETCH_MAX, &data, &len);
	if (r < 0)
		return r;
	st_commit_id_of(data, len, got);
	if (memcmp(got, id, sizeof(got)) != 0)
		return st_errf(-EUCLEAN, "%s: the bytes received are not commit %s", rel, hex);
	r = st_commit_parse(data, len, &c);
	if (r < 0)
		return r;
	if (!(p->opts->flags & ST_PULL_DRY_RUN)) {
		r = st_repo_write_commit(p->repo, c, NULL);
		if (r < 0)
			return r;
		(void)snprintf(rel, sizeof(rel), "commits/%s.sig", hex);
		if (get(p, rel, ST_SIGNATURE_FILE_MAX, &sigs, &sigs_len) == 0 &&
		    st_signature_set_parse(sigs, sigs_len, &set) == 0) {
			r = store_signatures(p, id, set);
			if (r < 0)
				return r;
		}
	}
	*ret = TAKE_PTR(c);
	return 0;
}

/* --depth: up to opts->depth parents of tip (all with -1), each with its content. */
static int pull_parents(struct pull *p, const struct st_commit *tip, struct st_pull_ref_result *res)
{
	_cleanup_(commit_freep) struct st_commit *cur = NULL;
	const struct st_commit *child = tip;
	int r;

	for (int d = 0; (p->opts->depth < 0 || d < p->opts->depth) && child->has_parent; d++) {
		struct st_commit *next = NULL;
		uint8_t id[ST_COMMIT_ID_SIZE];

		memcpy(id, child->parent, sizeof(id));
		r = fetch_parent(p, id, &next);
		if (r < 0)
			return r;
		st_commit_free(cur);
		cur = next;
		child = cur;
		res->parents++;
		r = pull_content(p, id, cur, res);
		if (r < 0)
			return r;
	}
	return 0;
}

struct ref_work {
	const struct st_summary_ref *sref;
	char local[ST_REF_NAME_MAX + 1];
	struct st_commit *commit;
};

int st_remote_pull(struct st_repo *repo, const char *name, struct st_pull_options *opts)
{
	_cleanup_(summary_freep) struct st_summary *summary = NULL;
	_cleanup_free_ char *sdata = NULL, *sigs = NULL;
	_cleanup_free_ struct ref_work *work = NULL;
	struct pull p = { .repo = repo, .opts = opts, .objects_dirfd = -EBADF };
	struct pack_pull pp = {};
	size_t slen, sigs_len = 0, n_work = 0;
	int64_t seen;
	int r, r_sum, r_sig = -ENOENT;

	if (!repo || !opts)
		return -EINVAL;
	object_dirs_init(&p.dirs, repo);
	opts->results = NULL;
	opts->n_results = 0;
	opts->objects_fetched = opts->bytes_fetched = opts->requests = opts->failovers = 0;
	opts->objects_from_packs = opts->pack_bytes = 0;
	r = st_remote_get(repo, name, &p.remote);
	if (r < 0)
		return r;
	r = pull_sources_init(p.remote, &p.src);
	if (r < 0)
		goto out;
	if (p.remote->sign_verify)
		r = st_trust_store_load(p.remote->keys_dir, &p.store);
	else
		r = st_trust_store_new(&p.store);
	if (r < 0)
		goto out;
	r = http_new(opts->jobs, opts->stall_timeout, &p.http);
	if (r < 0)
		goto out;
	r = http_set_options(p.http, p.remote->tls_ca, p.remote->tls_client_cert, p.remote->tls_client_key,
			     p.remote->proxy);
	if (r < 0)
		goto out;

	/*
	 * The summary: signed under the policy, not older than the last one
	 * accepted. The first pull from a remote is the large one: the
	 * connections its later steps use are opened now, with the summary
	 * (HEADs of it, answers ignored), so that the commit and its signatures
	 * and then the index's parts find them open, a round trip each.
	 */
	r = remote_read_seen(repo, name, &seen);
	if (r < 0)
		goto out;
	if (seen == 0 && !(opts->flags & (ST_PULL_DRY_RUN | ST_PULL_COMMIT_ONLY))) {
		_cleanup_free_ char *url = NULL;

		if (asprintf(&url, "%s/summary", pull_sources_metadata(&p.src, 0)) < 0) {
			r = -ENOMEM;
			goto out;
		}
		r = http_warm(p.http, url, http_jobs(p.http) - 2);
		if (r < 0)
			goto out;
		p.warmed = true;
	}
	if (p.remote->sign_verify)      /* the summary and its signatures together */
		r = get_pair(&p, "summary", ST_SUMMARY_SIZE_MAX, &sdata, &slen, &r_sum, "summary.sig",
			     ST_SIGNATURE_FILE_MAX, &sigs, &sigs_len, &r_sig);
	else
		r = r_sum = get(&p, "summary", ST_SUMMARY_SIZE_MAX, &sdata, &slen);
	if (r >= 0)
		r = r_sum;
	if (r < 0)
		goto out;
	if (p.remote->sign_verify) {
		if (r_sig == -ENOENT)
			sigs = NULL;
		else if (r_sig < 0) {
			r = r_sig;
			goto out;
		}
		r = st_summary_verify(sdata, slen, sigs, sigs_len, p.store);
		if (r < 0) {
			char why[512];

			(void)snprintf(why, sizeof(why), "%s", st_error_detail() ? st_error_detail() : "");
			r = st_errf(r, "summary of remote '%s' refused: %s", name, why);
			goto out;
		}
	}
	r = st_summary_parse(sdata, slen, &summary);
	p.summary = summary;
	if (r < 0) {
		char why[512];

		(void)snprintf(why, sizeof(why), "%s", st_error_detail() ? st_error_detail() : "");
		r = st_errf(r, "summary of remote '%s': %s", name, why);
		goto out;
	}
	if (summary->timestamp < seen) {
		r = st_errf(-ESTALE, "summary of remote '%s' is older (timestamp %lld) than the one accepted before (%lld): refused as a replay",
			    name, (long long)summary->timestamp, (long long)seen);
		goto out;
	}

	/* The refs asked for, each in the summary. */
	n_work = opts->n_refs ? opts->n_refs : summary->n_refs;
	work = calloc(n_work ? n_work : 1, sizeof(*work));
	opts->results = calloc(n_work ? n_work : 1, sizeof(*opts->results));
	if (!work || !opts->results) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n_work; i++) {
		char canon[ST_REF_NAME_MAX + 1];

		if (opts->n_refs) {
			r = st_ref_canonicalize(opts->refs[i], canon);
			if (r < 0)
				goto out;
			work[i].sref = st_summary_find(summary, canon);
			if (!work[i].sref) {
				r = st_errf(-ENOENT, "remote '%s' has no ref '%s'", name, canon);
				goto out;
			}
		} else
			work[i].sref = &summary->refs[i];
		if (snprintf(work[i].local, sizeof(work[i].local), "refs/remotes/%s/%s", name, work[i].sref->name) >=
			    (int)sizeof(work[i].local) ||
		    !st_ref_name_valid(work[i].local)) {
			r = st_errf(-EINVAL, "remote ref '%s' cannot be stored as refs/remotes/%s/...", work[i].sref->name, name);
			goto out;
		}
		opts->n_results++;
		(void)snprintf(opts->results[i].name, sizeof(opts->results[i].name), "%s", work[i].sref->name);
		memcpy(opts->results[i].commit, work[i].sref->commit, ST_COMMIT_ID_SIZE);
	}

	/* The packs on offer, used for images and objects. */
	if (!(opts->flags & ST_PULL_NO_PACKS) && summary->n_packs > 0) {
		pp = (struct pack_pull){ .http = p.http, .base = pull_sources_metadata(&p.src, 0), .repo = repo,
					 .dirs = &p.dirs, .opts = opts, .object_done = pack_object_done, .userdata = &p };
		r = pack_pull_init(&pp, summary);
		if (r < 0)
			goto out;
		p.packs = &pp;
	}

	/* Each commit (trusted before anything else), its image and missing objects, then its parents. */
	for (size_t i = 0; i < n_work; i++) {
		uint8_t cur[ST_COMMIT_ID_SIZE];

		if (st_repo_read_ref(repo, work[i].local, cur) == 0 &&
		    memcmp(cur, work[i].sref->commit, ST_COMMIT_ID_SIZE) == 0) {
			opts->results[i].up_to_date = true;
			if (opts->depth == 0)
				continue;
			r = st_repo_read_commit(repo, cur, &work[i].commit);
		} else {
			r = pull_commit(&p, work[i].sref, work[i].local, &work[i].commit);
			if (r >= 0)
				r = pull_content(&p, work[i].sref->commit, work[i].commit, &opts->results[i]);
		}
		if (r >= 0 && opts->depth != 0)
			r = pull_parents(&p, work[i].commit, &opts->results[i]);
		if (r < 0)
			goto out;
	}
	if (count_only(&p))
		goto out;

	/* Every image is in with its objects: one sync, then the refs. */
	if (syncfs(st_repo_dirfd(repo)) < 0) {
		r = st_errf(-errno, "cannot sync the repository '%s'", st_repo_path(repo));
		goto out;
	}
	for (size_t i = 0; i < n_work; i++) {
		if (opts->results[i].up_to_date)
			continue;
		r = st_repo_write_ref(repo, work[i].local, work[i].sref->commit, NULL);
		if (r < 0)
			goto out;
	}
	if (summary->timestamp > seen)
		r = remote_write_seen(repo, name, summary->timestamp);
	if (r >= 0)
		(void)partial_sweep(repo);      /* what is left there belongs to no fetch */
out:
	if (pp.summary)
		pack_pull_done(&pp);
	if (p.http)
		opts->requests = http_requests(p.http);
	for (size_t i = 0; work && i < n_work; i++)
		st_commit_free(work[i].commit);
	http_free(p.http);
	st_trust_store_free(p.store);
	st_remote_free(p.remote);
	pull_sources_release(&p.src);
	free(p.counted.v);
	object_dirs_done(&p.dirs);
	if (r < 0) {
		free(opts->results);
		opts->results = NULL;
		opts->n_results = 0;
	}
	return r < 0 ? r : 0;
}
