/* SPDX-License-Identifier: MIT */
/* sealtree pack [--from COMMIT] [--level N] COMMIT: see docs/man/sealtree-pack.1.md. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "sealtree.h"
#include "sealtree/hex.h"
#include "sealtree/remote.h"

static void pack_help(FILE *f)
{
	fprintf(f,
		"usage: sealtree pack [--from COMMIT] [--level N] [--recompress] COMMIT\n"
		"\n"
		"Write REPO/packs/<sha256>.pack and .index: the objects COMMIT has and\n"
		"FROM lacks (all of COMMIT's without --from), each compressed with zstd on\n"
		"its own, so that a client pulls exactly the objects it misses by Range\n"
		"requests. `sealtree summary` lists the packs it finds. An object a pack\n"
		"of REPO/packs/ already holds gets a copy of its (checked) frame.\n"
		"\n"
		"  -f, --from COMMIT  only the objects this commit does not have\n"
		"  -l, --level N      zstd level 1..19 (default %d)\n"
		"  -r, --recompress   compress every object, copy no frame of another pack\n"
		"  -h, --help         show this help\n",
		ST_PACK_LEVEL_DEFAULT);
}

int cmd_pack(int argc, char **argv)
{
	static const struct option options[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "level", required_argument, NULL, 'l' },
		{ "recompress", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct st_pack_info info;
	struct st_repo *repo;
	const char *from = NULL;
	uint8_t id[ST_COMMIT_ID_SIZE], from_id[ST_COMMIT_ID_SIZE];
	char hex[65];
	uint32_t level = 0;
	unsigned flags = 0;
	int c, r;

	while ((c = getopt_long(argc, argv, "f:l:rh", options, NULL)) >= 0) {
		switch (c) {
		case 'f':
			from = optarg;
			break;
		case 'l':
			if (parse_option_u32("pack", "--level", optarg, 1, 19, NULL, &level) < 0)
				return 2;
			break;
		case 'r':
			flags |= ST_PACK_RECOMPRESS;
			break;
		case 'h':
			pack_help(stdout);
			return 0;
		default:
			pack_help(stderr);
			return 2;
		}
	}
	if (optind + 1 != argc) {
		pack_help(stderr);
		return 2;
	}
	repo = open_repo_resolved(REPO_LOCK_SHARED, argv[optind], id);
	if (!repo)
		return 1;
	if (from) {
		r = st_repo_resolve(repo, from, from_id);
		if (r < 0) {
			log_error_errno(r, "pack: cannot resolve '%s'", from);
			st_repo_free(repo);
			return 1;
		}
	}
	r = st_repo_write_pack(repo, id, from ? from_id : NULL, (int)level, flags, &info);
	st_repo_free(repo);
	if (r < 0) {
		log_error_errno(r, "pack: cannot write the pack");
		return 1;
	}
	st_hex_encode(info.index_sha256, 32, hex);
	printf("packs/%s.pack: %" PRIu64 " objects, %" PRIu64 " bytes in %" PRIu64 " (index %" PRIu64 " bytes)\n", hex,
	       info.n_objects, info.bytes, info.pack_size, info.index_size);
	printf("frames copied from other packs: %" PRIu64 "\n", info.n_reused);
	return 0;
}
