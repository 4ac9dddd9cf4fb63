/* SPDX-License-Identifier: MIT */
/*
 * Rules the writer and the reader share, so that the writer never produces
 * an image the reader refuses (docs/formats/composefs-image.md, "Inode shapes
 * the reader refuses" and "Read budget"):
 *  - the payload of an external file, written as the overlay redirect
 *    "/" + payload, must be a path the kernel follows;
 *  - the memory a tree read from an image may take is bounded by a budget
 *    that grows with the image size, and the writer computes the same charge
 *    the reader will make.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A payload the kernel's overlayfs follows once written as "/" + payload:
 * non-empty components separated by single '/', none of them "." or "..",
 * no leading or trailing '/', no NUL byte.
 */
bool shape_payload_ok(const char *payload, size_t len);

/*
 * The read budget. The reader copies every name, value and content into the
 * tree it builds (a shared xattr is copied into each inode that references
 * it), so what a small image may cost is bounded: a tree read from an image
 * of n bytes may take SHAPE_BUDGET_BASE + SHAPE_BUDGET_PER_IMAGE_BYTE * n
 * bytes, counted with the costs below. The writer adds up the same costs
 * (over-estimating where the reader drops things) and refuses a tree that
 * would exceed the budget of the image it is about to write.
 */
#define SHAPE_BUDGET_BASE (64ULL << 20)
#define SHAPE_BUDGET_PER_IMAGE_BYTE 16ULL
/* A whiteout the reader skips but remembers (ST_IMAGE_READ_HARDLINKS_BFS). */
#define SHAPE_COST_SKIPPED 64U

static inline uint64_t shape_read_budget(uint64_t image_len)
{
	/* image_len < 2^44 (2^32 blocks of 4096): no overflow. */
	return SHAPE_BUDGET_BASE + SHAPE_BUDGET_PER_IMAGE_BYTE * image_len;
}

/* A node (inode or hardlink alias) and its name. */
uint64_t shape_cost_node(size_t name_len);
/* One xattr as the tree holds it. */
uint64_t shape_cost_xattr(size_t name_len, size_t value_len);
