/* SPDX-License-Identifier: MIT */
/*
 * The peers of a netmap applied to the engine (WireGuard peers and their allowed IPs) and to
 * the interface (a route for every prefix a configured peer is reached by), as a diff.
 */
#include "daemon/mesh.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "engine/send.h"

/* Replaces the peer's allowed IPs with new's (with its subnet routes if accepted: routes.h). */
static void set_allowed_ips(struct wm_mesh *m, struct wm_peer *peer,
			    const struct wm_netmap_peer *new)
{
	struct wm_netmap_prefix v[WM_ROUTES_PEER_PREFIXES_MAX];
	struct wm_device *dev = m->node->dev;
	size_t i, n = new ? wm_routes_peer_prefixes(&m->routes, new, v) : 0;

	if (peer)
		wm_allowedips_remove_by_peer(&dev->allowedips, peer);
	for (i = 0; peer && i < n; i++) {
		int err = wm_allowedips_insert(&dev->allowedips, v[i].family, v[i].addr, v[i].cidr,
					       peer);

		wm_iface_log_failure(err, "allow", v[i].family, v[i].addr, v[i].cidr);
	}
}

/*
 * Every prefix routed through the interface's main-table routes for nm (its configured
 * peers'), malloc'd. Not an exit node's default routes: those have a table of their own
 * (exit.h), so the node's own traffic is never caught by them.
 */
static struct wm_netmap_prefix *routed_prefixes(struct wm_mesh *m, const struct wm_netmap *nm,
						size_t *n)
{
	struct wm_netmap_prefix *v = malloc((nm->n_peers + 1) * WM_ROUTES_PEER_PREFIXES_MAX *
					    sizeof(*v));
	size_t i, k, end, kept = 0;

	for (i = 0; v && i < nm->n_peers; i++) {
		if (nm->peers[i].expired)
			continue;
		end = kept + wm_routes_peer_prefixes(&m->routes, &nm->peers[i], v + kept);
		for (k = kept; k < end; k++)
			if (!wm_netmap_prefix_is_default(&v[k]))
				v[kept++] = v[k];
	}
	*n = kept;
	return v;
}

/* The interface's routes from the set applied last (m->routed) to new's, which is kept. */
static void sync_routes(struct wm_mesh *m, const struct wm_netmap *new)
{
	size_t n_new;
	struct wm_netmap_prefix *vn = routed_prefixes(m, new, &n_new);

	if (!vn) {
		wm_log_error("out of memory: the interface's routes were not updated");
		return;
	}
	wm_iface_sync_routes(&m->iface, m->routed, m->n_routed, vn, n_new);
	free(m->routed);
	m->routed = vn;
	m->n_routed = n_new;
}

static void add_peer(struct wm_mesh *m, const struct wm_netmap_peer *p)
{
	struct wm_peer *peer;
	int err;

	peer = wm_device_add_peer(m->node->dev, p->node_key, &err);
	if (!peer) {
		wm_log_error("peer %s: cannot add it: %s", p->name,
			     err == -EINVAL ? "it has this node's key" : strerror(-err));
		return;
	}
	/* Its endpoint is the path manager's choice (wm_paths_sync, once the netmap is in). */
	set_allowed_ips(m, peer, p);
	wm_log_verbose("peer %s joined", p->name);
}

static void remove_peer(struct wm_mesh *m, const struct wm_netmap_peer *p)
{
	struct wm_peer *peer = wm_device_lookup_peer(m->node->dev, p->node_key);

	set_allowed_ips(m, peer, NULL);
	if (peer)
		wm_device_remove_peer(m->node->dev, peer);
	wm_log_verbose("peer %s left", p->name);
}

static void update_peer(struct wm_mesh *m, const struct wm_netmap_change *c)
{
	struct wm_peer *peer;

	if (c->what & WM_NETMAP_CHANGED_NODE_KEY) {
		/* A rotated key is a new WireGuard peer; its sessions start over. */
		remove_peer(m, c->old_peer);
		add_peer(m, c->new_peer);
		return;
	}
	peer = wm_device_lookup_peer(m->node->dev, c->new_peer->node_key);
	if (!peer) {
		add_peer(m, c->new_peer);
		return;
	}
	if (c->what & (WM_NETMAP_CHANGED_ALLOWED_IPS | WM_NETMAP_CHANGED_ADDRESSES |
		       WM_NETMAP_CHANGED_ROUTES))
		set_allowed_ips(m, peer, c->new_peer);
	/* Endpoint candidates and home relay changes go to the path manager (wm_paths_sync). */
	/*
	 * A new disco key means the peer restarted: our session died with its old process. A
	 * fresh handshake now spares the ~15 s until WireGuard's timers notice; a session the
	 * peer already made with us meanwhile stays usable until this one completes.
	 */
	if ((c->what & WM_NETMAP_CHANGED_DISCO_KEY) && peer->keypairs.current)
		wm_send_handshake_initiation(peer, wm_clock_monotonic_ns(), false);
}

/* The peer with node id in new, configured again (its default routes come or go with it). */
static void reconfigure_peer(struct wm_mesh *m, const struct wm_netmap *new, uint64_t id)
{
	const struct wm_netmap_peer *p = id ? wm_netmap_find_peer(new, id) : NULL;
	struct wm_peer *peer = p ? wm_device_lookup_peer(m->node->dev, p->node_key) : NULL;

	if (peer)
		set_allowed_ips(m, peer, p);
}

void wm_mesh_apply_peers(struct wm_mesh *m, const struct wm_netmap_diff *d,
			 const struct wm_netmap *new)
{
	size_t i;

	for (i = 0; i < d->n_removed; i++)
		remove_peer(m, d->removed[i]);
	for (i = 0; i < d->n_changed; i++)
		update_peer(m, &d->changed[i]);
	for (i = 0; i < d->n_added; i++)
		add_peer(m, d->added[i]);
	/* Another exit node chosen while neither entry changed: both follow the choice. */
	if (m->exit_configured != m->routes.exit_peer) {
		reconfigure_peer(m, new, m->exit_configured);
		reconfigure_peer(m, new, m->routes.exit_peer);
		m->exit_configured = m->routes.exit_peer;
	}
	sync_routes(m, new);
}
