/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "sealtree/error.h"
#include "sealtree/hex.h"
#include "sealtree.h"
#include "sealtree/trust.h"
#include "trust-gate.h"
#include "trust-report.h"

int trust_gate_check(struct st_repo *repo, const char *spec, const uint8_t id[ST_COMMIT_ID_SIZE],
		     struct trust_gate *g)
{
	struct st_trust_store *store = NULL;
	struct st_trust_result *res = NULL;
	uint8_t ref_id[ST_COMMIT_ID_SIZE];
	char hex[2 * ST_COMMIT_ID_SIZE + 1], reason[512];
	int r, ret = -1;

	st_hex_encode(id, ST_COMMIT_ID_SIZE, hex);
	g->ref = NULL;
	if (st_ref_name_valid(spec) && st_repo_read_ref(repo, spec, ref_id) >= 0 &&
	    memcmp(ref_id, id, ST_COMMIT_ID_SIZE) == 0)
		g->ref = spec;
	if (g->no_downgrade && !g->ref) {
		log_error("mount: --no-downgrade needs a ref, not '%s'", spec);
		return -1;
	}

	r = st_repo_read_commit(repo, id, &g->commit);
	if (r < 0) {
		log_error_errno(r, "mount: refused: broken link: commit %s", hex);
		return -1;
	}
	r = st_trust_store_load(g->keys_dir, &store);
	if (r < 0) {
		log_error_errno(r, "mount: refused: cannot load the trust store");
		return -1;
	}
	r = st_repo_trust_check(repo, store, g->ref, id, ST_TRUST_REQUIRE_SIGNATURE, &res);
	if (r < 0) {
		log_error_errno(r, "mount: refused: cannot check the signatures of commit %s", hex);
		goto out;
	}
	if (res->verdict != ST_TRUST_VALID) {
		trust_failure_reason(res, reason, sizeof(reason));
		log_error("mount: refused: broken link: signature: commit %s is not valid: %s", hex, reason);
		goto out;
	}
	key_id_short_hex(res->sigs[res->valid_index].key_id, g->valid_key);
	if (g->no_downgrade) {
		struct st_accepted last;

		r = st_repo_read_accepted(repo, g->ref, &last);
		if (r >= 0)
			r = st_accepted_check(&last, g->commit);
		if (r < 0 && r != -ENOENT) {
			log_error_errno(r, "mount: refused: broken link: freshness: commit %s for '%s'", hex, g->ref);
			goto out;
		}
		st_error_clear();
	}
	ret = 0;
out:
	st_trust_result_free(res);
	st_trust_store_free(store);
	return ret;
}

int trust_gate_accept(struct st_repo *repo, const uint8_t id[ST_COMMIT_ID_SIZE], struct trust_gate *g)
{
	int r;

	if (!g->ref)
		return 0;
	r = st_repo_record_accepted(repo, g->ref, id, g->commit);
	if (r < 0) {
		log_error_errno(r, "mount: cannot record the commit as accepted for '%s'", g->ref);
		return -1;
	}
	return 0;
}

void trust_gate_release(struct trust_gate *g)
{
	g->commit = st_commit_free(g->commit);
}
