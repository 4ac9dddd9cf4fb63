/* SPDX-License-Identifier: MIT */
/* The registry client's parsers: pull references and WWW-Authenticate challenges. */
#include <string.h>

#include "basic/test.h"
#include "registry-internal.h"

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int parse_auth(const char *s, struct auth_challenge *ch)
{
	return auth_challenge_parse(s, strlen(s), ch);
}

TEST(challenge_bearer)
{
	struct auth_challenge ch = {};

	ASSERT_OK(parse_auth("Bearer realm=\"https://auth.example/token\",service=\"registry.example\","
			     "scope=\"repository:a/b:pull\"", &ch));
	ASSERT_EQ(ch.scheme, AUTH_BEARER);
	ASSERT_STREQ(ch.realm, "https://auth.example/token");
	ASSERT_STREQ(ch.service, "registry.example");
	ASSERT_STREQ(ch.scope, "repository:a/b:pull");
	auth_challenge_release(&ch);
	/* Case, spaces around '=', tokens as values, an unknown parameter, escapes. */
	ASSERT_OK(parse_auth("bEARER  REALM = \"https://h/t?\\\"q\\\"\" , Service=svc, error=\"x\"", &ch));
	ASSERT_EQ(ch.scheme, AUTH_BEARER);
	ASSERT_STREQ(ch.realm, "https://h/t?\"q\"");
	ASSERT_STREQ(ch.service, "svc");
	ASSERT_TRUE(ch.scope == NULL);
	auth_challenge_release(&ch);
}

TEST(challenge_choice)
{
	struct auth_challenge ch = {};

	/* Several challenges: Bearer wins over Basic wherever it stands; unknown schemes are skipped. */
	ASSERT_OK(parse_auth("Newauth realm=\"apps\", type=1, Basic realm=\"simple\", Bearer realm=\"https://t\"", &ch));
	ASSERT_EQ(ch.scheme, AUTH_BEARER);
	ASSERT_STREQ(ch.realm, "https://t");
	auth_challenge_release(&ch);
	ASSERT_OK(parse_auth("Basic realm=\"Registry Realm\"", &ch));
	ASSERT_EQ(ch.scheme, AUTH_BASIC);
	ASSERT_STREQ(ch.realm, "Registry Realm");
	auth_challenge_release(&ch);
	ASSERT_OK(parse_auth("Basic", &ch));
	ASSERT_EQ(ch.scheme, AUTH_BASIC);
	auth_challenge_release(&ch);
	ASSERT_OK(parse_auth("Negotiate abc==, Basic", &ch));
	ASSERT_EQ(ch.scheme, AUTH_BASIC);
	auth_challenge_release(&ch);
}

TEST(challenge_refusals)
{
	struct auth_challenge ch = {};
	char big[20000];

	ASSERT_ERR(parse_auth("", &ch), -EOPNOTSUPP);
	ASSERT_ERR(parse_auth("Digest realm=\"x\", nonce=\"y\"", &ch), -EOPNOTSUPP);
	ASSERT_ERR(parse_auth("Bearer service=\"x\"", &ch), -EUCLEAN);           /* no realm */
	ASSERT_ERR(parse_auth("Bearer realm=\"\"", &ch), -EUCLEAN);
	ASSERT_ERR(parse_auth("Bearer realm=\"a\nb\"", &ch), -EUCLEAN);         /* control characters */
	ASSERT_ERR(parse_auth("Bearer realm=\"a\\\rb\"", &ch), -EUCLEAN);       /* ... escaped too */
	ASSERT_ERR(parse_auth("Bearer realm=\"a\x7f\"", &ch), -EUCLEAN);
	ASSERT_ERR(parse_auth("Bearer realm=\"https://x", &ch), -EUCLEAN);     /* unterminated */
	ASSERT_ERR(parse_auth("Bearer realm=\"https://x\\", &ch), -EUCLEAN);
	ASSERT_ERR(parse_auth("Bearer realm=\"a\",realm=\"b\"", &ch), -EUCLEAN); /* twice */
	ASSERT_ERR(parse_auth("Bearer realm=\"a\" scope=\"b\"", &ch), -EUCLEAN); /* no comma */
	ASSERT_ERR(parse_auth("Bearer realm=", &ch), -EUCLEAN);                 /* a token68: a Bearer without realm */
	ASSERT_ERR(parse_auth("Bearer=x", &ch), -EUCLEAN);
	ASSERT_ERR(auth_challenge_parse("Basic\0", 6, &ch), -EUCLEAN);        /* a NUL inside the value */
	memset(big, 'a', sizeof(big));
	memcpy(big, "Basic realm=\"", 13);
	big[sizeof(big) - 2] = '"';
	big[sizeof(big) - 1] = '\0';
	ASSERT_ERR(parse_auth(big, &ch), -EUCLEAN);                             /* over the size cap */
}

static int parse_ref(const char *s, struct registry_ref *r)
{
	return registry_ref_parse(s, r);
}

TEST(refs)
{
	struct registry_ref r = {};

	ASSERT_OK(parse_ref("127.0.0.1:5000/test/small:t1", &r));
	ASSERT_TRUE(r.scheme == NULL);
	ASSERT_STREQ(r.registry, "127.0.0.1:5000");
	ASSERT_STREQ(r.name, "test/small");
	ASSERT_STREQ(r.tag, "t1");
	ASSERT_TRUE(r.digest == NULL);
	registry_ref_done(&r);
	ASSERT_OK(parse_ref("http://localhost:5000/a/b-c__d.e@sha256:" H64, &r));
	ASSERT_STREQ(r.scheme, "http");
	ASSERT_STREQ(r.name, "a/b-c__d.e");
	ASSERT_TRUE(r.tag == NULL);
	ASSERT_STREQ(r.digest, "sha256:" H64);
	registry_ref_done(&r);
	ASSERT_OK(parse_ref("docker://registry.example.org/library/debian", &r));
	ASSERT_TRUE(r.scheme == NULL);
	ASSERT_STREQ(r.tag, "latest");
	registry_ref_done(&r);

	ASSERT_ERR(parse_ref("debian:12", &r), -EINVAL);                   /* no registry */
	ASSERT_ERR(parse_ref("/debian:12", &r), -EINVAL);
	ASSERT_ERR(parse_ref("h:0/a", &r), -EINVAL);                        /* port 0 */
	ASSERT_ERR(parse_ref("h:65536/a", &r), -EINVAL);
	ASSERT_ERR(parse_ref("h:05/a", &r), -EINVAL);
	ASSERT_ERR(parse_ref("h_x/a", &r), -EINVAL);
	ASSERT_ERR(parse_ref("h/A", &r), -EINVAL);                          /* uppercase name */
	ASSERT_ERR(parse_ref("h/a//b", &r), -EINVAL);
	ASSERT_ERR(parse_ref("h/a/", &r), -EINVAL);
	ASSERT_ERR(parse_ref("h/a..b", &r), -EINVAL);
	ASSERT_ERR(parse_ref("h/a___b", &r), -EINVAL);
	ASSERT_ERR(parse_ref("h/-a", &r), -EINVAL);
	ASSERT_ERR(parse_ref("h/a/../b", &r), -EINVAL);
	ASSERT_ERR(parse_ref("h/a:", &r), -EINVAL);                         /* empty tag */
	ASSERT_ERR(parse_ref("h/a:.x", &r), -EINVAL);
	ASSERT_ERR(parse_ref("h/a:x y", &r), -EINVAL);
	ASSERT_ERR(parse_ref("h/a@sha256:abc", &r), -EINVAL);
	ASSERT_ERR(parse_ref("h/a@sha256:" H64 "0", &r), -EINVAL);
	ASSERT_ERR(parse_ref("h/a@sha512:" H64, &r), -EOPNOTSUPP);
	ASSERT_ERR(parse_ref("ftp://h/a", &r), -EINVAL);
	ASSERT_ERR(parse_ref("h/a?x=1", &r), -EINVAL);
	ASSERT_ERR(parse_ref("h/a#x", &r), -EINVAL);
}

TEST_MAIN()
