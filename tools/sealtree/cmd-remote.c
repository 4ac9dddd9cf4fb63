/* SPDX-License-Identifier: MIT */
/* sealtree remote add|list|delete: see docs/man/sealtree-remote.1.md. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "sealtree.h"
#include "sealtree/remote.h"

static void remote_help(FILE *f)
{
	fprintf(f,
		"usage: sealtree remote add NAME URL [--mirror URL]... [--keys-dir DIR] [--no-sign-verify]\n"
		"                           [--tls-ca FILE] [--tls-client-cert FILE --tls-client-key FILE] [--proxy URL]\n"
		"       sealtree remote list\n"
		"       sealtree remote delete NAME\n"
		"\n"
		"Manage the remotes of the repository: repositories served as static files\n"
		"(http://, https:// or file:///) that sealtree pull fetches from.\n"
		"\n"
		"  --keys-dir DIR     trust store for this remote's summary and commits\n"
		"                     (trusted.d/, revoked.d/, policy.conf; default: the system's)\n"
		"  --no-sign-verify   do not check signatures of this remote (testing only)\n"
		"  --mirror URL       another copy of the repository; objects and images come\n"
		"                     from the mirrors first, in order (repeatable, at most 16)\n"
		"  --tls-ca FILE      PEM file of the CAs trusted for https (default: the system's)\n"
		"  --tls-client-cert FILE, --tls-client-key FILE\n"
		"                     a client certificate and its key for https\n"
		"  --proxy URL        a proxy for every request\n"
		"  -h, --help         show this help\n");
}

static int remote_add(int argc, char **argv)
{
	enum { OPT_KEYS_DIR = 0x100, OPT_NO_SIGN_VERIFY, OPT_MIRROR, OPT_TLS_CA, OPT_TLS_CERT, OPT_TLS_KEY, OPT_PROXY };
	static const struct option options[] = {
		{ "keys-dir", required_argument, NULL, OPT_KEYS_DIR },
		{ "mirror", required_argument, NULL, OPT_MIRROR },
		{ "tls-ca", required_argument, NULL, OPT_TLS_CA },
		{ "tls-client-cert", required_argument, NULL, OPT_TLS_CERT },
		{ "tls-client-key", required_argument, NULL, OPT_TLS_KEY },
		{ "proxy", required_argument, NULL, OPT_PROXY },
		{ "no-sign-verify", no_argument, NULL, OPT_NO_SIGN_VERIFY },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct st_remote rem = { .sign_verify = true };
	char *mirrors[ST_REMOTE_MIRRORS_MAX];
	struct st_repo *repo;
	int c, r;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (c) {
		case OPT_KEYS_DIR:
			rem.keys_dir = optarg;
			break;
		case OPT_NO_SIGN_VERIFY:
			rem.sign_verify = false;
			break;
		case OPT_MIRROR:
			if (rem.n_mirrors >= ST_REMOTE_MIRRORS_MAX) {
				log_error("remote add: at most %d mirrors", ST_REMOTE_MIRRORS_MAX);
				return 2;
			}
			mirrors[rem.n_mirrors++] = optarg;
			rem.mirrors = mirrors;
			break;
		case OPT_TLS_CA:
			rem.tls_ca = optarg;
			break;
		case OPT_TLS_CERT:
			rem.tls_client_cert = optarg;
			break;
		case OPT_TLS_KEY:
			rem.tls_client_key = optarg;
			break;
		case OPT_PROXY:
			rem.proxy = optarg;
			break;
		case 'h':
			remote_help(stdout);
			return 0;
		default:
			remote_help(stderr);
			return 2;
		}
	}
	if (argc - optind != 2) {
		log_error("remote add: expected NAME and URL");
		return 2;
	}
	rem.name = argv[optind];
	rem.url = argv[optind + 1];
	repo = open_repo_or_fail(REPO_LOCK_SHARED);
	if (!repo)
		return 1;
	r = st_remote_add(repo, &rem);
	st_repo_free(repo);
	if (r < 0)
		return log_error_errno(r, "remote add"), 1;
	return 0;
}

static int remote_list(int argc, char **argv)
{
	struct st_remote **list = NULL;
	struct st_repo *repo;
	size_t n = 0;
	int r;

	(void)argv;
	if (argc != 1) {
		log_error("remote list: unexpected argument");
		return 2;
	}
	repo = open_repo_or_fail(REPO_LOCK_SHARED);
	if (!repo)
		return 1;
	r = st_remote_list(repo, &list, &n);
	st_repo_free(repo);
	if (r < 0)
		return log_error_errno(r, "remote list"), 1;
	for (size_t i = 0; i < n; i++)
		printf("%s\t%s%s\n", list[i]->name, list[i]->url, list[i]->sign_verify ? "" : "\t(signatures not checked)");
	st_remote_list_free(list, n);
	return 0;
}

static int remote_delete(int argc, char **argv)
{
	struct st_repo *repo;
	int r;

	if (argc != 2) {
		log_error("remote delete: expected NAME");
		return 2;
	}
	repo = open_repo_or_fail(REPO_LOCK_SHARED);
	if (!repo)
		return 1;
	r = st_remote_delete(repo, argv[1]);
	st_repo_free(repo);
	if (r < 0)
		return log_error_errno(r, "remote delete"), 1;
	return 0;
}

int cmd_remote(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		remote_help(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "add") == 0)
		return remote_add(argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return remote_list(argc - 1, argv + 1);
	if (strcmp(argv[1], "delete") == 0)
		return remote_delete(argc - 1, argv + 1);
	log_error("remote: unknown verb '%s'", argv[1]);
	return 2;
}
