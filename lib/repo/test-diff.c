/* SPDX-License-Identifier: MIT */
/* Unit tests for st_tree_diff(): trees from dumpfiles, differences as text. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/test.h"
#include "sealtree/dump.h"
#include "sealtree/repo-read.h"
#include "sealtree/verity.h"
#include "basic/hex.h"

#define ROOT "/ 4096 40755 2 0 0 0 0.0 - - -\n"
#define D1 "35d02f81325122d77ec1d11baba655bc9bf8a891ab26119a41c50fa03ddfb408"
#define D1P "35/d02f81325122d77ec1d11baba655bc9bf8a891ab26119a41c50fa03ddfb408"
#define D2 "1111111111111111111111111111111111111111111111111111111111111111"
#define D2P "11/11111111111111111111111111111111111111111111111111111111111111"

struct out {
	char *buf;
	size_t len;
	FILE *f;
	int stop_after;         /* return -ECANCELED after that many entries (0: never) */
	int seen;
};

static int collect(void *userdata, const struct st_diff_entry *e)
{
	struct out *o = userdata;
	static const struct { unsigned bit; const char *name; } names[] = {
		{ ST_DIFF_CONTENT, "content" }, { ST_DIFF_MODE, "mode" }, { ST_DIFF_OWNER, "owner" },
		{ ST_DIFF_MTIME, "mtime" },     { ST_DIFF_XATTRS, "xattrs" }, { ST_DIFF_TARGET, "target" },
		{ ST_DIFF_RDEV, "rdev" },
	};

	fprintf(o->f, "%c %s", (char)e->status, e->path);
	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		if (e->changes & names[i].bit)
			fprintf(o->f, " %s", names[i].name);
	fputc('\n', o->f);
	if (e->status == ST_DIFF_ADDED && (e->old_node || !e->new_node))
		fprintf(o->f, "BAD nodes for A\n");
	if (e->status == ST_DIFF_REMOVED && (!e->old_node || e->new_node))
		fprintf(o->f, "BAD nodes for D\n");
	if (++o->seen == o->stop_after)
		return -ECANCELED;
	return 0;
}

/* Diff the trees of two dumpfiles with flags; compare the listing with expect. */
static void check_diff(const char *a, const char *b, unsigned flags, const char *expect)
{
	struct st_node *ra = NULL, *rb = NULL;
	struct out o = {};
	int r;

	ASSERT_OK(st_dump_parse_buffer(a, strlen(a), 0, &ra));
	ASSERT_OK(st_dump_parse_buffer(b, strlen(b), 0, &rb));
	o.f = open_memstream(&o.buf, &o.len);
	ASSERT_TRUE(o.f);
	r = st_tree_diff(ra, rb, flags, collect, &o);
	fclose(o.f);
	st_node_free(ra);
	st_node_free(rb);
	if (r < 0) {
		free(o.buf);
		TEST_FAIL_("st_tree_diff: %d", r);
	}
	if (strcmp(o.buf, expect) != 0) {
		fprintf(stderr, "got:\n%s\nexpected:\n%s\n", o.buf, expect);
		free(o.buf);
		TEST_FAIL_("%s", "diff output differs");
	}
	free(o.buf);
}

#define BASE \
	ROOT \
	"/bin 4096 40755 2 0 0 0 10.0 - - -\n" \
	"/bin/sh 100 100755 1 0 0 0 10.0 " D1P " - " D1 "\n" \
	"/etc 4096 40755 2 0 0 0 10.0 - - -\n" \
	"/etc/conf 3 100644 1 0 0 0 10.0 - abc - user.a=1\n" \
	"/etc/dev 0 20644 1 0 0 259 10.0 - - -\n" \
	"/etc/link 4 120777 1 0 0 0 10.0 conf - -\n" \
	"/etc/x 0 100644 1 0 0 0 10.0 - - -\n" \
	"/etc/y 0 40755 1 0 0 0 10.0 - - -\n" \
	"/etc/y/inner 1 100644 1 0 0 0 10.0 - q -\n" \
	"/old 4096 40755 2 0 0 0 10.0 - - -\n" \
	"/old/a 0 100644 1 0 0 0 10.0 - - -\n"

TEST(identical)
{
	check_diff(BASE, BASE, 0, "");
}

TEST(every_kind_of_change)
{
	const char *b =
		ROOT
		"/bin 4096 40755 2 0 0 0 10.0 - - -\n"
		"/bin/sh 100 100755 1 0 0 0 10.0 " D2P " - " D2 "\n"      /* content */
		"/etc 4096 40700 2 0 0 0 10.0 - - -\n"                     /* chmod dir */
		"/etc/conf 3 100644 1 5 6 0 10.0 - abc - user.a=2\n"       /* chown + xattr */
		"/etc/dev 0 20644 1 0 0 260 10.0 - - -\n"                  /* rdev */
		"/etc/link 5 120777 1 0 0 0 10.0 other - -\n"              /* retarget */
		"/etc/new 1 100644 1 0 0 0 10.0 - n -\n"                   /* added */
		"/etc/x 4096 40755 2 0 0 0 10.0 - - -\n"                   /* file -> dir */
		"/etc/x/child 0 100644 1 0 0 0 10.0 - - -\n"
		"/etc/y 0 100644 1 0 0 0 11.5 - - -\n"                     /* dir -> file */
		"/z 0 100644 1 0 0 0 10.0 - - -\n";                        /* added; /old removed */

	check_diff(BASE, b, 0,
		   "M /bin/sh content\n"
		   "P /etc mode\n"
		   "P /etc/conf owner xattrs\n"
		   "P /etc/dev rdev\n"
		   "P /etc/link target\n"
		   "A /etc/new\n"
		   "T /etc/x\n"
		   "A /etc/x/child\n"
		   "T /etc/y\n"
		   "D /etc/y/inner\n"
		   "D /old\n"
		   "D /old/a\n"
		   "A /z\n");
	/* The reverse walk reports the mirror image. */
	check_diff(b, BASE, 0,
		   "M /bin/sh content\n"
		   "P /etc mode\n"
		   "P /etc/conf owner xattrs\n"
		   "P /etc/dev rdev\n"
		   "P /etc/link target\n"
		   "D /etc/new\n"
		   "T /etc/x\n"
		   "D /etc/x/child\n"
		   "T /etc/y\n"
		   "A /etc/y/inner\n"
		   "A /old\n"
		   "A /old/a\n"
		   "D /z\n");
	check_diff(BASE, b, ST_DIFF_NO_RECURSE,
		   "M /bin/sh content\n"
		   "P /etc mode\n"
		   "P /etc/conf owner xattrs\n"
		   "P /etc/dev rdev\n"
		   "P /etc/link target\n"
		   "A /etc/new\n"
		   "T /etc/x\n"
		   "T /etc/y\n"
		   "D /old\n"
		   "A /z\n");
}

TEST(metadata_details)
{
	check_diff(ROOT "/f 3 100644 1 0 0 0 1.0 - abc - user.a=1 user.b=2\n",
		   ROOT "/f 3 104644 1 0 0 0 1.5 - abc - user.b=2 user.a=1\n", 0, "P /f mode mtime\n");
	check_diff(ROOT "/f 3 100644 1 0 0 0 1.0 - abc -\n", ROOT "/f 3 100644 1 0 0 0 2.0 - abd -\n", 0,
		   "M /f content mtime\n");
	check_diff(ROOT "/f 3 100644 1 0 0 0 1.0 - abc -\n", ROOT "/f 3 100644 1 0 0 0 2.0 - abc -\n",
		   ST_DIFF_IGNORE_MTIME, "");
	check_diff(ROOT "/f 3 100644 1 0 0 0 1.0 - abc -\n", ROOT "/f 4 100644 1 0 0 0 1.0 - abcd -\n", 0,
		   "M /f content\n");
	/* gid alone is an owner change; an xattr removed is an xattr change. */
	check_diff(ROOT "/f 0 100644 1 0 0 0 1.0 - - - user.a=1\n", ROOT "/f 0 100644 1 0 9 0 1.0 - - -\n", 0,
		   "P /f owner xattrs\n");
	/* The root's own metadata counts too. */
	check_diff(ROOT, "/ 4096 40755 2 0 0 0 7.0 - - -\n", 0, "P / mtime\n");
	/* fifo -> socket is a type change. */
	check_diff(ROOT "/p 0 10644 1 0 0 0 0.0 - - -\n", ROOT "/p 0 140644 1 0 0 0 0.0 - - -\n", 0, "T /p\n");
}

TEST(inline_against_object)
{
	uint8_t d[ST_DIGEST_SIZE];
	char hex[2 * ST_DIGEST_SIZE + 1], a[512], b[512];

	ASSERT_OK(st_verity_digest_buffer("hello", 5, d));
	st_hex_encode(d, sizeof(d), hex);
	(void)snprintf(a, sizeof(a), ROOT "/f 5 100644 1 0 0 0 0.0 - hello -\n");
	(void)snprintf(b, sizeof(b), ROOT "/f 5 100644 1 0 0 0 0.0 %.2s/%s - %s\n", hex, hex + 2, hex);
	check_diff(a, b, 0, "");
	check_diff(b, a, 0, "");
	(void)snprintf(a, sizeof(a), ROOT "/f 5 100644 1 0 0 0 0.0 - hellO -\n");
	check_diff(a, b, 0, "M /f content\n");
}

TEST(hardlinks_compare_resolved)
{
	const char *a = ROOT "/a 3 100644 2 0 0 0 0.0 - abc -\n"
			     "/b 3 100644 2 0 0 0 0.0 - abc -\n";
	const char *b = ROOT "/a 3 100644 2 0 0 0 0.0 - abc -\n"
			     "/b 0 @100644 2 0 0 0 0.0 /a - -\n";
	const char *c = ROOT "/a 3 100644 2 0 0 0 0.0 - abc -\n"
			     "/b 0 @100644 2 0 0 0 0.0 /a - -\n"
			     "/c 0 @100644 2 0 0 0 0.0 /a - -\n";
	const char *d = ROOT "/a 3 100755 2 0 0 0 0.0 - abc -\n"
			     "/b 0 @100644 2 0 0 0 0.0 /a - -\n";

	check_diff(a, b, 0, "");
	check_diff(b, a, 0, "");
	check_diff(b, c, 0, "A /c\n");
	/* A chmod of the inode shows on every name of it. */
	check_diff(b, d, 0, "P /a mode\nP /b mode\n");
}

TEST(callback_error_stops)
{
	struct st_node *ra = NULL, *rb = NULL;
	const char *b = ROOT "/a 0 100644 1 0 0 0 0.0 - - -\n/b 0 100644 1 0 0 0 0.0 - - -\n";
	struct out o = { .stop_after = 1 };

	ASSERT_OK(st_dump_parse_buffer(ROOT, strlen(ROOT), 0, &ra));
	ASSERT_OK(st_dump_parse_buffer(b, strlen(b), 0, &rb));
	o.f = open_memstream(&o.buf, &o.len);
	ASSERT_ERR(st_tree_diff(ra, rb, 0, collect, &o), -ECANCELED);
	fclose(o.f);
	ASSERT_STREQ(o.buf, "A /a\n");
	ASSERT_ERR(st_tree_diff(ra, rb, 1u << 20, collect, &o), -EINVAL);
	free(o.buf);
	st_node_free(ra);
	st_node_free(rb);
}

TEST(deep_paths)
{
	/* Paths longer than the initial buffer grow it. */
	char *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0;
	FILE *fa = open_memstream(&a, &alen), *fb = open_memstream(&b, &blen);
	char path[4096] = "";
	size_t plen = 0;

	fputs(ROOT, fa);
	fputs(ROOT, fb);
	for (int i = 0; i < 20; i++) {
		plen += (size_t)snprintf(path + plen, sizeof(path) - plen, "/%040d", i);
		fprintf(fa, "%s 0 40755 1 0 0 0 0.0 - - -\n", path);
		fprintf(fb, "%s 0 40755 1 0 0 0 0.0 - - -\n", path);
	}
	fprintf(fb, "%s/leaf 0 100644 1 0 0 0 0.0 - - -\n", path);
	fclose(fa);
	fclose(fb);
	{
		char expect[4200];
		(void)snprintf(expect, sizeof(expect), "A %s/leaf\n", path);
		check_diff(a, b, 0, expect);
	}
	free(a);
	free(b);
}

/* Diff a against b; the listing with A<->D swapped, as text. */
static char *listing(struct st_node *a, struct st_node *b, bool mirror)
{
	struct out o = {};

	o.f = open_memstream(&o.buf, &o.len);
	if (!o.f)
		return NULL;
	if (st_tree_diff(a, b, 0, collect, &o) < 0) {
		fclose(o.f);
		free(o.buf);
		return NULL;
	}
	fclose(o.f);
	for (char *l = o.buf; mirror && *l; l = strchr(l, '\n') + 1)
		if (*l == 'A' || *l == 'D')
			*l = *l == 'A' ? 'D' : 'A';
	return o.buf;
}

TEST(reference_assets_mirror)
{
	/* Every pair of the reference's dumpfiles: b vs a is a vs b mirrored; a vs a is empty. */
	const char *assets = getenv("ASSETS_DIR");
	char dir[1024], path[1200];
	struct st_node *trees[32] = {};
	size_t n = 0;
	DIR *d;
	struct dirent *de;

	if (!assets)
		TEST_SKIP("ASSETS_DIR not set");
	(void)snprintf(dir, sizeof(dir), "%s/composefs", assets);
	d = opendir(dir);
	if (!d)
		TEST_FAIL_("no assets in %s", dir);
	while ((de = readdir(d)) && n < ELEMENTSOF(trees)) {
		size_t l = strlen(de->d_name);
		FILE *f;
		char *buf = NULL;
		size_t len = 0, cap = 0;

		if (l < 6 || strcmp(de->d_name + l - 5, ".dump") != 0)
			continue;
		(void)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (getdelim(&buf, &cap, '\0', f) > 0)
			len = strlen(buf);
		fclose(f);
		if (len && st_dump_parse_buffer(buf, len, 0, &trees[n]) >= 0)
			n++;
		free(buf);
	}
	closedir(d);
	ASSERT_TRUE(n >= 2);
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++) {
			char *ab = listing(trees[i], trees[j], false), *ba = listing(trees[j], trees[i], true);

			ASSERT_TRUE(ab && ba);
			if (i == j)
				ASSERT_STREQ(ab, "");
			/* T lines and the order of A/D below a type change differ; compare the sorted sets. */
			{
				char *x = ab, *y = ba;
				size_t nx = 0, ny = 0;
				for (char *l = x; *l; l = strchr(l, '\n') + 1)
					nx++;
				for (char *l = y; *l; l = strchr(l, '\n') + 1)
					ny++;
				ASSERT_EQ(nx, ny);
				/* Each forward line, newline-delimited, appears in "\n" + reverse. */
				char *hay = NULL, *needle = NULL;
				ASSERT_TRUE(asprintf(&hay, "\n%s", y) >= 0);
				for (char *l = x; *l;) {
					char *e = strchr(l, '\n');
					bool found;

					ASSERT_TRUE(asprintf(&needle, "\n%.*s\n", (int)(e - l), l) >= 0);
					found = strstr(hay, needle) != NULL;
					free(needle);
					if (!found) {
						free(hay);
						TEST_FAIL_("line '%.*s' of the forward diff is not in the mirrored reverse one",
							   (int)(e - l), l);
					}
					l = e + 1;
				}
				free(hay);
			}
			free(ab);
			free(ba);
		}
	for (size_t i = 0; i < n; i++)
		st_node_free(trees[i]);
}

TEST_MAIN()
