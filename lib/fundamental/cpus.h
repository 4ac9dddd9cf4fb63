/* SPDX-License-Identifier: MIT */
/*
 * The one CPU count, for everything that sizes a thread pool (lib/ and
 * tools/, hence header-only): the CPUs this process may run on
 * (sched_getaffinity, so taskset and cpusets count), at least 1, at most cap
 * (0 = no cap).
 */
#pragma once

#include <errno.h>
#include <sched.h>
#include <stddef.h>

static inline unsigned cpus_available(unsigned cap)
{
	unsigned n = 1;

	/* A dynamic set: the fixed cpu_set_t stops at 1024 CPUs and then fails with EINVAL. */
	for (size_t ncpus = 1024; ncpus <= 1u << 20; ncpus *= 2) {
		size_t size = CPU_ALLOC_SIZE(ncpus);
		cpu_set_t *set = CPU_ALLOC(ncpus);
		int r;

		if (!set)
			break;
		r = sched_getaffinity(0, size, set);
		if (r == 0) {
			int c = CPU_COUNT_S(size, set);
			n = c > 0 ? (unsigned)c : 1;
		}
		CPU_FREE(set);
		if (r == 0 || errno != EINVAL)
			break;
	}
	return cap > 0 && n > cap ? cap : n;
}
