/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer: the JSON helpers (common/json.c) and DERP's client and server info
 * (relay-client/derp_info.c) on arbitrary text. Beyond not crashing: every member reader either
 * fails with a sentence or gives a value within its bounds; Go-style case-insensitive matching
 * only hands over members whose key matches; a client or server info that parses formats to
 * JSON that parses back to the same values.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/json.h"
#include "relay-client/derp_info.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct match {
	const char *name;
	unsigned count;
};

static int count_match(void *ctx, const json_t *v)
{
	struct match *m = ctx;

	if (!v)
		abort();
	m->count++;
	return 0;
}

static void check_err(int ret, const char *err)
{
	if (ret && (ret != -EBADMSG || !err[0]))
		abort();
}

/* Every reader on every member of o. */
static void read_members(const json_t *o)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)o, key, v) {
		char s[32], err[160];
		int64_t i = 0;
		bool b;
		uint8_t k[WM_KEY_LEN], id[16];
		struct in_addr a4;
		struct in6_addr a6;
		struct wm_endpoint eps[16];
		size_t n = 99;
		int ret;

		err[0] = '\0';
		ret = wm_json_string(o, key, true, s, sizeof(s), err, sizeof(err));
		check_err(ret, err);
		if (!ret) {
			if (strlen(s) >= sizeof(s))
				abort();
			for (const char *c = s; *c; c++)
				if ((unsigned char)*c < 0x20 || *c == 0x7f)
					abort();
		}
		err[0] = '\0';
		ret = wm_json_int(o, key, false, -5, 5000, &i, err, sizeof(err));
		check_err(ret, err);
		if (!ret && (i < -5 || i > 5000))
			abort();
		err[0] = '\0';
		check_err(wm_json_bool(o, key, true, &b, err, sizeof(err)), err);
		err[0] = '\0';
		check_err(wm_json_key(o, key, k, err, sizeof(err)), err);
		err[0] = '\0';
		check_err(wm_json_hex(o, key, id, sizeof(id), "an id", err, sizeof(err)), err);
		err[0] = '\0';
		check_err(wm_json_ipv4(o, key, &a4, err, sizeof(err)), err);
		err[0] = '\0';
		check_err(wm_json_ipv6(o, key, &a6, err, sizeof(err)), err);
		err[0] = '\0';
		ret = wm_json_endpoints(o, key, eps, 16, &n, err, sizeof(err));
		check_err(ret, err);
		if (!ret && n > 16)
			abort();
	}
}

static void info_round_trips(const char *text, size_t len)
{
	struct wm_derp_client_info ci, ci2;
	struct wm_derp_server_info si, si2;
	char out[WM_DERP_INFO_JSON_MAX];
	ssize_t n;

	if (!wm_derp_client_info_parse(&ci, text, len)) {
		n = wm_derp_client_info_format(out, sizeof(out), &ci);
		if (n < 0 || wm_derp_client_info_parse(&ci2, out, (size_t)n) ||
		    memcmp(&ci, &ci2, sizeof(ci)))
			abort();
	}
	if (!wm_derp_server_info_parse(&si, text, len)) {
		n = wm_derp_server_info_format(out, sizeof(out), &si);
		if (n < 0 || wm_derp_server_info_parse(&si2, out, (size_t)n) ||
		    memcmp(&si, &si2, sizeof(si)))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	char err[160] = "";
	json_t *o;

	o = wm_json_load_object(text, size, JSON_REJECT_DUPLICATES, err, sizeof(err));
	if (!o && !err[0])
		abort();
	json_decref(o);
	o = wm_json_load_object(text, size, 0, NULL, 0);
	if (o) {
		struct match m = { "version", 0 };
		unsigned want = 0;
		const char *key;
		json_t *v;

		read_members(o);
		json_object_foreach(o, key, v)
			want += !strcasecmp(key, m.name);
		if (wm_json_foreach_nocase(o, m.name, count_match, &m) || m.count != want)
			abort();
		json_decref(o);
	}
	info_round_trips(text, size);
	return 0;
}
