/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the kernel log parser for verity errors (kmsg-verity.c), on
 * records in the form the 6.12 kernel writes to /dev/kmsg.
 */
#include <string.h>

#include "basic/test.h"
#include "deploy-internal.h"
#include "sealtree/error.h"

#define OBJ "0c9d5bd6c3b0e1e0a9e55b3e1d7a4d1f0b2e5c8a7f6e5d4c3b2a19080706"

static int parse(const char *rec, struct st_verity_error *e, uint64_t *sup)
{
	int r = st_kmsg_parse_verity(rec, strlen(rec), e, sup);

	st_error_clear();
	return r;
}

TEST(fsverity_corrupted)
{
	static const char rec[] =
		"3,1745,83190433,-;fs-verity (vda2, inode 131523): FILE CORRUPTED! pos=4096, level=-1, "
		"want_hash=sha256:5f1c9e0c8d4b1a2e3f405162738495a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c, "
		"real_hash=sha256:9a8b7c6d5e4f30211203f4e5d6c7b8a99a8b7c6d5e4f30211203f4e5d6c7b8a9";
	struct st_verity_error e;

	ASSERT_EQ(parse(rec, &e, NULL), 1);
	ASSERT_EQ(e.kind, ST_VERITY_ERROR_CORRUPTED);
	ASSERT_STREQ(e.device, "vda2");
	ASSERT_EQ(e.inode, (uint64_t)131523);
	ASSERT_EQ(e.seq, (uint64_t)1745);
	ASSERT_EQ(e.usec, (uint64_t)83190433);
	ASSERT_STREQ(e.name, "");
	ASSERT_TRUE(strncmp(e.text, "fs-verity (vda2, inode 131523): FILE CORRUPTED! pos=4096", 56) == 0);
	ASSERT_TRUE(!e.mapped && e.n_paths == 0);
	ASSERT_STREQ(st_verity_error_kind_to_string(e.kind), "corrupted");
}

/*
 * Verbatim from the booted test (tests/qemu/boot-check.sh, phase 4) on
 * Debian's 6.12.95+deb12-cloud-amd64: a byte flipped on the disk under an
 * object, then an object replaced by another file with fs-verity. The
 * texts are dmesg's; the "PRI,SEQ,USEC,-;" heads are /dev/kmsg's form of
 * their levels (KERN_ERR, KERN_WARNING) and times.
 */
TEST(real_samples_6_12)
{
	static const char corrupted[] =
		"3,1893,287717104,-;fs-verity (vda2, inode 6253): FILE CORRUPTED! pos=4096, level=-1, "
		"want_hash=sha256:96c8fe7bfadd7e2491425ea3d813fc6b8b842fad843a73bacba24c7adc2e3949, "
		"real_hash=sha256:3234e97ac59a5dfde5656d4a06e9b5bff36877b77b1d066cd2063ee7fe632484";
	static const char wrong[] =
		"4,1897,288360292,-;overlayfs: lower file '3ad907f0f5d8462e9a6dd09cd23df596ad6b04fa37d853bf0f67a665240ee2' "
		"has the wrong fs-verity digest";
	struct st_verity_error e;

	ASSERT_EQ(parse(corrupted, &e, NULL), 1);
	ASSERT_EQ(e.kind, ST_VERITY_ERROR_CORRUPTED);
	ASSERT_STREQ(e.device, "vda2");
	ASSERT_EQ(e.inode, (uint64_t)6253);
	ASSERT_EQ(e.usec, (uint64_t)287717104);
	ASSERT_EQ(parse(wrong, &e, NULL), 1);
	ASSERT_EQ(e.kind, ST_VERITY_ERROR_WRONG_DIGEST);
	ASSERT_STREQ(e.name, "3ad907f0f5d8462e9a6dd09cd23df596ad6b04fa37d853bf0f67a665240ee2");
	ASSERT_EQ(e.seq, (uint64_t)1897);
}

TEST(fsverity_other_and_levels)
{
	struct st_verity_error e;

	ASSERT_EQ(parse("3,9,10,-;fs-verity (loop0, inode 12): Error -5 reading Merkle tree block 3", &e, NULL), 1);
	ASSERT_EQ(e.kind, ST_VERITY_ERROR_FSVERITY);
	ASSERT_STREQ(e.device, "loop0");
	/* A facility above kernel (LOG_USER << 3 | 3) is still its level 3. */
	ASSERT_EQ(parse("11,9,10,-;fs-verity (vda2, inode 12): FILE CORRUPTED! pos=0", &e, NULL), 1);
	/* Warnings (about enabling) and info are not verity failures. */
	ASSERT_EQ(parse("4,9,10,-;fs-verity (vda2, inode 12): FILE CORRUPTED! pos=0", &e, NULL), 0);
	ASSERT_EQ(parse("6,9,10,-;fs-verity: sha256 using implementation \"sha256-ni\"", &e, NULL), 0);
	/* Malformed heads are other records, never half-parsed errors. */
	ASSERT_EQ(parse("3,9,10,-;fs-verity (vda2, inode 0): FILE CORRUPTED!", &e, NULL), 0);
	ASSERT_EQ(parse("3,9,10,-;fs-verity (vda2, inode x): FILE CORRUPTED!", &e, NULL), 0);
	ASSERT_EQ(parse("3,9,10,-;fs-verity (, inode 5): FILE CORRUPTED!", &e, NULL), 0);
	ASSERT_EQ(parse("3,9,10,-;fs-verity (a b, inode 5): FILE CORRUPTED!", &e, NULL), 0);
	ASSERT_EQ(parse("3,9,10,-;fs-verity (vda2, inode 5) FILE CORRUPTED!", &e, NULL), 0);
	ASSERT_EQ(parse("3,9,10,-;fs-verity (vda2, inode 99999999999999999999): x", &e, NULL), 0);
	ASSERT_EQ(parse("3,9,10,-;fs-verity (vda2", &e, NULL), 0);
}

TEST(overlayfs_messages)
{
	struct st_verity_error e;

	ASSERT_EQ(parse("4,1801,90011022,-;overlayfs: lower file '" OBJ "' has the wrong fs-verity digest", &e, NULL), 1);
	ASSERT_EQ(e.kind, ST_VERITY_ERROR_WRONG_DIGEST);
	ASSERT_STREQ(e.name, OBJ);
	ASSERT_STREQ(e.device, "");
	ASSERT_EQ(e.inode, (uint64_t)0);
	ASSERT_EQ(parse("4,2,3,-;overlayfs: lower file '" OBJ "' has no fs-verity digest", &e, NULL), 1);
	ASSERT_EQ(e.kind, ST_VERITY_ERROR_NO_DIGEST);
	ASSERT_EQ(parse("4,2,3,-;overlayfs: lower file '" OBJ "' failed to load fs-verity info", &e, NULL), 1);
	ASSERT_EQ(e.kind, ST_VERITY_ERROR_NO_DIGEST);
	ASSERT_EQ(parse("4,2,3,-;overlayfs: metacopy file 'libc.so.6' has no digest specified", &e, NULL), 1);
	ASSERT_EQ(e.kind, ST_VERITY_ERROR_IMAGE_NO_DIGEST);
	ASSERT_STREQ(e.name, "libc.so.6");
	/* kmsg escapes: the name is unescaped; a name cannot hold '/' or NUL. */
	ASSERT_EQ(parse("4,2,3,-;overlayfs: metacopy file 'a\\x0ab\\x5c' has no digest specified", &e, NULL), 1);
	ASSERT_STREQ(e.name, "a\nb\\");
	ASSERT_EQ(parse("4,2,3,-;overlayfs: metacopy file 'a\\x2fb' has no digest specified", &e, NULL), 0);
	ASSERT_EQ(parse("4,2,3,-;overlayfs: metacopy file 'a\\x00b' has no digest specified", &e, NULL), 0);
	ASSERT_EQ(parse("4,2,3,-;overlayfs: metacopy file 'a\\x4' has no digest specified", &e, NULL), 0);
	ASSERT_EQ(parse("4,2,3,-;overlayfs: lower file '' has no fs-verity digest", &e, NULL), 0);
	/* The tail must end the text: a name that imitates it is kept whole. */
	ASSERT_EQ(parse("4,2,3,-;overlayfs: lower file 'x' has no fs-verity digest' has no fs-verity digest", &e, NULL), 1);
	ASSERT_STREQ(e.name, "x' has no fs-verity digest");
	ASSERT_EQ(parse("4,2,3,-;overlayfs: lower file 'x' has no fs-verity digest, really", &e, NULL), 0);
	ASSERT_EQ(parse("4,2,3,-;overlayfs: failed to resolve 'x': -2", &e, NULL), 0);
	/* Dictionary lines after the text are not part of it. */
	ASSERT_EQ(parse("4,2,3,-;overlayfs: lower file 'ab' has no fs-verity digest\n SUBSYSTEM=block\n DEVICE=b254:2", &e, NULL), 1);
	ASSERT_STREQ(e.name, "ab");
}

TEST(suppressed_and_others)
{
	struct st_verity_error e;
	uint64_t sup = 0, seq = 0;

	ASSERT_EQ(parse("4,77,5000,-;fsverity_msg: 15 callbacks suppressed", &e, &sup), 2);
	ASSERT_EQ(sup, (uint64_t)15);
	ASSERT_EQ(parse("4,77,5000,-;ovl_validate_verity: 3 callbacks suppressed", &e, &sup), 2);
	ASSERT_EQ(sup, (uint64_t)3);
	ASSERT_EQ(parse("4,77,5000,-;ext4_readdir: 3 callbacks suppressed", &e, &sup), 0);
	ASSERT_EQ(parse("6,5,100,-,caller=T1;EXT4-fs (vda2): mounted filesystem", &e, &sup), 0);
	ASSERT_EQ(parse("6,5,100,c;", &e, &sup), 0);
	/* Not records at all. */
	ASSERT_EQ(parse("", &e, &sup), -EUCLEAN);
	ASSERT_EQ(parse("garbage", &e, &sup), -EUCLEAN);
	ASSERT_EQ(parse("6,5;x", &e, &sup), -EUCLEAN);
	ASSERT_EQ(parse("6,5,x,-;x", &e, &sup), -EUCLEAN);
	ASSERT_EQ(parse("6,5,7;x", &e, &sup), -EUCLEAN);
	ASSERT_EQ(parse("-6,5,7,-;x", &e, &sup), -EUCLEAN);
	ASSERT_EQ(parse("6,5,99999999999999999999,-;x", &e, &sup), -EUCLEAN);
	ASSERT_EQ(st_kmsg_parse_verity("6,5,7,-;a\0b", 11, &e, &sup), -EUCLEAN);
	ASSERT_EQ(kmsg_record_seq("6,5,7,-;x", 9, &seq), 0);
	ASSERT_EQ(seq, (uint64_t)5);
	ASSERT_EQ(kmsg_record_seq("x", 1, &seq), -EUCLEAN);
	ASSERT_TRUE(st_verity_error_kind_to_string(ST_VERITY_ERROR_KIND_MAX) == NULL);
	st_error_clear();
}

TEST(long_text_is_cut)
{
	char rec[2048];
	struct st_verity_error e;
	int n = snprintf(rec, sizeof(rec), "3,1,2,-;fs-verity (vda2, inode 5): FILE CORRUPTED! ");

	memset(rec + n, 'z', sizeof(rec) - (size_t)n - 1);
	rec[sizeof(rec) - 1] = '\0';
	ASSERT_EQ(parse(rec, &e, NULL), 1);
	ASSERT_EQ(strlen(e.text), sizeof(e.text) - 1);
}

TEST_MAIN()
