/* SPDX-License-Identifier: MIT */
#include "coord-server/admin_policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tag_list {
	char **v;
	size_t n, cap;
	bool oom;
};

static void collect_tag(void *ctx, const struct wm_store_authkey *k)
{
	struct tag_list *t = ctx;
	char **grown;

	if (!k->tag[0] || t->oom)
		return;
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 16;
		if (!(grown = realloc(t->v, t->cap * sizeof(*grown)))) {
			t->oom = true;
			return;
		}
		t->v = grown;
	}
	if (!(t->v[t->n] = strdup(k->tag)))
		t->oom = true;
	else
		t->n++;
}

int wm_coord_policy_compile(void *ctx, struct wm_store *s)
{
	struct wm_coord_policy_job *job = ctx;
	struct wm_store_node *nodes = NULL;
	struct wm_store_route *routes = NULL;
	struct tag_list tags = { 0 };
	size_t n_routes = 0;
	int ret;

	wm_policy_free(job->pol);
	job->pol = NULL;
	ret = wm_policy_parse(&job->pol, job->text, job->len, job->err, sizeof(job->err));
	if (ret)
		return ret;
	if ((ret = wm_store_nodes_load(s, &nodes, &job->n_nodes)) ||
	    (ret = wm_store_routes_load(s, &routes, &n_routes)) ||
	    (ret = wm_store_authkey_list(s, collect_tag, &tags)))
		goto out;
	if (tags.oom) {
		ret = -ENOMEM;
		snprintf(job->err, sizeof(job->err), "out of memory");
		goto out;
	}
	ret = wm_policy_compile(job->pol, nodes, job->n_nodes, routes, n_routes,
				(const char *const *)tags.v, tags.n, job->strict, job->err,
				sizeof(job->err));
	if (!ret && job->tests)
		ret = wm_policy_run_tests(job->pol, job->err, sizeof(job->err));
out:
	for (size_t i = 0; i < tags.n; i++)
		free(tags.v[i]);
	free(tags.v);
	free(nodes);
	free(routes);
	return ret;
}

/* What was found just before still holds if the nodes are the same (auth keys are never
 * deleted, so no tag went away). So checking a big mesh's policy, which renders every node's
 * filter, does not hold the write lock the server needs too. */
int wm_coord_policy_recheck(void *ctx, struct wm_store *s)
{
	struct wm_coord_policy_job *job = ctx;
	struct wm_store_node *nodes;
	struct wm_store_route *routes = NULL;
	size_t n, n_routes = 0;
	bool same;
	int ret = wm_store_nodes_load(s, &nodes, &n);

	if (ret)
		return ret;
	if ((ret = wm_store_routes_load(s, &routes, &n_routes))) {
		free(nodes);
		return ret;
	}
	same = wm_policy_same_nodes(job->pol, nodes, n, routes, n_routes);
	free(nodes);
	free(routes);
	return same ? 0 : wm_coord_policy_compile(job, s);
}
