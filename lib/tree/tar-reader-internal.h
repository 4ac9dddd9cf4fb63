/* SPDX-License-Identifier: MIT */
/*
 * The tar reader's state, shared by tar-read.c (headers, names, the tree)
 * and tar-data.c (member contents).
 */
#pragma once

#include <archive.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "basic/error.h"
#include "tar.h"
#include "tar-xattrs.h"

struct tar_pool;
struct st_verity_hasher;
struct tar_headers_info;

#define TAR_BUF_SIZE (1024u * 1024u)
#define TAR_BLOCK_SIZE 10240
#define NODE_EXPLICIT ST_TAR_DIR_EXPLICIT
/* Mode of directories no member describes (see the format doc). */
#define IMPLICIT_DIR_MODE (S_IFDIR | 0755)

/* The decompressed stream between libarchive's two layers (tar-input.c). */
struct tar_input {
	struct archive *outer;          /* decompresses: its raw format hands out the tar stream */
	bool eof;                       /* the outer stream ended */
	uint64_t delivered;             /* bytes of the tar stream handed to the tar reader */
	uint64_t member_start;          /* where the current member's first header is */
	uint8_t *ring;                  /* the last TAR_RING_SIZE bytes delivered */
	uint8_t *fetch;
	size_t fetch_cap;
	int error;                      /* a failure of the outer stream, 0 if none */
	char error_msg[384];
	/* The tar-split record (opts->split), NULL if none: stream bytes [0, rec_pos) are in it. */
	struct st_tar_split *split;
	uint64_t rec_pos;
	bool skip_pending;              /* [skip_from, skip_to) are skip_node's contents, recorded as a reference */
	uint64_t skip_from, skip_to;
	struct st_node *skip_node;
	char skip_name[4097];
};

struct tar_reader {
	struct archive *a;              /* the tar reader proper */
	struct tar_input in;
	struct st_digest_store *store;
	struct tar_pool *pool;          /* with a store: publishes files up to TAR_BUF_SIZE */
	struct st_verity_hasher *hasher;
	void *sha_ctx;                  /* EVP_MD_CTX with opts->file_sha256: the SHA-256 of streamed files */
	uint8_t *buf;                   /* TAR_BUF_SIZE, ST_STORE_IO_ALIGN-aligned */
	struct st_node *root;
	struct tar_xattr_table xattrs;  /* every distinct xattr once, shared by the nodes */
	uint64_t n_entries, max_entries;
	bool skip_xattrs;
	bool sparse;                    /* the current member is a sparse file */
	struct data_cursor {
		const uint8_t *blk;     /* libarchive's current block, valid until the next call */
		size_t blk_len;
		uint64_t blk_off;
		uint64_t pos;           /* bytes of the member read so far */
		bool eof;
	} cur;
	const struct st_tar_read_options *opts;
	struct timespec last_progress;
	struct st_tar_read_stats stats;
	char member[128];               /* current member name, printable, for errors */
};

/* Remember a printable form of a member name for error messages. */
void tar_set_member(struct tar_reader *t, const char *path);

#define member_err(t, r, fmt, ...) st_errf((r), "tar member '%s': " fmt, (t)->member, ##__VA_ARGS__)

/* r with libarchive's error, naming the member if there is one. */
int tar_archive_err(struct tar_reader *t, int r, const char *what);
/* r with the digest store's detail, attributed to the member. */
int tar_store_err(struct tar_reader *t, int r);

/* Start reading from fd, or from data (len bytes) if fd < 0 (tar-input.c). */
int tar_input_open(struct tar_reader *t, int fd, const void *data, size_t len);
void tar_input_close(struct tar_input *in);
/* Check the raw headers of the member libarchive just returned. */
int tar_input_check_member(struct tar_reader *t, struct tar_headers_info *ret);
/* libarchive found the end: check that an end-of-archive block is there. */
int tar_input_check_end(struct tar_reader *t);
/* r with the stream's failure, if any, else the recorded detail, naming the member. */
int tar_input_err(struct tar_reader *t, int r);

/* With a tar-split record: size bytes at data_start of the stream are n's contents (path: the member's name). */
int tar_input_split_file(struct tar_reader *t, struct st_node *n, uint64_t data_start, uint64_t size, const char *path);

/* A regular file's contents (size bytes): digest, inline content or an object (tar-data.c). */
int tar_read_file(struct tar_reader *t, struct st_node *n, uint64_t size);
