/* SPDX-License-Identifier: MIT */
/*
 * Linked with --no-as-needed against only what the trust chain needs (trust,
 * repository core, mount): the test 'link-chain-no-libarchive' then checks
 * with readelf that libarchive is not among its NEEDED libraries, so that a
 * small program such as prepare-root in the initramfs never pulls it in.
 */
#include <stdio.h>

#include "sealtree/repo-read.h"
#include "sealtree/seal.h"

int main(void)
{
	/* Reference the links of the chain so that their objects are linked. */
	void *volatile fns[] = {
		(void *)st_repo_open, (void *)st_repo_read_commit, (void *)st_repo_trust_check,
		(void *)st_repo_read_accepted, (void *)st_repo_mount, (void *)st_trust_store_load, (void *)st_seal_chain,
	};

	printf("%zu\n", sizeof(fns) / sizeof(fns[0]));
	return 0;
}
