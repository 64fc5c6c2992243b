/* SPDX-License-Identifier: MIT */
/*
 * UAPI out and the device side: applying a parsed set, writing the get dump in wireguard-go's
 * key order and text forms (keys in lowercase hex, addresses as Go's netip prints them), and
 * answering a whole request.
 */
#include "engine/uapi.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/bytes.h"
#include "engine/crypto.h"
#include "engine/device.h"
#include "engine/send.h"

void wm_uapi_buf_free(struct wm_uapi_buf *buf)
{
	if (buf->data) {
		wm_crypto_wipe(buf->data, buf->cap);
		free(buf->data);
	}
	buf->data = NULL;
	buf->len = buf->cap = 0;
}

/* Grows by copying, never realloc: the old block may hold keys and is wiped before it is freed. */
int wm_uapi_buf_reserve(struct wm_uapi_buf *buf, size_t extra)
{
	size_t cap = buf->cap ? buf->cap : 256;
	char *data;

	if (extra > SIZE_MAX / 4 - buf->len)
		return -ENOMEM;
	if (buf->data && buf->len + extra < buf->cap)
		return 0;
	while (cap <= buf->len + extra)
		cap *= 2;
	data = malloc(cap);
	if (!data)
		return -ENOMEM;
	if (buf->data) {
		memcpy(data, buf->data, buf->len);
		wm_crypto_wipe(buf->data, buf->cap);
		free(buf->data);
	}
	data[buf->len] = '\0';
	buf->data = data;
	buf->cap = cap;
	return 0;
}

void wm_uapi_buf_consume(struct wm_uapi_buf *buf, size_t n)
{
	if (n > buf->len)
		n = buf->len;
	if (!n)
		return;
	memmove(buf->data, buf->data + n, buf->len - n);
	/* The tail the move vacated still holds a copy of what it moved: wipe it. */
	wm_crypto_wipe(buf->data + buf->len - n, n);
	buf->len -= n;
}

static int __attribute__((format(printf, 2, 3))) appendf(struct wm_uapi_buf *buf, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || wm_uapi_buf_reserve(buf, (size_t)n) < 0)
		return -ENOMEM;
	va_start(ap, fmt);
	vsnprintf(buf->data + buf->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	buf->len += (size_t)n;
	return 0;
}

/* Text forms as Go's netip writes them (RFC 5952; IPv4-mapped as ::ffff:a.b.c.d). */
enum { IP_STR_LEN = 48 };

static void format_ip4(char out[IP_STR_LEN], const uint8_t a[4])
{
	snprintf(out, IP_STR_LEN, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
}

static void format_ip6(char out[IP_STR_LEN], const uint8_t a[16])
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	unsigned words[8], i, j, best = 8, best_len = 0;
	char *p = out;

	if (!memcmp(a, mapped, sizeof(mapped))) {
		snprintf(out, IP_STR_LEN, "::ffff:%u.%u.%u.%u", a[12], a[13], a[14], a[15]);
		return;
	}
	for (i = 0; i < 8; i++)
		words[i] = wm_get_be16(a + 2 * i);
	/* The first longest run of two or more zero words becomes "::". */
	for (i = 0; i < 8; i = j + 1) {
		for (j = i; j < 8 && !words[j]; j++)
			;
		if (j - i >= 2 && j - i > best_len) {
			best = i;
			best_len = j - i;
		}
	}
	for (i = 0; i < 8; i++) {
		if (i == best) {
			p += sprintf(p, "::");
			i += best_len - 1;
			continue;
		}
		if (i && i != best + best_len)
			*p++ = ':';
		p += sprintf(p, "%x", words[i]);
	}
	*p = '\0';
}

static void format_endpoint(char out[WM_ENDPOINT_STR_LEN], const struct wm_endpoint *ep)
{
	char ip[IP_STR_LEN];

	if (ep->addr.sa.sa_family == AF_INET) {
		format_ip4(ip, (const uint8_t *)&ep->addr.in4.sin_addr);
		snprintf(out, WM_ENDPOINT_STR_LEN, "%s:%u", ip, ntohs(ep->addr.in4.sin_port));
	} else {
		format_ip6(ip, ep->addr.in6.sin6_addr.s6_addr);
		/* A scope learnt from a link-local source; Go would name the interface. */
		if (ep->addr.in6.sin6_scope_id)
			snprintf(out, WM_ENDPOINT_STR_LEN, "[%s%%%u]:%u", ip,
				 (unsigned)ep->addr.in6.sin6_scope_id, ntohs(ep->addr.in6.sin6_port));
		else
			snprintf(out, WM_ENDPOINT_STR_LEN, "[%s]:%u", ip, ntohs(ep->addr.in6.sin6_port));
	}
}

static int dump_allowedip(void *ctx, int family, const uint8_t *addr, uint8_t cidr)
{
	char ip[IP_STR_LEN];

	if (family == AF_INET)
		format_ip4(ip, addr);
	else
		format_ip6(ip, addr);
	return appendf(ctx, "allowed_ip=%s/%u\n", ip, cidr);
}

static int dump_key(struct wm_uapi_buf *out, const char *name, const uint8_t key[WM_KEY_LEN])
{
	char hex[WM_KEY_HEX_LEN];
	int ret;

	wm_key_to_hex(hex, key);
	ret = appendf(out, "%s=%s\n", name, hex);
	wm_crypto_wipe(hex, sizeof(hex));
	return ret;
}

static int dump_peer(struct wm_device *dev, struct wm_uapi_buf *out, struct wm_peer *peer)
{
	char ep[WM_ENDPOINT_STR_LEN];
	uint64_t ns = peer->last_handshake_wall_ns;

	if (dump_key(out, "public_key", peer->public_key) ||
	    dump_key(out, "preshared_key", peer->handshake.preshared_key) ||
	    appendf(out, "protocol_version=1\n"))
		return -ENOMEM;
	if (wm_endpoint_is_set(&peer->endpoint)) {
		format_endpoint(ep, &peer->endpoint);
		if (appendf(out, "endpoint=%s\n", ep))
			return -ENOMEM;
	}
	if (appendf(out, "last_handshake_time_sec=%llu\nlast_handshake_time_nsec=%llu\n"
		    "tx_bytes=%llu\nrx_bytes=%llu\npersistent_keepalive_interval=%u\n",
		    (unsigned long long)(ns / 1000000000ULL), (unsigned long long)(ns % 1000000000ULL),
		    (unsigned long long)peer->tx_bytes, (unsigned long long)peer->rx_bytes,
		    peer->persistent_keepalive_interval))
		return -ENOMEM;
	return wm_allowedips_walk_by_peer(&dev->allowedips, peer, dump_allowedip, out);
}

int wm_uapi_get(struct wm_device *dev, struct wm_uapi_buf *out, uint64_t now)
{
	size_t start = out->len;
	struct wm_peer *peer;
	int ret = 0;

	(void)now;
	/* wireguard-go's order: device fields that are set, then each peer. */
	if (dev->identity.has_private_key)
		ret = dump_key(out, "private_key", dev->identity.private_key);
	if (!ret && dev->listen_port)
		ret = appendf(out, "listen_port=%u\n", dev->listen_port);
	if (!ret && dev->fwmark)
		ret = appendf(out, "fwmark=%u\n", dev->fwmark);
	for (peer = dev->peers_head; peer && !ret; peer = peer->next)
		ret = dump_peer(dev, out, peer);
	if (ret) {
		wm_crypto_wipe(out->data + start, out->len - start);
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
		return -ENOMEM;
	}
	return 0;
}

static bool is_own_key(const struct wm_device *dev, const uint8_t key[WM_KEY_LEN])
{
	return dev->identity.has_private_key && wm_crypto_equal(key, dev->identity.public_key, WM_KEY_LEN);
}

/* Peers the diff may create, counted high (a key named twice counts twice). */
static size_t peers_after(const struct wm_device *dev, const struct wm_uapi_diff *diff)
{
	size_t n = diff->flags & WM_UAPI_REPLACE_PEERS ? 0 : dev->peer_count, i;

	for (i = 0; i < diff->peer_count; i++) {
		const struct wm_uapi_peer *p = &diff->peers[i];

		if (p->flags & (WM_UAPI_PEER_REMOVE | WM_UAPI_PEER_UPDATE_ONLY))
			continue;
		if ((diff->flags & WM_UAPI_REPLACE_PEERS) || !wm_device_lookup_peer(dev, p->public_key))
			n++;
	}
	return n;
}

/*
 * Turning a persistent keepalive on sends one at once, as wireguard-go does, so the NAT
 * mapping opens (and the handshake starts) without waiting a whole interval.
 */
static void set_persistent_keepalive(struct wm_device *dev, struct wm_peer *peer,
				     uint16_t seconds, uint64_t now)
{
	bool was_off = peer->persistent_keepalive_interval == 0;

	wm_device_set_persistent_keepalive(peer, seconds);
	if (seconds && was_off && wm_endpoint_is_set(&peer->endpoint) &&
	    dev->identity.has_private_key)
		wm_send_keepalive(peer, now);
}

static int apply_peer(struct wm_device *dev, const struct wm_uapi_diff *diff,
		      const struct wm_uapi_peer *p, uint64_t now)
{
	struct wm_peer *peer;
	size_t i;
	int ret;

	/* wireguard-go ignores a peer with our own key (checked after the new private key). */
	if (is_own_key(dev, p->public_key))
		return 0;
	peer = wm_device_lookup_peer(dev, p->public_key);
	if (p->flags & WM_UAPI_PEER_REMOVE) {
		if (peer)
			wm_device_remove_peer(dev, peer);
		return 0;
	}
	if (!peer) {
		if (p->flags & WM_UAPI_PEER_UPDATE_ONLY)
			return 0;
		peer = wm_device_add_peer(dev, p->public_key, &ret);
		if (!peer)
			return ret;
	}
	if (p->flags & WM_UAPI_PEER_HAS_PRESHARED_KEY)
		wm_device_set_preshared_key(peer, p->preshared_key);
	if (p->flags & WM_UAPI_PEER_HAS_ENDPOINT)
		wm_peer_set_endpoint(peer, &p->endpoint);
	if (p->flags & WM_UAPI_PEER_REPLACE_ALLOWEDIPS)
		wm_allowedips_remove_by_peer(&dev->allowedips, peer);
	for (i = 0; i < p->allowedip_count; i++) {
		const struct wm_uapi_allowedip *a = &diff->allowedips[p->first_allowedip + i];

		if (a->remove) {
			/* Removing what the peer does not have is not an error. */
			wm_allowedips_remove(&dev->allowedips, a->family, a->addr, a->cidr, peer);
			continue;
		}
		ret = wm_allowedips_insert(&dev->allowedips, a->family, a->addr, a->cidr, peer);
		if (ret < 0)
			return ret;
	}
	/* Last, as wireguard-go sends the first keepalive once the peer is configured. */
	if (p->flags & WM_UAPI_PEER_HAS_KEEPALIVE)
		set_persistent_keepalive(dev, peer, p->persistent_keepalive_interval, now);
	return 0;
}

static int hook_error(int ret)
{
	return ret < 0 ? ret : -EADDRINUSE;
}

int wm_uapi_apply(struct wm_device *dev, const struct wm_uapi_hooks *hooks,
		  const struct wm_uapi_diff *diff, uint64_t now)
{
	uint16_t port = diff->listen_port;
	bool mark_changed = false;
	size_t i;
	int ret;

	if (peers_after(dev, diff) > WM_MAX_PEERS)
		return -ENOSPC;

	/*
	 * The socket work first, the only part that can fail for reasons outside the request.
	 * The mark goes first so a new socket gets it; it is undone if binding fails.
	 */
	if ((diff->flags & WM_UAPI_HAS_FWMARK) && hooks && hooks->set_fwmark &&
	    diff->fwmark != dev->fwmark) {
		ret = hooks->set_fwmark(hooks->ctx, diff->fwmark);
		if (ret)
			return hook_error(ret);
		mark_changed = true;
	}
	if ((diff->flags & WM_UAPI_HAS_LISTEN_PORT) && hooks && hooks->bind_port) {
		ret = hooks->bind_port(hooks->ctx, diff->listen_port, &port);
		if (ret) {
			if (mark_changed)
				hooks->set_fwmark(hooks->ctx, dev->fwmark);
			return hook_error(ret);
		}
	}
	if (diff->flags & WM_UAPI_HAS_LISTEN_PORT)
		dev->listen_port = port;
	if (diff->flags & WM_UAPI_HAS_FWMARK)
		dev->fwmark = diff->fwmark;

	/* Before the key, which would otherwise redo the DH with peers about to go. */
	if (diff->flags & WM_UAPI_REPLACE_PEERS)
		wm_device_remove_all_peers(dev);
	if (diff->flags & WM_UAPI_HAS_PRIVATE_KEY) {
		if (!wm_key_is_zero(diff->private_key))
			wm_device_set_private_key(dev, diff->private_key);	/* checked when parsed */
		else if (dev->identity.has_private_key)
			wm_device_clear_private_key(dev);
	}

	for (i = 0; i < diff->peer_count; i++) {
		ret = apply_peer(dev, diff, &diff->peers[i], now);
		if (ret)
			return ret;
	}
	return 0;
}

int wm_uapi_set(struct wm_device *dev, const struct wm_uapi_hooks *hooks, const char *body,
		size_t len, uint64_t now)
{
	struct wm_uapi_diff diff;
	int ret;

	ret = wm_uapi_parse_set(&diff, body, len);
	if (!ret)
		ret = wm_uapi_apply(dev, hooks, &diff, now);
	wm_uapi_diff_free(&diff);
	return ret;
}

static int reply_errno(struct wm_uapi_buf *reply, int err)
{
	return appendf(reply, "errno=%d\n\n", err);
}

int wm_uapi_handle(struct wm_device *dev, const struct wm_uapi_hooks *hooks, const char *req,
		   size_t len, struct wm_uapi_buf *reply, uint64_t now)
{
	int ret;

	if (len >= 6 && !memcmp(req, "get=1\n", 6)) {
		/* wireguard-go hangs up when the byte after "get=1\n" never comes. */
		if (len < 7)
			return -EPROTO;
		if (req[6] != '\n')
			return reply_errno(reply, -EINVAL);
		ret = wm_uapi_get(dev, reply, now);
		return reply_errno(reply, ret);
	}
	if (len >= 6 && !memcmp(req, "set=1\n", 6)) {
		ret = wm_uapi_set(dev, hooks, req + 6, len - 6, now);
		return reply_errno(reply, ret);
	}
	return -EPROTO;
}
