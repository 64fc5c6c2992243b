/* SPDX-License-Identifier: MIT */
/*
 * Anti-replay filter for transport data counters: a sliding window over the
 * greatest counter accepted, kept as a ring of bit words (whitepaper §5.4.6,
 * RFC 6479). One per receiving keypair; not thread-safe, the caller serialises.
 */
#ifndef WM_REPLAY_H
#define WM_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

/*
 * The ring holds one word more than the window, so advancing into a new word
 * can clear it without losing any counter still inside the window.
 */
enum {
	WM_REPLAY_WORD_BITS = 64,
	WM_REPLAY_BITS_TOTAL = 8192,
	WM_REPLAY_WINDOW = WM_REPLAY_BITS_TOTAL - WM_REPLAY_WORD_BITS, /* 8128 usable */
};

struct wm_replay {
	uint64_t greatest; /* greatest counter accepted; 0 (bit clear) when none yet */
	uint64_t ring[WM_REPLAY_BITS_TOTAL / WM_REPLAY_WORD_BITS];
};

/* Resets to the zero state: nothing seen, counter 0 acceptable. A zeroed struct is the same. */
void wm_replay_init(struct wm_replay *r);

/*
 * True when counter is fresh: below limit (REJECT_AFTER_MESSAGES), not behind
 * the window (greatest - counter <= WM_REPLAY_WINDOW) and not seen before; it
 * is then marked seen. Call only after the packet authenticated, or a forged
 * counter would advance the window and make real packets look old.
 */
bool wm_replay_check_and_update(struct wm_replay *r, uint64_t counter, uint64_t limit);

#endif
