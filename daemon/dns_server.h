/* SPDX-License-Identifier: MIT */
/*
 * The node's resolver on its loop (docs/dns.md): takes the DNS queries the data path finds
 * addressed to 100.100.100.100 or fd77:6d65:7368::53 (routed into the mesh interface, so no
 * socket on port 53 and no privilege is needed), answers mesh names at once (daemon/dns.h), and
 * forwards the rest to the host's upstream resolvers through ordinary UDP sockets, under a
 * fresh random id, with a bounded table of pending queries; an upstream that does not answer
 * is tried after the next, and SERVFAIL goes back when none did. TCP to the resolver is
 * refused (a reset) so that clients fall back at once instead of waiting.
 */
#ifndef WM_DNS_SERVER_H
#define WM_DNS_SERVER_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "coord-client/netmap.h"
#include "daemon/dns.h"
#include "daemon/dns_host.h"
#include "filter/pkt.h"

struct wm_node;

#define WM_DNS_MAX_PENDING 256		/* forwarded queries waiting for an upstream */
#define WM_DNS_RETRY_S 1.5		/* then the next upstream is asked */
#define WM_DNS_TRIES 3			/* sends of one query before SERVFAIL */

struct wm_dns_pending {
	bool used;
	uint16_t upstream_id;
	uint8_t tries;
	size_t upstream;			/* index of the upstream asked last */
	double sent_at;				/* loop time */
	struct wm_pkt client;			/* the query's headers; src/dst point into addrs */
	uint8_t addrs[32];
	size_t len;
	uint8_t query[WM_DNS_UDP_MAX];
};

struct wm_dns_stats {
	uint64_t answered, forwarded, upstream_answers, servfail, malformed, busy, refused;
};

struct wm_dns_server {
	struct wm_node *node;
	struct wm_dns_names names;
	int fd4, fd6;				/* upstream sockets; -1: none */
	ev_io w4, w6;
	ev_timer retry_timer;
	struct wm_dns_host host;
	bool host_started;
	struct wm_dns_pending pending[WM_DNS_MAX_PENDING];
	size_t n_pending;
	struct wm_dns_stats stats;
};

/*
 * Starts the resolver on node's interface (routes to its addresses, the data path's hook, the
 * upstream sockets) and the host's side (dns_host.h). 0 or -errno with a sentence in err.
 */
int wm_dns_server_start(struct wm_dns_server *s, struct wm_node *node, int ifindex,
			enum wm_dns_accept accept, const char *state_dir, char *err,
			size_t errlen);

/* The names of this netmap from now on; the host is pointed at the suffix. */
void wm_dns_server_apply(struct wm_dns_server *s, const struct wm_netmap *nm);

/* Stops, undoing what the host's side changed. */
void wm_dns_server_stop(struct wm_dns_server *s);

/* For status: resolver addresses, suffix, host integration, counters. */
json_t *wm_dns_server_json(const struct wm_dns_server *s);

#endif
