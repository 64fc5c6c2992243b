/* SPDX-License-Identifier: MIT */
#include "daemon/node.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "daemon/workers.h"
#include "engine/receive.h"
#include "engine/send.h"
#include "engine/tick.h"


static void send_datagram(void *ctx, struct wm_peer *peer, const struct wm_endpoint *to,
			  const uint8_t *buf, size_t len)
{
	struct wm_node *node = ctx;
	uint16_t region;
	int err;

	if (wm_relays_is_relay_endpoint(to, &region)) {
		/* A cookie reply (no peer) cannot be addressed through a relay; it is dropped. */
		if (peer) {
			wm_datapath_count(&node->dp, WM_DP_OUT, to, len);
			wm_relays_send(&node->relays, region, peer->public_key, buf, len);
		}
		return;
	}
	wm_datapath_count(&node->dp, WM_DP_OUT, to, len);
	err = wm_udp_send(&node->udp, to, buf, len);
	if (err == 1 && peer)
		wm_endpoint_clear_src(&peer->endpoint);	/* our old address is gone */
	if (err < 0 && wm_log_level() >= WM_LOG_DEBUG) {
		char ep[WM_ENDPOINT_STR_LEN];

		wm_endpoint_format(to, ep);
		wm_log_debug("send to %s failed: %s", ep, strerror(-err));
	}
}

static const struct wm_device_ops node_ops = { .send = send_datagram };

void wm_node_send_plaintext(struct wm_node *node, uint8_t *pkt, size_t len)
{
	struct wm_packet p = { .data = pkt, .len = len };

	wm_send_packets(node->dev, &p, 1, wm_clock_monotonic_ns());
	if (p.verdict == WM_VERDICT_SEND)
		send_datagram(node, p.peer, &p.endpoint, p.data, p.len);
	wm_node_rearm_timer(node);
}

void wm_node_rearm_timer(struct wm_node *node)
{
	uint64_t deadline = wm_tick_next_deadline(node->dev), now;
	double delay = 0;

	ev_timer_stop(node->loop, &node->engine_timer);
	if (!deadline)
		return;
	now = wm_clock_monotonic_ns();
	if (deadline > now)
		delay = (double)(deadline - now) / 1e9;
	ev_timer_set(&node->engine_timer, delay, 0);
	ev_timer_start(node->loop, &node->engine_timer);
}

static void on_engine_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct wm_node *node = w->data;

	(void)loop;
	(void)revents;
	wm_tick_run(node->dev, wm_clock_monotonic_ns());
	wm_node_rearm_timer(node);
}

static void on_housekeeping(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct wm_node *node = w->data;
	unsigned mtu;

	(void)loop;
	(void)revents;
	/* wg-quick sets the MTU after we start; padding must follow it. */
	if (wm_tun_get_mtu(&node->tun, &mtu) == 0 && mtu != node->dev->mtu) {
		wm_log_verbose("MTU is now %u", mtu);
		node->dev->mtu = mtu;
	}
	wm_device_set_wall_offset(node->dev, wm_clock_wall_offset_ns());
	wm_relays_close_idle(&node->relays, wm_clock_monotonic_ns());
}

static void on_tun_readable(struct ev_loop *loop, ev_io *w, int revents)
{
	struct wm_node *node = w->data;

	int err;

	(void)revents;
	err = wm_datapath_from_tun(&node->dp);
	if (err < 0) {
		/*
		 * EBADFD after `ip link delete` (how wg-quick down stops a userspace
		 * implementation); any other error leaves the TUN as unusable.
		 */
		if (err == -EBADFD || err == -ENODEV)
			wm_log_verbose("interface %s is gone, shutting down", node->tun.name);
		else
			wm_log_error("reading from the TUN failed: %s; shutting down", strerror(-err));
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	wm_node_rearm_timer(node);
}

static void on_udp_readable(struct ev_loop *loop, ev_io *w, int revents)
{
	struct wm_node *node = w->data;

	(void)loop;
	(void)revents;
	wm_datapath_from_udp(&node->dp, w->fd);
	wm_node_rearm_timer(node);
}

static void watch_udp(struct wm_node *node)
{
	ev_io_stop(node->loop, &node->udp4_watcher);
	ev_io_stop(node->loop, &node->udp6_watcher);
	if (node->udp.fd4 >= 0) {
		ev_io_set(&node->udp4_watcher, node->udp.fd4, EV_READ);
		ev_io_start(node->loop, &node->udp4_watcher);
	}
	if (node->udp.fd6 >= 0) {
		ev_io_set(&node->udp6_watcher, node->udp.fd6, EV_READ);
		ev_io_start(node->loop, &node->udp6_watcher);
	}
}

/* UAPI hook: move to another port without losing the old sockets if the new bind fails. */
static int bind_port(void *ctx, uint16_t requested, uint16_t *bound)
{
	struct wm_node *node = ctx;
	struct wm_udp fresh;
	int err;

	if (requested && requested == node->udp.port) {
		*bound = requested;
		return 0;
	}
	wm_udp_init(&fresh);
	err = wm_udp_bind(&fresh, requested, node->udp.fwmark);
	if (err < 0)
		return err;
	ev_io_stop(node->loop, &node->udp4_watcher);
	ev_io_stop(node->loop, &node->udp6_watcher);
	wm_udp_close(&node->udp);
	node->udp = fresh;
	watch_udp(node);
	*bound = fresh.port;
	wm_log_verbose("UDP bound to port %u", fresh.port);
	return 0;
}

int wm_node_bind_port(struct wm_node *node, uint16_t port)
{
	uint16_t bound;
	int err = bind_port(node, port, &bound);

	if (err == 0)
		node->dev->listen_port = bound;
	return err;
}

static int set_fwmark(void *ctx, uint32_t mark)
{
	struct wm_node *node = ctx;

	return wm_udp_set_fwmark(&node->udp, mark);
}

static int handle_uapi(void *ctx, const char *req, size_t len, struct wm_uapi_buf *reply)
{
	struct wm_node *node = ctx;
	const struct wm_uapi_hooks hooks = { .bind_port = bind_port, .set_fwmark = set_fwmark, .ctx = node };
	int r = wm_uapi_handle(node->dev, &hooks, req, len, reply, wm_clock_monotonic_ns());

	wm_relays_sync_key(&node->relays, &node->dev->identity);
	wm_node_rearm_timer(node);
	return r;
}

/* A WireGuard datagram through a relay joins the relayed batch… */
static void on_relayed(void *ctx, uint16_t region, const uint8_t *buf, size_t len)
{
	struct wm_node *node = ctx;

	wm_datapath_from_relay(&node->dp, region, buf, len);
}

/* …which goes through once the relays' reads of this loop turn are done. */
static void on_prepare(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct wm_node *node = w->data;

	(void)loop;
	(void)revents;
	if (wm_datapath_flush_relayed(&node->dp))
		wm_node_rearm_timer(node);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)revents;
	wm_log_verbose("received %s, shutting down", w->signum == SIGINT ? "SIGINT" : "SIGTERM");
	ev_break(loop, EVBREAK_ALL);
}

int wm_node_set_mtu(struct wm_node *node, unsigned iface_mtu, unsigned tunnel_mtu)
{
	int err = wm_tun_set_mtu(&node->tun, iface_mtu);

	if (err < 0)
		return err;
	node->dev->mtu = iface_mtu;
	node->dp.tunnel_mtu = tunnel_mtu;
	return 0;
}

int wm_node_start(struct wm_node *node, struct ev_loop *loop, const struct wm_node_options *opt,
		  const char **what)
{
	unsigned mtu;
	int err;

	memset(node, 0, sizeof(*node));
	node->loop = loop;
	node->relays = opt->relays;
	node->tun.fd = -1;
	wm_udp_init(&node->udp);
	node->uapi.fd = -1;

	*what = "start the crypto threads";
	node->workers = wm_workers_create(opt->threads);
	if (!node->workers) {
		err = -EAGAIN;
		goto fail;
	}
	node->dev = wm_device_create(&node_ops, node, NULL);
	if (!node->dev) {
		err = -ENOMEM;
		goto fail;
	}
	wm_device_set_wall_offset(node->dev, wm_clock_wall_offset_ns());
	*what = "allocate packet buffers";
	if ((err = wm_datapath_init(&node->dp, node->dev, &node->tun, &node->udp, node->workers,
				    &node->relays, &node->hooks)) < 0)
		goto fail;
	wm_relays_attach(&node->relays, loop, &node->hooks, on_relayed, node);

	*what = "create the TUN device";
	err = opt->tun_fd >= 0 ? wm_tun_adopt(&node->tun, opt->tun_fd, opt->ifname)
			       : wm_tun_open(&node->tun, opt->ifname, !opt->no_offload);
	if (err < 0)
		goto fail;
	if (opt->tun_fd >= 0)
		wm_log_verbose("using TUN descriptor %d (%s)%s", opt->tun_fd, node->tun.name,
			       node->tun.packet_info ? " with packet information headers" : "");
	if (wm_tun_get_mtu(&node->tun, &mtu) == 0 && mtu == 1500 && node->tun.created &&
	    wm_tun_set_mtu(&node->tun, WM_DEFAULT_MTU) == 0)
		mtu = WM_DEFAULT_MTU;
	node->dev->mtu = mtu ? mtu : WM_DEFAULT_MTU;

	err = wm_uapi_server_start(&node->uapi, loop, node->tun.name, opt->uapi_fd, handle_uapi, node, what);
	if (err < 0)
		goto fail;

	*what = "bind the UDP socket";
	wm_udp_set_offloads(&node->udp, !opt->no_offload);
	if ((err = wm_udp_bind(&node->udp, 0, 0)) < 0)
		goto fail;
	node->dev->listen_port = node->udp.port;

	ev_io_init(&node->tun_watcher, on_tun_readable, node->tun.fd, EV_READ);
	ev_init(&node->udp4_watcher, on_udp_readable);
	ev_init(&node->udp6_watcher, on_udp_readable);
	ev_init(&node->engine_timer, on_engine_timer);
	ev_timer_init(&node->housekeeping, on_housekeeping, 1.0, 1.0);
	ev_prepare_init(&node->relayed_flush, on_prepare);
	ev_signal_init(&node->sigint_watcher, on_signal, SIGINT);
	ev_signal_init(&node->sigterm_watcher, on_signal, SIGTERM);
	node->tun_watcher.data = node->udp4_watcher.data = node->udp6_watcher.data = node;
	node->engine_timer.data = node->housekeeping.data = node->relayed_flush.data = node;
	ev_io_start(loop, &node->tun_watcher);
	watch_udp(node);
	ev_timer_start(loop, &node->housekeeping);
	ev_prepare_start(loop, &node->relayed_flush);
	ev_signal_start(loop, &node->sigint_watcher);
	ev_signal_start(loop, &node->sigterm_watcher);
	wm_log_verbose("interface %s up, UDP port %u, MTU %u, %u crypto thread(s), "
		       "TUN offloads 0x%x%s, UDP GSO %s, GRO %s",
		       node->tun.name, node->udp.port, node->dev->mtu, wm_workers_count(node->workers),
		       node->tun.offloads, node->tun.vnet_hdr ? "" : " (no vnet header)",
		       node->udp.gso ? "on" : "off", node->udp.gro ? "on" : "off");
	return 0;
fail:
	wm_node_stop(node);
	return err;
}

void wm_node_stop(struct wm_node *node)
{
	if (node->loop) {
		ev_io_stop(node->loop, &node->tun_watcher);
		ev_io_stop(node->loop, &node->udp4_watcher);
		ev_io_stop(node->loop, &node->udp6_watcher);
		ev_timer_stop(node->loop, &node->engine_timer);
		ev_timer_stop(node->loop, &node->housekeeping);
		ev_prepare_stop(node->loop, &node->relayed_flush);
		ev_signal_stop(node->loop, &node->sigint_watcher);
		ev_signal_stop(node->loop, &node->sigterm_watcher);
	}
	wm_relays_stop(&node->relays);
	if (node->uapi.loop)
		wm_uapi_server_stop(&node->uapi);
	wm_udp_close(&node->udp);
	wm_tun_close(&node->tun);
	wm_device_destroy(node->dev);
	node->dev = NULL;
	wm_workers_destroy(node->workers);
	node->workers = NULL;
	wm_datapath_free(&node->dp);
}
