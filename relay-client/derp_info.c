/* SPDX-License-Identifier: MIT */
#include "relay-client/derp_info.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "common/json.h"

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

/*
 * Go's encoding/json into a struct: every member whose key names a field (ignoring case) is
 * decoded in document order, so the last wins; null leaves the field as it is; a value of
 * another type fails the whole decode. Unknown members are ignored.
 */
static int take_int(void *ctx, const json_t *v)
{
	if (json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return -EBADMSG;
	*(int64_t *)ctx = json_integer_value(v);
	return 0;
}

static int take_bool(void *ctx, const json_t *v)
{
	if (json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return -EBADMSG;
	*(bool *)ctx = json_is_true(v);
	return 0;
}

static int check_string(void *ctx, const json_t *v)
{
	(void)ctx;
	return json_is_null(v) || json_is_string(v) ? 0 : -EBADMSG;
}

/* The text as one JSON object; repeated keys are not an error (the last wins, as in Go). */
static json_t *load(const char *json, size_t len)
{
	return wm_json_load_object(json, len, 0, NULL, 0);
}

int wm_derp_client_info_parse(struct wm_derp_client_info *out, const char *json, size_t len)
{
	json_t *o = load(json, len);
	int ret;

	memset(out, 0, sizeof(*out));
	if (!o)
		return -EBADMSG;
	ret = wm_json_foreach_nocase(o, "version", take_int, &out->version) ||
	      wm_json_foreach_nocase(o, "CanAckPings", take_bool, &out->can_ack_pings) ||
	      wm_json_foreach_nocase(o, "IsProber", take_bool, &out->is_prober) ||
	      wm_json_foreach_nocase(o, "meshKey", check_string, NULL) ||
	      wm_json_foreach_nocase(o, "AppName", check_string, NULL);
	json_decref(o);
	return ret ? -EBADMSG : 0;
}

int wm_derp_server_info_parse(struct wm_derp_server_info *out, const char *json, size_t len)
{
	json_t *o = load(json, len);
	int ret;

	memset(out, 0, sizeof(*out));
	if (!o)
		return -EBADMSG;
	ret = wm_json_foreach_nocase(o, "version", take_int, &out->version) ||
	      wm_json_foreach_nocase(o, "TokenBucketBytesPerSecond", take_int,
				     &out->token_bucket_bytes_per_second) ||
	      wm_json_foreach_nocase(o, "TokenBucketBytesBurst", take_int,
				     &out->token_bucket_bytes_burst);
	json_decref(o);
	return ret ? -EBADMSG : 0;
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
