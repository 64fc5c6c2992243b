/* SPDX-License-Identifier: MIT */
/*
 * One packet of a batch, what the caller is to do with it, and why it was
 * dropped: the currency of every data-path call (send.h, receive.h, crypt.h).
 * Its own small header so the AEAD phase (crypt.c) needs nothing of the device.
 */
#ifndef WM_PACKET_H
#define WM_PACKET_H

#include <stddef.h>
#include <stdint.h>

#include "common/endpoint.h"
#include "engine/messages.h"

struct wm_peer;

/* Why a packet was dropped; counted per device. */
enum wm_drop_reason {
	WM_DROP_NONE,
	WM_DROP_MALFORMED,		/* too short, wrong length, reserved bits set */
	WM_DROP_UNKNOWN_TYPE,
	WM_DROP_BAD_MAC1,
	WM_DROP_RATELIMITED,
	WM_DROP_HANDSHAKE_INVALID,	/* did not authenticate, unknown peer, replay, flood */
	WM_DROP_COOKIE_INVALID,
	WM_DROP_UNKNOWN_INDEX,
	WM_DROP_KEY_EXPIRED,
	WM_DROP_DECRYPT_FAILED,
	WM_DROP_REPLAYED,
	WM_DROP_BAD_INNER_PACKET,
	WM_DROP_SOURCE_NOT_ALLOWED,
	WM_DROP_NO_ROUTE,
	WM_DROP_NO_ENDPOINT,
	WM_DROP_NO_KEY,			/* no private key configured */
	WM_DROP_STAGED_OVERFLOW,
	WM_DROP_NO_MEMORY,
	WM_DROP_REASON_COUNT,
};

/* A short name for a drop reason ("replayed", "no-route", …). */
const char *wm_drop_reason_name(enum wm_drop_reason reason);

/* What the caller does with a packet after a batch call. */
enum wm_verdict {
	WM_VERDICT_NONE,
	WM_VERDICT_SEND,	/* data..len is a datagram for endpoint */
	WM_VERDICT_TUN,		/* data..len is a plaintext IP packet for the TUN */
	WM_VERDICT_CONSUMED,	/* handled inside the engine (handshake, keepalive, staged) */
	WM_VERDICT_DROP,	/* see drop_reason */
	/* Between the phases of a split batch (see crypt.h); callers of the one-call APIs never see these. */
	WM_VERDICT_SEAL,	/* prepared: header written, to be sealed */
	WM_VERDICT_OPEN,	/* prepared: to be opened */
	WM_VERDICT_OPENED,	/* opened; wm_receive_finish decides */
	WM_VERDICT_OPEN_FAILED,	/* did not authenticate; wm_receive_finish counts the drop */
};

/*
 * One packet of a batch. For sending, data points at a plaintext IP packet
 * with WM_PACKET_HEADROOM bytes free before it and WM_PACKET_TAILROOM after
 * it; it is sealed in place. For receiving, data is the datagram and endpoint
 * its source; it is opened in place.
 */
struct wm_packet {
	uint8_t *data;
	size_t len;
	struct wm_endpoint endpoint;
	struct wm_peer *peer;
	uint8_t verdict;
	uint8_t drop_reason;
	/*
	 * For the crypto phase: a copy of the key, so the AEAD work touches no
	 * engine state and may run on any thread while the engine carries on.
	 */
	uint64_t counter;
	uint8_t key[WM_SYMMETRIC_KEY_LEN];
};

#endif
