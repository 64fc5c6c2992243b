/* SPDX-License-Identifier: MIT */
#include "daemon/dns_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "common/json.h"
#include "common/log.h"
#include "common/sockmark.h"
#include "daemon/dns_packet.h"
#include "daemon/node.h"
#include "filter/reject.h"
#include "tun/netlink.h"

static const uint8_t resolver4[4] = WM_DNS_ADDR4;
static const uint8_t resolver6[16] = WM_DNS_ADDR6;

/* --- answers back into the TUN ---------------------------------------------------------- */

static void reply(struct wm_dns_server *s, const struct wm_pkt *client, const uint8_t *msg,
		  size_t n)
{
	uint8_t pkt[WM_DNS_PACKET_HEADERS + 65535];
	size_t len = wm_dns_packet_reply(client, msg, n, pkt, sizeof(pkt));
	int err;

	if (len && (err = wm_datapath_to_tun(&s->node->dp, pkt, len)) < 0)
		wm_log_debug("dns: cannot write an answer into the interface: %s", strerror(-err));
}

/* TCP (or anything but UDP to port 53) to the resolver: refused at once, not left to time out. */
static void refuse(struct wm_dns_server *s, const uint8_t *pkt, size_t len)
{
	uint8_t out[WM_FILTER_REJECT_MAX];
	size_t n = wm_filter_reject(pkt, len, out, sizeof(out));

	s->stats.refused++;
	if (n)
		wm_datapath_to_tun(&s->node->dp, out, n);
}

static void servfail(struct wm_dns_server *s, struct wm_dns_pending *q)
{
	uint8_t msg[WM_DNS_UDP_MAX];
	size_t n;

	s->stats.servfail++;
	if (wm_dns_servfail(q->query, q->len, msg, sizeof(msg), &n))
		reply(s, &q->client, msg, n);
}

/* --- forwarding --------------------------------------------------------------------------- */

static void release(struct wm_dns_server *s, struct wm_dns_pending *q)
{
	q->used = false;
	s->n_pending--;
	if (!s->n_pending)
		ev_timer_stop(s->node->loop, &s->retry_timer);
}

/* Sends q to the upstream after the one asked last (the first, the first time). */
static bool send_upstream(struct wm_dns_server *s, struct wm_dns_pending *q)
{
	size_t n = s->host.n_upstreams;

	for (size_t k = 0; k < n; k++) {
		const struct wm_endpoint *up;
		uint8_t msg[WM_DNS_UDP_MAX];
		int fd;

		q->upstream = q->tries ? (q->upstream + 1) % n : 0;
		up = &s->host.upstreams[q->upstream];
		fd = up->addr.sa.sa_family == AF_INET ? s->fd4 : s->fd6;
		q->tries++;
		if (fd < 0)
			continue;
		memcpy(msg, q->query, q->len);
		msg[0] = (uint8_t)(q->upstream_id >> 8);	/* RFC 1035 4.1.1: the ID */
		msg[1] = (uint8_t)q->upstream_id;
		if (sendto(fd, msg, q->len, 0, &up->addr.sa, wm_endpoint_socklen(up)) ==
		    (ssize_t)q->len) {
			q->sent_at = ev_now(s->node->loop);
			return true;
		}
		if (q->tries >= WM_DNS_TRIES)
			break;
	}
	return false;
}

static uint16_t fresh_id(const struct wm_dns_server *s)
{
	for (;;) {
		uint16_t id = (uint16_t)randombytes_uniform(65536);
		bool taken = false;

		for (size_t i = 0; i < WM_DNS_MAX_PENDING && !taken; i++)
			taken = s->pending[i].used && s->pending[i].upstream_id == id;
		if (!taken)
			return id;
	}
}

/* SERVFAIL straight away: nowhere to ask, or too many queries waiting. */
static void servfail_now(struct wm_dns_server *s, const struct wm_pkt *client,
			 const uint8_t *query, size_t len)
{
	uint8_t msg[WM_DNS_UDP_MAX];
	size_t n;

	s->stats.servfail++;
	if (wm_dns_servfail(query, len, msg, sizeof(msg), &n))
		reply(s, client, msg, n);
}

static void forward(struct wm_dns_server *s, const struct wm_pkt *client, const uint8_t *query,
		    size_t len)
{
	struct wm_dns_pending *q = NULL;
	size_t alen = client->family == AF_INET ? 4 : 16;

	for (size_t i = 0; i < WM_DNS_MAX_PENDING && !q; i++)
		if (!s->pending[i].used)
			q = &s->pending[i];
	if (!q)
		s->stats.busy++;
	if (!q || len > sizeof(q->query) || !s->host.n_upstreams) {
		servfail_now(s, client, query, len);
		return;
	}
	memset(q, 0, offsetof(struct wm_dns_pending, query));
	q->used = true;
	s->n_pending++;
	q->upstream_id = fresh_id(s);
	q->client = *client;
	memcpy(q->addrs, client->src, alen);
	memcpy(q->addrs + 16, client->dst, alen);
	q->client.src = q->addrs;
	q->client.dst = q->addrs + 16;
	memcpy(q->query, query, len);
	q->len = len;
	s->stats.forwarded++;
	if (!send_upstream(s, q)) {
		servfail(s, q);
		release(s, q);
		return;
	}
	if (!ev_is_active(&s->retry_timer))
		ev_timer_again(s->node->loop, &s->retry_timer);
}

/* An upstream's answer: to the client that asked, under its own id. */
static void on_upstream_readable(struct ev_loop *loop, ev_io *w, int revents)
{
	struct wm_dns_server *s = w->data;
	uint8_t msg[65535];
	struct wm_endpoint from;
	socklen_t fromlen;
	ssize_t n;

	(void)loop;
	(void)revents;
	for (int round = 0; round < 64; round++) {
		memset(&from, 0, sizeof(from));
		fromlen = sizeof(from.addr);
		n = recvfrom(w->fd, msg, sizeof(msg), 0, &from.addr.sa, &fromlen);
		if (n < 12)
			return;
		for (size_t i = 0; i < WM_DNS_MAX_PENDING; i++) {
			struct wm_dns_pending *q = &s->pending[i];
			uint16_t id = (uint16_t)(msg[0] << 8 | msg[1]);

			if (!q->used || q->upstream_id != id ||
			    !wm_endpoint_equal(&from, &s->host.upstreams[q->upstream]) ||
			    !wm_dns_is_response(msg, (size_t)n, id))
				continue;
			msg[0] = q->query[0];
			msg[1] = q->query[1];
			s->stats.upstream_answers++;
			reply(s, &q->client, msg, (size_t)n);
			release(s, q);
			break;
		}
	}
}

static void on_retry_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct wm_dns_server *s = w->data;
	double now = ev_now(loop);

	(void)revents;
	for (size_t i = 0; i < WM_DNS_MAX_PENDING; i++) {
		struct wm_dns_pending *q = &s->pending[i];

		if (!q->used || now - q->sent_at < WM_DNS_RETRY_S)
			continue;
		if (q->tries < WM_DNS_TRIES && send_upstream(s, q))
			continue;
		servfail(s, q);
		release(s, q);
	}
}

/* --- queries from the TUN ------------------------------------------------------------------ */

static void on_packet(void *ctx, const uint8_t *pkt, size_t len)
{
	struct wm_dns_server *s = ctx;
	uint8_t msg[WM_DNS_UDP_MAX];
	const uint8_t *query;
	struct wm_pkt p;
	size_t query_len, n;
	const char *why;

	if (!wm_dns_packet_query(pkt, len, &p, &query, &query_len)) {
		refuse(s, pkt, len);
		return;
	}
	switch (wm_dns_answer(&s->names, query, query_len, msg, sizeof(msg), &n, &why)) {
	case WM_DNS_ANSWER:
		s->stats.answered++;
		reply(s, &p, msg, n);
		break;
	case WM_DNS_FORWARD:
		forward(s, &p, query, query_len);
		break;
	case WM_DNS_DROP:
		s->stats.malformed++;
		wm_log_debug("dns: dropped a query: %s", why);
		break;
	}
}

/* --- start and stop ------------------------------------------------------------------------ */

/* Marked like the node's other sockets: with an exit node in use, forwarded queries take the
 * host's own routes to its nameservers, as they would without wiremesh (docs/dns.md). */
static int open_upstream_socket(int family)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), r;

	if (fd < 0)
		return -errno;
	if ((r = wm_sockmark_apply(fd)) < 0) {
		close(fd);
		return r;
	}
	return fd;
}

static void route_resolver(int ifindex)
{
	int err = wm_netlink_route_add(ifindex, AF_INET, resolver4, 32);

	if (err < 0)
		wm_log_error("dns: cannot route 100.100.100.100 into the mesh interface: %s",
			     strerror(-err));
	err = wm_netlink_route_add(ifindex, AF_INET6, resolver6, 128);
	if (err < 0)
		wm_log_verbose("dns: cannot route fd77:6d65:7368::53 into the mesh interface: %s",
			       strerror(-err));
}

int wm_dns_server_start(struct wm_dns_server *s, struct wm_node *node, int ifindex,
			enum wm_dns_accept accept, const char *state_dir, char *err,
			size_t errlen)
{
	int r;

	memset(s, 0, sizeof(*s));
	s->node = node;
	s->fd4 = s->fd6 = -1;
	ev_init(&s->retry_timer, on_retry_timer);
	s->retry_timer.repeat = WM_DNS_RETRY_S / 3;
	s->retry_timer.data = s;
	if ((r = wm_dns_host_start(&s->host, accept, node->tun.name, state_dir, NULL)) < 0) {
		snprintf(err, errlen, "cannot read the host's resolvers: %s", strerror(-r));
		return r;
	}
	s->host_started = true;
	for (size_t i = 0; i < s->host.n_upstreams; i++) {
		int family = s->host.upstreams[i].addr.sa.sa_family;
		int *fd = family == AF_INET ? &s->fd4 : &s->fd6;
		ev_io *w = family == AF_INET ? &s->w4 : &s->w6;

		if (*fd >= 0)
			continue;
		if ((*fd = open_upstream_socket(family)) < 0) {
			wm_log_error("dns: no %s socket for the upstream resolvers: %s",
				     family == AF_INET ? "IPv4" : "IPv6", strerror(-*fd));
			continue;
		}
		ev_io_init(w, on_upstream_readable, *fd, EV_READ);
		w->data = s;
		ev_io_start(node->loop, w);
	}
	route_resolver(ifindex);
	node->hooks.resolver = on_packet;
	node->hooks.resolver_ctx = s;
	return 0;
}

void wm_dns_server_apply(struct wm_dns_server *s, const struct wm_netmap *nm)
{
	struct wm_dns_names fresh;

	if (wm_dns_names_build(&fresh, nm) < 0) {
		wm_log_error("dns: out of memory for the mesh's names; keeping the old ones");
		return;
	}
	wm_dns_names_free(&s->names);
	s->names = fresh;
	wm_dns_host_apply(&s->host, nm->dns_suffix);
}

void wm_dns_server_stop(struct wm_dns_server *s)
{
	if (!s->node)
		return;
	s->node->hooks.resolver = NULL;
	s->node->hooks.resolver_ctx = NULL;
	ev_timer_stop(s->node->loop, &s->retry_timer);
	if (s->fd4 >= 0) {
		ev_io_stop(s->node->loop, &s->w4);
		close(s->fd4);
	}
	if (s->fd6 >= 0) {
		ev_io_stop(s->node->loop, &s->w6);
		close(s->fd6);
	}
	if (s->host_started)
		wm_dns_host_stop(&s->host);
	wm_dns_names_free(&s->names);
	s->node = NULL;
}

json_t *wm_dns_server_json(const struct wm_dns_server *s)
{
	json_t *o = wm_dns_host_json(&s->host), *st = json_object();

	wm_json_put(o, "resolver", json_pack("[ss]", "100.100.100.100", "fd77:6d65:7368::53"));
	wm_json_put(o, "suffix", json_string(s->names.suffix));
	wm_json_put(o, "names", json_integer((json_int_t)s->names.n));
	wm_json_put(st, "answered", json_integer((json_int_t)s->stats.answered));
	wm_json_put(st, "forwarded", json_integer((json_int_t)s->stats.forwarded));
	wm_json_put(st, "upstream_answers", json_integer((json_int_t)s->stats.upstream_answers));
	wm_json_put(st, "servfail", json_integer((json_int_t)s->stats.servfail));
	wm_json_put(st, "malformed", json_integer((json_int_t)s->stats.malformed));
	wm_json_put(st, "busy", json_integer((json_int_t)s->stats.busy));
	wm_json_put(st, "refused", json_integer((json_int_t)s->stats.refused));
	wm_json_put(o, "counters", st);
	return o;
}
