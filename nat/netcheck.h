/* SPDX-License-Identifier: MIT */
/*
 * Netcheck: one round of endpoint discovery, sans I/O. STUN binding requests go from the
 * WireGuard UDP socket to the STUN server of each relay region (tailscale-protocols.md §2.4),
 * and the answers tell whether UDP works, which public addresses the NAT gives that socket,
 * whether the mapping depends on the destination (a hard NAT), and the latency to each region.
 *
 * Every retransmission carries its own transaction ID (the server's random ID with the attempt
 * number folded into the last byte), so a slow answer to an early attempt is still accepted and
 * its RTT is measured from the send it answers, not from the latest retransmission.
 */
#ifndef WM_NETCHECK_H
#define WM_NETCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/endpoint.h"
#include "common/rng.h"
#include "common/stun.h"

#define WM_NETCHECK_MAX_SERVERS 32
/* §2.4 stunProbeTimeout: a server that has not answered 3 s after the round started has failed. */
#define WM_NETCHECK_TIMEOUT_NS 3000000000ull
/* §2.4 defaultInitialRetransmitTime: resend an unanswered request after 100 ms. */
#define WM_NETCHECK_RETRANSMIT_NS 100000000ull
#define WM_NETCHECK_MAX_ATTEMPTS (WM_NETCHECK_TIMEOUT_NS / WM_NETCHECK_RETRANSMIT_NS)

struct wm_netcheck_server {
	uint16_t region;		/* relay region ID; 0 is reserved for "none" */
	struct wm_endpoint addr;	/* the STUN server, e.g. a relay's IP on port 3478 */
};

struct wm_netcheck_request {
	struct wm_endpoint to;
	uint8_t buf[WM_STUN_REQUEST_LEN];
};

enum wm_netcheck_probe_state {
	WM_NETCHECK_PENDING,
	WM_NETCHECK_ANSWERED,
	WM_NETCHECK_FAILED,
};

/* One server's side of a round; private to netcheck.c. */
struct wm_netcheck_probe {
	struct wm_netcheck_server server;
	uint8_t state;			/* enum wm_netcheck_probe_state */
	uint8_t n_sent;
	uint8_t txid[WM_STUN_TXID_LEN];
	uint64_t sent_at[WM_NETCHECK_MAX_ATTEMPTS];
	uint64_t rtt_ns;
	struct wm_endpoint mapped;
};

struct wm_netcheck {
	struct wm_netcheck_probe probes[WM_NETCHECK_MAX_SERVERS];
	size_t n_probes;
	uint64_t started;
	bool active;			/* a round has probes still pending */
};

struct wm_netcheck_region {
	uint16_t region;
	bool answered;
	uint64_t rtt_ns;		/* the lowest among the region's servers */
	struct wm_endpoint mapped;	/* as seen by that fastest server */
};

struct wm_netcheck_report {
	bool udp;			/* any server answered */
	/* The distinct reflexive addresses, sorted, IPv4 first. */
	struct wm_endpoint mapped[WM_NETCHECK_MAX_SERVERS];
	size_t n_mapped;
	/* Two servers at different ip:port saw different mappings of the same family... */
	bool mapping_varies_by_dest;
	/* ...which means something once two such servers of one family have answered. */
	bool mapping_known;
	/* One entry per region, in order of first mention among the servers. */
	struct wm_netcheck_region regions[WM_NETCHECK_MAX_SERVERS];
	size_t n_regions;
	uint16_t preferred_region;	/* lowest-RTT region that answered, 0 if none */
};

/*
 * Starts a new round against servers (copied), forgetting the previous one; nothing is sent
 * until poll. 0, or -EINVAL (and no round) when n exceeds WM_NETCHECK_MAX_SERVERS or an address
 * is unset. A round without servers is finished at once.
 */
int wm_netcheck_start(struct wm_netcheck *nc, const struct wm_netcheck_server *servers, size_t n,
		      uint64_t now, const struct wm_rng *rng);

/*
 * Fails the servers whose time is up and writes the requests due now (first sends and
 * retransmissions) to out; returns how many (at most cap). Requests left over for lack of room
 * stay due: next_deadline then says now.
 */
size_t wm_netcheck_poll(struct wm_netcheck *nc, uint64_t now, struct wm_netcheck_request *out,
			size_t cap);

/*
 * Call with every STUN datagram that arrived on the socket. True when it answered a pending
 * request of this round (and was consumed); false for anything else: not a success response,
 * an unknown txid, a source other than the request's destination, a server that already
 * answered, or an answer after the server's time was up.
 */
bool wm_netcheck_on_datagram(struct wm_netcheck *nc, const uint8_t *buf, size_t len,
			     const struct wm_endpoint *from, uint64_t now);

/* When to call poll next; 0 when nothing is pending (no round, or the round finished). */
uint64_t wm_netcheck_next_deadline(const struct wm_netcheck *nc);

/* True while some server has neither answered nor run out of time. */
bool wm_netcheck_running(const struct wm_netcheck *nc, uint64_t now);

/* Summarises what the round has learnt so far (final once running is false). */
void wm_netcheck_report(const struct wm_netcheck *nc, struct wm_netcheck_report *r);

#endif
