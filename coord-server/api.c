/* SPDX-License-Identifier: MIT */
#include "coord-server/api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "common/clock.h"
#include "coord-server/policy.h"
#include "common/encoding.h"
#include "common/log.h"
#include "coord-client/coord_msg.h"
#include "coord-client/coord_seal.h"

#define CACHE_MIN_AGE_S 0.1	/* a stale cache is rebuilt for an answer at most this often */

/*
 * Tests move the server's clock for key expiry instead of sleeping for days: the offset (signed
 * seconds) is read once from WM_COORD_TEST_TIME_OFFSET_ENV. Request timestamps are still checked
 * against the real clock (wm_coord_api_real_now), so nodes keep talking to a moved server.
 */
static int64_t test_time_offset(void)
{
	static bool read;
	static int64_t offset;
	const char *v;
	char *end;
	long long x;

	if (read)
		return offset;
	read = true;
	v = getenv(WM_COORD_TEST_TIME_OFFSET_ENV);
	if (!v || !*v)
		return 0;
	errno = 0;
	x = strtoll(v, &end, 10);
	if (errno || *end || x < -WM_COORD_TEST_TIME_OFFSET_MAX || x > WM_COORD_TEST_TIME_OFFSET_MAX) {
		wm_log_error("coord: ignoring %s=%.40s (want whole seconds within +-%lld)",
			     WM_COORD_TEST_TIME_OFFSET_ENV, v, (long long)WM_COORD_TEST_TIME_OFFSET_MAX);
		return 0;
	}
	offset = x;
	wm_log_error("coord: FOR TESTS ONLY: the clock for key expiry is moved by %lld s (%s)",
		     x, WM_COORD_TEST_TIME_OFFSET_ENV);
	return offset;
}

int64_t wm_coord_api_real_now(void)
{
	return (int64_t)time(NULL);
}

int64_t wm_coord_api_now(void)
{
	return wm_coord_api_real_now() + test_time_offset();
}

void wm_coord_api_error(struct wm_coord_sconn *c, int status, const char *code,
			const char *fmt, ...)
{
	char msg[WM_COORD_ERROR_MAX + 1], *body;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	wm_log_verbose("coord: %s: %d %s: %s", c->peer, status, code, msg);
	body = wm_coord_error_encode(code, msg);
	wm_coord_sconn_respond(c, status, WM_COORD_JSON_TYPE, body, body ? strlen(body) : 0);
}

static void internal_error(struct wm_coord_api *a, struct wm_coord_sconn *c, const char *what)
{
	wm_log_error("coord: %s: %s", what, wm_store_error(a->store));
	wm_coord_api_error(c, 500, "internal", "server error (%s); try again later", what);
}

/* Seals text (freed) to the node and answers 200. */
static void answer_sealed(struct wm_coord_sconn *c, char *text, size_t len)
{
	uint8_t *box;
	ssize_t n;

	if (!text) {
		wm_coord_api_error(c, 500, "internal", "out of memory");
		return;
	}
	box = malloc(len + WM_COORD_SEAL_OVERHEAD);
	n = box ? wm_coord_seal(&c->box, box, len + WM_COORD_SEAL_OVERHEAD, text, len) : -ENOMEM;
	free(text);
	if (n < 0) {
		free(box);
		wm_coord_api_error(c, 500, "internal", "out of memory");
		return;
	}
	wm_coord_sconn_respond(c, 200, WM_COORD_SEALED_TYPE, (char *)box, (size_t)n);
}

static void refuse(struct wm_coord_sconn *c, const struct wm_store_refusal *why)
{
	wm_coord_api_error(c, why->status, why->code, "%s", why->message);
}

/* Refreshes the netmap cache when it is older than the store and was not just built, or when
 * it must know the node id (0: any). false when the store failed. */
static bool fresh_cache(struct wm_coord_api *a, int64_t must_know, bool force)
{
	struct wm_coord_cache *cache = &a->cache;
	bool unknown = must_know && !wm_coord_cache_node(cache, must_know);
	bool stale = cache->version != wm_store_netmap_version(a->store);

	if (!cache->version || unknown || (stale && (force || ev_now(a->loop) - cache->built_at >=
							       CACHE_MIN_AGE_S)))
		return wm_coord_cache_rebuild(cache, a->store, wm_coord_api_now(),
					      ev_now(a->loop)) == 0;
	return true;
}

/* --- endpoints -------------------------------------------------------------------------- */

/* The node as its register and rotate answers describe it, as its netmaps do. false when
 * answered with an error. */
static bool fill_self(struct wm_coord_api *a, struct wm_coord_sconn *c,
			struct wm_netmap_self *self, const struct wm_store_node *node)
{
	wm_coord_node_self(self, node);
	if (wm_store_node_approved_routes(a->store, node->id, self->approved_routes,
					  &self->n_approved_routes)) {
		internal_error(a, c, "routes");
		return false;
	}
	return true;
}

static void do_register(struct wm_coord_api *a, struct wm_coord_sconn *c,
			const struct wm_coord_request *req, int64_t now)
{
	struct wm_coord_register_resp resp = { 0 };
	struct wm_store_refusal why = { 0 };
	struct wm_store_node node;
	char *relays, *text;
	int ret;

	ret = wm_store_node_register(a->store, c->node_key, &req->u.reg, now, &node, &why);
	if (ret < 0) {
		internal_error(a, c, "register");
		return;
	}
	if (ret > 0) {
		refuse(c, &why);
		return;
	}
	a->wake(a->ctx, WM_COORD_WAKE_URGENT_S);
	memcpy(resp.id, req->id, sizeof(resp.id));
	if (!fill_self(a, c, &resp.self, &node))
		return;
	relays = wm_store_relays_get(a->store);
	if (relays && wm_coord_relay_map_parse(&resp.relays, relays, strlen(relays), NULL, 0))
		memset(&resp.relays, 0, sizeof(resp.relays));
	free(relays);
	text = wm_coord_register_resp_encode(&resp, req->type);
	wm_relay_map_free(&resp.relays);
	answer_sealed(c, text, text ? strlen(text) : 0);
}

static void do_rotate(struct wm_coord_api *a, struct wm_coord_sconn *c,
		      const struct wm_coord_request *req, int64_t now)
{
	struct wm_coord_register_resp resp = { 0 };
	struct wm_store_refusal why = { 0 };
	struct wm_store_node node;
	char *text;
	int ret;

	if (!wm_coord_rotate_proof_check(req->u.rotate.proof, req->u.rotate.new_key, a->priv,
					 req->id, c->node_key)) {
		wm_coord_api_error(c, 401, "bad_proof",
				   "the new key's proof does not open (it must seal label, request id and old key)");
		return;
	}
	ret = wm_store_node_rotate(a->store, c->node_key, req->u.rotate.new_key, now, &node,
				   &why);
	if (ret < 0) {
		internal_error(a, c, "rotate");
		return;
	}
	if (ret > 0) {
		refuse(c, &why);
		return;
	}
	a->wake(a->ctx, WM_COORD_WAKE_URGENT_S);
	memcpy(resp.id, req->id, sizeof(resp.id));
	if (!fill_self(a, c, &resp.self, &node))
		return;
	text = wm_coord_register_resp_encode(&resp, WM_COORD_ROTATE);
	answer_sealed(c, text, text ? strlen(text) : 0);
}

/* The node behind the sender key, checked for expiry. false when answered with an error. */
static bool known_node(struct wm_coord_api *a, struct wm_coord_sconn *c,
		       struct wm_store_node *node, int64_t now)
{
	int ret = wm_store_node_by_key(a->store, c->node_key, node);

	if (ret == -ENOENT) {
		wm_coord_api_error(c, 404, "unknown_node",
				   "this node is not registered (or was removed): register with an auth key");
		return false;
	}
	if (ret) {
		internal_error(a, c, "node lookup");
		return false;
	}
	if (node->key_expiry && now >= node->key_expiry) {
		wm_coord_api_error(c, 403, "node_expired",
				   "this node's key expired: register again with an auth key");
		return false;
	}
	return true;
}

static void do_logout(struct wm_coord_api *a, struct wm_coord_sconn *c,
		      const struct wm_coord_request *req, int64_t now)
{
	struct wm_store_node node;
	char *text;

	if (!known_node(a, c, &node, now))
		return;
	if (wm_store_node_delete(a->store, node.id, now)) {
		internal_error(a, c, "logout");
		return;
	}
	a->wake(a->ctx, WM_COORD_WAKE_URGENT_S);
	text = wm_coord_logout_resp_encode(req->id);
	answer_sealed(c, text, text ? strlen(text) : 0);
}

static char *unchanged_text(uint64_t version, const uint8_t id[WM_COORD_REQ_ID_LEN])
{
	struct wm_coord_poll_resp r = { .unchanged = true, .version = version };

	memcpy(r.id, id, sizeof(r.id));
	return wm_coord_poll_resp_encode(&r);
}

long long wm_coord_api_answer_held(struct wm_coord_api *a, struct wm_coord_sconn *c)
{
		const struct wm_store_node *node = wm_coord_cache_node(&a->cache, c->node_id);
	int64_t id = c->node_id;
	size_t len = 0;
	char *text;

	if (!node) {
		wm_coord_api_error(c, 404, "unknown_node", "this node was removed from the mesh");
		return 0;
	}
	if (sodium_memcmp(node->node_key, c->node_key, WM_KEY_LEN)) {
		wm_coord_sconn_close(c);	/* rotated meanwhile: the client polls again */
		return 0;
	}
	if (node->key_expiry && a->cache.built_unix >= node->key_expiry) {
		wm_coord_api_error(c, 403, "node_expired",
				   "this node's key expired: register again with an auth key");
		return 0;
	}
	if (c->have_version == a->cache.version) {
		text = unchanged_text(a->cache.version, c->req_id);
		len = text ? strlen(text) : 0;
	} else {
		text = wm_coord_cache_netmap(&a->cache, node, c->req_id, &len);
		a->netmaps_sent++;
	}
	answer_sealed(c, text, len);
	return id;
}

bool wm_coord_api_auto_approves(void *ctx, int64_t node_id, const struct wm_netmap_prefix *prefix)
{
	const struct wm_coord_api *a = ctx;
	const struct wm_store_node *node = wm_coord_cache_node(&a->cache, node_id);

	/* The compiled policy of the last netmap build: a node that joined since is approved at
	 * its next poll, once the cache holds it. */
	return node && a->cache.policy &&
	       wm_policy_auto_approves(a->cache.policy, (size_t)(node - a->cache.nodes), prefix);
}

static void do_poll(struct wm_coord_api *a, struct wm_coord_sconn *c,
		    const struct wm_coord_request *req, int64_t now)
{
	const struct wm_coord_poll_req *p = &req->u.poll;
		struct wm_store_node node;
	bool urgent, lazy;

	if (!known_node(a, c, &node, now))
		return;
	if (wm_store_node_polled(a->store, node.id, p, now, &urgent, &lazy)) {
		internal_error(a, c, "poll");
		return;
	}
	if (urgent || lazy)
		a->wake(a->ctx, urgent ? WM_COORD_WAKE_URGENT_S : WM_COORD_WAKE_LAZY_S);
	if (!fresh_cache(a, node.id, urgent)) {
		internal_error(a, c, "netmap");
		return;
	}
	c->node_id = node.id;
	memcpy(c->req_id, req->id, sizeof(c->req_id));
	c->have_version = p->version;
	if (p->version != a->cache.version || !p->wait) {
		wm_coord_api_answer_held(a, c);
		return;
	}
	if (a->conns->held >= WM_COORD_MAX_HELD) {
		wm_coord_api_error(c, 503, "busy", "too many polls held; try again later");
		return;
	}
	wm_coord_sconn_hold(c, WM_COORD_HOLD_S - WM_COORD_HOLD_JITTER_S *
				       randombytes_uniform(1001) / 1000.0);
}

/* --- the checks every sealed request passes ----------------------------------------------- */

static const char *const paths[] = {
	[WM_COORD_REGISTER] = "/v1/register",
	[WM_COORD_POLL] = "/v1/poll",
	[WM_COORD_ROTATE] = "/v1/rotate",
	[WM_COORD_LOGOUT] = "/v1/logout",
};

static int route(const char *path)
{
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (!strcmp(path, paths[i]))
			return (int)i;
	return -1;
}

/* Opens the body into req; false when answered with an error. */
static bool open_request(struct wm_coord_api *a, struct wm_coord_sconn *c,
			 struct wm_coord_request *req, int64_t now)
{
		char err[WM_COORD_ERR_LEN], *plain;
	ssize_t n;
	int ret;

	if (!c->req.has_node_key) {
		wm_coord_api_error(c, 400, "bad_request", "missing " WM_COORD_NODE_HEADER " header");
		return false;
	}
	if (!wm_coord_ratelimit_allow(&a->rl, c->req.node_key, wm_clock_monotonic_ns())) {
		wm_coord_api_error(c, 429, "rate_limited", "too many requests from this node; slow down");
		return false;
	}
	memcpy(c->node_key, c->req.node_key, WM_KEY_LEN);
	if (!wm_coord_box_init(&c->box, c->node_key, a->priv)) {
		wm_coord_api_error(c, 400, "bad_request", "the node key is not a usable X25519 key");
		return false;
	}
	plain = malloc(c->req.http.body_len + 1);
	n = plain ? wm_coord_open(&c->box, (uint8_t *)plain, c->req.http.body_len, c->req.http.body,
				  c->req.http.body_len) : -ENOMEM;
	if (n < 0) {
		free(plain);
		wm_coord_api_error(c, 401, "bad_seal",
				   "the sealed body does not open with this node key and the server key (wrong server key, or tampered)");
		return false;
	}
	ret = wm_coord_request_parse(req, plain, (size_t)n, err, sizeof(err));
	free(plain);
	if (ret) {
		wm_coord_api_error(c, 400, "bad_request", "%s", err);
		return false;
	}
	(void)now;
	ret = wm_coord_replay_check(&a->replay, req->id, req->ts, wm_coord_api_real_now());
	if (ret == -ETIME) {
		wm_coord_api_error(c, 401, "stale",
				   "request timestamp %lld is not within %d s of the server's clock (%lld)",
				   (long long)req->ts, WM_COORD_MAX_SKEW,
				   (long long)wm_coord_api_real_now());
		return false;
	}
	if (ret) {
		wm_coord_api_error(c, 401, "replayed", "request id already seen (replayed request)");
		return false;
	}
	return true;
}

static void serve_key(struct wm_coord_api *a, struct wm_coord_sconn *c)
{
	char *text = wm_coord_key_resp_encode(a->pub);

	wm_coord_sconn_respond(c, 200, WM_COORD_JSON_TYPE, text, text ? strlen(text) : 0);
}

void wm_coord_api_handle(struct wm_coord_api *a, struct wm_coord_sconn *c)
{
	const struct wm_coord_http_msg *m = &c->req;
	struct wm_coord_request req;
	int64_t now = wm_coord_api_now();
	int type;

	if (!strcmp(m->http.path, "/v1/key") || !strcmp(m->http.path, "/health")) {
		if (m->http.method != WM_HTTP_GET)
			wm_coord_api_error(c, 405, "method", "%s wants GET", m->http.path);
		else if (m->http.path[1] == 'h')
			wm_coord_sconn_respond(c, 200, "text/plain", strdup("ok\n"), 3);
		else
			serve_key(a, c);
		return;
	}
	type = route(m->http.path);
	if (type < 0) {
		wm_coord_api_error(c, 404, "not_found", "no such endpoint: %s", m->http.path);
		return;
	}
	if (m->http.method != WM_HTTP_POST) {
		wm_coord_api_error(c, 405, "method", "%s wants POST", m->http.path);
		return;
	}
	if (strcmp(m->content_type, WM_COORD_SEALED_TYPE)) {
		wm_coord_api_error(c, 415, "content_type", "the body must be " WM_COORD_SEALED_TYPE);
		return;
	}
	if (!open_request(a, c, &req, now))
		return;
	if ((int)req.type != type) {
		wm_coord_api_error(c, 400, "bad_request", "a %s message was sent to %s",
				   paths[req.type] + 4, m->http.path);
		return;
	}
	if (req.type == WM_COORD_REGISTER)
		do_register(a, c, &req, now);
	else if (req.type == WM_COORD_POLL)
		do_poll(a, c, &req, now);
	else if (req.type == WM_COORD_ROTATE)
		do_rotate(a, c, &req, now);
	else
		do_logout(a, c, &req, now);
}
