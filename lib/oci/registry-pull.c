/* SPDX-License-Identifier: MIT */
/*
 * st_oci_pull(): reference -> session (scheme, credentials) -> manifest
 * (negotiated, checked against its digest; an index gives the platform's
 * manifest, fetched by digest and checked too) -> config and layers into
 * the pull cache (registry-blob.c, every blob verified) -> an OCI layout in
 * tmp/ holding exactly the verified blobs -> st_oci_import() -> the cache's
 * copies dropped. See docs/formats/oci.md, "Pulling from a registry".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "basic/beneath.h"
#include "basic/error.h"
#include "basic/hex.h"
#include "basic/publish.h"
#include "fundamental/macro.h"
#include "chunked.h"
#include "repo/sha256-index.h"
#include "registry-internal.h"
#include "sealtree/oci-registry.h"

#define MANIFEST_ACCEPT OCI_MT_MANIFEST ", " OCI_MT_INDEX ", " DOCKER_MT_MANIFEST ", " DOCKER_MT_LIST
#define PULL_CACHE "cache/oci-pull"

#if defined(__x86_64__)
#define HOST_ARCH "amd64"
#elif defined(__aarch64__)
#define HOST_ARCH "arm64"
#elif defined(__i386__)
#define HOST_ARCH "386"
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_ARCH "ppc64le"
#elif defined(__s390x__)
#define HOST_ARCH "s390x"
#elif defined(__riscv) && __riscv_xlen == 64
#define HOST_ARCH "riscv64"
#else
#define HOST_ARCH "amd64"
#endif

/*
 * GET the manifest REF (a tag or a digest). Its digest is computed from the
 * bytes; it must be want_digest if given (and want_size bytes if > 0), and
 * the registry's Docker-Content-Digest if it sends one.
 */
static int fetch_manifest(struct registry *reg, const char *ref, const char *want_digest, uint64_t want_size,
			  struct registry_response *ret, char ret_digest[ST_OCI_DIGEST_STRING_SIZE])
{
	_cleanup_(registry_response_done) struct registry_response resp = {};
	_cleanup_free_ char *path = NULL;
	uint8_t d[OCI_DIGEST_SIZE];
	char got[ST_OCI_DIGEST_STRING_SIZE];
	int r;

	if (asprintf(&path, "/v2/%s/manifests/%s", reg->name, ref) < 0)
		return -ENOMEM;
	r = registry_get(reg, path, MANIFEST_ACCEPT, OCI_MANIFEST_MAX, &resp);
	if (r == -EFBIG)
		return st_errf(-EFBIG, "manifest %s at %s%s: larger than %u bytes", ref, reg->base, path,
			       OCI_MANIFEST_MAX);
	if (r == -ENOENT)
		return st_errf(-ENOENT, "manifest %s: not in %s/%s (%s%s)", ref, reg->base, reg->name, reg->base, path);
	if (r < 0)
		return r;
	oci_sha256(resp.body, resp.len, d);
	oci_digest_format(d, got);
	if (want_digest && strcmp(want_digest, got) != 0)
		return st_errf(-EBADMSG, "manifest %s from %s%s: digest mismatch, the bytes received are %s", want_digest,
			       reg->base, path, got);
	if (want_size > 0 && resp.len != want_size)
		return st_errf(-EBADMSG, "manifest %s from %s%s: %zu bytes, its descriptor says %" PRIu64, ref, reg->base,
			       path, resp.len, want_size);
	if (!want_digest && resp.docker_digest && strcmp(resp.docker_digest, got) != 0)
		return st_errf(-EBADMSG, "manifest %s from %s%s: Docker-Content-Digest says '%.80s', the bytes are %s",
			       ref, reg->base, path, resp.docker_digest, got);
	memcpy(ret_digest, got, sizeof(got));
	*ret = resp;
	resp = (struct registry_response){};
	return 0;
}

/* The image manifest of ref: directly, or through an index for the platform. */
static int resolve_manifest(struct registry *reg, const struct registry_ref *ref, const struct st_oci_pull_options *o,
			    struct registry_response *ret, char ret_digest[ST_OCI_DIGEST_STRING_SIZE],
			    struct oci_manifest **ret_manifest)
{
	_cleanup_(registry_response_done) struct registry_response resp = {};
	struct oci_manifest *m = NULL;
	char digest[ST_OCI_DIGEST_STRING_SIZE], what[ST_OCI_DIGEST_STRING_SIZE + 16];
	enum oci_doc_kind kind;
	int r;

	r = fetch_manifest(reg, ref->digest ? ref->digest : ref->tag, ref->digest, 0, &resp, digest);
	if (r < 0)
		return r;
	(void)snprintf(what, sizeof(what), "manifest %s", digest);
	r = oci_doc_kind(resp.body, resp.len, what, &kind);
	if (r < 0)
		return r;
	if (kind == OCI_DOC_INDEX) {
		struct oci_index *x = NULL;
		const struct oci_descriptor *pick;
		char pick_digest[ST_OCI_DIGEST_STRING_SIZE];
		uint64_t pick_size;

		(void)snprintf(what, sizeof(what), "index %s", digest);
		r = oci_index_parse(resp.body, resp.len, what, &x);
		if (r < 0)
			return r;
		st_error_clear();
		r = oci_index_select(x, o->os ? o->os : "linux", o->architecture ? o->architecture : HOST_ARCH,
				     o->variant, &pick);
		if (r < 0)
			r = st_errf(r, "%s/%s:%s (%s): %s", reg->base, reg->name, ref->digest ? ref->digest : ref->tag,
				    what, st_error_detail() ? st_error_detail() : "no such platform");
		if (r >= 0) {
			memcpy(pick_digest, pick->digest, sizeof(pick_digest));
			pick_size = pick->size;
		}
		oci_index_free(x);
		if (r < 0)
			return r;
		registry_response_done(&resp);
		r = fetch_manifest(reg, pick_digest, pick_digest, pick_size, &resp, digest);
		if (r < 0)
			return r;
		(void)snprintf(what, sizeof(what), "manifest %s", digest);
		r = oci_doc_kind(resp.body, resp.len, what, &kind);
		if (r < 0)
			return r;
		if (kind != OCI_DOC_MANIFEST)
			return st_errf(-EUCLEAN, "manifest %s: an index inside an index", digest);
	}
	r = oci_manifest_parse(resp.body, resp.len, what, &m);
	if (r < 0)
		return r;
	memcpy(ret_digest, digest, sizeof(digest));
	*ret_manifest = m;
	*ret = resp;
	resp = (struct registry_response){};
	return 0;
}

/* Remove the layout directory tmp/NAME (only what the pull put there). */
static void layout_remove(int tmp_dfd, const char *name)
{
	_cleanup_close_ int dfd = openat_beneath(tmp_dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	_cleanup_close_ int bfd = -EBADF;
	DIR *d;

	if (dfd < 0)
		return;
	bfd = openat_beneath(dfd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (bfd >= 0) {
		int fd = dup(bfd);

		d = fd >= 0 ? fdopendir(fd) : NULL;
		if (!d && fd >= 0)
			close(fd);
		for (struct dirent *e; d && (e = readdir(d));)
			if (e->d_name[0] != '.')
				(void)unlinkat(bfd, e->d_name, 0);
		if (d)
			closedir(d);
		(void)unlinkat(dfd, "blobs/sha256", AT_REMOVEDIR);
		(void)unlinkat(dfd, "blobs", AT_REMOVEDIR);
	}
	(void)unlinkat(dfd, "oci-layout", 0);
	(void)unlinkat(dfd, "index.json", 0);
	(void)unlinkat(tmp_dfd, name, AT_REMOVEDIR);
}

/* The rest of the layout dfd (its blobs are linked in already): the manifest, oci-layout, index.json. */
static int layout_write(int dfd, int blobs_dfd, const struct registry_response *manifest, const char *manifest_digest,
			const char *media_type)
{
	static const char oci_layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}\n";
	_cleanup_free_ char *index = NULL;
	int r, len;

	r = publish_data(blobs_dfd, manifest_digest + 7, manifest_digest, manifest->body, manifest->len, 0644, 0, NULL);
	if (r < 0)
		return r;
	r = publish_data(dfd, "oci-layout", "oci-layout", oci_layout, sizeof(oci_layout) - 1, 0644, 0, NULL);
	if (r < 0)
		return r;
	len = asprintf(&index, "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu}]}\n",
		       media_type, manifest_digest, manifest->len);
	if (len < 0) {
		index = NULL;
		return -ENOMEM;
	}
	return publish_data(dfd, "index.json", "index.json", index, (size_t)len, 0644, 0, NULL);
}

static int default_name(const struct registry_ref *ref, char ret[ST_REF_NAME_MAX + 1])
{
	int n;

	if (ref->digest)
		n = snprintf(ret, ST_REF_NAME_MAX + 1, "%s/%s:sha256-%s", ref->registry, ref->name, ref->digest + 7);
	else
		n = snprintf(ret, ST_REF_NAME_MAX + 1, "%s/%s:%s", ref->registry, ref->name, ref->tag);
	if (n < 0 || n > ST_REF_NAME_MAX)
		return st_errf(-ENAMETOOLONG, "'%s/%s': too long for an image name", ref->registry, ref->name);
	return 0;
}

/* Is the image there already with this manifest? */
static bool image_current(struct st_repo *repo, const char *name, const char *manifest_digest, uint8_t ret_commit[])
{
	struct st_oci_image *img = NULL;
	bool same;

	if (st_oci_get_image(repo, name, &img) < 0)
		return false;
	same = strcmp(img->manifest_digest, manifest_digest) == 0;
	if (same)
		memcpy(ret_commit, img->commit, ST_COMMIT_ID_SIZE);
	st_oci_image_list_free(img, 1);
	return same;
}

static void manifest_freep(struct oci_manifest **m)
{
	oci_manifest_free(*m);
}

/*
 * zstd:chunked layers pulled partially where the store has some of their
 * files (chunked-pull.c): the config is fetched first (for the diff_ids),
 * each such layer's tar is rebuilt into the layout (layout_dfd) under its
 * diff_id and its want moved to the front. Returns how many wants at the
 * start are done (the config and the rebuilt layers).
 */
static int pull_partial(struct st_repo *repo, struct registry *reg, int cache_dfd, int layout_dfd,
			const struct registry_response *manifest, const struct oci_manifest *m,
			struct blob_want *wants, struct blob_stats *stats, struct st_oci_pull_options *o)
{
	_cleanup_free_ char *config = NULL;
	_cleanup_(sha256_index_done) struct sha256_index ix = {};
	struct oci_config *c = NULL;
	struct chunked_stats cst = {};
	size_t done = 1, len;
	bool chunked = false;
	int r;

	/* No zstd:chunked layer: every blob in one parallel round, as before. */
	for (size_t i = 0; i < m->n_layers && !chunked; i++) {
		char dg[ST_OCI_DIGEST_STRING_SIZE];
		uint64_t a, b, u;

		chunked = chunked_layer_position(manifest->body, manifest->len, i, m->layers[i].size, dg, &a, &b, &u) == 0;
	}
	/* Nor into a store without objects: nothing can be local, the TOC would be fetched for nothing. */
	if (!chunked || !chunked_repo_has_objects(repo))
		return 0;
	/* The SHA-256 index, for layers whose TOC has no fs-verity digests: missing or damaged reads empty. */
	r = sha256_index_load(repo, &ix);
	if (r == -ENOMEM)
		return r;
	st_error_clear();
	r = registry_fetch_blobs(reg, cache_dfd, layout_dfd, wants, 1, stats);
	if (r < 0)
		return r;
	r = read_file_capped(layout_dfd, wants[0].digest + 7, OCI_CONFIG_MAX, 0, &config, &len);
	if (r < 0)
		return r;
	r = oci_config_parse(config, len, "config", &c);
	if (r < 0)
		return r;
	for (size_t i = 0; i < m->n_layers && r >= 0; i++) {
		struct blob_want w;

		if (c->n_diff_ids != m->n_layers)
			break;
		r = chunked_pull_layer(repo, reg, manifest->body, manifest->len, i, &m->layers[i], c->diff_ids[i],
				       layout_dfd, &ix, &cst);
		if (r <= 0)
			continue;
		/* Layer i is done: its want goes to the front (the layout holds its rebuilt tar). */
		for (size_t j = done; j < m->n_layers + 1; j++)
			if (strcmp(wants[j].digest, m->layers[i].digest) == 0) {
				w = wants[j];
				wants[j] = wants[done];
				wants[done++] = w;
				break;
			}
		r = 0;
	}
	oci_config_free(c);
	o->partial_layers = cst.layers;
	o->partial_files_fetched = cst.files_fetched;
	o->partial_files_local = cst.files_local;
	o->partial_index_wrong = cst.index_wrong;
	o->partial_deltas = cst.deltas;
	o->partial_deltas_refused = cst.deltas_refused;
	o->partial_delta_refused_why = cst.delta_refused_why;
	stats->bytes += cst.bytes;
	return r < 0 ? r : (int)done;
}

/*
 * Our layers fetched whole (checked against their digests): keep their
 * TOC and tar headers frame (the pair) as the base of the next pull's delta
 * (docs/formats/oci.md, "TOC deltas"). A cache: failures change nothing.
 */
static void keep_pairs(struct st_repo *repo, int bfd, const struct registry_response *manifest,
		       const struct oci_manifest *m)
{
	for (size_t i = 0; i < m->n_layers; i++) {
		_cleanup_close_ int fd = -EBADF;
		_cleanup_free_ uint8_t *pair = NULL;
		struct chunked_delta dl;
		char dg[ST_OCI_DIGEST_STRING_SIZE];
		size_t len = 0;

		if (chunked_delta_position(manifest->body, manifest->len, i, m->layers[i].size, &dl) < 0)
			continue;
		fd = openat(bfd, m->layers[i].digest + 7, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd >= 0 && chunked_pair_from_fd(fd, manifest->body, manifest->len, i, m->layers[i].size, &pair, &len,
						    dg) == 0)
			chunked_pair_keep(repo, pair, len);
	}
	st_error_clear();
}

/* Blobs into the cache and the layout tmp/NAME (created here), the layout written, the import. */
static int fetch_and_import(struct st_repo *repo, struct registry *reg, int cache_dfd, int tmp_dfd, const char *name,
			    const struct registry_response *manifest, const char *digest, const struct oci_manifest *m,
			    struct blob_want *wants, size_t n, struct st_oci_pull_options *o)
{
	_cleanup_close_ int dfd = -EBADF, bfd = -EBADF;
	_cleanup_free_ char *path = NULL;
	struct st_oci_source *src = NULL;
	struct st_oci_import_options iopts = { .os = o->os, .architecture = o->architecture, .variant = o->variant };
	struct blob_stats stats = {};
	int r;

	dfd = mkdirat_beneath(tmp_dfd, name, 0700, false);
	if (dfd < 0)
		return st_errf(dfd, "cannot create the layout tmp/%s", name);
	bfd = mkdirat_beneath(dfd, "blobs/sha256", 0755, false);
	if (bfd < 0)
		return st_errf(bfd, "cannot create the layout tmp/%s/blobs/sha256", name);
	r = pull_partial(repo, reg, cache_dfd, bfd, manifest, m, wants, &stats, o);
	if (r >= 0)
		r = registry_fetch_blobs(reg, cache_dfd, bfd, wants + r, n - (size_t)r, &stats);
	if (r >= 0)
		keep_pairs(repo, bfd, manifest, m);
	iopts.layers_by_diff_id = o->partial_layers > 0;
	o->blobs_fetched = stats.fetched;
	o->blobs_cached = stats.cached;
	o->bytes_fetched = stats.bytes;
	o->bytes_resumed = stats.resumed_bytes;
	if (r < 0)
		return r;
	r = layout_write(dfd, bfd, manifest, digest, m->media_type);
	if (r < 0)
		return r;
	if (asprintf(&path, "%s/tmp/%s", st_repo_path(repo), name) < 0) {
		path = NULL;
		return -ENOMEM;
	}
	r = st_oci_source_open_layout(path, NULL, &src);
	if (r < 0)
		return r;
	r = st_oci_import(repo, src, o->name_used, &iopts, o->commit);
	st_oci_source_free(src);
	o->layers = iopts.layers;
	o->files = iopts.files;
	o->objects_written = iopts.objects_written;
	return r;
}

static int pull_into(struct st_repo *repo, struct registry *reg, const struct registry_ref *ref,
		     struct st_oci_pull_options *o)
{
	_cleanup_(registry_response_done) struct registry_response manifest = {};
	_cleanup_(manifest_freep) struct oci_manifest *m = NULL;
	_cleanup_close_ int cache_dfd = -EBADF, cache_blobs_dfd = -EBADF, tmp_dfd = -EBADF;
	_cleanup_free_ struct blob_want *wants = NULL;
	char digest[ST_OCI_DIGEST_STRING_SIZE], layout_name[32], rnd_hex[17];
	uint8_t rnd[8];
	size_t n;
	int r;

	r = registry_connect(reg);
	if (r < 0)
		return r;
	r = resolve_manifest(reg, ref, o, &manifest, digest, &m);
	if (r < 0)
		return r;
	memcpy(o->manifest_digest, digest, sizeof(digest));
	if (image_current(repo, o->name_used, digest, o->commit)) {
		o->up_to_date = true;
		return 0;
	}
	n = m->n_layers + 1;
	wants = new0(struct blob_want, n);
	if (!wants)
		return -ENOMEM;
	wants[0].size = m->config.size;
	memcpy(wants[0].digest, m->config.digest, sizeof(wants[0].digest));
	for (size_t i = 0; i < m->n_layers; i++) {
		wants[i + 1].size = m->layers[i].size;
		memcpy(wants[i + 1].digest, m->layers[i].digest, sizeof(wants[i + 1].digest));
	}
	cache_dfd = mkdirat_beneath(st_repo_dirfd(repo), PULL_CACHE, 0755, false);
	if (cache_dfd < 0)
		return st_errf(cache_dfd, "cannot create %s", PULL_CACHE);
	cache_blobs_dfd = mkdirat_beneath(cache_dfd, "blobs/sha256", 0755, false);
	if (cache_blobs_dfd < 0)
		return st_errf(cache_blobs_dfd, "cannot create %s/blobs/sha256", PULL_CACHE);
	tmp_dfd = openat_beneath(st_repo_dirfd(repo), "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (tmp_dfd < 0)
		return st_errf(tmp_dfd, "cannot open tmp/");
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		return -EIO;
	st_hex_encode(rnd, sizeof(rnd), rnd_hex);
	(void)snprintf(layout_name, sizeof(layout_name), "oci-pull-%s", rnd_hex);
	r = fetch_and_import(repo, reg, cache_dfd, tmp_dfd, layout_name, &manifest, digest, m, wants, n, o);
	layout_remove(tmp_dfd, layout_name);
	if (r < 0)
		return r;
	/* The blobs live on as objects and records now: the cache's copies go (the layout held its own links). */
	for (size_t i = 0; i < n; i++)
		(void)unlinkat(cache_blobs_dfd, wants[i].digest + 7, 0);
	return 0;
}

int st_oci_pull(struct st_repo *repo, const char *reference, struct st_oci_pull_options *o)
{
	_cleanup_(registry_ref_done) struct registry_ref ref = {};
	struct st_oci_pull_options defaults = {};
	struct registry *reg = NULL;
	char ref_name[ST_REF_NAME_MAX + 1];
	int r;

	if (!repo || !reference)
		return -EINVAL;
	if (!o)
		o = &defaults;
	r = registry_ref_parse(reference, &ref);
	if (r < 0)
		return r;
	if (o->name) {
		if (strlen(o->name) > ST_REF_NAME_MAX)
			return st_errf(-ENAMETOOLONG, "'%.64s...': too long for an image name", o->name);
		memcpy(o->name_used, o->name, strlen(o->name) + 1);
	} else {
		r = default_name(&ref, o->name_used);
		if (r < 0)
			return r;
	}
	/* A bad name fails before anything is fetched. */
	r = st_oci_ref_of_name(o->name_used, ref_name);
	if (r < 0)
		return r;
	r = registry_new(&ref, o->creds, !o->no_tls_verify, o->jobs ? o->jobs : 6, o->stall_timeout, &reg);
	if (r < 0)
		return r;
	r = pull_into(repo, reg, &ref, o);
	o->requests = http_requests(reg->http);
	registry_free(reg);
	return r;
}
