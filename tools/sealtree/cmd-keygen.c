/* SPDX-License-Identifier: MIT */
/* sealtree keygen: see docs/man/sealtree-keygen.1.md. */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "sealtree/hex.h"
#include "sealtree.h"
#include "sealtree/trust.h"
#include "trust-report.h"

static void keygen_usage(FILE *f)
{
	fprintf(f,
		"usage: sealtree keygen [--type ed25519] [--format pem|ostree] [--force] -o KEY\n"
		"       sealtree keygen --from OLDKEY [--format pem|ostree] [--force] -o KEY\n"
		"\n"
		"Write a new signing key to KEY (mode 0600) and its public key to KEY.pub;\n"
		"print the key id. With --from, write an existing private key (PEM or\n"
		"ostree form) again in the given format instead.\n"
		"\n"
		"  -t, --type TYPE       key type: ed25519 (the only one)\n"
		"  -f, --format FORMAT   pem (default) or ostree (raw base64, as `ostree sign` uses)\n"
		"  -o, --output KEY      where to write the private key; the public key goes to KEY.pub\n"
		"      --from OLDKEY     convert this private key instead of generating one\n"
		"      --force           replace existing files\n"
		"  -h, --help            show this help\n");
}

int parse_key_format(const char *s, enum st_key_format *ret)
{
	if (strcmp(s, "pem") == 0)
		*ret = ST_KEY_FORMAT_PEM;
	else if (strcmp(s, "ostree") == 0 || strcmp(s, "raw") == 0)
		*ret = ST_KEY_FORMAT_OSTREE;
	else
		return -EINVAL;
	return 0;
}

int cmd_keygen(int argc, char **argv)
{
	enum { OPT_FROM = 0x100, OPT_FORCE };
	static const struct option options[] = {
		{ "type", required_argument, NULL, 't' },
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	enum st_key_format format = ST_KEY_FORMAT_PEM;
	const char *output = NULL, *from = NULL;
	_cleanup_free_ char *pub_path = NULL;
	struct st_key *key = NULL;
	char id[2 * ST_KEY_ID_SIZE + 1];
	bool force = false;
	struct stat st;
	int c, r;

	while ((c = getopt_long(argc, argv, "t:f:o:h", options, NULL)) >= 0) {
		switch (c) {
		case 't':
			if (strcmp(optarg, "ed25519") != 0) {
				log_error("keygen: unknown key type '%s' (only ed25519)", optarg);
				return 2;
			}
			break;
		case 'f':
			if (parse_key_format(optarg, &format) < 0) {
				log_error("keygen: unknown format '%s' (pem or ostree)", optarg);
				return 2;
			}
			break;
		case 'o':
			output = optarg;
			break;
		case OPT_FROM:
			from = optarg;
			break;
		case OPT_FORCE:
			force = true;
			break;
		case 'h':
			keygen_usage(stdout);
			return 0;
		default:
			keygen_usage(stderr);
			return 2;
		}
	}
	if (!output || optind != argc) {
		log_error("keygen: %s", output ? "unexpected argument" : "missing -o KEY");
		keygen_usage(stderr);
		return 2;
	}
	if (asprintf(&pub_path, "%s.pub", output) < 0)
		return log_error("out of memory"), 1;
	if (!force && (lstat(output, &st) == 0 || lstat(pub_path, &st) == 0)) {
		log_error("keygen: '%s' or '%s' exists (use --force to replace)", output, pub_path);
		return 1;
	}

	r = from ? st_key_load_private(AT_FDCWD, from, &key) : st_key_generate(&key);
	if (r < 0) {
		log_error_errno(r, from ? "keygen: cannot read the private key" : "keygen: cannot generate a key");
		return 1;
	}
	/* The private key first: a public key without its private half is useless. */
	r = st_key_write_private(key, format, AT_FDCWD, output);
	if (r >= 0)
		r = st_key_write_public(key, format, AT_FDCWD, pub_path);
	if (r < 0) {
		log_error_errno(r, "keygen: cannot write the key");
		st_key_free(key);
		return 1;
	}
	st_hex_encode(st_key_id(key), ST_KEY_ID_SIZE, id);
	printf("%s\n", id);
	st_key_free(key);
	return 0;
}
