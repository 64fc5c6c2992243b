/* SPDX-License-Identifier: MIT */
#include "engine/keypair.h"

#include <stdlib.h>

#include "engine/crypto.h"

struct wm_keypair *wm_keypair_create(void)
{
	static uint64_t next_id;
	struct wm_keypair *kp = calloc(1, sizeof(*kp));

	if (!kp)
		return NULL;
	kp->entry.type = WM_INDEX_KEYPAIR;
	kp->internal_id = ++next_id;
	wm_replay_init(&kp->replay);
	return kp;
}

void wm_keypair_destroy(struct wm_keypair *kp, struct wm_index_table *table)
{
	if (!kp)
		return;
	wm_index_remove(table, &kp->entry);
	wm_crypto_wipe(kp, sizeof(*kp));
	free(kp);
}

bool wm_keypair_can_send(const struct wm_keypair *kp, uint64_t now)
{
	return kp && kp->send_valid && now - kp->birthdate < WM_REJECT_AFTER_TIME &&
	       kp->send_counter < WM_REJECT_AFTER_MESSAGES;
}

bool wm_keypair_can_receive(const struct wm_keypair *kp, uint64_t now)
{
	return kp && now - kp->birthdate < WM_REJECT_AFTER_TIME &&
	       kp->replay.greatest < WM_REJECT_AFTER_MESSAGES;
}

void wm_keypairs_add(struct wm_keypairs *kps, struct wm_keypair *kp, struct wm_index_table *table)
{
	if (kp->i_am_initiator) {
		/*
		 * A parked, unconfirmed "next" is newer than current: demote it
		 * to previous (packets under it may still be in flight) and
		 * drop current, as the Linux implementation does.
		 */
		if (kps->next) {
			wm_keypair_destroy(kps->previous, table);
			wm_keypair_destroy(kps->current, table);
			kps->previous = kps->next;
			kps->next = NULL;
		} else {
			wm_keypair_destroy(kps->previous, table);
			kps->previous = kps->current;
		}
		kps->current = kp;
	} else {
		/* Not confirmed yet: park it, and let nothing older than current survive. */
		wm_keypair_destroy(kps->next, table);
		wm_keypair_destroy(kps->previous, table);
		kps->previous = NULL;
		kps->next = kp;
	}
}

bool wm_keypairs_received_with(struct wm_keypairs *kps, struct wm_keypair *kp,
			       struct wm_index_table *table)
{
	if (kp != kps->next)
		return false;
	wm_keypair_destroy(kps->previous, table);
	kps->previous = kps->current;
	kps->current = kp;
	kps->next = NULL;
	return true;
}

void wm_keypairs_expire_current(struct wm_keypairs *kps)
{
	if (kps->next)
		kps->next->send_valid = false;
	if (kps->current)
		kps->current->send_valid = false;
}

void wm_keypairs_clear(struct wm_keypairs *kps, struct wm_index_table *table)
{
	wm_keypair_destroy(kps->previous, table);
	wm_keypair_destroy(kps->current, table);
	wm_keypair_destroy(kps->next, table);
	kps->previous = kps->current = kps->next = NULL;
}
