/* SPDX-License-Identifier: MIT */
/*
 * admin cleanup: the retention rule. Kept: the booted deployment, the
 * default (index 0), one rollback (index 1) and every pinned one; the
 * others lose their entries in one switch, then their directories, pins
 * and boot files no kept entry shares are removed.
 */
#include "basic/error.h"
#include "deploy-internal.h"

int st_sysroot_cleanup(struct st_sysroot *s, struct st_cleanup_stats *ret_stats)
{
	_cleanup_(st_deploy_list_freep) struct st_deploy_list *l = NULL;
	struct st_cleanup_stats stats = {};
	size_t i = 0;
	int r;

	r = sysroot_require_exclusive(s);
	if (r < 0)
		return r;
	r = st_sysroot_load(s, &l);
	if (r < 0)
		return r;
	for (size_t index = 0; i < l->n; index++) {
		const struct st_deployment *d = &l->d[i];

		if (index <= 1 || d->booted || d->pinned) {
			i++;
			continue;
		}
		r = st_deploy_list_remove(l, i);
		if (r < 0)
			return r;
		stats.deployments_removed++;
	}
	if (stats.deployments_removed > 0) {
		r = st_sysroot_write_list(s, l);
		if (r < 0)
			return r;
		stats.deployments_removed = 0;
	}
	/* The prune proper (also after a switch that removed nothing, for leftovers). */
	r = sysroot_prune_unused(s, l, &stats);
	if (r < 0)
		return r;
	if (ret_stats)
		*ret_stats = stats;
	return 0;
}

int st_sysroot_boot_complete(struct st_sysroot *s)
{
	_cleanup_(st_deploy_list_freep) struct st_deploy_list *l = NULL;
	int r;

	r = sysroot_require_exclusive(s);
	if (r < 0)
		return r;
	r = st_sysroot_load(s, &l);
	if (r < 0)
		return r;
	for (size_t i = 0; i < l->n; i++) {
		struct st_deployment *d = &l->d[i];

		if (!d->booted)
			continue;
		if (!d->boot_counter)
			return 0;
		free(d->boot_counter);
		d->boot_counter = NULL;
		r = st_sysroot_write_list(s, l);
		return r < 0 ? r : 1;
	}
	return st_errf(-ENOENT, "no deployment is booted (no booted.json, or it names none of the entries)");
}
