/* SPDX-License-Identifier: MIT */
#include "daemon/relays.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "engine/crypto.h"
#include "engine/noise.h"
#include "nat/disco.h"
#include "relay-client/derp_client.h"

static struct wm_relay *relay_for(struct wm_relays *relays, uint16_t region)
{
	size_t i;

	for (i = 0; i < relays->count; i++)
		if (relays->relay[i].region == region)
			return &relays->relay[i];
	return NULL;
}

/*
 * Takes a free slot (region 0) or a new one at the end. Slots never move: a client's callback
 * context (the slot itself) must stay valid while it runs. NULL when full.
 */
static struct wm_relay *add_region(struct wm_relays *relays, uint16_t region, const char *url)
{
	struct wm_relay *r = relay_for(relays, 0);

	if (!r) {
		if (relays->count == WM_RELAY_MAX)
			return NULL;
		r = &relays->relay[relays->count++];
	}
	memset(r, 0, sizeof(*r));
	r->owner = relays;
	r->region = region;
	snprintf(r->url, sizeof(r->url), "%s", url);
	return r;
}

int wm_relays_add(struct wm_relays *relays, const char *spec)
{
	const char *eq = strchr(spec, '=');
	char *end;
	long region;

	if (!eq)
		return -EINVAL;
	region = strtol(spec, &end, 10);
	if (end != eq || region < 1 || region > 65535 || strlen(eq + 1) >= WM_RELAY_URL_LEN ||
	    (strncmp(eq + 1, "http://", 7) && strncmp(eq + 1, "https://", 8)))
		return -EINVAL;
	if (relay_for(relays, (uint16_t)region))
		return -EEXIST;
	return add_region(relays, (uint16_t)region, eq + 1) ? 0 : -ENOSPC;
}

/* 127.3.3.40, as a number: this runs for every packet sent. */
#define WM_RELAY_MAGIC_ADDR_U32 0x7f030328U

bool wm_relays_is_relay_endpoint(const struct wm_endpoint *ep, uint16_t *region)
{
	if (ep->addr.sa.sa_family != AF_INET ||
	    ep->addr.in4.sin_addr.s_addr != htonl(WM_RELAY_MAGIC_ADDR_U32))
		return false;
	*region = ntohs(ep->addr.in4.sin_port);
	return true;
}

void wm_relays_endpoint(struct wm_endpoint *ep, uint16_t region)
{
	memset(ep, 0, sizeof(*ep));
	ep->addr.in4.sin_family = AF_INET;
	inet_pton(AF_INET, WM_RELAY_MAGIC_ADDR, &ep->addr.in4.sin_addr);
	ep->addr.in4.sin_port = htons(region);
}

/* A relayed datagram: disco to the path manager, WireGuard to the data path. */
static void on_relayed_packet(void *ctx, const uint8_t src_key[WM_DERP_KEY_LEN], const uint8_t *data,
			      size_t len)
{
	struct wm_relay *r = ctx;
	struct wm_relays *relays = r->owner;
	const struct wm_node_hooks *hooks = relays->hooks;

	if (hooks && hooks->relay_disco && wm_disco_looks_like(data, len)) {
		hooks->relay_disco(hooks->ctx, r->region, src_key, data, len);
		return;
	}
	if (relays->deliver)
		relays->deliver(relays->deliver_ctx, r->region, data, len);
}

static void on_relay_state(void *ctx, enum wm_derp_client_state state, const char *why)
{
	struct wm_relay *r = ctx;
	const struct wm_node_hooks *hooks = r->owner->hooks;
	static const char *const names[] = { "down", "connecting", "connected" };

	wm_log_verbose("relay region %u: %s (%s)", r->region, names[state], why ? why : "");
	if (hooks && hooks->relay_state)
		hooks->relay_state(hooks->ctx, r->region, state == WM_DERP_CONNECTED);
}

static void stop_client(struct wm_relay *r)
{
	if (r->client) {
		wm_derp_client_destroy(r->client);
		r->client = NULL;
	}
}

static bool is_home(const struct wm_relays *relays, const struct wm_relay *r)
{
	return r->region && r->region == wm_relays_home(relays);
}

uint16_t wm_relays_home(const struct wm_relays *relays)
{
	size_t i;

	if (relays->home && relay_for((struct wm_relays *)relays, relays->home))
		return relays->home;
	for (i = 0; i < relays->count; i++)
		if (relays->relay[i].region)
			return relays->relay[i].region;
	return 0;
}

static void start_client(struct wm_relays *relays, struct wm_relay *r)
{
	struct wm_derp_client_config cfg = { 0 };
	int err;

	cfg.url = r->url;
	memcpy(cfg.node_private_key, relays->key, WM_KEY_LEN);
	cfg.ca_file = relays->ca_file[0] ? relays->ca_file : NULL;
	cfg.preferred = is_home(relays, r);
	cfg.on_packet = on_relayed_packet;
	cfg.on_state = on_relay_state;
	cfg.ctx = r;
	r->client = wm_derp_client_create(relays->loop, &cfg, &err);
	wm_crypto_wipe(cfg.node_private_key, sizeof(cfg.node_private_key));
	r->last_packets = 0;
	r->last_active = wm_clock_monotonic_ns();
	if (!r->client)
		wm_log_error("relay region %u (%s): %s", r->region, r->url, strerror(-err));
}

void wm_relays_attach(struct wm_relays *relays, struct ev_loop *loop,
		      const struct wm_node_hooks *hooks,
		      void (*deliver)(void *ctx, uint16_t region, const uint8_t *buf, size_t len),
		      void *deliver_ctx)
{
	size_t i;

	relays->loop = loop;
	relays->hooks = hooks;
	relays->deliver = deliver;
	relays->deliver_ctx = deliver_ctx;
	for (i = 0; i < relays->count; i++)
		relays->relay[i].owner = relays;	/* the struct was copied here */
}

void wm_relays_sync_key(struct wm_relays *relays, const struct wm_static_identity *id)
{
	size_t i;

	/* In constant time: it is our private key. */
	if (relays->keyed && id->has_private_key &&
	    wm_crypto_equal(relays->key, id->private_key, WM_KEY_LEN))
		return;
	for (i = 0; i < relays->count; i++)
		stop_client(&relays->relay[i]);
	relays->keyed = id->has_private_key;
	if (!relays->keyed)
		return;
	memcpy(relays->key, id->private_key, WM_KEY_LEN);
	for (i = 0; i < relays->count; i++)
		if (is_home(relays, &relays->relay[i]))
			start_client(relays, &relays->relay[i]);
}

static bool map_has(const struct wm_relay_map *rm, const struct wm_relay *r)
{
	size_t i;

	for (i = 0; i < rm->n_regions; i++)
		if (rm->regions[i].id == r->region && rm->regions[i].n_relays > 0 &&
		    !strcmp(rm->regions[i].relays[0].url, r->url))
			return true;
	return false;
}

void wm_relays_set_map(struct wm_relays *relays, const struct wm_relay_map *rm)
{
	size_t i;

	for (i = 0; i < relays->count; i++) {
		struct wm_relay *r = &relays->relay[i];

		if (r->region && !map_has(rm, r)) {
			wm_log_verbose("relay region %u (%s) left the relay map", r->region, r->url);
			stop_client(r);
			r->region = 0;
		}
	}
	for (i = 0; i < rm->n_regions; i++) {
		const struct wm_relay_region *g = &rm->regions[i];

		if (g->n_relays == 0 || g->id < 1 || g->id > 65535 || relay_for(relays, (uint16_t)g->id))
			continue;
		if (!add_region(relays, (uint16_t)g->id, g->relays[0].url)) {
			wm_log_error("relay region %d: more than %d regions; ignored", g->id, WM_RELAY_MAX);
			continue;
		}
		wm_log_verbose("relay region %d: %s", g->id, g->relays[0].url);
	}
	wm_relays_set_home(relays, relays->home);
}

void wm_relays_set_home(struct wm_relays *relays, uint16_t region)
{
	size_t i;

	relays->home = region;
	for (i = 0; i < relays->count; i++) {
		struct wm_relay *r = &relays->relay[i];

		if (r->client)
			wm_derp_client_set_preferred(r->client, is_home(relays, r));
		else if (relays->keyed && is_home(relays, r))
			start_client(relays, r);
	}
}

bool wm_relays_connected(const struct wm_relays *relays, uint16_t region)
{
	struct wm_relay *r = relay_for((struct wm_relays *)relays, region);
	struct wm_derp_client_stats st;

	if (!region || !r || !r->client)
		return false;
	wm_derp_client_stats(r->client, &st);
	return st.state == WM_DERP_CONNECTED;
}

void wm_relays_close_idle(struct wm_relays *relays, uint64_t now)
{
	size_t i;

	for (i = 0; i < relays->count; i++) {
		struct wm_relay *r = &relays->relay[i];
		struct wm_derp_client_stats st;
		uint64_t packets;

		if (!r->client || is_home(relays, r))
			continue;
		wm_derp_client_stats(r->client, &st);
		packets = st.packets_in + st.packets_out + st.queued_frames;
		if (packets != r->last_packets) {
			r->last_packets = packets;
			r->last_active = now;
		} else if (now - r->last_active > WM_RELAY_IDLE_CLOSE_NS) {
			wm_log_verbose("relay region %u idle, closing", r->region);
			stop_client(r);
		}
	}
}

int wm_relays_send(struct wm_relays *relays, uint16_t region, const uint8_t dst[WM_KEY_LEN],
		   const uint8_t *buf, size_t len)
{
	struct wm_relay *r = relay_for(relays, region);
	int err;

	if (r && !r->client && relays->keyed)
		start_client(relays, r);	/* a peer's home relay, used on demand */
	if (!r || !r->client) {
		relays->unroutable++;
		wm_log_debug("relay region %u: no relay for it", region);
		return -ENETUNREACH;
	}
	err = wm_derp_client_send(r->client, dst, buf, len);
	if (err < 0 && err != -ENOBUFS) {
		r->send_failures++;
		wm_log_debug("relay region %u: send failed: %s", region, strerror(-err));
	}
	return err;
}

void wm_relays_stop(struct wm_relays *relays)
{
	size_t i;

	for (i = 0; i < relays->count; i++)
		stop_client(&relays->relay[i]);
	wm_crypto_wipe(relays->key, sizeof(relays->key));
	relays->keyed = false;
}
