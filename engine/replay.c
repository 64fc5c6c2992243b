/* SPDX-License-Identifier: MIT */
#include "engine/replay.h"

#include <string.h>

enum { RING_WORDS = WM_REPLAY_BITS_TOTAL / WM_REPLAY_WORD_BITS };

_Static_assert((RING_WORDS & (RING_WORDS - 1)) == 0, "ring index wraps by masking");

void wm_replay_init(struct wm_replay *r)
{
	memset(r, 0, sizeof(*r));
}

bool wm_replay_check_and_update(struct wm_replay *r, uint64_t counter, uint64_t limit)
{
	uint64_t word = counter / WM_REPLAY_WORD_BITS;
	uint64_t bit = UINT64_C(1) << (counter % WM_REPLAY_WORD_BITS);
	uint64_t *slot;
	bool fresh;

	if (counter >= limit)
		return false;
	if (counter > r->greatest) {
		/*
		 * Words between the old greatest and the new one now stand for
		 * counters never seen; clear them, but a jump of a whole ring or
		 * more only needs every word cleared once.
		 */
		uint64_t from = r->greatest / WM_REPLAY_WORD_BITS;
		uint64_t skipped = word - from;

		if (skipped > RING_WORDS)
			skipped = RING_WORDS;
		for (uint64_t i = 1; i <= skipped; i++)
			r->ring[(from + i) & (RING_WORDS - 1)] = 0;
		r->greatest = counter;
	} else if (r->greatest - counter > WM_REPLAY_WINDOW) {
		return false;
	}
	slot = &r->ring[word & (RING_WORDS - 1)];
	fresh = !(*slot & bit);
	*slot |= bit;
	return fresh;
}
