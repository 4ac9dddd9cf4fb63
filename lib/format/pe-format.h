/* SPDX-License-Identifier: MIT */
/*
 * The parts of a PE/COFF image (Microsoft's "PE Format" specification) that
 * building a unified kernel image reads from the systemd-stub: the DOS
 * header's pointer to the PE signature, the COFF file header, the PE32+
 * optional header up to its data directories, and the section table.
 *
 * Same discipline as erofs-format.h (whose little-endian wrappers these
 * structs use): byte-array members only, so there is no padding and no
 * unaligned access, and every size is pinned.
 */
#pragma once

#include "format/erofs-format.h"

#define PE_DOS_MAGIC 0x5a4d             /* "MZ" */
#define PE_DOS_LFANEW_OFFSET 0x3c       /* le32: offset of the PE signature */
#define PE_SIGNATURE 0x00004550U        /* "PE\0\0" */
#define PE_OPT_MAGIC_PE32PLUS 0x20b
#define PE_MACHINE_X86_64 0x8664
#define PE_MACHINE_ARM64 0xaa64
#define PE_SUBSYSTEM_EFI_APPLICATION 10
#define PE_SECTIONS_MAX 96              /* the specification's limit */
#define PE_DIR_SECURITY 4               /* data directory: the Authenticode certificate table */

struct pe_coff_header {
	st_le32 signature;
	st_le16 machine;
	st_le16 number_of_sections;
	st_le32 time_date_stamp;
	st_le32 pointer_to_symbol_table;
	st_le32 number_of_symbols;
	st_le16 size_of_optional_header;
	st_le16 characteristics;
};
static_assert(sizeof(struct pe_coff_header) == 24, "PE signature + COFF header");

struct pe_data_dir {
	st_le32 virtual_address;
	st_le32 size;
};
static_assert(sizeof(struct pe_data_dir) == 8, "PE data directory");

/* PE32+ optional header, up to and including number_of_rva_and_sizes. */
struct pe_opt_header {
	st_le16 magic;
	uint8_t major_linker_version, minor_linker_version;
	st_le32 size_of_code;
	st_le32 size_of_initialized_data;
	st_le32 size_of_uninitialized_data;
	st_le32 address_of_entry_point;
	st_le32 base_of_code;
	st_le64 image_base;
	st_le32 section_alignment;
	st_le32 file_alignment;
	st_le16 os_version[2];
	st_le16 image_version[2];
	st_le16 subsystem_version[2];
	st_le32 win32_version_value;
	st_le32 size_of_image;
	st_le32 size_of_headers;
	st_le32 checksum;
	st_le16 subsystem;
	st_le16 dll_characteristics;
	st_le64 stack_reserve, stack_commit, heap_reserve, heap_commit;
	st_le32 loader_flags;
	st_le32 number_of_rva_and_sizes;
	/* followed by number_of_rva_and_sizes struct pe_data_dir */
};
static_assert(sizeof(struct pe_opt_header) == 112, "PE32+ optional header without data directories");

struct pe_section {
	char name[8];                   /* NUL-padded, not NUL-terminated when 8 long */
	st_le32 virtual_size;
	st_le32 virtual_address;        /* relative to image_base */
	st_le32 size_of_raw_data;
	st_le32 pointer_to_raw_data;
	st_le32 pointer_to_relocations;
	st_le32 pointer_to_linenumbers;
	st_le16 number_of_relocations;
	st_le16 number_of_linenumbers;
	st_le32 characteristics;
};
static_assert(sizeof(struct pe_section) == 40, "PE section header");
