/* SPDX-License-Identifier: MIT */
/* sealtree commit: store a tree and record a commit. See docs/man/sealtree-commit.1.md. */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sealtree/error.h"
#include "sealtree/hex.h"
#include "sealtree/verity-policy.h"
#include "sealtree.h"

#define METADATA_MAX 1024

static void help(FILE *f)
{
	fprintf(f,
		"usage: sealtree commit -b REF (--tree DIR | --tar FILE|- | --dumpfile FILE|-) [OPTIONS]\n"
		"\n"
		"Store a tree's contents in the repository, write its composefs image and a\n"
		"commit, move REF to it and print the commit id.\n"
		"\n"
		"  -b, --branch=REF          the ref to move (required)\n"
		"  --tree=DIR                commit a directory\n"
		"  --tar=FILE|-              commit a tar archive (plain, gzip, zstd, xz)\n"
		"  --dumpfile=FILE|-         commit a composefs dumpfile whose contents are in the repository\n"
		"  -s, --subject=TEXT        one-line subject\n"
		"  -m, --body=TEXT           free text\n"
		"  --version=V               a version string\n"
		"  --add-metadata=KEY=VALUE  a metadata entry (repeatable)\n"
		"  --parent=COMMIT           the parent (default: what REF points at)\n"
		"  --orphan                  no parent\n"
		"  --timestamp=SECS          commit time (default: $SOURCE_DATE_EPOCH, else now)\n"
		"  --owner-uid=N, --owner-gid=N   force the owner of every file\n"
		"  --canonical-permissions   uid/gid 0, modes 0755/0644 (executable bit kept), no setuid/setgid/sticky\n"
		"  --skip-xattrs             record no xattrs (--tree)\n"
		"  --no-cache                hash every file; neither use nor update the scan cache (--tree)\n"
		"  --stats                   print what was hashed, cached and written (on stderr)\n"
		"  --threads=N               threads hashing and copying files (default: automatic)\n"
		"  --verity-policy=FILE      fs-verity digests only for files under the path prefixes FILE lists;\n"
		"                            the policy is stored in the image (mounted with verity=on)\n"
		"  --max-size=SIZE           refuse a file declaring more than SIZE bytes (K, M, G, T: powers\n"
		"                            of 1024; --tar; files over the free space are always refused)\n"
		"  --help                    show this help\n");
}

static void progress(void *userdata, uint64_t files_done, uint64_t files_total, uint64_t bytes_done,
		     uint64_t bytes_total)
{
	(void)userdata;
	fprintf(stderr, "\r\033[Kscanning: %" PRIu64 "/%" PRIu64 " files, %.1f/%.1f MiB", files_done, files_total,
		(double)bytes_done / 1048576.0, (double)bytes_total / 1048576.0);
}

/* A size: decimal bytes, optionally followed by K, M, G or T (powers of 1024). */
static int parse_size(const char *s, uint64_t *ret)
{
	static const char units[] = "KMGT";
	_cleanup_free_ char *num = strdup(s);
	size_t len = num ? strlen(num) : 0;
	const char *u;
	uint64_t v;
	unsigned shift = 0;

	if (!num || len == 0)
		return -EINVAL;
	u = strchr(units, num[len - 1]);
	if (num[len - 1] && u) {
		shift = 10 * (unsigned)(u - units + 1);
		num[len - 1] = '\0';
	}
	if (safe_atou64_max(num, UINT64_MAX >> shift, &v) < 0)
		return -ERANGE;
	*ret = v << shift;
	return 0;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int open_input(const char *name, const char *what)
{
	int fd;

	if (strcmp(name, "-") == 0)
		return STDIN_FILENO;
	fd = open(name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return log_error_errno(negative_errno(), "cannot open %s '%s'", what, name);
	return fd;
}

int cmd_commit(int argc, char **argv)
{
	enum {
		OPT_TREE = 0x100, OPT_TAR, OPT_DUMPFILE, OPT_VERSION, OPT_META, OPT_PARENT, OPT_ORPHAN,
		OPT_TIMESTAMP, OPT_UID, OPT_GID, OPT_CANONICAL, OPT_SKIP_XATTRS, OPT_NO_CACHE, OPT_STATS, OPT_THREADS,
		OPT_MAX_SIZE, OPT_VERITY_POLICY, OPT_HELP,
	};
	static const struct option options[] = {
		{ "branch", required_argument, NULL, 'b' },
		{ "subject", required_argument, NULL, 's' },
		{ "body", required_argument, NULL, 'm' },
		{ "tree", required_argument, NULL, OPT_TREE },
		{ "tar", required_argument, NULL, OPT_TAR },
		{ "dumpfile", required_argument, NULL, OPT_DUMPFILE },
		{ "version", required_argument, NULL, OPT_VERSION },
		{ "add-metadata", required_argument, NULL, OPT_META },
		{ "parent", required_argument, NULL, OPT_PARENT },
		{ "orphan", no_argument, NULL, OPT_ORPHAN },
		{ "timestamp", required_argument, NULL, OPT_TIMESTAMP },
		{ "owner-uid", required_argument, NULL, OPT_UID },
		{ "owner-gid", required_argument, NULL, OPT_GID },
		{ "canonical-permissions", no_argument, NULL, OPT_CANONICAL },
		{ "skip-xattrs", no_argument, NULL, OPT_SKIP_XATTRS },
		{ "no-cache", no_argument, NULL, OPT_NO_CACHE },
		{ "stats", no_argument, NULL, OPT_STATS },
		{ "threads", required_argument, NULL, OPT_THREADS },
		{ "max-size", required_argument, NULL, OPT_MAX_SIZE },
		{ "verity-policy", required_argument, NULL, OPT_VERITY_POLICY },
		{ "help", no_argument, NULL, OPT_HELP },
		{}
	};
	static struct st_commit_meta meta[METADATA_MAX];
	struct st_commit_options co = { 0 };
	struct st_import_options io = { 0 };
	const char *tree = NULL, *tar = NULL, *dumpfile = NULL, *parent = NULL, *policy_file = NULL;
	struct st_verity_policy *policy = NULL;
	bool orphan = false, stats = false, have_uid = false, have_gid = false;
	uint8_t id[ST_COMMIT_ID_SIZE];
	char ref_name[ST_REF_NAME_MAX + 1];
	struct st_node *root = NULL;
	struct st_repo *repo = NULL;
	double t0 = now_seconds(), t_import = 0;
	char hex[65];
	uint64_t v;
	int c, r, fd = -EBADF, inputs;

	while ((c = getopt_long(argc, argv, "b:s:m:", options, NULL)) >= 0) {
		switch (c) {
		case 'b':
			co.ref = optarg;
			break;
		case 's':
			co.subject = *optarg ? optarg : NULL;
			break;
		case 'm':
			co.body = *optarg ? optarg : NULL;
			break;
		case OPT_TREE:
			tree = optarg;
			break;
		case OPT_TAR:
			tar = optarg;
			break;
		case OPT_DUMPFILE:
			dumpfile = optarg;
			break;
		case OPT_VERSION:
			co.version = *optarg ? optarg : NULL;
			break;
		case OPT_META: {
			char *eq = strchr(optarg, '=');

			if (!eq || eq == optarg) {
				log_error("commit: --add-metadata needs KEY=VALUE, not '%s'", optarg);
				return 2;
			}
			if (co.n_metadata >= METADATA_MAX) {
				log_error("commit: more than %d --add-metadata", METADATA_MAX);
				return 2;
			}
			*eq = '\0';
			meta[co.n_metadata++] = (struct st_commit_meta){ .key = optarg, .value = eq + 1 };
			break;
		}
		case OPT_PARENT:
			parent = optarg;
			break;
		case OPT_ORPHAN:
			orphan = true;
			break;
		case OPT_TIMESTAMP:
			if (safe_atou64_max(optarg, UINT64_C(253402300799), &v) < 0) {
				log_error("commit: bad --timestamp '%s' (seconds since the epoch)", optarg);
				return 2;
			}
			co.has_timestamp = true;
			co.timestamp = (int64_t)v;
			break;
		case OPT_UID:
		case OPT_GID:
			if (safe_atou64_max(optarg, UINT32_MAX - 1, &v) < 0) {
				log_error("commit: bad %s '%s'", c == OPT_UID ? "--owner-uid" : "--owner-gid", optarg);
				return 2;
			}
			if (c == OPT_UID) {
				io.owner_uid = (uint32_t)v;
				have_uid = true;
			} else {
				io.owner_gid = (uint32_t)v;
				have_gid = true;
			}
			break;
		case OPT_CANONICAL:
			io.flags |= ST_IMPORT_CANONICAL_PERMISSIONS;
			break;
		case OPT_SKIP_XATTRS:
			io.flags |= ST_IMPORT_SKIP_XATTRS;
			break;
		case OPT_NO_CACHE:
			io.flags |= ST_IMPORT_NO_CACHE;
			break;
		case OPT_STATS:
			stats = true;
			break;
		case OPT_MAX_SIZE:
			if (parse_size(optarg, &io.max_file_size) < 0 || io.max_file_size == 0) {
				log_error("commit: bad --max-size '%s' (bytes, or a number with K, M, G or T)", optarg);
				return 2;
			}
			break;
		case OPT_VERITY_POLICY:
			policy_file = optarg;
			break;
		case OPT_THREADS:
			if (safe_atou64_max(optarg, 256, &v) < 0) {
				log_error("commit: bad --threads '%s' (0..256)", optarg);
				return 2;
			}
			io.threads = (unsigned)v;
			break;
		case OPT_HELP:
			help(stdout);
			return 0;
		default:
			help(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		log_error("commit: unexpected argument '%s'", argv[optind]);
		return 2;
	}
	if (!co.ref) {
		log_error("commit: -b REF is required");
		return 2;
	}
	if (st_ref_canonicalize(co.ref, ref_name) < 0) {
		log_error("commit: %s", st_error_message(-EINVAL));
		return 2;
	}
	inputs = !!tree + !!tar + !!dumpfile;
	if (inputs != 1) {
		log_error("commit: give exactly one of --tree, --tar and --dumpfile");
		return 2;
	}
	if (parent && orphan) {
		log_error("commit: --parent and --orphan conflict");
		return 2;
	}
	if (have_uid)
		io.flags |= ST_IMPORT_SET_UID;
	if (have_gid)
		io.flags |= ST_IMPORT_SET_GID;
	co.metadata = meta;
	co.parent_mode = orphan ? ST_COMMIT_PARENT_NONE : parent ? ST_COMMIT_PARENT_GIVEN : ST_COMMIT_PARENT_REF;

	/* Before any import: a bad policy must not cost a scan of the tree. */
	if (policy_file) {
		st_error_clear();
		r = st_verity_policy_load(policy_file, &policy);
		if (r < 0) {
			log_error("commit: %s", st_error_message(r));
			return 1;
		}
	}
	repo = open_repo_or_fail(REPO_LOCK_SHARED);
	if (!repo) {
		st_verity_policy_free(policy);
		return 1;
	}
	if (parent) {
		r = st_repo_resolve(repo, parent, co.parent);
		if (r < 0) {
			log_error_errno(r, "cannot resolve parent '%s'", parent);
			goto fail;
		}
	}
	if (show_progress()) {
		io.progress = progress;
	}

	if (tree) {
		r = st_repo_import_directory(repo, tree, &io, &root);
		if (io.progress)
			fputs("\r\033[K", stderr);
		if (r < 0) {
			log_error_errno(r, "cannot import '%s'", tree);
			goto fail;
		}
	} else if (tar) {
		fd = open_input(tar, "tar archive");
		if (fd < 0) {
			r = fd;
			goto fail;
		}
		r = st_repo_import_tar(repo, fd, &io, &root);
		if (io.progress)
			fputs("\r\033[K", stderr);
		if (fd != STDIN_FILENO)
			safe_close(fd);
		if (r < 0) {
			log_error_errno(r, "cannot import tar archive '%s'", tar);
			goto fail;
		}
	} else {
		fd = open_input(dumpfile, "dumpfile");
		if (fd < 0) {
			r = fd;
			goto fail;
		}
		r = st_repo_import_dumpfile(repo, fd, &io, &root);
		if (fd != STDIN_FILENO)
			safe_close(fd);
		if (r < 0) {
			log_error_errno(r, "cannot import dumpfile '%s'", dumpfile);
			goto fail;
		}
	}
	t_import = now_seconds();

	/* Digests only under the policy's prefixes, and the policy in the image; without one, no claim of one. */
	r = st_verity_policy_apply(root, policy);
	if (r < 0) {
		log_error_errno(r, "cannot apply the verity policy '%s'", policy_file ? policy_file : "(none)");
		goto fail;
	}

	r = st_repo_commit_tree(repo, root, &co, id, NULL);
	if (r < 0) {
		log_error_errno(r, "cannot commit to '%s'", co.ref);
		goto fail;
	}
	st_hex_encode(id, ST_COMMIT_ID_SIZE, hex);
	printf("%s\n", hex);
	if (stats)
		fprintf(stderr,
			"files-hashed %" PRIu64 "\nfiles-cached %" PRIu64 "\nobjects-written %" PRIu64
			"\nimport-seconds %.3f\ncommit-seconds %.3f\n",
			io.files_hashed, io.files_cached, io.objects_written, t_import - t0, now_seconds() - t_import);
	st_node_free(root);
	st_repo_free(repo);
	st_verity_policy_free(policy);
	return fflush(stdout) == 0 ? 0 : 1;
fail:
	st_node_free(root);
	st_repo_free(repo);
	st_verity_policy_free(policy);
	return 1;
}
