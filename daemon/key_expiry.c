/* SPDX-License-Identifier: MIT */
#include "daemon/key_expiry.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

bool wm_key_expiry_refusal(const char *coord_state, const char *message)
{
	/* The server's sentence for node_expired and auth_key_required after expiry. */
	return coord_state && message && !strcmp(coord_state, "rejected") &&
	       strstr(message, "key expired");
}

static void format_utc(char out[32], int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%d %H:%M UTC", &tm))
		snprintf(out, 32, "%lld", (long long)t);
}

/* "3 days", "5 hours", "12 minutes": the largest unit that is at least one. */
static void format_left(char out[32], int64_t s)
{
	if (s >= 2 * 86400)
		snprintf(out, 32, "%lld days", (long long)(s / 86400));
	else if (s >= 2 * 3600)
		snprintf(out, 32, "%lld hours", (long long)(s / 3600));
	else
		snprintf(out, 32, "%lld minutes", (long long)((s + 59) / 60));
}

enum wm_key_expiry_state wm_key_expiry_note(char *out, size_t cap, int64_t key_expiry,
					    int64_t now, bool refused_expired)
{
	char when[32], left[32];

	if (cap)
		out[0] = '\0';
	if (key_expiry > 0)
		format_utc(when, key_expiry);
	if (refused_expired || (key_expiry > 0 && now >= key_expiry)) {
		snprintf(out, cap, "this node's key expired%s%s: the coordination server no longer "
			 "accepts it, so this node has no peers. Get an auth key from the admin "
			 "(wiremesh-coord authkey create) and run `%s` (same name and addresses, a new "
			 "key)", key_expiry > 0 ? " at " : "", key_expiry > 0 ? when : "",
			 WM_MESH_REAUTH_HINT);
		return WM_KEY_EXPIRED;
	}
	if (key_expiry <= 0 || key_expiry - now > WM_KEY_EXPIRY_WARN_S)
		return WM_KEY_FINE;
	format_left(left, key_expiry - now);
	snprintf(out, cap, "this node's key expires in %s (%s); then it leaves the mesh until "
		 "it renews: run `wiremesh rotate-key` now (a new key, same node), or later `%s`",
		 left, when, WM_MESH_REAUTH_HINT);
	return WM_KEY_EXPIRES_SOON;
}
