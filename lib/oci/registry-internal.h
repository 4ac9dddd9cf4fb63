/* SPDX-License-Identifier: MIT */
/*
 * The registry client (docs/formats/oci.md, "Pulling from a registry"):
 * references (registry-ref.c), WWW-Authenticate challenges
 * (registry-auth.c), the session with its credentials and small requests
 * (registry.c), blobs fetched in parallel into the pull cache
 * (registry-blob.c) and the pull itself (registry-pull.c). The transport is
 * lib/remote/http.h; documents are parsed by oci-internal.h.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oci-internal.h"
#include "remote/http.h"

/* ---- References: [http(s)://]REGISTRY/NAME(:TAG|@DIGEST) ------------------- */

struct registry_ref {
	char *scheme;                   /* "https", "http", or NULL: https, or http as a fallback without TLS checks */
	char *registry;                 /* host[:port] */
	char *name;                     /* the repository in the registry: "library/debian" */
	char *tag;                      /* NULL with a digest */
	char *digest;                   /* "sha256:<hex>", or NULL */
};

/* -EINVAL with a detail naming what is off. */
int registry_ref_parse(const char *s, struct registry_ref *ret);
void registry_ref_done(struct registry_ref *r);

/* ---- WWW-Authenticate ------------------------------------------------------- */

enum auth_scheme {
	AUTH_NONE,
	AUTH_BASIC,
	AUTH_BEARER,
	AUTH_OTHER,
};

struct auth_challenge {
	enum auth_scheme scheme;
	char *realm, *service, *scope;  /* unescaped, no control characters; NULL if absent */
};

/*
 * The value of a WWW-Authenticate header (len bytes, after the colon):
 * the first Bearer challenge, else the first Basic one. -EUCLEAN for a
 * value off the grammar (or a Bearer without realm), -EOPNOTSUPP when
 * it offers neither scheme. *ret is released with auth_challenge_release().
 */
int auth_challenge_parse(const char *value, size_t len, struct auth_challenge *ret);
void auth_challenge_release(struct auth_challenge *c);

/* ---- The session ------------------------------------------------------------ */

struct registry {
	struct http *http;
	char *base;                     /* "https://host:port", no trailing '/' */
	char *name;                     /* repository name */
	char *creds;                    /* "user:password" or NULL */
	bool tls_verify;
	bool push;                      /* tokens ask for pull,push (oci push) */
	char *authorization;            /* "Authorization: ..." header line, or NULL */
	unsigned auth_rounds;           /* times credentials were (re)acquired */
	struct auth_challenge challenge;        /* the last one seen */
};

/* A response body in memory, with the headers the client reads. */
struct registry_response {
	char *body;
	size_t len;
	char *content_type;             /* without parameters; NULL if none */
	char *docker_digest;            /* Docker-Content-Digest, or NULL */
};
void registry_response_done(struct registry_response *r);

/*
 * Credentials for registry (host[:port]) and repository name from the
 * containers and docker auth files (registry-creds.c): 1 with "USER:PASSWORD"
 * (and, if ret_source, the file's path), 0 if none has an entry, or a
 * negative errno naming a file that is there but malformed.
 */
int registry_creds_lookup(const char *registry, const char *name, char **ret, char **ret_source);
/* The same from one file's bytes (path names it in errors). */
int registry_creds_parse(const void *data, size_t len, const char *path, const char *registry, const char *name,
			 char **ret);

/* creds NULL: those of the auth files (registry_creds_lookup()), if any. */
int registry_new(const struct registry_ref *ref, const char *creds, bool tls_verify, unsigned jobs,
		 unsigned stall_timeout, struct registry **ret);
struct registry *registry_free(struct registry *reg);

/*
 * Find the scheme (https, or http if TLS checks are off and https fails)
 * and authenticate for pulling reg->name: anonymous, Basic with the
 * credentials, or a Bearer token from the realm the registry names.
 */
int registry_connect(struct registry *reg);

/*
 * GET path (below base: "/v2/NAME/manifests/REF") with the session's
 * credentials and the given Accept list (NULL: none), at most max bytes.
 * A 401 renews the credentials once and repeats the request.
 */
int registry_get(struct registry *reg, const char *path, const char *accept, size_t max,
		 struct registry_response *ret);

/* Renew the credentials after a 401 from a request made outside registry_get(). */
int registry_reauth(struct registry *reg);

/* ---- Blobs ------------------------------------------------------------------ */

struct blob_want {
	char digest[ST_OCI_DIGEST_STRING_SIZE];
	uint64_t size;
};

struct blob_stats {
	uint64_t fetched, cached, bytes, resumed_bytes;
};

/*
 * Make every wanted blob a verified file cache_dfd/blobs/sha256/<hex>
 * (partial downloads in cache_dfd/partial/) and link it as <hex> into
 * layout_dfd: what is in the cache already is hashed again and kept if
 * whole, a partial one is continued with Range, the rest is fetched, up to
 * the session's job count at once. Each byte goes through SHA-256 as it
 * arrives; a blob is named only once its size and digest match, and linked
 * into the layout from the very file that was checked. The first failure
 * is returned, naming the blob and URL.
 */
int registry_fetch_blobs(struct registry *reg, int cache_dfd, int layout_dfd, const struct blob_want *wants,
			 size_t n, struct blob_stats *stats);
