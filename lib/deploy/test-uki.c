/* SPDX-License-Identifier: MIT */
/* Unit tests: the stub's PE headers (st_uki_stub_parse) and the section layout (st_uki_layout). */
#include <string.h>

#include "basic/test.h"
#include "format/pe-format.h"
#include "sealtree/uki.h"

#define OPT_SIZE (sizeof(struct pe_opt_header) + 16 * sizeof(struct pe_data_dir))

static uint8_t pe[4096];

/* A PE32+ EFI application: sections named names[] of 0x200 bytes at 0x1000, 0x2000, ... */
static size_t make_pe(const char *const *names, unsigned n, uint16_t machine)
{
	struct pe_coff_header coff = {};
	struct pe_opt_header opt = {};
	size_t table = 0x40 + sizeof(coff) + OPT_SIZE;

	memset(pe, 0, sizeof(pe));
	pe[0] = 'M', pe[1] = 'Z', pe[0x3c] = 0x40;
	coff.signature = le32_put(PE_SIGNATURE);
	coff.machine = le16_put(machine);
	coff.number_of_sections = le16_put((uint16_t)n);
	coff.size_of_optional_header = le16_put(OPT_SIZE);
	memcpy(pe + 0x40, &coff, sizeof(coff));
	opt.magic = le16_put(PE_OPT_MAGIC_PE32PLUS);
	opt.image_base = le64_put(0x10000000);
	opt.section_alignment = le32_put(0x1000);
	opt.file_alignment = le32_put(0x200);
	opt.size_of_image = le32_put(0x1000 * (n + 1));
	opt.subsystem = le16_put(PE_SUBSYSTEM_EFI_APPLICATION);
	opt.number_of_rva_and_sizes = le32_put(16);
	memcpy(pe + 0x40 + sizeof(coff), &opt, sizeof(opt));
	for (unsigned i = 0; i < n; i++) {
		struct pe_section s = {};

		memcpy(s.name, names[i], strnlen(names[i], 8));
		s.virtual_size = le32_put(0x180);
		s.virtual_address = le32_put(0x1000 * (i + 1));
		s.size_of_raw_data = le32_put(0x200);
		s.pointer_to_raw_data = le32_put(0x400 + 0x200 * i);
		memcpy(pe + table + i * sizeof(s), &s, sizeof(s));
	}
	return 0x400 + 0x200 * n;
}

TEST(stub_parse_and_layout)
{
	const char *names[] = { ".text", ".reloc", ".sbat" };
	const uint64_t sizes[ST_UKI_SECTIONS] = { 30, 4097, 10, 0x100000, 0x800000 };
	struct st_uki_stub s;
	uint64_t vma[ST_UKI_SECTIONS];
	size_t len = make_pe(names, 3, PE_MACHINE_X86_64);

	ASSERT_OK(st_uki_stub_parse(pe, len, &s));
	ASSERT_EQ(s.machine, PE_MACHINE_X86_64);
	ASSERT_EQ(s.image_base, 0x10000000);
	ASSERT_EQ(s.end, 0x3200);               /* raw size 0x200 > virtual size 0x180 */
	ASSERT_EQ(s.size_of_image, 0x4000);
	ASSERT_OK(st_uki_layout(&s, sizes, vma));
	ASSERT_EQ(vma[ST_UKI_OSREL], 0x10004000);
	ASSERT_EQ(vma[ST_UKI_CMDLINE], 0x10005000);
	ASSERT_EQ(vma[ST_UKI_UNAME], 0x10007000);   /* 4097 bytes take two pages */
	ASSERT_EQ(vma[ST_UKI_INITRD], 0x10008000);
	ASSERT_EQ(vma[ST_UKI_LINUX], 0x10108000);
	ASSERT_STREQ(st_uki_section_name(ST_UKI_LINUX), ".linux");
	ASSERT_TRUE(st_uki_section_name(ST_UKI_SECTIONS) == NULL);
}

TEST(stub_refused)
{
	const char *names[] = { ".text", ".linux" }, *eight[] = { ".cmdline" }, *one[] = { ".text" };
	const uint64_t huge[ST_UKI_SECTIONS] = { 1, 1, 1, 0xffffe000, 1 };
	struct st_uki_stub s;
	uint64_t vma[ST_UKI_SECTIONS];
	size_t len;
	struct pe_data_dir cert = { le32_put(0x800), le32_put(0x100) };

	len = make_pe(names, 2, PE_MACHINE_X86_64);
	ASSERT_ERR(st_uki_stub_parse(pe, len, &s), -EEXIST);
	len = make_pe(eight, 1, PE_MACHINE_X86_64);     /* an 8-byte name has no NUL */
	ASSERT_ERR(st_uki_stub_parse(pe, len, &s), -EEXIST);
	len = make_pe(one, 1, 0x14c);                   /* i386 */
	ASSERT_ERR(st_uki_stub_parse(pe, len, &s), -EUCLEAN);
	len = make_pe(one, 1, PE_MACHINE_ARM64);
	ASSERT_OK(st_uki_stub_parse(pe, len, &s));
	ASSERT_ERR(st_uki_stub_parse(pe, len - 1, &s), -EUCLEAN);      /* the last section's raw data cut */
	ASSERT_ERR(st_uki_stub_parse(pe, 0x100, &s), -EUCLEAN);        /* the section table cut */
	ASSERT_ERR(st_uki_stub_parse(pe, 63, &s), -EUCLEAN);
	pe[0x3c] = 0xf0, pe[0x3d] = 0xff;                              /* PE header past the end */
	ASSERT_ERR(st_uki_stub_parse(pe, len, &s), -EUCLEAN);
	len = make_pe(one, 1, PE_MACHINE_X86_64);
	memcpy(pe + 0x40 + sizeof(struct pe_coff_header) + sizeof(struct pe_opt_header) + 4 * sizeof(cert), &cert,
	       sizeof(cert));
	ASSERT_ERR(st_uki_stub_parse(pe, len, &s), -EOPNOTSUPP);       /* signed */
	len = make_pe(one, 1, PE_MACHINE_X86_64);
	pe[0x40 + sizeof(struct pe_coff_header) + 32] = 0x30;          /* section alignment 0x1030 */
	ASSERT_ERR(st_uki_stub_parse(pe, len, &s), -EUCLEAN);
	len = make_pe(one, 1, PE_MACHINE_X86_64);
	ASSERT_OK(st_uki_stub_parse(pe, len, &s));
	ASSERT_ERR(st_uki_layout(&s, huge, vma), -EFBIG);
}

TEST_MAIN()
