/* SPDX-License-Identifier: MIT */
/*
 * The path manager of one peer, sans I/O (docs/nat-traversal.md): which of the peer's
 * candidate addresses carries WireGuard traffic, or the relay when none is known to work.
 *
 * A direct path is trusted only while disco pongs keep coming: every pong from a candidate
 * extends its trust by WM_PATH_TRUST_NS, and while the peer is active the best path is pinged
 * every WM_PATH_HEARTBEAT_NS. When trust runs out, traffic goes through the relay and the
 * candidates are swept (pinged, with a call-me-maybe through the relay so the peer pings back
 * at the same moment and both NATs open) every WM_PATH_PING_INTERVAL_NS until a pong brings a
 * direct path back. The caller owns sockets, keys and the clock: it asks wm_path_tick() what
 * to send, feeds pongs and pings in, and reads the decision with wm_path_decide().
 */
#ifndef WM_PATH_H
#define WM_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/endpoint.h"
#include "common/rng.h"

#define WM_PATH_MS 1000000ULL
#define WM_PATH_S 1000000000ULL

/* Timing, Tailscale's values (wgengine/magicsock; spec §3.5). */
#define WM_PATH_PING_INTERVAL_NS (5 * WM_PATH_S)	/* discovery pings to one candidate, at most */
#define WM_PATH_PING_TIMEOUT_NS (5 * WM_PATH_S)		/* a ping without pong by then is lost */
#define WM_PATH_HEARTBEAT_NS (3 * WM_PATH_S)		/* ping the best path while active */
#define WM_PATH_TRUST_NS (6500 * WM_PATH_MS)		/* a pong keeps a direct path trusted this long */
#define WM_PATH_ACTIVE_NS (45 * WM_PATH_S)		/* sent data within this: the session is active */
#define WM_PATH_LEARNED_TTL_NS (45 * WM_PATH_S)		/* addresses learned from pings or roaming */
#define WM_PATH_UPGRADE_NS (60 * WM_PATH_S)		/* sweep again for a better path this often… */
#define WM_PATH_GOOD_ENOUGH_NS (5 * WM_PATH_MS)		/* …unless the direct path is this fast */

enum {
	WM_PATH_MAX_CANDIDATES = 32,
	WM_PATH_MAX_PINGS = 48,		/* outstanding; the oldest is forgotten when full */
	WM_PATH_TXID_LEN = 12,
};

/* Where a candidate address came from. */
enum wm_path_source {
	WM_PATH_FROM_NETMAP,		/* published by the peer through the coordination server */
	WM_PATH_FROM_CALL_ME_MAYBE,	/* the peer's call-me-maybe, through the relay */
	WM_PATH_FROM_PING,		/* a disco ping from the peer arrived from there */
	WM_PATH_FROM_ROAMING,		/* authenticated WireGuard packets arrived from there */
};

struct wm_path_candidate {
	struct wm_endpoint addr;
	uint8_t source;			/* enum wm_path_source */
	uint64_t last_ping;		/* monotonic ns; 0: never */
	uint64_t last_pong;		/* 0: never answered */
	uint64_t latency;		/* of the last pong, ns */
	uint64_t expires;		/* learned ones (not from the netmap or call-me-maybe); else 0 */
};

struct wm_path_ping {
	uint8_t txid[WM_PATH_TXID_LEN];
	struct wm_endpoint to;		/* unset for a ping through the relay */
	bool via_relay;
	bool in_use;
	uint64_t sent;
};

struct wm_path {
	struct wm_path_candidate cand[WM_PATH_MAX_CANDIDATES];
	size_t n_cand;
	struct wm_path_ping pings[WM_PATH_MAX_PINGS];
	int best;			/* index into cand, -1: none */
	uint64_t trust_until;		/* the best path is used alone until then */
	uint64_t last_active;		/* data last went to the peer (the caller says) */
	uint64_t last_sweep;		/* last time every candidate was pinged */
	bool sweep_wanted;		/* ping every candidate at the next tick, active or not */
	bool sweep_from_peer;		/* …because the peer asked (no call-me-maybe back) */
	bool has_relay;			/* the peer has a home relay we can reach it through */
	uint64_t relay_latency;		/* of the last pong through the relay; 0: none yet */
	uint64_t pongs, pings_sent, call_me_maybes_received;
};

/* What the caller should send (filled by wm_path_tick). */
enum wm_path_action_kind {
	WM_PATH_SEND_PING,		/* a disco ping with txid to `to`, or through the relay */
	WM_PATH_SEND_CALL_ME_MAYBE,	/* our candidates, through the relay */
};

struct wm_path_action {
	enum wm_path_action_kind kind;
	struct wm_endpoint to;
	bool via_relay;
	uint8_t txid[WM_PATH_TXID_LEN];
};

enum wm_path_choice {
	WM_PATH_NONE,			/* no direct path and no relay */
	WM_PATH_DIRECT,			/* *ep is the trusted best candidate */
	WM_PATH_RELAY,
};

void wm_path_init(struct wm_path *p, bool has_relay);

/* Replaces the candidates of source `source` (netmap or call-me-maybe) with eps; what they
 * had learned (pongs, latency) is kept for addresses that stay. Extra ones beyond
 * WM_PATH_MAX_CANDIDATES are ignored. */
void wm_path_set_candidates(struct wm_path *p, enum wm_path_source source,
			    const struct wm_endpoint *eps, size_t n);

/* Adds (or refreshes) one learned address; it expires WM_PATH_LEARNED_TTL_NS after now. */
void wm_path_learn(struct wm_path *p, const struct wm_endpoint *addr, enum wm_path_source source,
		   uint64_t now);

/* The peer sent us a call-me-maybe: replace those candidates and sweep at once. */
void wm_path_call_me_maybe(struct wm_path *p, const struct wm_endpoint *eps, size_t n,
			   uint64_t now);

/* Data went to the peer at now (makes the peer active). */
void wm_path_note_active(struct wm_path *p, uint64_t now);

/* Ask for a sweep at the next tick (a new peer, a network change, `wiremesh ping`). */
void wm_path_want_sweep(struct wm_path *p);

/*
 * Expires what is due and says what to send now: heartbeats, sweeps and the call-me-maybe
 * that goes with a sweep. txids come from rng. Returns the number of actions written (at most
 * cap; pings beyond cap wait for the next tick).
 */
size_t wm_path_tick(struct wm_path *p, uint64_t now, const struct wm_rng *rng,
		    struct wm_path_action *out, size_t cap);

/* A ping through the relay (for latency, `wiremesh ping`): records it; fills act. */
void wm_path_ping_via_relay(struct wm_path *p, uint64_t now, const struct wm_rng *rng,
			    struct wm_path_action *act);

/* A direct ping to addr outside the schedule (`wiremesh ping`): records it; fills act. */
void wm_path_ping_direct(struct wm_path *p, const struct wm_endpoint *addr, uint64_t now,
			 const struct wm_rng *rng, struct wm_path_action *act);

/*
 * A pong: matched by txid to our ping, and (for a direct one) it must come from where the ping
 * went. Returns false for an unknown txid or a mismatch. *latency gets the round trip. A
 * direct pong makes its candidate the best when it is better (or the best is not trusted),
 * and extends the trust of the best.
 */
bool wm_path_on_pong(struct wm_path *p, const uint8_t txid[WM_PATH_TXID_LEN],
		     const struct wm_endpoint *from, bool via_relay, uint64_t now,
		     uint64_t *latency);

/*
 * Makes addr the best path if it has answered a ping (WireGuard roamed there: the peer itself
 * uses it), trusted as long as its last pong allows.
 */
void wm_path_prefer(struct wm_path *p, const struct wm_endpoint *addr);

/* The current decision. */
enum wm_path_choice wm_path_decide(const struct wm_path *p, uint64_t now, struct wm_endpoint *ep);

/* The best candidate (trusted or not), or NULL. */
const struct wm_path_candidate *wm_path_best(const struct wm_path *p);

/* The earliest time wm_path_tick has something to do (0: nothing scheduled). */
uint64_t wm_path_next_deadline(const struct wm_path *p, uint64_t now);

/* True when data went to the peer within WM_PATH_ACTIVE_NS. */
bool wm_path_is_active(const struct wm_path *p, uint64_t now);

/* A short name of a source ("netmap", "call-me-maybe", "ping", "roaming"). */
const char *wm_path_source_name(enum wm_path_source source);

#endif
