/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer: whole UAPI requests against one device. Beyond not crashing: a reply is either
 * absent (-EPROTO) or ends in "\n\n"; and after a set that succeeded, the get dump fed back
 * as a set to a second, empty device gives the same dump. Both devices are emptied after
 * each input so memory stays bounded.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/device.h"
#include "engine/uapi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct wm_device *dev, *replay;

static void no_send(void *ctx, struct wm_peer *peer, const struct wm_endpoint *to,
		    const uint8_t *buf, size_t len)
{
	(void)ctx;
	(void)peer;
	(void)to;
	(void)buf;
	(void)len;
}

/* Port 1 and mark 1 fail, so the undo paths run too. */
static int bind_port(void *ctx, uint16_t requested, uint16_t *bound)
{
	(void)ctx;
	if (requested == 1)
		return -EADDRINUSE;
	*bound = requested ? requested : 49152;
	return 0;
}

static int set_fwmark(void *ctx, uint32_t mark)
{
	(void)ctx;
	return mark == 1 ? -EPERM : 0;
}

static const struct wm_uapi_hooks hooks = { .bind_port = bind_port, .set_fwmark = set_fwmark };

static void reset(struct wm_device *d)
{
	wm_device_remove_all_peers(d);
	if (d->identity.has_private_key)
		wm_device_clear_private_key(d);
	d->listen_port = 0;
	d->fwmark = 0;
}

/* The dump as a set body: without the read-only keys, and with what traffic changes. */
static int settable(struct wm_uapi_buf *out, const struct wm_uapi_buf *dump)
{
	static const char *const skip[] = { "last_handshake_time_sec=", "last_handshake_time_nsec=",
					    "tx_bytes=", "rx_bytes=" };
	size_t pos = 0, i, n;
	const char *line, *nl;

	out->len = 0;
	while (pos < dump->len) {
		line = dump->data + pos;
		nl = memchr(line, '\n', dump->len - pos);
		if (!nl)
			abort();	/* every dump line ends in "\n" */
		n = (size_t)(nl - line) + 1;
		pos += n;
		for (i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
			if (!strncmp(line, skip[i], strlen(skip[i])))
				break;
		if (i < sizeof(skip) / sizeof(skip[0]))
			continue;
		if (out->len + n + 1 > out->cap) {
			size_t cap = (out->len + n + 1) * 2;
			char *p = realloc(out->data, cap);

			if (!p)
				abort();
			out->data = p;
			out->cap = cap;
		}
		memcpy(out->data + out->len, line, n);
		out->len += n;
		out->data[out->len] = '\0';
	}
	return 0;
}

static void check_round_trip(void)
{
	struct wm_uapi_buf d1 = { 0 }, d2 = { 0 }, s1 = { 0 }, s2 = { 0 };

	if (wm_uapi_get(dev, &d1, 0) || settable(&s1, &d1))
		abort();
	if (wm_uapi_set(replay, &hooks, s1.data ? s1.data : "", s1.len, 0))
		abort();
	if (wm_uapi_get(replay, &d2, 0) || settable(&s2, &d2))
		abort();
	if (s1.len != s2.len || (s1.len && memcmp(s1.data, s2.data, s1.len)))
		abort();
	wm_uapi_buf_free(&d1);
	wm_uapi_buf_free(&d2);
	free(s1.data);
	free(s2.data);
	reset(replay);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wm_device_ops ops = { .send = no_send };
	struct wm_uapi_buf reply = { 0 };
	const char *req = (const char *)data;
	size_t request_len;
	int ret;

	if (!dev) {
		dev = wm_device_create(&ops, NULL, NULL);
		replay = wm_device_create(&ops, NULL, NULL);
		if (!dev || !replay)
			abort();
	}
	if (!wm_uapi_frame(req, size, &request_len) && (request_len == 0 || request_len > size))
		abort();

	ret = wm_uapi_handle(dev, &hooks, req, size, &reply, 0);
	if (ret == -EPROTO) {
		if (reply.len)
			abort();
	} else if (ret == 0) {
		if (reply.len < 9 || memcmp(reply.data + reply.len - 2, "\n\n", 2) ||
		    strlen(reply.data) != reply.len)
			abort();
		if (size >= 6 && !memcmp(req, "set=1\n", 6) && !strcmp(reply.data, "errno=0\n\n"))
			check_round_trip();
	} else if (ret != -ENOMEM) {
		abort();
	}
	wm_uapi_buf_free(&reply);
	reset(dev);
	return 0;
}
