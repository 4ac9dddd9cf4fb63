/* SPDX-License-Identifier: MIT */
/* Fuzz target: an untrusted index, manifest and config (manifest.c), as a registry or a layout hands them over. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oci-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oci_index *x = NULL;
	struct oci_manifest *m = NULL;
	struct oci_config *c = NULL;
	enum oci_doc_kind kind;

	(void)oci_doc_kind(data, size, "fuzz", &kind);
	if (oci_index_parse(data, size, "fuzz", &x) >= 0) {
		const struct oci_descriptor *d;

		if (oci_index_select(x, "linux", "amd64", NULL, &d) >= 0 && strlen(d->digest) != 71)
			abort();
		oci_index_free(x);
	}
	if (oci_manifest_parse(data, size, "fuzz", &m) >= 0) {
		if (m->n_layers > OCI_LAYERS_MAX || strlen(m->config.digest) != 71)
			abort();
		oci_manifest_free(m);
	}
	if (oci_config_parse(data, size, "fuzz", &c) >= 0) {
		if (!c->os || !c->architecture || c->n_diff_ids > OCI_LAYERS_MAX)
			abort();
		oci_config_free(c);
	}
	return 0;
}
