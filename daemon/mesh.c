/* SPDX-License-Identifier: MIT */
#include "daemon/mesh.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "engine/crypto.h"
#include "engine/send.h"
#include "nat/candidates.h"

/* The relays: the map's regions; home stays where it is while it is in the map. */
static void apply_relays(struct wm_mesh *m, const struct wm_relay_map *rm)
{
	struct wm_relays *relays = &m->node->relays;
	uint16_t home;

	wm_relays_set_map(relays, rm);
	home = wm_relays_home(relays);
	wm_relays_set_home(relays, home);
	if (home != m->home_relay) {
		m->home_relay = home;
		wm_log_verbose("home relay: region %u", home);
	}
	if (m->coord)
		wm_coord_client_set_home_relay(m->coord, home);
}

static void apply_netmap(struct wm_mesh *m, const struct wm_netmap *nm)
{
	struct wm_netmap fresh, old;
	struct wm_netmap_diff d;

	if (wm_netmap_copy(&fresh, nm) < 0) {
		wm_log_error("out of memory applying a netmap; keeping the previous one");
		return;
	}
	if (wm_netmap_diff(&d, m->have_netmap ? &m->applied : NULL, &fresh) < 0) {
		wm_netmap_free(&fresh);
		wm_log_error("out of memory applying a netmap; keeping the previous one");
		return;
	}
	wm_iface_set_addresses(&m->iface, &fresh.self);
	apply_relays(m, &fresh.relays);
	m->routes.exit_peer = wm_exit_choose(&m->exit, &fresh);
	wm_mesh_apply_peers(m, &d, &fresh);
	wm_exit_apply(&m->exit);
	wm_log_verbose("netmap %llu: %zu peer(s); %zu joined, %zu left, %zu changed",
		       (unsigned long long)fresh.version, fresh.n_peers, d.n_added, d.n_removed,
		       d.n_changed);
	old = m->applied;
	m->applied = fresh;
	if (m->have_netmap)
		wm_netmap_free(&old);
	m->have_netmap = true;
	if (m->paths_started)
		wm_paths_sync(&m->paths, &m->applied);
	wm_mesh_greet_rekeyed(m, &d);	/* its new_peer pointers are into fresh: still valid */
	wm_netmap_diff_free(&d);
	if (m->policy_started)
		wm_policy_apply(&m->policy, m->applied.packet_filter);
	if (m->dns_started)
		wm_dns_server_apply(&m->dns, &m->applied);
	wm_node_rearm_timer(m->node);
}

/* Forgets every peer (removed from the mesh): nothing from the old netmap may be reached. */
static void clear_netmap(struct wm_mesh *m)
{
	struct wm_netmap empty;

	if (!m->have_netmap)
		return;
	memset(&empty, 0, sizeof(empty));
	empty.self = m->applied.self;
	apply_netmap(m, &empty);
	wm_state_save_netmap(m->state, &empty);
}

static void report_ready(struct wm_mesh *m, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void report_ready(struct wm_mesh *m, bool ok, const char *fmt, ...)
{
	char message[512];
	va_list ap;

	if (m->ready_reported)
		return;
	m->ready_reported = true;
	m->up = ok;
	ev_timer_stop(m->node->loop, &m->ready_timer);
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	if (m->on_ready)
		m->on_ready(m->ready_ctx, ok, message);
}

static void report_up(struct wm_mesh *m, const char *note)
{
	char v4[INET_ADDRSTRLEN], v6[INET6_ADDRSTRLEN], warning[256];

	inet_ntop(AF_INET, &m->applied.self.ipv4, v4, sizeof(v4));
	inet_ntop(AF_INET6, &m->applied.self.ipv6, v6, sizeof(v6));
	wm_routes_warning(&m->routes, warning, sizeof(warning));
	report_ready(m, true, "%s is up: this node is %s, %s and %s; %zu peer(s)%s%s%s",
		     m->node->tun.name, m->applied.self.name, v4, v6, m->applied.n_peers, note,
		     *warning ? "\nwarning: " : "", warning);
}

/*
 * Up means reachable. With relays in the map that includes the home relay's connection: a
 * peer that joins at the same moment looks for this node there first, before any direct path
 * is proven. A relay that does not connect holds `up` back WM_MESH_RELAY_WAIT_S at most.
 */
static void report_up_once_reachable(struct wm_mesh *m)
{
	uint16_t home = wm_relays_home(&m->node->relays);

	if (m->ready_reported || !m->netmap_from_server)
		return;
	if (home && !wm_relays_connected(&m->node->relays, home)) {
		if (!ev_is_active(&m->relay_wait_timer)) {
			ev_timer_set(&m->relay_wait_timer, WM_MESH_RELAY_WAIT_S, 0);
			ev_timer_start(m->node->loop, &m->relay_wait_timer);
		}
		return;
	}
	ev_timer_stop(m->node->loop, &m->relay_wait_timer);
	report_up(m, "");
}

static void report_up_without_relay(struct wm_mesh *m)
{
	char note[128];

	snprintf(note, sizeof(note), " (relay region %u is not connected yet; direct paths only "
		 "until it is)", wm_relays_home(&m->node->relays));
	report_up(m, note);
}

static void on_relay_wait_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	report_up_without_relay(w->data);
}

static void on_paths_relay_connected(void *ctx, uint16_t region)
{
	(void)region;
	report_up_once_reachable(ctx);
}

/*
 * While `up` waits for the coordination server: what it waits for and why it does not come, at
 * the first failure and then every WM_MESH_PROGRESS_EVERY_S.
 */
static void report_progress(struct wm_mesh *m)
{
	uint64_t now = wm_clock_monotonic_ns();
	char message[sizeof(m->url) + sizeof(m->coord_why) + 100];

	if (m->ready_reported || !m->on_progress || m->have_netmap ||
	    m->coord_state != WM_COORD_AWAY || !m->coord_why[0] ||
	    (m->last_progress && now - m->last_progress < WM_MESH_PROGRESS_EVERY_S * 1e9 * 0.9))
		return;
	m->last_progress = now;
	snprintf(message, sizeof(message), "cannot reach the coordination server at %s: %s; "
		 "retrying, %.0f s left", m->url, m->coord_why[0] ? m->coord_why : "no answer",
		 now < m->ready_deadline ? (double)(m->ready_deadline - now) / 1e9 : 0.0);
	m->on_progress(m->ready_ctx, message);
}

static void on_progress_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct wm_mesh *m = w->data;

	(void)revents;
	report_progress(m);
	if (m->ready_reported)
		ev_timer_stop(loop, w);
}

/* The coordination client's callbacks. */

static void on_netmap(void *ctx, const struct wm_netmap *nm)
{
	struct wm_mesh *m = ctx;
	int err;

	apply_netmap(m, nm);
	m->netmap_from_server = true;
	if ((err = wm_state_save_netmap(m->state, &m->applied)) < 0)
		wm_log_error("cannot save the netmap in the state directory: %s", strerror(-err));
	wm_mesh_reauth_after_register(m);
	report_up_once_reachable(m);
}

const char *wm_mesh_coord_state_name(enum wm_coord_state state)
{
	switch (state) {
	case WM_COORD_AWAY:
		return "away";
	case WM_COORD_CONNECTED:
		return "connected";
	case WM_COORD_REJECTED:
		return "rejected";
	case WM_COORD_LOGGED_OUT:
		return "logged out";
	}
	return "?";
}

static void on_coord_state(void *ctx, enum wm_coord_state state, const char *why)
{
	struct wm_mesh *m = ctx;

	m->coord_state = state;
	snprintf(m->coord_why, sizeof(m->coord_why), "%s", why ? why : "");
	wm_log_verbose("coordination: %s (%s)", wm_mesh_coord_state_name(state), m->coord_why);
	switch (state) {
	case WM_COORD_REJECTED:
		m->rejected = true;
		wm_mesh_on_rotated(m, -EPERM, m->coord_why);
		wm_log_error("the coordination server refused this node: %s", m->coord_why);
		clear_netmap(m);
		report_ready(m, false, "the coordination server refused this node: %s", m->coord_why);
		break;
	case WM_COORD_AWAY:
		report_progress(m);
		break;
	case WM_COORD_LOGGED_OUT:
		clear_netmap(m);
		if (m->logout_conn) {
			static const char reply[] = "{\"ok\":true}\n";

			wm_control_reply(m->logout_conn, reply, sizeof(reply) - 1);
			m->logout_conn = NULL;
		}
		wm_mesh_exit_soon(m);
		break;
	default:
		break;
	}
}

static void on_server_key(void *ctx, const uint8_t key[WM_KEY_LEN])
{
	struct wm_mesh *m = ctx;
	int err = wm_state_save_server_key(m->state, key);

	if (err < 0)
		wm_log_error("cannot pin the coordination server's key: %s", strerror(-err));
}

/* Endpoint candidates: published when they change. */

static void refresh_candidates(struct wm_mesh *m)
{
	struct wm_endpoint eps[WM_NETMAP_MAX_ENDPOINTS];
	const struct wm_udp *udp = &m->node->udp;
	size_t i, n = 0;
	int got;

	got = wm_candidates_local(eps, WM_NETMAP_MAX_ENDPOINTS, udp->port, m->node->tun.name);
	if (got < 0)
		return;
	if (m->paths_started)
		got += (int)wm_netcheck_io_reflexive(&m->paths.netcheck, eps + got,
						     WM_NETMAP_MAX_ENDPOINTS - (size_t)got);
	got = (int)wm_candidates_normalize(eps, (size_t)got);
	for (i = 0; i < (size_t)got; i++) {
		int family = eps[i].addr.sa.sa_family;

		if ((family == AF_INET && udp->fd4 >= 0) || (family == AF_INET6 && udp->fd6 >= 0))
			eps[n++] = eps[i];
	}
	if (n == m->n_candidates && !memcmp(eps, m->candidates, n * sizeof(eps[0])))
		return;
	memcpy(m->candidates, eps, n * sizeof(eps[0]));
	m->n_candidates = n;
	wm_log_verbose("%zu endpoint candidate(s)", n);
	if (m->coord)
		wm_coord_client_set_endpoints(m->coord, m->candidates, m->n_candidates);
}

static void on_paths_candidates(void *ctx)
{
	refresh_candidates(ctx);
}

static void on_paths_home_relay(void *ctx, uint16_t region)
{
	struct wm_mesh *m = ctx;

	wm_relays_set_home(&m->node->relays, region);
	m->home_relay = wm_relays_home(&m->node->relays);
	wm_log_verbose("home relay: region %u (the nearest)", m->home_relay);
	if (m->coord)
		wm_coord_client_set_home_relay(m->coord, m->home_relay);
}

static void on_refresh(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	refresh_candidates(w->data);
}

static void on_ready_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct wm_mesh *m = w->data;
	char note[400];

	(void)loop;
	(void)revents;
	if (m->netmap_from_server) {
		report_up_without_relay(m);
		return;
	}
	if (m->have_netmap) {
		snprintf(note, sizeof(note),
			 " (from the saved netmap: the coordination server has not answered yet: %s)",
			 m->coord_why[0] ? m->coord_why : "no answer");
		report_up(m, note);
		return;
	}
	/* Nothing to run on: no address, no peers. Say why, and let the caller's script stop. */
	report_ready(m, false,
		     "gave up after %.0f s: cannot reach the coordination server at %s (%s); "
		     "check the URL and that wiremesh-coord runs there (--timeout S waits longer)",
		     (double)(m->ready_deadline - m->started_at) / 1e9, m->url,
		     m->coord_why[0] ? m->coord_why : "no answer");
}

static void on_exit_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

void wm_mesh_exit_soon(struct wm_mesh *m)
{
	/* A moment for the control replies to drain before the loop ends. */
	ev_timer_stop(m->node->loop, &m->exit_timer);
	ev_timer_set(&m->exit_timer, 0.2, 0);
	ev_timer_start(m->node->loop, &m->exit_timer);
}

/* Start-up. */

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return code;
}

/*
 * The tunnel carries packets of up to mtu bytes; the interface at least WM_MESH_MIN_IFACE_MTU
 * (IPv6). Below that, the limit is a multiple of 16, so that WireGuard's padding of a packet
 * that fits never makes it larger than the limit.
 */
static int set_mtu(struct wm_mesh *m, unsigned mtu, char *err, size_t errlen)
{
	unsigned iface_mtu = mtu > WM_MESH_MIN_IFACE_MTU ? mtu : WM_MESH_MIN_IFACE_MTU;
	unsigned tunnel_mtu = mtu < iface_mtu ? mtu & ~15u : mtu;
	int r = wm_node_set_mtu(m->node, iface_mtu, tunnel_mtu);

	if (r < 0)
		return fail(err, errlen, r, "cannot set the MTU of %s to %u: %s", m->node->tun.name,
			    iface_mtu, strerror(-r));
	wm_log_verbose("MTU: the tunnel carries %u bytes, the interface %u", tunnel_mtu, iface_mtu);
	return 0;
}

static int bind_mesh_port(struct wm_mesh *m, uint16_t port, char *err, size_t errlen)
{
	int r = wm_node_bind_port(m->node, port ? port : WM_MESH_DEFAULT_PORT);

	if (r == -EADDRINUSE && !port)
		r = wm_node_bind_port(m->node, 0);	/* the default is taken: any port */
	if (r < 0)
		return fail(err, errlen, r, "cannot bind UDP port %u: %s", port, strerror(-r));
	return 0;
}

/* The saved netmap, if it belongs to this server: the mesh works before the server answers. */
static void load_saved(struct wm_mesh *m, bool same_server)
{
	struct wm_netmap nm;
	char why[256];
	bool found = false;

	if (!same_server)
		return;
	if (wm_state_load_netmap(m->state, &nm, &found, why, sizeof(why)) < 0) {
		wm_log_error("ignoring the saved netmap: %s", why);
		return;
	}
	if (!found)
		return;
	apply_netmap(m, &nm);
	wm_netmap_free(&nm);
	wm_log_verbose("applied the saved netmap (%zu peers) until the server answers",
		       m->applied.n_peers);
}

static int start_coord(struct wm_mesh *m, const struct wm_mesh_options *opt,
		       const uint8_t node_key[WM_KEY_LEN], bool same_server, char *err,
		       size_t errlen)
{
	struct wm_coord_client_config cfg;
	char hostname[256] = "";
	bool found = false;
	int r;

	memset(&cfg, 0, sizeof(cfg));
	cfg.url = m->url;
	memcpy(cfg.node_private_key, node_key, WM_KEY_LEN);
	memcpy(cfg.disco_public_key, m->paths.disco_public, WM_KEY_LEN);
	cfg.auth_key = opt->auth_key;
	if (opt->hostname) {
		cfg.hostname = opt->hostname;
	} else {
		if (gethostname(hostname, sizeof(hostname) - 1) < 0 || !hostname[0])
			snprintf(hostname, sizeof(hostname), "node");
		cfg.hostname = hostname;
	}
	cfg.version = "wiremesh";
	if (same_server &&
	    wm_state_load_server_key(m->state, cfg.server_key, &found, err, errlen) < 0)
		return -EBADMSG;
	cfg.has_server_key = found;
	cfg.ca_file = opt->coord_ca;
	cfg.on_netmap = on_netmap;
	cfg.on_state = on_coord_state;
	cfg.on_server_key = on_server_key;
	cfg.on_rotated = wm_mesh_on_rotated;
	cfg.ctx = m;
	m->coord = wm_coord_client_create(m->node->loop, &cfg, &r, err, errlen);
	wm_crypto_wipe(cfg.node_private_key, sizeof(cfg.node_private_key));
	if (!m->coord)
		return r < 0 ? r : -EINVAL;
	if (m->n_candidates)
		wm_coord_client_set_endpoints(m->coord, m->candidates, m->n_candidates);
	wm_coord_client_set_home_relay(m->coord, m->home_relay);
	if (m->routes.n_advertise)
		wm_coord_client_set_routes(m->coord, m->routes.advertise, m->routes.n_advertise);
	return 0;
}

int wm_mesh_start(struct wm_mesh *m, struct wm_node *node, struct wm_state *state,
		  const struct wm_mesh_options *opt, wm_mesh_ready_fn on_ready, void *ready_ctx,
		  char *err, size_t errlen)
{
	uint8_t key[WM_KEY_LEN];
	char saved_url[sizeof(m->url)], path[256], warning[256];
	bool created = false, found = false, same_server;
	int r;

	memset(m, 0, sizeof(*m));
	m->node = node;
	m->state = state;
	m->on_ready = on_ready;
	m->on_progress = opt->on_progress;
	m->ready_ctx = ready_ctx;
	m->started_at = wm_clock_monotonic_ns();
	m->ready_deadline = m->started_at + (uint64_t)((opt->ready_timeout_s > 0 ?
		opt->ready_timeout_s : WM_MESH_READY_TIMEOUT_S) * 1e9);
	m->coord_state = WM_COORD_AWAY;
	m->force_reauth = opt->force_reauth;
	snprintf(m->url, sizeof(m->url), "%s", opt->coord_url);
	ev_init(&m->refresh_timer, on_refresh);
	ev_init(&m->ready_timer, on_ready_timeout);
	ev_init(&m->exit_timer, on_exit_timer);
	ev_init(&m->relay_wait_timer, on_relay_wait_timeout);
	ev_timer_init(&m->progress_timer, on_progress_timer, WM_MESH_PROGRESS_EVERY_S,
		      WM_MESH_PROGRESS_EVERY_S);
	m->refresh_timer.data = m->ready_timer.data = m->exit_timer.data = m;
	m->relay_wait_timer.data = m->progress_timer.data = m;

	if ((r = wm_state_node_key(state, key, &created, err, errlen)) < 0)
		return r;
	r = wm_device_set_private_key(node->dev, key);
	if (r < 0) {
		wm_crypto_wipe(key, sizeof(key));
		return fail(err, errlen, r, "the node key in the state directory is unusable");
	}
	wm_relays_sync_key(&node->relays, &node->dev->identity);
	if (created)
		wm_log_verbose("made a new node key");

	/* Before the UDP port is bound: an exit node's user marks its own sockets (exit.h). */
	if (wm_exit_start(&m->exit, opt->exit_node, opt->exit_allow_lan, 0, err, errlen) < 0) {
		r = -EINVAL;
		goto out;
	}
	if ((r = bind_mesh_port(m, opt->port, err, errlen)) < 0)
		goto out;
	if ((r = wm_iface_open(&m->iface, node->tun.name)) < 0) {
		fail(err, errlen, r, "cannot bring %s up: %s", node->tun.name, strerror(-r));
		goto out;
	}
	m->exit.ifindex = m->iface.ifindex;
	if ((r = set_mtu(m, opt->mtu ? opt->mtu : WM_MESH_DEFAULT_MTU, err, errlen)) < 0)
		goto out;
	if (wm_routes_start(&m->routes, node->tun.name, &opt->routes, err, errlen) < 0) {
		r = -EINVAL;
		goto out;
	}
	m->routes_started = true;
	wm_routes_warning(&m->routes, warning, sizeof(warning));
	if (*warning)
		wm_log_error("%s", warning);

	wm_paths_start(&m->paths, node);
	m->paths_started = true;
	m->paths.our_candidates = m->candidates;
	m->paths.n_our_candidates = &m->n_candidates;
	m->paths.on_candidates_changed = on_paths_candidates;
	m->paths.on_home_relay = on_paths_home_relay;
	m->paths.on_relay_connected = on_paths_relay_connected;
	m->paths.ctx = m;
	if ((r = wm_policy_start(&m->policy, node, &m->paths)) < 0) {
		fail(err, errlen, r, "cannot set up the access policy: %s", strerror(-r));
		goto out;
	}
	m->policy_started = true;
	if ((r = wm_dns_server_start(&m->dns, node, m->iface.ifindex, opt->accept_dns, state->dir,
				     err, errlen)) < 0)
		goto out;
	m->dns_started = true;

	/* A state directory that belonged to another server keeps the key, not the rest. */
	same_server = wm_state_load_url(state, saved_url, sizeof(saved_url), &found) == 0 &&
		      found && !strcmp(saved_url, m->url);
	if (found && !same_server)
		wm_log_error("the state directory was used with %s; joining %s instead", saved_url,
			     m->url);
	if (!same_server && (r = wm_state_save_url(state, m->url)) < 0) {
		fail(err, errlen, r, "cannot write to the state directory: %s", strerror(-r));
		goto out;
	}
	load_saved(m, same_server);
	refresh_candidates(m);

	if ((r = wm_state_socket_path(state, path, sizeof(path))) < 0 ||
	    (r = wm_control_start(&m->control, node->loop, path, opt->operator_gid,
				  wm_mesh_control_request, m)) < 0) {
		fail(err, errlen, r, "cannot serve the control socket %s: %s%s", path, strerror(-r),
		     r == -EADDRINUSE ? " (is wiremesh already up with this state directory?)" : "");
		goto out;
	}
	m->control_started = true;
	if (opt->metrics_listen) {
		char why[160];

		if ((r = wm_metrics_server_start(&m->metrics, node->loop, opt->metrics_listen,
						 wm_mesh_metrics_page, m, why, sizeof(why))) < 0) {
			fail(err, errlen, r, "--metrics-listen: %s", why);
			goto out;
		}
		m->metrics_started = true;
	}

	if ((r = start_coord(m, opt, key, same_server, err, errlen)) < 0)
		goto out;

	ev_timer_set(&m->refresh_timer, WM_MESH_REFRESH_S, WM_MESH_REFRESH_S);
	ev_timer_start(node->loop, &m->refresh_timer);
	ev_timer_set(&m->ready_timer, opt->ready_timeout_s > 0 ? opt->ready_timeout_s :
				      WM_MESH_READY_TIMEOUT_S, 0);
	ev_timer_start(node->loop, &m->ready_timer);
	ev_timer_start(node->loop, &m->progress_timer);
	r = 0;
out:
	wm_crypto_wipe(key, sizeof(key));
	if (r < 0)
		wm_mesh_stop(m);
	return r;
}

void wm_mesh_stop(struct wm_mesh *m)
{
	if (!m->node)
		return;
	ev_timer_stop(m->node->loop, &m->refresh_timer);
	ev_timer_stop(m->node->loop, &m->ready_timer);
	ev_timer_stop(m->node->loop, &m->relay_wait_timer);
	ev_timer_stop(m->node->loop, &m->progress_timer);
	ev_timer_stop(m->node->loop, &m->exit_timer);
	if (m->coord) {
		wm_coord_client_destroy(m->coord);
		m->coord = NULL;
	}
	if (m->control_started) {
		wm_control_stop(&m->control);
		m->control_started = false;
	}
	m->logout_conn = NULL;
	if (m->metrics_started) {
		wm_metrics_server_stop(&m->metrics);
		m->metrics_started = false;
	}
	m->rotate_conn = NULL;
	wm_crypto_wipe(m->next_key, sizeof(m->next_key));
	if (m->dns_started) {
		wm_dns_server_stop(&m->dns);
		m->dns_started = false;
	}
	if (m->policy_started) {
		wm_policy_stop(&m->policy);
		m->policy_started = false;
	}
	if (m->routes_started) {
		wm_routes_stop(&m->routes);
		m->routes_started = false;
	}
	wm_exit_stop(&m->exit);
	if (m->paths_started) {
		wm_paths_stop(&m->paths);
		m->paths_started = false;
	}
	if (m->have_netmap) {
		wm_netmap_free(&m->applied);
		m->have_netmap = false;
	}
	free(m->routed);
	m->routed = NULL;
	m->n_routed = 0;
	m->node = NULL;
}
