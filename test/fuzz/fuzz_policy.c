/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer: the access policy parser and compiler (coord-server/policy*.c). The input is a
 * policy file, compiled against a fixed mesh of six nodes as it is served (unknown names
 * tolerated) and as `policy set` checks it (strict, with its tests); web routes two subnets,
 * db is an exit node. Beyond not crashing: every node's filter is valid JSON within the node's
 * bounds that the node's own parser takes, and no node sees itself; autoApprovers are asked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "coord-server/policy.h"
#include "filter/filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N 6

static struct wm_store_node nodes[N];
static struct wm_store_route routes[5];
static const char *const route_text[5] = { "192.168.50.0/24", "10.0.0.0/8", "0.0.0.0/0", "::/0",
					   "172.16.0.0/12" };

static void make_nodes(void)
{
	static const char *const names[N] = { "web", "db", "laptop", "ci1", "ci2", "printer" };
	/* printer carries two tags, as a node of an auth key made with --tags does. */
	static const char *const tags[N] = { "web", "", "", "tag:ci", "ci", "tag:ci,print" };

	for (int i = 0; i < N; i++) {
		memset(&nodes[i], 0, sizeof(nodes[i]));
		nodes[i].id = i + 1;
		snprintf(nodes[i].name, sizeof(nodes[i].name), "%s", names[i]);
		snprintf(nodes[i].tag, sizeof(nodes[i].tag), "%s", tags[i]);
		/* Two neighbours share a /31, so prefixes aggregate. */
		nodes[i].ipv4 = 0x64400001u + (uint32_t)(i < 4 ? i : 2 * i);
	}
	for (int i = 0; i < 5; i++) {
		routes[i].node_id = i < 2 ? 1 : i < 4 ? 2 : 3;
		routes[i].advertised = true;
		routes[i].approved = i != 4;	/* laptop's is not approved */
		wm_netmap_prefix_parse(&routes[i].prefix, route_text[i]);
	}
}

static void check_served(struct wm_policy *p)
{
	for (size_t i = 0; i < N; i++) {
		bool truncated;
		size_t len;
		uint64_t bits = 0;
		char *text = wm_policy_filter(p, i, &len, &truncated);
		json_t *o;

		if (!text)
			abort();
		o = json_loads(text, 0, NULL);
		if (!o || len != strlen(text) || len > WM_PACKET_FILTER_MAX ||
		    !json_is_array(json_object_get(o, "rules")) ||
		    json_array_size(json_object_get(o, "rules")) > WM_POLICY_MAX_RULES ||
		    !json_is_object(json_object_get(o, "reach")))
			abort();
		json_decref(o);
		{
			struct wm_filter *f = NULL;

			char why[256];

			if (wm_filter_parse(&f, text, len, why, sizeof(why))) {
				fprintf(stderr, "node %zu refuses its filter: %s\n", i, why);
				abort();
			}	/* the node would refuse what the server sends */
			wm_filter_free(f);
		}
		free(text);
		wm_policy_visible(p, i, &bits, 1);
		if (bits >> i & 1 || bits >> N)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const asks[][2] = {
		{ "laptop", "web:80" }, { "tag:ci", "*:22" }, { "100.64.0.3", "db:5432" },
		{ "group:eng", "printer" },
	};
	char err[WM_POLICY_ERR_LEN], *out;
	struct wm_policy *p = NULL;

	if (!nodes[0].id)
		make_nodes();
	if (wm_policy_parse(&p, (const char *)data, size, err, sizeof(err)))
		return 0;
	if (!wm_policy_compile(p, nodes, N, routes, 5, NULL, 0, false, err, sizeof(err))) {
		check_served(p);
		for (size_t k = 0; k < 5; k++)
			wm_policy_auto_approves(p, k, &routes[k].prefix);
		for (size_t k = 0; k < sizeof(asks) / sizeof(asks[0]); k++)
			if (!wm_policy_explain(p, asks[k][0], asks[k][1],
					       k == 3 ? WM_POLICY_ICMP : WM_POLICY_TCP, &out, err,
					       sizeof(err)))
				free(out);
	}
	if (!wm_policy_compile(p, nodes, N, routes, 5, NULL, 0, true, err, sizeof(err)))
		wm_policy_run_tests(p, err, sizeof(err));
	wm_policy_free(p);
	return 0;
}
