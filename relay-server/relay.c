/* SPDX-License-Identifier: MIT */
/*
 * The relay's lifecycle: keys, certificates and the allow list, the TCP listener (HTTPS or
 * plain HTTP) and the STUN socket, accepting within --max-clients, and shutting down.
 */
#include "relay-server/relay.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "common/endpoint.h"
#include "common/log.h"
#include "common/tcp_listener.h"
#include "common/tls_stream.h"
#include "relay-server/conn.h"
#include "relay-server/pages.h"
#include "relay-server/session.h"
#include "relay-server/stun_server.h"

#define ACCEPT_BATCH 64
#define ACCEPT_PAUSE 0.1	/* seconds to wait after running out of descriptors */
#define LISTEN_BACKLOG 1024

static size_t page(void *ctx, const struct wm_derp_http_request *req, char *out, size_t cap)
{
	return wm_relay_page(ctx, req, out, cap);
}

/* What a connection does after the upgrade (DERP), and before it (the pages). */
static const struct wm_relay_conn_ops conn_ops = {
	.greet = wm_relay_session_greet,
	.input = wm_relay_session_input,
	.fill = wm_relay_session_fill,
	.end = wm_relay_session_end,
	.page = page,
};

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct wm_relay *r = w->data;

	(void)revents;
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct wm_endpoint peer;
		socklen_t len = sizeof(peer.addr);
		char text[WM_ENDPOINT_STR_LEN];
		int fd;

		memset(&peer, 0, sizeof(peer));
		fd = accept4(r->listen_fd, &peer.addr.sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				wm_log_error("accept: %s; pausing", strerror(errno));
				ev_io_stop(loop, &r->accept_io);
				ev_timer_set(&r->accept_pause, ACCEPT_PAUSE, 0);
				ev_timer_start(loop, &r->accept_pause);
			}
			return;
		}
		if (r->conns.count >= r->cfg.max_clients) {
			r->n.refused_full++;
			close(fd);
			continue;
		}
		wm_endpoint_format(&peer, text);
		wm_relay_conn_accept(&r->conns, fd, text);
	}
}

static void on_accept_pause(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct wm_relay *r = w->data;

	(void)revents;
	ev_io_start(loop, &r->accept_io);
}

static int open_listener(struct wm_relay *r, char *err, size_t errlen)
{
	char why[200];
	int fd = wm_tcp_listen(r->cfg.listen, LISTEN_BACKLOG, why, sizeof(why));

	if (fd < 0) {
		snprintf(err, errlen, "--listen: %s", why);
		return fd;
	}
	r->listen_fd = fd;
	ev_io_init(&r->accept_io, on_accept, fd, EV_READ);
	r->accept_io.data = r;
	ev_io_start(r->loop, &r->accept_io);
	ev_init(&r->accept_pause, on_accept_pause);
	r->accept_pause.data = r;
	return 0;
}

int wm_relay_reload_allowlist(struct wm_relay *r, char *err, size_t errlen)
{
	struct wm_relay_allowlist fresh;
	int ret;

	if (!r->cfg.verify_file)
		return 0;
	ret = wm_relay_allowlist_load(&fresh, r->cfg.verify_file, err, errlen);
	if (ret)
		return ret;
	wm_relay_allowlist_free(&r->allow);
	r->allow = fresh;
	return 0;
}

int wm_relay_start(struct wm_relay *r, struct ev_loop *loop, const struct wm_relay_config *cfg,
		   char *err, size_t errlen)
{
	int ret;

	memset(r, 0, sizeof(*r));
	r->loop = loop;
	r->cfg = *cfg;
	r->listen_fd = -1;
	if (!r->cfg.max_clients)
		r->cfg.max_clients = WM_RELAY_MAX_CLIENTS;
	if (!r->cfg.handshake_timeout_ms)
		r->cfg.handshake_timeout_ms = WM_RELAY_HANDSHAKE_TIMEOUT_MS;
	if (!r->cfg.write_timeout_ms)
		r->cfg.write_timeout_ms = WM_RELAY_WRITE_TIMEOUT_MS;
	if (!r->cfg.queue_budget)
		r->cfg.queue_budget = WM_RELAY_QUEUE_BUDGET;
	crypto_scalarmult_base(r->public_key, r->cfg.private_key);
	wm_relay_pool_init(&r->pool, r->cfg.queue_budget);
	if (wm_relay_registry_init(&r->reg)) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (cfg->verify_file) {
		r->verify = true;
		ret = wm_relay_reload_allowlist(r, err, errlen);
		if (ret)
			goto fail;
	}
	if (!cfg->plain) {
		r->tls = wm_tls_server_config_new(cfg->cert_file, cfg->key_file, err, errlen);
		if (!r->tls) {
			ret = -EINVAL;
			goto fail;
		}
	}
	ret = open_listener(r, err, errlen);
	if (ret)
		goto fail;
	r->conns = (struct wm_relay_conns){
		.loop = loop,
		.tls = r->tls,
		.handshake_timeout_ms = r->cfg.handshake_timeout_ms,
		.write_timeout_ms = r->cfg.write_timeout_ms,
		.ops = &conn_ops,
		.ctx = r,
	};
	if (cfg->stun_listen) {
		struct wm_endpoint ep;

		if (wm_listen_addr_parse(&ep, cfg->stun_listen)) {
			snprintf(err, errlen, "--stun %s: expected ADDR:PORT, :PORT or off",
				 cfg->stun_listen);
			ret = -EINVAL;
			goto fail;
		}
		r->stun = wm_relay_stun_start(loop, cfg->stun_listen, &ep.addr.sa,
					      wm_endpoint_socklen(&ep), &r->n.stun, err, errlen);
		if (!r->stun) {
			ret = -EINVAL;
			goto fail;
		}
	}
	r->started = ev_now(loop);
	return 0;
fail:
	wm_relay_stop(r);
	return ret;
}

void wm_relay_stop(struct wm_relay *r)
{
	while (r->conns.list)
		wm_relay_conn_close(r->conns.list, "relay shutting down");
	if (r->listen_fd >= 0) {
		ev_io_stop(r->loop, &r->accept_io);
		ev_timer_stop(r->loop, &r->accept_pause);
		close(r->listen_fd);
		r->listen_fd = -1;
	}
	wm_relay_stun_stop(r->stun);
	r->stun = NULL;
	wm_tls_config_free(r->tls);
	r->tls = NULL;
	wm_relay_registry_free(&r->reg);
	wm_relay_pool_free(&r->pool);
	wm_relay_allowlist_free(&r->allow);
	sodium_memzero(r->cfg.private_key, sizeof(r->cfg.private_key));
}
