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
