/* SPDX-License-Identifier: MIT */
/*
 * Unified kernel images (UKI): a systemd-stub PE binary with the kernel,
 * the initramfs, os-release, the kernel version and a command line added
 * as sections (.linux, .initrd, .osrel, .uname, .cmdline). Signed as one
 * file, it chains Secure Boot to the command line, and the command line
 * names the commit (sealtree.digest=) that sealtree-prepare-root mounts.
 * docs/uki.md describes the chain.
 *
 * The library prepares the sections and lays them out; adding them to the
 * stub (objcopy) and signing (sbsign) are the caller's (sealtree admin
 * build-uki). Functions return 0 or a negative errno with a detail in
 * st_error_message().
 */
#ifndef SEALTREE_UKI_H
#define SEALTREE_UKI_H

#include <stddef.h>
#include <stdint.h>

#include "sealtree/repo.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef ST_EXPORT
#define ST_EXPORT __attribute__((visibility("default")))
#endif

/* The sections sealtree adds, in the order they go into the image (.linux last). */
enum st_uki_section {
	ST_UKI_OSREL,
	ST_UKI_CMDLINE,
	ST_UKI_UNAME,
	ST_UKI_INITRD,
	ST_UKI_LINUX,
	ST_UKI_SECTIONS
};

/* ".osrel", ".cmdline", ".uname", ".initrd", ".linux"; NULL past the end. */
ST_EXPORT const char *st_uki_section_name(unsigned section);

#define ST_UKI_STUB_MAX (16u * 1024 * 1024)     /* bytes of a stub st_uki_stub_parse() reads */

/* What the layout needs from a stub's PE headers. */
struct st_uki_stub {
	uint16_t machine;               /* 0x8664 x86-64, 0xaa64 arm64 */
	uint64_t image_base;
	uint32_t section_alignment;
	uint32_t size_of_image;
	uint64_t end;                   /* first RVA past every section of the stub */
	uint32_t reserved[8];
};

/*
 * Check a systemd-stub (or any EFI application) read whole into data and
 * take its layout: a PE32+ image for x86-64 or arm64, subsystem EFI
 * application, every header and section inside the file. Refused with
 * -EUCLEAN: anything else; -EEXIST: it has one of the sections above
 * already (it is a UKI, not a stub); -EOPNOTSUPP: it is signed (an
 * Authenticode certificate table: adding sections would break it).
 */
ST_EXPORT int st_uki_stub_parse(const void *data, size_t len, struct st_uki_stub *ret);

/*
 * Where each section goes: ret_vma[i] is the address (image base
 * included, as objcopy --change-section-vma takes it) of section i of
 * size[i] bytes, every one page-aligned (and at least section-aligned)
 * after the stub's end and the one before. -EFBIG if the image would not
 * fit in the 32-bit addresses of PE.
 */
ST_EXPORT int st_uki_layout(const struct st_uki_stub *stub, const uint64_t size[ST_UKI_SECTIONS],
			    uint64_t ret_vma[ST_UKI_SECTIONS]);

struct st_uki_parts {
	char kver[256];                 /* KVER of usr/lib/modules/KVER/ */
	uint64_t size[ST_UKI_SECTIONS]; /* bytes of each file written */
	const char *osrel_from;         /* the tree's path the os-release came from, or NULL (made up) */
	uint32_t reserved[8];
};

/*
 * Write the contents of the sections of a UKI of commit id into the
 * directory dirfd, one file per section named without the dot ("osrel",
 * "cmdline", "uname", "initrd", "linux"), which must not exist:
 *   .linux, .initrd  usr/lib/modules/KVER/{vmlinuz,initramfs.img} of the
 *                    commit's tree, found as st_sysroot_deploy() finds
 *                    them (-ENOENT no kernel or initramfs, -ENOTUNIQ two)
 *   .uname           KVER
 *   .osrel           usr/lib/os-release (else usr/etc/os-release) of the tree,
 *                    or "NAME=Linux\nID=linux\n" when it has neither
 *   .cmdline         kargs (NULL or "" for none), a space,
 *                    "sealtree.digest=" and the commit id in hex
 * kargs are checked as st_kargs_check() does, and sealtree.digest= in
 * them is refused too (-EINVAL): the command line names one commit, this.
 * Every object is checked against its digest while it is copied.
 */
ST_EXPORT int st_uki_write_sections(struct st_repo *repo, const uint8_t id[ST_COMMIT_ID_SIZE], const char *kargs,
				    int dirfd, struct st_uki_parts *ret);

#ifdef __cplusplus
}
#endif
#endif
