/* SPDX-License-Identifier: MIT */
/* prepare-root's parsers: the policy file, the command line, booted.json. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "basic/test.h"
#include "basic/test-util.h"
#include "sealtree/boot.h"

#define HEX_A "abababababababababababababababababababababababababababababababab"
#define HEX_B "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f"

static int parse_conf(const char *s, struct st_prepare_config **ret)
{
	return st_prepare_config_parse(s, strlen(s), ret);
}

TEST(config_defaults_and_full)
{
	struct st_prepare_config *c = NULL;

	ASSERT_OK(parse_conf("", &c));
	ASSERT_EQ(c->mode, ST_COMPOSEFS_YES);
	ASSERT_TRUE(c->sysroot_readonly);
	ASSERT_TRUE(!c->has_floor && !c->keys_dir);
	c = st_prepare_config_free(c);

	ASSERT_OK(parse_conf("# policy\n[composefs]\n  enabled = signed \nkeys=/etc/sealtree/keys\n"
			     "[rollback]\nfloor-timestamp = 1700000000\nfloor-version = 2.1\n"
			     "[etc]\ntransient = true\n[root]\ntransient-ro = yes\n[sysroot]\nreadonly = false\n",
			     &c));
	ASSERT_EQ(c->mode, ST_COMPOSEFS_SIGNED);
	ASSERT_TRUE(!strcmp(c->keys_dir, "/etc/sealtree/keys"));
	ASSERT_TRUE(c->has_floor);
	ASSERT_EQ(c->floor_timestamp, 1700000000);
	ASSERT_TRUE(!strcmp(c->floor_version, "2.1"));
	ASSERT_TRUE(c->etc_transient && c->root_transient_ro && !c->root_transient && !c->sysroot_readonly);
	st_prepare_config_free(c);
}

TEST(config_refusals)
{
	static const char *const bad[] = {
		"[composefs]\nenabled = sigend\n",                      /* a typo must not weaken the policy */
		"[composefs]\nenable = signed\n",                       /* unknown key */
		"enabled = yes\n",                                      /* no section */
		"[composefs]\nenabled = signed\n",                      /* signed without keys */
		"[composefs]\nkeys = etc/keys\n",                       /* relative */
		"[composefs]\nenabled = yes\nenabled = maybe\n",        /* twice */
		"[rollback]\nfloor-timestamp = 01\n",                   /* not canonical */
		"[rollback]\nfloor-timestamp = 1x\n",
		"[root]\ntransient = maybe\n",
		"[root]\ntransient = true\ntransient-ro = true\n",
		"[composefs\nenabled = yes\n",
		"[composefs]\nenabled yes\n",
	};
	struct st_prepare_config *c = NULL;
	char nul[] = "[composefs]\nenabled = yes\0\n";

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ASSERT_ERR(parse_conf(bad[i], &c), -EUCLEAN);
	ASSERT_ERR(st_prepare_config_parse(nul, sizeof(nul) - 1, &c), -EUCLEAN);
}

TEST(config_missing_file_is_defaults)
{
	struct st_prepare_config *c = NULL;
	char *path = test_join(test_tmpdir(), "none.conf");

	ASSERT_OK(st_prepare_config_load(path, &c));
	ASSERT_EQ(c->mode, ST_COMPOSEFS_YES);
	st_prepare_config_free(c);
	free(path);
}

TEST(cmdline_words)
{
	struct st_boot_cmdline c;

	ASSERT_OK(st_boot_cmdline_parse("BOOT_IMAGE=/x root=/dev/vda2 ro sealtree=debian/" HEX_A ".0 quiet", &c));
	ASSERT_TRUE(!strcmp(c.os, "debian") && !strcmp(c.id, HEX_A ".0"));
	ASSERT_TRUE(!c.has_digest && !c.has_mode);
	st_boot_cmdline_release(&c);

	ASSERT_OK(st_boot_cmdline_parse("\"x=a b\" sealtree.digest=" HEX_B " sealtree.composefs=verity", &c));
	ASSERT_TRUE(c.has_digest && c.digest[0] == 0x0f && !c.os);
	ASSERT_TRUE(c.has_mode && c.mode == ST_COMPOSEFS_VERITY && !c.mode_weaker);
	st_boot_cmdline_release(&c);

	/* Asking for less is parsed (and recorded), never obeyed: the caller ignores it. */
	ASSERT_OK(st_boot_cmdline_parse("sealtree.composefs=0", &c));
	ASSERT_TRUE(c.has_mode && c.mode_weaker);
	st_boot_cmdline_release(&c);

	/* A quoted sealtree word is one word. */
	ASSERT_OK(st_boot_cmdline_parse("\"sealtree=debian/" HEX_A ".12\"", &c));
	ASSERT_TRUE(!strcmp(c.id, HEX_A ".12"));
	st_boot_cmdline_release(&c);

	/* The same word twice with the same value is fine. */
	ASSERT_OK(st_boot_cmdline_parse("sealtree.digest=" HEX_A " sealtree=os/" HEX_A ".1 sealtree.digest=" HEX_A,
					&c));
	st_boot_cmdline_release(&c);
}

TEST(cmdline_refusals)
{
	static const char *const bad[] = {
		"sealtree=debian",
		"sealtree=../x/" HEX_A ".0",
		"sealtree=de bian/" HEX_A ".0",
		"sealtree=debian/" HEX_A,
		"sealtree=debian/" HEX_A ".01",
		"sealtree=debian/" HEX_A ".10000",
		"sealtree=debian/" HEX_A ".+1",
		"sealtree=debian/" HEX_A ". 1",
		"sealtree=/" HEX_A ".0",
		"sealtree=-debian/" HEX_A ".0",
		"sealtree=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/" HEX_A ".0",  /* 65 */
		"sealtree=debian/ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB.0",
		"sealtree.digest=" HEX_A "0",
		"sealtree.digest=xyz",
		"sealtree.composefs=sigend",
		"sealtree.digest=" HEX_A " sealtree.digest=" HEX_B,
		"sealtree=a/" HEX_A ".0 sealtree=b/" HEX_A ".0",
		"sealtree.composefs=signed sealtree.composefs=0",
		"sealtree.digest=" HEX_B " sealtree=os/" HEX_A ".0",     /* the UKI's commit is not the entry's */
		"sealtree.unknown=1",
	};
	struct st_boot_cmdline c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ASSERT_ERR(st_boot_cmdline_parse(bad[i], &c), -EUCLEAN);
}

TEST(booted_json_escapes)
{
	struct st_prepare_result r = {};
	char *json = NULL;

	r.ok = true;
	r.mode = ST_COMPOSEFS_SIGNED;
	strcpy(r.os, "debian");
	strcpy(r.id, HEX_A ".0");
	r.has_commit = true;
	strcpy(r.notes, "a \"quote\"\nand\x1b[31m \xff \xc3\xa9");
	ASSERT_OK(st_prepare_result_to_json(&r, &json));
	ASSERT_TRUE(strstr(json, "\"root\": \"composefs\""));
	ASSERT_TRUE(strstr(json, "\"mode\": \"signed\""));
	/* Invalid UTF-8 becomes U+FFFD, valid UTF-8 stays: the file is valid JSON either way. */
	ASSERT_TRUE(strstr(json, "a \\\"quote\\\"\\nand\\u001b[31m \\ufffd \xc3\xa9"));
	ASSERT_TRUE(!strchr(json, '\x1b') && strchr(json, '\n') == json + strlen(json) - 1);
	free(json);
}

TEST_MAIN()
