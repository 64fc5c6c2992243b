/* SPDX-License-Identifier: MIT */
#include "engine/packet.h"

static const char *const drop_reason_names[WM_DROP_REASON_COUNT] = {
	[WM_DROP_NONE] = "none",
	[WM_DROP_MALFORMED] = "malformed",
	[WM_DROP_UNKNOWN_TYPE] = "unknown-type",
	[WM_DROP_BAD_MAC1] = "bad-mac1",
	[WM_DROP_RATELIMITED] = "ratelimited",
	[WM_DROP_HANDSHAKE_INVALID] = "handshake-invalid",
	[WM_DROP_COOKIE_INVALID] = "cookie-invalid",
	[WM_DROP_UNKNOWN_INDEX] = "unknown-index",
	[WM_DROP_KEY_EXPIRED] = "key-expired",
	[WM_DROP_DECRYPT_FAILED] = "decrypt-failed",
	[WM_DROP_REPLAYED] = "replayed",
	[WM_DROP_BAD_INNER_PACKET] = "bad-inner-packet",
	[WM_DROP_SOURCE_NOT_ALLOWED] = "source-not-allowed",
	[WM_DROP_NO_ROUTE] = "no-route",
	[WM_DROP_NO_ENDPOINT] = "no-endpoint",
	[WM_DROP_NO_KEY] = "no-private-key",
	[WM_DROP_STAGED_OVERFLOW] = "staged-overflow",
	[WM_DROP_NO_MEMORY] = "no-memory",
};

const char *wm_drop_reason_name(enum wm_drop_reason reason)
{
	if ((unsigned)reason >= WM_DROP_REASON_COUNT)
		return "unknown";
	return drop_reason_names[reason];
}
