/* SPDX-License-Identifier: MIT */
/*
 * Small language helpers used everywhere in sealtree: scope-bound cleanup,
 * ownership transfer, alignment and overflow-checked arithmetic.
 *
 * Header-only (no symbols, no API): shared by lib/ (through basic/macro.h)
 * and tools/, which see lib/fundamental/ and the public headers but no other
 * library header. The cleanup attribute is a GNU extension; public headers
 * never use this header.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _likely_(x) __builtin_expect(!!(x), 1)
#define _unlikely_(x) __builtin_expect(!!(x), 0)
#define _noreturn_ __attribute__((noreturn))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Round up/down to a power-of-two alignment. */
#define ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))

/* Hand a resource to the caller and disarm the local cleanup. */
#define TAKE_PTR(p)                                 \
	({                                          \
		__typeof__(p) _take_tmp = (p);      \
		(p) = NULL;                         \
		_take_tmp;                          \
	})
#define TAKE_FD(fd)                                 \
	({                                          \
		int _take_fd = (fd);                \
		(fd) = -EBADF;                      \
		_take_fd;                           \
	})

/* Convert libc's "-1 and errno" into a negative errno. */
static inline int negative_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}
#define RET_NERRNO(expr)                            \
	({                                          \
		long _r = (long)(expr);             \
		_r < 0 ? negative_errno() : (int)_r; \
	})

static inline void freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline int safe_close(int fd)
{
	if (fd >= 0) {
		int saved = errno;
		(void)close(fd);
		errno = saved;
	}
	return -EBADF;
}
static inline void closep(int *fd)
{
	safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

static inline void fclosep(FILE **f)
{
	if (*f)
		(void)fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Overflow-checked arithmetic: true when the result overflowed. */
#define ADD_OVERFLOW(a, b, r) __builtin_add_overflow(a, b, r)
#define MUL_OVERFLOW(a, b, r) __builtin_mul_overflow(a, b, r)

/* malloc(n * size) that fails cleanly on overflow. */
static inline void *malloc_array(size_t n, size_t size)
{
	size_t total;
	if (MUL_OVERFLOW(n, size, &total))
		return NULL;
	return malloc(total ? total : 1);
}
static inline void *realloc_array(void *p, size_t n, size_t size)
{
	size_t total;
	if (MUL_OVERFLOW(n, size, &total))
		return NULL;
	return realloc(p, total ? total : 1);
}
#define new(t, n) ((t *)malloc_array((n), sizeof(t)))
#define new0(t, n) ((t *)calloc((n) ? (n) : 1, sizeof(t)))

/*
 * Grow *array (of *cap elements of elem_size) so that it holds at least
 * need elements, doubling the capacity. Returns 0 or -ENOMEM.
 */
static inline int grow_array(void **array, size_t *cap, size_t need, size_t elem_size)
{
	size_t n;
	void *p;

	if (need <= *cap)
		return 0;
	n = *cap ? *cap : 4;
	while (n < need) {
		if (MUL_OVERFLOW(n, (size_t)2, &n))
			return -ENOMEM;
	}
	p = realloc_array(*array, n, elem_size);
	if (!p)
		return -ENOMEM;
	*array = p;
	*cap = n;
	return 0;
}
#define GROW(array, cap, need) grow_array((void **)&(array), &(cap), (need), sizeof(*(array)))
