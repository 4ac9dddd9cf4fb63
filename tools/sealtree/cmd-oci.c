/* SPDX-License-Identifier: MIT */
/*
 * sealtree oci VERB: container images in the repository (see
 * docs/man/sealtree-oci.1.md). import, images, inspect, rm, mount here;
 * pull in cmd-oci-pull.c.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "escape.h"
#include "read-output.h"
#include "parse-number.h"
#include "sealtree.h"
#include "sealtree/hex.h"
#include "sealtree/oci.h"
#include "sealtree/repo-read.h"

static void oci_help(FILE *f)
{
	fprintf(f,
		"usage: sealtree oci import SOURCE [--name NAME[:TAG]] [--platform OS/ARCH[/VARIANT]]\n"
		"       sealtree oci pull [--creds U:P] [--tls-verify=false] REGISTRY/NAME[:TAG|@DIGEST] [--name NAME:TAG]\n"
		"       sealtree oci push [--creds U:P] [--tls-verify=false] [--plain-chunked|--flatten] REF REGISTRY/NAME:TAG\n"
		"       sealtree oci images\n"
		"       sealtree oci inspect IMAGE [--json]\n"
		"       sealtree oci rm IMAGE...\n"
		"       sealtree oci mount [--verity|--no-verity] IMAGE DIR\n"
		"       sealtree oci du [--json]\n"
		"       sealtree oci verify IMAGE...\n"
		"\n"
		"Container images in the repository: each file once, shared with host commits.\n"
		"SOURCE is oci:DIR[:TAG], oci-archive:FILE[:TAG] or docker-archive:FILE.\n"
		"IMAGE is NAME[:TAG] (TAG 'latest' if omitted); its commit is the ref oci/NAME:TAG.\n");
}

static void import_help(FILE *f)
{
	fprintf(f,
		"usage: sealtree oci import SOURCE [--name NAME[:TAG]] [--platform OS/ARCH[/VARIANT]]\n"
		"                          [--max-layer-size BYTES]\n"
		"\n"
		"Import an image: every blob checked against its digest, each layer read once,\n"
		"its files stored as objects, whiteouts applied, the merged tree committed as\n"
		"oci/NAME:TAG. Without --name, the TAG of the source names it (NAME 'image').\n"
		"\n"
		"  --name NAME[:TAG]       the image's name in the repository\n"
		"  --platform OS/ARCH[/V]  the platform chosen from an index (linux/amd64)\n"
		"  --max-layer-size BYTES  most bytes a layer may decompress to\n");
}

/* The options of the small verbs (images, inspect, rm, mount, du). */
enum {
	SMALL_JSON = 1 << 0,    /* --json */
	SMALL_VERITY = 1 << 1,  /* --verity, --no-verity */
};

/*
 * Parse the options of a small verb: --help prints usage to stdout and
 * returns 0; an option the verb does not take or a count of operands
 * outside min..max (max < 0: any) prints why and returns -EINVAL; else 1,
 * with the operands at argv[optind..argc-1], *ret_json and *ret_flags set.
 */
static int small_verb_args(const char *verb, int argc, char **argv, const char *usage, unsigned allowed, int min,
			   int max, bool *ret_json, unsigned *ret_flags)
{
	enum { OPT_JSON = 0x100, OPT_VERITY, OPT_NO_VERITY };
	static const struct option options[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "verity", no_argument, NULL, OPT_VERITY },
		{ "no-verity", no_argument, NULL, OPT_NO_VERITY },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	bool json = false;
	unsigned flags = 0;
	int c, n;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (c) {
		case 'h':
			fputs(usage, stdout);
			return 0;
		case OPT_JSON:
			if (!(allowed & SMALL_JSON))
				goto unknown;
			json = true;
			break;
		case OPT_VERITY:
		case OPT_NO_VERITY:
			if (!(allowed & SMALL_VERITY))
				goto unknown;
			flags = c == OPT_VERITY ? ST_REPO_MOUNT_VERITY : ST_REPO_MOUNT_NO_VERITY;
			break;
		default:
			return -EINVAL;         /* getopt named the option */
		}
	}
	n = argc - optind;
	if (n < min || (max >= 0 && n > max)) {
		fputs(usage, stderr);
		return -EINVAL;
	}
	if (ret_json)
		*ret_json = json;
	if (ret_flags)
		*ret_flags = flags;
	return 1;
unknown:
	log_error("oci %s: unrecognized option '%s' (sealtree oci %s --help)", verb, argv[optind - 1], verb);
	return -EINVAL;
}

/* The TAG of a source spec, or NULL. */
static const char *source_tag(const char *spec)
{
	const char *colon;

	if (strncmp(spec, "docker-archive:", 15) == 0)
		return NULL;
	colon = strrchr(spec, ':');
	if (!colon || strchr(colon, '/') || colon == strchr(spec, ':'))
		return NULL;
	return colon + 1;
}

static int oci_import(int argc, char **argv)
{
	enum { OPT_NAME = 0x100, OPT_PLATFORM, OPT_MAX_LAYER, OPT_HELP };
	static const struct option options[] = {
		{ "name", required_argument, NULL, OPT_NAME },
		{ "platform", required_argument, NULL, OPT_PLATFORM },
		{ "max-layer-size", required_argument, NULL, OPT_MAX_LAYER },
		{ "help", no_argument, NULL, OPT_HELP },
		{}
	};
	_cleanup_(repo_freep) struct st_repo *repo = NULL;
	_cleanup_free_ char *platform = NULL, *name_buf = NULL, *tmp = NULL;
	struct st_oci_import_options opts = { 0 };
	struct st_oci_source *src = NULL;
	const char *name = NULL, *tag;
	uint8_t id[ST_COMMIT_ID_SIZE];
	char hex[2 * ST_COMMIT_ID_SIZE + 1];
	int c, r;

	while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
		switch (c) {
		case OPT_NAME: name = optarg; break;
		case OPT_PLATFORM:
			free(platform);
			platform = strdup(optarg);
			if (!platform)
				return log_error_errno(-ENOMEM, "oci import"), 1;
			break;
		case OPT_MAX_LAYER:
			if (parse_uint_n(optarg, strlen(optarg), 10, UINT64_MAX, 0, &opts.max_layer_bytes) < 0 ||
			    !opts.max_layer_bytes)
				return log_error("oci import: bad --max-layer-size '%s'", optarg), 2;
			break;
		case OPT_HELP: import_help(stdout); return 0;
		default: import_help(stderr); return 2;
		}
	if (argc - optind != 1) {
		import_help(stderr);
		return 2;
	}
	if (platform) {
		char *s1 = strchr(platform, '/'), *s2;

		if (!s1)
			return log_error("oci import: --platform is OS/ARCH[/VARIANT]"), 2;
		*s1++ = '\0';
		s2 = strchr(s1, '/');
		if (s2)
			*s2++ = '\0';
		opts.os = platform;
		opts.architecture = s1;
		opts.variant = s2;
	}
	if (!name) {
		tag = source_tag(argv[optind]);
		if (asprintf(&name_buf, "image:%s", tag && *tag != '@' ? tag : "latest") < 0)
			return log_error_errno(-ENOMEM, "oci import"), 1;
		name = name_buf;
	}
	repo = open_repo_or_fail(REPO_LOCK_SHARED);
	if (!repo)
		return 1;
	if (asprintf(&tmp, "%s/tmp", st_repo_path(repo)) < 0)
		return log_error_errno(-ENOMEM, "oci import"), 1;
	r = st_oci_source_open(argv[optind], tmp, &src);
	if (r < 0)
		return log_error_errno(r, "oci import: cannot open '%s'", argv[optind]), 1;
	r = st_oci_import(repo, src, name, &opts, id);
	st_oci_source_free(src);
	if (r < 0)
		return log_error_errno(r, "oci import: '%s'", argv[optind]), 1;
	if (!globals.quiet) {
		st_hex_encode(id, ST_COMMIT_ID_SIZE, hex);
		printf("imported %s: commit %s, manifest %s, %" PRIu64 " layers, %" PRIu64 " files, %" PRIu64
		       " new objects\n", name, hex, opts.manifest_digest, opts.layers, opts.files, opts.objects_written);
	}
	return 0;
}

static int oci_images(int argc, char **argv)
{
	_cleanup_(repo_freep) struct st_repo *repo = NULL;
	struct st_oci_image *imgs = NULL;
	size_t n = 0;
	int r;

	r = small_verb_args("images", argc, argv,
			    "usage: sealtree oci images\n\n"
			    "List the images of the repository, one per line: NAME COMMIT (12 digits)\n"
			    "MANIFEST-DIGEST (short) LAYERS UNCOMPRESSED-BYTES.\n",
			    0, 0, 0, NULL, NULL);
	if (r <= 0)
		return r < 0 ? 2 : 0;
	repo = open_repo_or_fail(REPO_LOCK_SHARED);
	if (!repo)
		return 1;
	r = st_oci_list_images(repo, &imgs, &n);
	if (r < 0)
		return log_error_errno(r, "oci images"), 1;
	for (size_t i = 0; i < n; i++) {
		char hex[2 * ST_COMMIT_ID_SIZE + 1];
		uint64_t size = 0;

		for (size_t j = 0; j < imgs[i].n_layers; j++)
			size += imgs[i].layers[j].uncompressed_size;
		st_hex_encode(imgs[i].commit, ST_COMMIT_ID_SIZE, hex);
		print_escaped(stdout, imgs[i].name);
		printf(" %.12s %.19s %zu %" PRIu64 "\n", hex, imgs[i].manifest_digest, imgs[i].n_layers, size);
	}
	st_oci_image_list_free(imgs, n);
	return 0;
}

static void print_inspect_json(const struct st_oci_image *img)
{
	char hex[2 * ST_COMMIT_ID_SIZE + 1];

	st_hex_encode(img->commit, ST_COMMIT_ID_SIZE, hex);
	fputs("{\"name\":", stdout);
	json_write_string(stdout, img->name);
	printf(",\"commit\":\"%s\",\"manifest\":\"%s\",\"manifestMediaType\":", hex, img->manifest_digest);
	json_write_string(stdout, img->manifest_media_type);
	printf(",\"config\":\"%s\",\"os\":", img->config_digest);
	json_write_string(stdout, img->os);
	fputs(",\"architecture\":", stdout);
	json_write_string(stdout, img->architecture);
	printf(",\"created\":%" PRId64 ",\"layers\":[", img->created);
	for (size_t i = 0; i < img->n_layers; i++) {
		const struct st_oci_layer_info *l = &img->layers[i];

		printf("%s{\"digest\":\"%s\",\"diffId\":\"%s\",\"mediaType\":", i ? "," : "", l->digest, l->diff_id);
		json_write_string(stdout, l->media_type);
		printf(",\"size\":%" PRIu64 ",\"uncompressedSize\":%" PRIu64 "}", l->size, l->uncompressed_size);
	}
	fputs("]}\n", stdout);
}

static int oci_inspect(int argc, char **argv)
{
	_cleanup_(repo_freep) struct st_repo *repo = NULL;
	struct st_oci_image *img = NULL;
	const char *name = NULL;
	bool json = false;
	int r;

	r = small_verb_args("inspect", argc, argv,
			    "usage: sealtree oci inspect [--json] IMAGE\n\n"
			    "Show an image: its commit, manifest, config, platform and, per layer, digest,\n"
			    "diff_id, sizes and media type.\n\n"
			    "  --json      one JSON object\n"
			    "  -h, --help  show this help\n",
			    SMALL_JSON, 1, 1, &json, NULL);
	if (r <= 0)
		return r < 0 ? 2 : 0;
	name = argv[optind];
	repo = open_repo_or_fail(REPO_LOCK_SHARED);
	if (!repo)
		return 1;
	r = st_oci_get_image(repo, name, &img);
	if (r < 0)
		return log_error_errno(r, "oci inspect '%s'", name), 1;
	if (json)
		print_inspect_json(img);
	else {
		char hex[2 * ST_COMMIT_ID_SIZE + 1];

		st_hex_encode(img->commit, ST_COMMIT_ID_SIZE, hex);
		fputs("name: ", stdout);
		print_escaped(stdout, img->name);
		printf("\ncommit: %s\nmanifest: %s (", hex, img->manifest_digest);
		print_escaped(stdout, img->manifest_media_type);
		printf(")\nconfig: %s\nplatform: ", img->config_digest);
		print_escaped(stdout, img->os);
		fputc('/', stdout);
		print_escaped(stdout, img->architecture);
		printf("\nlayers: %zu\n", img->n_layers);
		for (size_t i = 0; i < img->n_layers; i++) {
			printf("  %s diff_id %s %" PRIu64 " bytes (%" PRIu64 " uncompressed) ", img->layers[i].digest,
			       img->layers[i].diff_id, img->layers[i].size, img->layers[i].uncompressed_size);
			print_escaped(stdout, img->layers[i].media_type);
			fputc('\n', stdout);
		}
	}
	st_oci_image_free(img);
	free(img);
	return 0;
}

static int oci_rm(int argc, char **argv)
{
	_cleanup_(repo_freep) struct st_repo *repo = NULL;
	int ret = 0;

	int r = small_verb_args("rm", argc, argv,
				"usage: sealtree oci rm IMAGE...\n\n"
				"Remove images: each one's ref, and its manifest, config and record where no\n"
				"other image uses them. 'sealtree gc' then deletes the objects nothing else uses.\n",
				0, 1, -1, NULL, NULL);

	if (r <= 0)
		return r < 0 ? 2 : 0;
	repo = open_repo_or_fail(REPO_LOCK_SHARED);
	if (!repo)
		return 1;
	for (int i = optind; i < argc; i++) {
		int r = st_oci_remove_image(repo, argv[i]);

		if (r < 0) {
			log_error_errno(r, "oci rm '%s'", argv[i]);
			ret = 1;
		}
	}
	return ret;
}

static int oci_mount(int argc, char **argv)
{
	_cleanup_(repo_freep) struct st_repo *repo = NULL;
	_cleanup_free_ char *target = NULL;
	char ref[ST_REF_NAME_MAX + 1];
	uint8_t id[ST_COMMIT_ID_SIZE];
	unsigned flags = 0;
	const char *args[2];
	int r;

	r = small_verb_args("mount", argc, argv,
			    "usage: sealtree oci mount [--verity|--no-verity] IMAGE DIR\n\n"
			    "Mount the image read-only on DIR with the kernel's composefs (as sealtree mount),\n"
			    "pinned against gc until 'sealtree umount DIR'. Needs root.\n\n"
			    "  --verity     every object must carry the fs-verity digest the image names\n"
			    "               (default on a repository with fs-verity)\n"
			    "  --no-verity  do not require it\n"
			    "  -h, --help   show this help\n",
			    SMALL_VERITY, 2, 2, NULL, &flags);
	if (r <= 0)
		return r < 0 ? 2 : 0;
	args[0] = argv[optind];
	args[1] = argv[optind + 1];
	if (geteuid() != 0)
		return log_error("mounting needs root (CAP_SYS_ADMIN)"), 1;
	r = st_oci_ref_of_name(args[0], ref);
	if (r < 0)
		return log_error_errno(r, "oci mount"), 2;
	target = realpath(args[1], NULL);
	if (!target)
		return log_error_errno(-errno, "mount point '%s'", args[1]), 1;
	repo = open_repo_or_fail(REPO_LOCK_SHARED);
	if (!repo)
		return 1;
	r = st_repo_read_ref(repo, ref, id);
	if (r < 0)
		return log_error_errno(r, "oci mount: no image '%s'", args[0]), 1;
	r = st_repo_mount(repo, id, target, flags);
	if (r < 0)
		return log_error_errno(r, "cannot mount '%s' on '%s'", args[0], target), 1;
	return 0;
}

static void print_count(const char *what, uint64_t objects, uint64_t bytes)
{
	printf("%-34s %10" PRIu64 " objects %14" PRIu64 " bytes\n", what, objects, bytes);
}

static int oci_du(int argc, char **argv)
{
	_cleanup_(repo_freep) struct st_repo *repo = NULL;
	struct st_oci_du *du = NULL;
	bool json = false;
	int r;

	r = small_verb_args("du", argc, argv,
			    "usage: sealtree oci du [--json]\n\n"
			    "What the store holds and who shares it: objects stored, referenced by host refs,\n"
			    "by images and by both, and per image its objects and its unique bytes (those no\n"
			    "other ref references). Each object counts once.\n\n"
			    "  --json      one JSON object\n"
			    "  -h, --help  show this help\n",
			    SMALL_JSON, 0, 0, &json, NULL);
	if (r <= 0)
		return r < 0 ? 2 : 0;
	repo = open_repo_or_fail(REPO_LOCK_SHARED);
	if (!repo)
		return 1;
	r = st_oci_du(repo, &du);
	if (r < 0)
		return log_error_errno(r, "oci du"), 1;
	if (json) {
		printf("{\"stored\":{\"objects\":%" PRIu64 ",\"bytes\":%" PRIu64 "},\"host\":{\"objects\":%" PRIu64
		       ",\"bytes\":%" PRIu64 "},\"images\":{\"objects\":%" PRIu64 ",\"bytes\":%" PRIu64
		       "},\"shared\":{\"objects\":%" PRIu64 ",\"bytes\":%" PRIu64 "},\"perImage\":[",
		       du->stored_objects, du->stored_bytes, du->host_objects, du->host_bytes, du->image_objects,
		       du->image_bytes, du->shared_objects, du->shared_bytes);
		for (size_t i = 0; i < du->n_images; i++) {
			const struct st_oci_du_image *m = &du->images[i];

			printf("%s{\"name\":", i ? "," : "");
			json_write_string(stdout, m->name);
			printf(",\"objects\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"uniqueObjects\":%" PRIu64
			       ",\"uniqueBytes\":%" PRIu64 "}", m->objects, m->bytes, m->unique_objects, m->unique_bytes);
		}
		fputs("]}\n", stdout);
	} else {
		print_count("stored (objects/)", du->stored_objects, du->stored_bytes);
		print_count("referenced by host refs", du->host_objects, du->host_bytes);
		print_count("referenced by images", du->image_objects, du->image_bytes);
		print_count("shared by host and images", du->shared_objects, du->shared_bytes);
		for (size_t i = 0; i < du->n_images; i++) {
			const struct st_oci_du_image *m = &du->images[i];

			fputs("image ", stdout);
			print_escaped(stdout, m->name);
			printf(": %" PRIu64 " objects, %" PRIu64 " bytes; unique %" PRIu64 " objects, %" PRIu64 " bytes\n",
			       m->objects, m->bytes, m->unique_objects, m->unique_bytes);
		}
	}
	st_oci_du_free(du);
	return 0;
}

int cmd_oci(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} verbs[] = {
		{ "import", oci_import },
		{ "pull", oci_pull },
		{ "push", oci_push },
		{ "images", oci_images },
		{ "inspect", oci_inspect },
		{ "rm", oci_rm },
		{ "mount", oci_mount },
		{ "du", oci_du },
		{ "verify", oci_verify },
	};

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		oci_help(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
		if (strcmp(argv[1], verbs[i].name) == 0) {
			optind = 0;     /* glibc: start getopt afresh */
			return verbs[i].fn(argc - 1, argv + 1);
		}
	log_error("oci: unknown verb '%s' (sealtree oci --help)", argv[1]);
	return 2;
}
