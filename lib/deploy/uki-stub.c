/* SPDX-License-Identifier: MIT */
/*
 * The systemd-stub's PE headers, read as untrusted bytes (the stub is a
 * file the caller names), and where the UKI's sections go after it.
 *
 * Why compute the addresses: the sections must not overlap the stub's nor
 * each other once loaded, and the stub finds them by name at whatever
 * address they have. Fixed addresses (the 0x20000/0x30000/0x2000000 of
 * old recipes) silently overlap as soon as a stub or an initramfs grows.
 * Each section starts on a page after the previous one ends, so that
 * firmware that maps sections with their own permissions can.
 */
#include <string.h>

#include "basic/error.h"
#include "deploy-internal.h"
#include "format/pe-format.h"
#include "sealtree/uki.h"

#define PAGE 4096u

static bool is_pow2(uint32_t x)
{
	return x && !(x & (x - 1));
}

static bool is_uki_section(const char name[8])
{
	for (unsigned i = 0; i < ST_UKI_SECTIONS; i++) {
		const char *s = st_uki_section_name(i);

		if (strnlen(name, 8) == strlen(s) && memcmp(name, s, strlen(s)) == 0)
			return true;
	}
	return false;
}

int st_uki_stub_parse(const void *data, size_t len, struct st_uki_stub *ret)
{
	const uint8_t *p = data;
	struct pe_coff_header coff;
	struct pe_opt_header opt;
	struct pe_data_dir sec_dir = {};
	st_le32 lfanew_le;
	struct st_uki_stub s = {};
	uint64_t off, opt_off, table_off, end = 0;
	uint32_t lfanew, file_align, n_dirs;
	uint16_t n_sections, opt_size;

	if (len < 64 || p[0] != (PE_DOS_MAGIC & 0xff) || p[1] != (PE_DOS_MAGIC >> 8))
		return st_errf(-EUCLEAN, "not a PE image: no 'MZ' header");
	if (len > ST_UKI_STUB_MAX)
		return st_errf(-EUCLEAN, "%zu bytes: larger than a stub can be (%u)", len, ST_UKI_STUB_MAX);
	memcpy(&lfanew_le, p + PE_DOS_LFANEW_OFFSET, sizeof(lfanew_le));
	lfanew = le32_get(lfanew_le);
	off = lfanew;
	if (off < 64 || off + sizeof(coff) > len)
		return st_errf(-EUCLEAN, "not a PE image: the PE header offset %u is outside the file", lfanew);
	memcpy(&coff, p + off, sizeof(coff));
	if (le32_get(coff.signature) != PE_SIGNATURE)
		return st_errf(-EUCLEAN, "not a PE image: no 'PE' signature at offset %u", lfanew);
	s.machine = le16_get(coff.machine);
	if (s.machine != PE_MACHINE_X86_64 && s.machine != PE_MACHINE_ARM64)
		return st_errf(-EUCLEAN, "PE machine 0x%04x: not x86-64 or arm64", s.machine);
	n_sections = le16_get(coff.number_of_sections);
	opt_size = le16_get(coff.size_of_optional_header);
	if (n_sections == 0 || n_sections > PE_SECTIONS_MAX)
		return st_errf(-EUCLEAN, "%u sections: not between 1 and %d", n_sections, PE_SECTIONS_MAX);
	opt_off = off + sizeof(coff);
	if (opt_size < sizeof(opt) || opt_off + opt_size > len)
		return st_errf(-EUCLEAN, "the optional header (%u bytes) is too short or outside the file", opt_size);
	memcpy(&opt, p + opt_off, sizeof(opt));
	if (le16_get(opt.magic) != PE_OPT_MAGIC_PE32PLUS)
		return st_errf(-EUCLEAN, "optional header magic 0x%04x: not PE32+", le16_get(opt.magic));
	if (le16_get(opt.subsystem) != PE_SUBSYSTEM_EFI_APPLICATION)
		return st_errf(-EUCLEAN, "subsystem %u: not an EFI application", le16_get(opt.subsystem));
	s.image_base = le64_get(opt.image_base);
	s.section_alignment = le32_get(opt.section_alignment);
	s.size_of_image = le32_get(opt.size_of_image);
	file_align = le32_get(opt.file_alignment);
	if (!is_pow2(s.section_alignment) || !is_pow2(file_align) || file_align > s.section_alignment ||
	    s.section_alignment > (1u << 24))
		return st_errf(-EUCLEAN, "section alignment %u, file alignment %u: not powers of two with file <= section",
			       s.section_alignment, file_align);
	if (s.image_base > UINT64_MAX - UINT32_MAX)
		return st_errf(-EUCLEAN, "image base 0x%llx is too high", (unsigned long long)s.image_base);
	n_dirs = le32_get(opt.number_of_rva_and_sizes);
	if (n_dirs > (opt_size - sizeof(opt)) / sizeof(struct pe_data_dir))
		return st_errf(-EUCLEAN, "%u data directories do not fit in the optional header", n_dirs);
	if (n_dirs > PE_DIR_SECURITY)
		memcpy(&sec_dir, p + opt_off + sizeof(opt) + PE_DIR_SECURITY * sizeof(sec_dir), sizeof(sec_dir));
	if (le32_get(sec_dir.size) != 0)
		return st_errf(-EOPNOTSUPP, "the stub is signed (it has a certificate table): adding sections would "
					    "break the signature; give the unsigned stub or remove it with 'sbattach --remove'");

	table_off = opt_off + opt_size;
	if (table_off + (uint64_t)n_sections * sizeof(struct pe_section) > len)
		return st_errf(-EUCLEAN, "the section table (%u sections) is outside the file", n_sections);
	for (unsigned i = 0; i < n_sections; i++) {
		struct pe_section sec;
		uint64_t va, vsize, raw_off, raw_size;

		memcpy(&sec, p + table_off + (uint64_t)i * sizeof(sec), sizeof(sec));
		va = le32_get(sec.virtual_address);
		vsize = le32_get(sec.virtual_size);
		raw_off = le32_get(sec.pointer_to_raw_data);
		raw_size = le32_get(sec.size_of_raw_data);
		if (is_uki_section(sec.name))
			return st_errf(-EEXIST, "the stub has a %.8s section already: it is a UKI, not a stub", sec.name);
		if (raw_size && raw_off + raw_size > len)
			return st_errf(-EUCLEAN, "section %u (%.8s): its %llu bytes at offset %llu are outside the file", i,
				       sec.name, (unsigned long long)raw_size, (unsigned long long)raw_off);
		if (va + (vsize > raw_size ? vsize : raw_size) > end)
			end = va + (vsize > raw_size ? vsize : raw_size);
	}
	if (end > UINT32_MAX)
		return st_errf(-EUCLEAN, "the sections end past 4 GiB");
	s.end = end;
	*ret = s;
	return 0;
}

static uint64_t align_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) / a * a;
}

int st_uki_layout(const struct st_uki_stub *stub, const uint64_t size[ST_UKI_SECTIONS],
		  uint64_t ret_vma[ST_UKI_SECTIONS])
{
	uint64_t align = stub->section_alignment > PAGE ? stub->section_alignment : PAGE;
	uint64_t at = stub->end > stub->size_of_image ? stub->end : stub->size_of_image, vma[ST_UKI_SECTIONS];

	if (!is_pow2(stub->section_alignment) || stub->section_alignment > (1u << 24) || at > UINT32_MAX)
		return st_errf(-EINVAL, "not a stub's layout");
	for (unsigned i = 0; i < ST_UKI_SECTIONS; i++) {
		at = align_up(at, align);
		if (size[i] > UINT32_MAX || at + size[i] > UINT32_MAX)
			return st_errf(-EFBIG, "the UKI would be larger than the 4 GiB a PE image can address (%s is "
					       "%llu bytes)", st_uki_section_name(i), (unsigned long long)size[i]);
		vma[i] = stub->image_base + at;
		at += size[i];
	}
	memcpy(ret_vma, vma, sizeof(vma));
	return 0;
}
