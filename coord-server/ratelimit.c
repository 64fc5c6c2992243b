/* SPDX-License-Identifier: MIT */
#include "coord-server/ratelimit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define PROBES 8
#define MILLI 1000u

int wm_coord_ratelimit_init(struct wm_coord_ratelimit *rl, size_t slots, uint32_t per_sec,
			    uint32_t burst)
{
	memset(rl, 0, sizeof(*rl));
	rl->n_slots = PROBES;
	while (rl->n_slots < (slots ? slots : WM_COORD_RATE_SLOTS))
		rl->n_slots *= 2;
	rl->slots = calloc(rl->n_slots, sizeof(*rl->slots));
	if (!rl->slots)
		return -ENOMEM;
	randombytes_buf(rl->hash_key, sizeof(rl->hash_key));
	rl->per_sec = per_sec ? per_sec : WM_COORD_RATE_PER_SEC;
	rl->burst = burst ? burst : WM_COORD_RATE_BURST;
	return 0;
}

void wm_coord_ratelimit_free(struct wm_coord_ratelimit *rl)
{
	free(rl->slots);
	memset(rl, 0, sizeof(*rl));
}

static struct wm_coord_rate_slot *slot_for(struct wm_coord_ratelimit *rl,
					   const uint8_t key[WM_KEY_LEN])
{
	uint8_t h[crypto_shorthash_BYTES];
	struct wm_coord_rate_slot *victim = NULL;
	uint64_t v;

	crypto_shorthash(h, key, WM_KEY_LEN, rl->hash_key);
	memcpy(&v, h, sizeof(v));
	for (size_t i = 0; i < PROBES; i++) {
		struct wm_coord_rate_slot *s = &rl->slots[(v + i) & (rl->n_slots - 1)];

		if (s->last_ns && !sodium_memcmp(s->key, key, WM_KEY_LEN))
			return s;
		if (!victim || s->last_ns < victim->last_ns)
			victim = s;
	}
	memcpy(victim->key, key, WM_KEY_LEN);
	victim->last_ns = 0;
	return victim;
}

bool wm_coord_ratelimit_allow(struct wm_coord_ratelimit *rl, const uint8_t key[WM_KEY_LEN],
			      uint64_t now_ns)
{
	struct wm_coord_rate_slot *s = slot_for(rl, key);
	uint64_t cap = (uint64_t)rl->burst * MILLI, elapsed_ms;

	if (!s->last_ns) {
		s->tokens_milli = cap;
	} else if (now_ns > s->last_ns) {
		elapsed_ms = (now_ns - s->last_ns) / 1000000u;
		s->tokens_milli += elapsed_ms * rl->per_sec;
		if (s->tokens_milli > cap)
			s->tokens_milli = cap;
	}
	/* Never 0: 0 marks a free slot. */
	s->last_ns = now_ns ? now_ns : 1;
	if (s->tokens_milli < MILLI)
		return false;
	s->tokens_milli -= MILLI;
	return true;
}
