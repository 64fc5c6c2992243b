/* SPDX-License-Identifier: MIT */
#include "relay-client/derp_info.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "relay-client/derp_json.h"

static ssize_t finish(int n, size_t cap)
{
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	return n;
}

ssize_t wm_derp_client_info_format(char *out, size_t cap, const struct wm_derp_client_info *in)
{
	char version[32] = "";

	if (in->version)
		snprintf(version, sizeof(version), "\"version\":%" PRId64 ",", in->version);
	return finish(snprintf(out, cap, "{%s\"CanAckPings\":%s%s}", version,
			       in->can_ack_pings ? "true" : "false",
			       in->is_prober ? ",\"IsProber\":true" : ""), cap);
}

ssize_t wm_derp_server_info_format(char *out, size_t cap, const struct wm_derp_server_info *in)
{
	char parts[3][64] = { "", "", "" };
	const char *sep = "";

	if (in->version) {
		snprintf(parts[0], sizeof(parts[0]), "\"version\":%" PRId64, in->version);
		sep = ",";
	}
	if (in->token_bucket_bytes_per_second) {
		snprintf(parts[1], sizeof(parts[1]), "%s\"TokenBucketBytesPerSecond\":%" PRId64, sep,
			 in->token_bucket_bytes_per_second);
		sep = ",";
	}
	if (in->token_bucket_bytes_burst)
		snprintf(parts[2], sizeof(parts[2]), "%s\"TokenBucketBytesBurst\":%" PRId64, sep,
			 in->token_bucket_bytes_burst);
	return finish(snprintf(out, cap, "{%s%s%s}", parts[0], parts[1], parts[2]), cap);
}

/* Go leaves a field untouched for null; a value of another type fails the whole decode. */
static int take_int(const struct wm_json_member *m, int64_t *out)
{
	if (m->type == WM_JSON_NULL)
		return 0;
	return wm_json_get_int(m, out) ? -EBADMSG : 0;
}

static int take_bool(const struct wm_json_member *m, bool *out)
{
	if (m->type == WM_JSON_NULL)
		return 0;
	return wm_json_get_bool(m, out) ? -EBADMSG : 0;
}

static int client_member(void *ctx, const struct wm_json_member *m)
{
	struct wm_derp_client_info *info = ctx;

	if (wm_json_key_is(m, "version"))
		return take_int(m, &info->version);
	if (wm_json_key_is(m, "CanAckPings"))
		return take_bool(m, &info->can_ack_pings);
	if (wm_json_key_is(m, "IsProber"))
		return take_bool(m, &info->is_prober);
	if (wm_json_key_is(m, "meshKey") || wm_json_key_is(m, "AppName"))
		return m->type == WM_JSON_STRING || m->type == WM_JSON_NULL ? 0 : -EBADMSG;
	return 0;
}

static int server_member(void *ctx, const struct wm_json_member *m)
{
	struct wm_derp_server_info *info = ctx;

	if (wm_json_key_is(m, "version"))
		return take_int(m, &info->version);
	if (wm_json_key_is(m, "TokenBucketBytesPerSecond"))
		return take_int(m, &info->token_bucket_bytes_per_second);
	if (wm_json_key_is(m, "TokenBucketBytesBurst"))
		return take_int(m, &info->token_bucket_bytes_burst);
	return 0;
}

int wm_derp_client_info_parse(struct wm_derp_client_info *out, const char *json, size_t len)
{
	memset(out, 0, sizeof(*out));
	return wm_json_object_foreach(json, len, client_member, out) ? -EBADMSG : 0;
}

int wm_derp_server_info_parse(struct wm_derp_server_info *out, const char *json, size_t len)
{
	memset(out, 0, sizeof(*out));
	return wm_json_object_foreach(json, len, server_member, out) ? -EBADMSG : 0;
}

ssize_t wm_derp_seal(uint8_t *out, size_t cap, const uint8_t *msg, size_t len,
		     const uint8_t their_pub[WM_DERP_KEY_LEN], const uint8_t my_priv[WM_DERP_KEY_LEN],
		     const uint8_t nonce[WM_DERP_NONCE_LEN])
{
	if (cap < WM_DERP_BOX_OVERHEAD || cap - WM_DERP_BOX_OVERHEAD < len)
		return -ENOSPC;
	memcpy(out, nonce, WM_DERP_NONCE_LEN);
	if (crypto_box_easy(out + WM_DERP_NONCE_LEN, msg, len, nonce, their_pub, my_priv))
		return -EINVAL;
	return (ssize_t)(WM_DERP_BOX_OVERHEAD + len);
}

ssize_t wm_derp_open(uint8_t *out, size_t cap, const uint8_t *sealed, size_t len,
		     const uint8_t their_pub[WM_DERP_KEY_LEN], const uint8_t my_priv[WM_DERP_KEY_LEN])
{
	size_t plain;

	if (len < WM_DERP_BOX_OVERHEAD)
		return -EBADMSG;
	plain = len - WM_DERP_BOX_OVERHEAD;
	if (cap < plain)
		return -ENOSPC;
	if (crypto_box_open_easy(out, sealed + WM_DERP_NONCE_LEN, len - WM_DERP_NONCE_LEN, sealed,
				 their_pub, my_priv))
		return -EBADMSG;
	return (ssize_t)plain;
}
