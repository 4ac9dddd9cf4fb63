/* SPDX-License-Identifier: MIT */
/* The index, manifest and config parsers: both families of media types, platform choice, refusals. */
#include <errno.h>
#include <string.h>

#include "basic/test.h"
#include "oci-internal.h"

#define H "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define H2 "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static const char index_doc[] =
	"{\"schemaVersion\":2,\"mediaType\":\"" OCI_MT_INDEX "\",\"manifests\":["
	"{\"mediaType\":\"" OCI_MT_MANIFEST "\",\"digest\":\"" H "\",\"size\":10,"
	"\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}},"
	"{\"mediaType\":\"" OCI_MT_MANIFEST "\",\"digest\":\"" H2 "\",\"size\":11,"
	"\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"},"
	"\"annotations\":{\"org.opencontainers.image.ref.name\":\"12\"}}]}";

TEST(index_select)
{
	struct oci_index *x = NULL;
	const struct oci_descriptor *d;
	enum oci_doc_kind k;

	ASSERT_OK(oci_doc_kind(index_doc, strlen(index_doc), "t", &k));
	ASSERT_EQ(k, OCI_DOC_INDEX);
	ASSERT_OK(oci_index_parse(index_doc, strlen(index_doc), "t", &x));
	ASSERT_EQ(x->n_manifests, 2);
	ASSERT_OK(oci_index_select(x, "linux", "amd64", NULL, &d));
	ASSERT_STREQ(d->digest, H2);
	ASSERT_STREQ(d->ref_name, "12");
	ASSERT_ERR(oci_index_select(x, "linux", "s390x", NULL, &d), -ENOENT);
	ASSERT_TRUE(strstr(st_error_detail(), "linux/arm64/v8, linux/amd64") != NULL);
	oci_index_free(x);
}

TEST(manifests)
{
	static const char docker[] =
		"{\"schemaVersion\":2,\"mediaType\":\"" DOCKER_MT_MANIFEST "\",\"config\":{\"mediaType\":\"" DOCKER_MT_CONFIG
		"\",\"digest\":\"" H "\",\"size\":7},\"layers\":[{\"mediaType\":\"" DOCKER_MT_LAYER_GZIP
		"\",\"digest\":\"" H2 "\",\"size\":32}]}";
	static const char oci_nomt[] =
		"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" OCI_MT_CONFIG "\",\"digest\":\"" H "\",\"size\":7},"
		"\"layers\":[{\"mediaType\":\"" OCI_MT_LAYER_ZSTD "\",\"digest\":\"" H2 "\",\"size\":32}]}";
	struct oci_manifest *m = NULL;
	enum oci_compression c;
	enum oci_doc_kind k;

	ASSERT_OK(oci_manifest_parse(docker, strlen(docker), "t", &m));
	ASSERT_EQ(m->n_layers, 1);
	ASSERT_OK(oci_layer_compression(m->layers[0].media_type, &c));
	ASSERT_EQ(c, OCI_COMPRESSION_GZIP);
	m = oci_manifest_free(m);
	ASSERT_OK(oci_doc_kind(oci_nomt, strlen(oci_nomt), "t", &k));
	ASSERT_EQ(k, OCI_DOC_MANIFEST);
	ASSERT_OK(oci_manifest_parse(oci_nomt, strlen(oci_nomt), "t", &m));
	ASSERT_STREQ(m->media_type, OCI_MT_MANIFEST);
	oci_manifest_free(m);
}

TEST(refused)
{
	static const char *const bad[] = {
		/* schema 1, another digest algorithm, an upper-case digest, a negative size, an unknown layer type */
		"{\"schemaVersion\":1}",
		"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" OCI_MT_CONFIG "\",\"digest\":\"sha512:aa\",\"size\":1},\"layers\":[]}",
		"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" OCI_MT_CONFIG "\",\"digest\":\"sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"size\":1},\"layers\":[]}",
		"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" OCI_MT_CONFIG "\",\"digest\":\"" H "\",\"size\":-1},\"layers\":[]}",
		"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" OCI_MT_CONFIG "\",\"digest\":\"" H "\",\"size\":1},\"layers\":[{\"mediaType\":\"x\",\"digest\":\"" H "\",\"size\":1}]}",
		"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" OCI_MT_CONFIG "\",\"digest\":\"" H "\",\"size\":1}}",
		"[]",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct oci_manifest *m = NULL;
		int r = oci_manifest_parse(bad[i], strlen(bad[i]), "t", &m);

		if (r >= 0)
			TEST_FAIL_("manifest %zu accepted", i);
		ASSERT_TRUE(m == NULL);
	}
}

TEST(config)
{
	static const char ok[] = "{\"os\":\"linux\",\"architecture\":\"amd64\",\"rootfs\":{\"type\":\"layers\","
				 "\"diff_ids\":[\"" H "\",\"" H2 "\"]}}";
	static const char bad[] = "{\"os\":\"linux\",\"architecture\":\"amd64\",\"rootfs\":{\"type\":\"layers\","
				  "\"diff_ids\":[\"sha256:zz\"]}}";
	struct oci_config *c = NULL;

	ASSERT_OK(oci_config_parse(ok, strlen(ok), "t", &c));
	ASSERT_EQ(c->n_diff_ids, 2);
	ASSERT_STREQ(c->diff_ids[1], H2);
	oci_config_free(c);
	ASSERT_ERR(oci_config_parse(bad, strlen(bad), "t", &c), -EUCLEAN);
}

TEST_MAIN()
