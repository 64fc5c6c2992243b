/* SPDX-License-Identifier: MIT */
#include "coord-client/coord_client.h"

#include <errno.h>
#include <ev.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include <sodium.h>

#include "common/backoff.h"
#include "common/log.h"
#include "common/rng.h"
#include "coord-client/coord_conn.h"
#include "coord-client/coord_http.h"
#include "coord-client/coord_msg.h"
#include "coord-client/coord_seal.h"
#include "common/tls_stream.h"

#define HEAD_MAX 1024

enum phase {
	PH_IDLE,		/* nothing in flight: the timer says when to go on */
	PH_KEY,			/* GET /v1/key */
	PH_REGISTER,
	PH_POLL,
	PH_ROTATE,
	PH_LOGOUT,
	PH_STOPPED,		/* rejected or logged out */
};

struct wm_coord_client {
	struct ev_loop *loop;
	struct wm_coord_client_config cfg;	/* strings point into the copies below */
	char auth_key[WM_COORD_AUTH_KEY_MAX + 1];
	char hostname[WM_COORD_HOSTNAME_MAX + 1];
	char os[WM_COORD_OS_MAX + 1];
	char version[WM_COORD_VERSION_MAX + 1];
	struct wm_coord_url url;
	struct wm_tls_config *tls;

	uint8_t priv[WM_KEY_LEN], pub[WM_KEY_LEN];
	bool has_server_key;
	uint8_t server_key[WM_KEY_LEN];
	struct wm_coord_box box;
	bool registered;
	bool has_self, has_netmap;
	struct wm_netmap_self self;
	struct wm_netmap netmap;

	struct wm_endpoint eps[WM_NETMAP_MAX_ENDPOINTS];
	size_t n_eps;
	struct wm_netmap_prefix routes[WM_NETMAP_MAX_ROUTES];	/* sorted, none twice */
	size_t n_routes;
	int home_relay;
	bool want_rotate, want_logout;
	uint8_t new_priv[WM_KEY_LEN];

	enum phase phase;
	enum wm_coord_state state;
	struct wm_coord_conn *conn;
	uint8_t req_id[WM_COORD_REQ_ID_LEN];
	ev_timer timer;
	struct wm_backoff backoff;
	int busy;
	bool doomed;
};

static void next(struct wm_coord_client *c);

static void set_state(struct wm_coord_client *c, enum wm_coord_state s, const char *why)
{
	if (c->state == s && s == WM_COORD_CONNECTED)
		return;
	c->state = s;
	if (s != WM_COORD_CONNECTED)
		wm_log_verbose("coord %s: %s", c->url.host, why);
	if (c->cfg.on_state)
		c->cfg.on_state(c->cfg.ctx, s, why);
}

static void schedule(struct wm_coord_client *c, uint32_t ms)
{
	ev_timer_stop(c->loop, &c->timer);
	ev_timer_set(&c->timer, ms / 1000.0, 0);
	ev_timer_start(c->loop, &c->timer);
}

/* A transient failure: say so, keep the netmap, retry after a jittered, growing delay. */
static void fail(struct wm_coord_client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fail(struct wm_coord_client *c, const char *fmt, ...)
{
	char why[256];
	uint32_t delay;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	c->phase = PH_IDLE;
	delay = wm_backoff_next(&c->backoff, &wm_rng_system);
	schedule(c, delay);
	set_state(c, WM_COORD_AWAY, why);
}

/* The server refused us for good: stop until the user acts. */
static void reject(struct wm_coord_client *c, const char *why)
{
	c->phase = PH_STOPPED;
	ev_timer_stop(c->loop, &c->timer);
	set_state(c, WM_COORD_REJECTED, why);
}

static void succeeded(struct wm_coord_client *c)
{
	wm_backoff_reset(&c->backoff);
	c->phase = PH_IDLE;
	set_state(c, WM_COORD_CONNECTED, "connected");
}

/* --- sending ---------------------------------------------------------------------------- */

static void on_response(void *ctx, int err, const struct wm_coord_http_msg *resp,
			const char *why);

static bool start(struct wm_coord_client *c, enum phase ph, const char *method, const char *path,
		  const uint8_t *body, size_t body_len, bool sealed, double timeout)
{
	char head[HEAD_MAX];
	uint8_t *req;
	ssize_t n = wm_coord_http_request_head(head, sizeof(head), method, &c->url, path,
					       sealed ? c->pub : NULL,
					       sealed ? WM_COORD_SEALED_TYPE : NULL, body_len);

	if (n < 0 || !(req = malloc((size_t)n + body_len)))
		return false;
	memcpy(req, head, (size_t)n);
	if (body_len)
		memcpy(req + n, body, body_len);
	c->conn = wm_coord_conn_start(c->loop, &c->url, c->tls, req, (size_t)n + body_len,
				      ph == PH_KEY ? 4096 : WM_COORD_RESPONSE_MAX + WM_COORD_SEAL_OVERHEAD,
				      timeout, on_response, c);
	free(req);
	if (!c->conn)
		return false;
	c->phase = ph;
	return true;
}

/* Every request gets the time and a fresh random id (replay protection). */
static void stamp(struct wm_coord_client *c, struct wm_coord_request *req)
{
	req->ts = (int64_t)time(NULL);
	randombytes_buf(req->id, sizeof(req->id));
	memcpy(c->req_id, req->id, sizeof(c->req_id));
}

static bool send_sealed(struct wm_coord_client *c, enum phase ph, const char *path,
			struct wm_coord_request *req, double timeout)
{
	char *json;
	uint8_t *box;
	size_t len;
	ssize_t n;
	bool ok = false;

	json = wm_coord_request_encode(req);
	if (!json)
		return false;
	len = strlen(json);
	box = malloc(len + WM_COORD_SEAL_OVERHEAD);
	if (box) {
		n = wm_coord_seal(&c->box, box, len + WM_COORD_SEAL_OVERHEAD, json, len);
		ok = n > 0 && start(c, ph, "POST", path, box, (size_t)n, true, timeout);
	}
	free(box);
	free(json);
	return ok;
}

static bool send_register(struct wm_coord_client *c)
{
	struct wm_coord_request req = { .type = WM_COORD_REGISTER };

	stamp(c, &req);
	snprintf(req.u.reg.auth_key, sizeof(req.u.reg.auth_key), "%s", c->auth_key);
	memcpy(req.u.reg.disco_key, c->cfg.disco_public_key, WM_KEY_LEN);
	snprintf(req.u.reg.hostname, sizeof(req.u.reg.hostname), "%s", c->hostname);
	snprintf(req.u.reg.os, sizeof(req.u.reg.os), "%s", c->os);
	snprintf(req.u.reg.version, sizeof(req.u.reg.version), "%s", c->version);
	return send_sealed(c, PH_REGISTER, "/v1/register", &req, WM_COORD_REQUEST_TIMEOUT_S);
}

static bool send_poll(struct wm_coord_client *c)
{
	struct wm_coord_request req = { .type = WM_COORD_POLL };

	stamp(c, &req);
	req.u.poll.version = c->has_netmap ? c->netmap.version : 0;
	req.u.poll.wait = true;
	memcpy(req.u.poll.endpoints, c->eps, c->n_eps * sizeof(c->eps[0]));
	req.u.poll.n_endpoints = c->n_eps;
	memcpy(req.u.poll.routes, c->routes, c->n_routes * sizeof(c->routes[0]));
	req.u.poll.n_routes = c->n_routes;
	req.u.poll.home_relay = c->home_relay;
	return send_sealed(c, PH_POLL, "/v1/poll", &req, WM_COORD_POLL_TIMEOUT_S);
}

static bool send_rotate(struct wm_coord_client *c)
{
	struct wm_coord_request req = { .type = WM_COORD_ROTATE };

	stamp(c, &req);
	wm_coord_public_key(req.u.rotate.new_key, c->new_priv);
	if (!wm_coord_rotate_proof_make(req.u.rotate.proof, c->new_priv, c->server_key, req.id,
					c->pub))
		return false;
	return send_sealed(c, PH_ROTATE, "/v1/rotate", &req, WM_COORD_REQUEST_TIMEOUT_S);
}

static bool send_logout(struct wm_coord_client *c)
{
	struct wm_coord_request req = { .type = WM_COORD_LOGOUT };

	stamp(c, &req);
	return send_sealed(c, PH_LOGOUT, "/v1/logout", &req, WM_COORD_REQUEST_TIMEOUT_S);
}

/* Starts whatever comes next. */
static void next(struct wm_coord_client *c)
{
	bool ok;

	if (c->phase != PH_IDLE || c->doomed)
		return;
	ev_timer_stop(c->loop, &c->timer);
	if (!c->has_server_key)
		ok = start(c, PH_KEY, "GET", "/v1/key", NULL, 0, false, WM_COORD_REQUEST_TIMEOUT_S);
	else if (c->want_logout)
		ok = send_logout(c);
	else if (!c->registered)
		ok = send_register(c);
	else if (c->want_rotate)
		ok = send_rotate(c);
	else
		ok = send_poll(c);
	if (!ok)
		fail(c, "cannot start a request (out of memory or threads)");
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct wm_coord_client *c = w->data;

	(void)loop;
	(void)revents;
	c->busy++;
	next(c);
	if (--c->busy == 0 && c->doomed)
		wm_coord_client_destroy(c);
}

/* Aborts a held poll so that news goes out now. */
static void kick(struct wm_coord_client *c)
{
	if (c->phase != PH_POLL)
		return;
	wm_coord_conn_cancel(c->conn);
	c->conn = NULL;
	c->phase = PH_IDLE;
	schedule(c, 0);
}

/* --- answers ---------------------------------------------------------------------------- */

static void got_key(struct wm_coord_client *c, const struct wm_coord_http_msg *resp)
{
	char err[WM_COORD_ERR_LEN];

	if (wm_coord_key_resp_parse(c->server_key, (const char *)resp->http.body, resp->http.body_len, err,
				    sizeof(err))) {
		fail(c, "server key answer: %s", err);
		return;
	}
	if (!wm_coord_box_init(&c->box, c->server_key, c->priv)) {
		reject(c, "the server's key is unusable (low order)");
		return;
	}
	c->has_server_key = true;
	if (c->cfg.on_server_key)
		c->cfg.on_server_key(c->cfg.ctx, c->server_key);
	succeeded(c);
}

static void got_register(struct wm_coord_client *c, const char *text, size_t len, bool rotate)
{
	struct wm_coord_register_resp r;
	char err[WM_COORD_ERR_LEN];

	if (wm_coord_register_resp_parse(&r, rotate ? WM_COORD_ROTATE : WM_COORD_REGISTER, text,
					 len, err, sizeof(err))) {
		fail(c, "bad %s answer: %s", rotate ? "rotate" : "register", err);
		return;
	}
	wm_relay_map_free(&r.relays);
	if (sodium_memcmp(r.id, c->req_id, sizeof(r.id))) {
		fail(c, "answer to another request (replayed?)");
		return;
	}
	c->self = r.self;
	c->has_self = true;
	c->registered = true;
	if (rotate) {
		struct wm_coord_box nb;

		c->want_rotate = false;
		memcpy(c->priv, c->new_priv, WM_KEY_LEN);
		wm_coord_public_key(c->pub, c->priv);
		sodium_memzero(c->new_priv, sizeof(c->new_priv));
		if (wm_coord_box_init(&nb, c->server_key, c->priv))
			c->box = nb;
		wm_coord_box_wipe(&nb);
		succeeded(c);
		if (c->cfg.on_rotated)
			c->cfg.on_rotated(c->cfg.ctx, 0, "rotated");
		return;
	}
	succeeded(c);
}

static void got_netmap(struct wm_coord_client *c, const char *text, size_t len)
{
	struct wm_coord_poll_resp r;
	char err[WM_COORD_ERR_LEN];

	if (wm_coord_poll_resp_parse(&r, text, len, err, sizeof(err))) {
		fail(c, "bad netmap: %s", err);
		return;
	}
	if (sodium_memcmp(r.id, c->req_id, sizeof(r.id))) {
		wm_netmap_free(&r.netmap);
		fail(c, "answer to another request (replayed?)");
		return;
	}
	succeeded(c);
	if (r.unchanged)
		return;
	wm_netmap_free(&c->netmap);
	c->netmap = r.netmap;
	c->has_netmap = true;
	c->self = c->netmap.self;
	c->has_self = true;
	if (c->cfg.on_netmap)
		c->cfg.on_netmap(c->cfg.ctx, &c->netmap);
}

static void got_logout(struct wm_coord_client *c, const char *text, size_t len)
{
	uint8_t id[WM_COORD_REQ_ID_LEN];
	char err[WM_COORD_ERR_LEN];

	if (wm_coord_logout_resp_parse(id, text, len, err, sizeof(err)) ||
	    sodium_memcmp(id, c->req_id, sizeof(id))) {
		fail(c, "bad logout answer: %s", err);
		return;
	}
	c->phase = PH_STOPPED;
	c->registered = false;
	set_state(c, WM_COORD_LOGGED_OUT, "logged out");
}

/* A 4xx/5xx: the codes that need the user stop us; the rest are retried. */
static void got_error(struct wm_coord_client *c, enum phase ph,
		      const struct wm_coord_http_msg *resp)
{
	static const char *const fatal[] = { "auth_key_invalid", "auth_key_required",
					     "node_expired", "unknown_node" };
	char code[32] = "", msg[WM_COORD_ERROR_MAX + 1] = "", why[WM_COORD_ERROR_MAX + 64];

	if (wm_coord_error_parse((const char *)resp->http.body, resp->http.body_len, code, sizeof(code), msg,
				 sizeof(msg)))
		snprintf(msg, sizeof(msg), "HTTP status %d", resp->http.status);
	snprintf(why, sizeof(why), "server: %s", msg);
	if (ph == PH_ROTATE && resp->http.status < 500 && resp->http.status != 429 &&
	    strcmp(code, "unknown_node") && strcmp(code, "node_expired")) {
		c->want_rotate = false;
		sodium_memzero(c->new_priv, sizeof(c->new_priv));
		c->phase = PH_IDLE;
		if (c->cfg.on_rotated)
			c->cfg.on_rotated(c->cfg.ctx, -EPERM, why);
		if (!c->doomed)
			schedule(c, 0);
		return;
	}
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++) {
		if (!strcmp(code, fatal[i])) {
			reject(c, why);
			return;
		}
	}
	fail(c, "%s", why);
}

static void dispatch(struct wm_coord_client *c, enum phase ph,
		     const struct wm_coord_http_msg *resp)
{
	uint8_t *plain;
	ssize_t n;

	if (resp->http.status != 200) {
		got_error(c, ph, resp);
		return;
	}
	if (ph == PH_KEY) {
		got_key(c, resp);
		return;
	}
	if (strcmp(resp->content_type, WM_COORD_SEALED_TYPE)) {
		fail(c, "server answered with %s, not a sealed body", resp->content_type);
		return;
	}
	plain = malloc(resp->http.body_len + 1);
	if (!plain) {
		fail(c, "out of memory");
		return;
	}
	n = wm_coord_open(&c->box, plain, resp->http.body_len, resp->http.body, resp->http.body_len);
	if (n < 0) {
		free(plain);
		fail(c, "the answer does not open with the server key (wrong server, or tampered)");
		return;
	}
	if (ph == PH_REGISTER || ph == PH_ROTATE)
		got_register(c, (const char *)plain, (size_t)n, ph == PH_ROTATE);
	else if (ph == PH_POLL)
		got_netmap(c, (const char *)plain, (size_t)n);
	else if (ph == PH_LOGOUT)
		got_logout(c, (const char *)plain, (size_t)n);
	free(plain);
}

static void on_response(void *ctx, int err, const struct wm_coord_http_msg *resp,
			const char *why)
{
	struct wm_coord_client *c = ctx;
	enum phase ph = c->phase;

	c->conn = NULL;
	c->phase = PH_IDLE;
	c->busy++;
	if (err)
		fail(c, "%s", why);
	else
		dispatch(c, ph, resp);
	if (!c->doomed && c->phase == PH_IDLE && c->state == WM_COORD_CONNECTED)
		next(c);
	if (--c->busy == 0 && c->doomed)
		wm_coord_client_destroy(c);
}

/* --- the API ---------------------------------------------------------------------------- */

static void default_os(char *out, size_t cap)
{
	struct utsname u;
	size_t i;

	if (uname(&u) || !u.sysname[0]) {
		snprintf(out, cap, "unknown");
		return;
	}
	for (i = 0; i + 1 < cap && u.sysname[i]; i++)
		out[i] = u.sysname[i] >= 0x20 && u.sysname[i] < 0x7f ? u.sysname[i] : '?';
	out[i] = '\0';
}

static int setup(struct wm_coord_client *c, const struct wm_coord_client_config *cfg,
		 char *errbuf, size_t errlen)
{
	if (wm_coord_url_parse(&c->url, cfg->url ? cfg->url : "", errbuf, errlen))
		return -EINVAL;
	if (!cfg->hostname || !wm_coord_hostname_valid(cfg->hostname)) {
		snprintf(errbuf, errlen, "hostname must be 1-253 letters, digits, '.', '-' or '_'");
		return -EINVAL;
	}
	if (cfg->auth_key && strlen(cfg->auth_key) > WM_COORD_AUTH_KEY_MAX) {
		snprintf(errbuf, errlen, "auth key too long");
		return -EINVAL;
	}
	if (cfg->has_server_key && c->url.has_key &&
	    sodium_memcmp(cfg->server_key, c->url.server_key, WM_KEY_LEN)) {
		snprintf(errbuf, errlen, "the URL's key= differs from the pinned server key");
		return -EINVAL;
	}
	snprintf(c->auth_key, sizeof(c->auth_key), "%s", cfg->auth_key ? cfg->auth_key : "");
	snprintf(c->hostname, sizeof(c->hostname), "%s", cfg->hostname);
	if (cfg->os)
		snprintf(c->os, sizeof(c->os), "%s", cfg->os);
	else
		default_os(c->os, sizeof(c->os));
	snprintf(c->version, sizeof(c->version), "%s", cfg->version ? cfg->version : "wiremesh");
	if (!wm_coord_label_valid(c->os, WM_COORD_OS_MAX) ||
	    !wm_coord_label_valid(c->version, WM_COORD_VERSION_MAX)) {
		snprintf(errbuf, errlen, "os and version must be 1-32 printable ASCII characters");
		return -EINVAL;
	}
	if (c->url.tls && !(c->tls = wm_tls_client_config_new(cfg->ca_file, errbuf, errlen)))
		return -EIO;
	memcpy(c->priv, cfg->node_private_key, WM_KEY_LEN);
	wm_coord_public_key(c->pub, c->priv);
	if (c->url.has_key || cfg->has_server_key) {
		memcpy(c->server_key, c->url.has_key ? c->url.server_key : cfg->server_key,
		       WM_KEY_LEN);
		if (!wm_coord_box_init(&c->box, c->server_key, c->priv)) {
			snprintf(errbuf, errlen, "the server key is unusable (low order)");
			return -EINVAL;
		}
		c->has_server_key = true;
	}
	return 0;
}

struct wm_coord_client *wm_coord_client_create(struct ev_loop *loop,
					       const struct wm_coord_client_config *cfg,
					       int *err, char *errbuf, size_t errlen)
{
	struct wm_coord_client *c = calloc(1, sizeof(*c));
	int ret;

	if (!c) {
		*err = -ENOMEM;
		snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	c->loop = loop;
	c->cfg = *cfg;
	sodium_memzero(c->cfg.node_private_key, WM_KEY_LEN);
	ret = setup(c, cfg, errbuf, errlen);
	if (ret) {
		*err = ret;
		wm_coord_client_destroy(c);
		return NULL;
	}
	wm_backoff_init(&c->backoff, WM_COORD_BACKOFF_MIN_MS, WM_COORD_BACKOFF_MAX_MS);
	c->state = WM_COORD_AWAY;
	ev_timer_init(&c->timer, on_timer, 0, 0);
	c->timer.data = c;
	ev_timer_start(loop, &c->timer);	/* start from the loop, not from inside create */
	return c;
}

int wm_coord_client_set_endpoints(struct wm_coord_client *c, const struct wm_endpoint *eps,
				  size_t n)
{
	bool same = n == c->n_eps;

	if (n > WM_NETMAP_MAX_ENDPOINTS)
		return -E2BIG;
	for (size_t i = 0; same && i < n; i++)
		same = wm_endpoint_equal(&eps[i], &c->eps[i]);
	if (same)
		return 0;
	memcpy(c->eps, eps, n * sizeof(eps[0]));
	c->n_eps = n;
	kick(c);
	return 0;
}

static int cmp_prefix(const void *a, const void *b)
{
	return wm_netmap_prefix_cmp(a, b);
}

int wm_coord_client_set_routes(struct wm_coord_client *c, const struct wm_netmap_prefix *routes,
			       size_t n)
{
	struct wm_netmap_prefix v[WM_NETMAP_MAX_ROUTES];
	size_t k = 0;
	bool same;

	if (n > WM_NETMAP_MAX_ROUTES)
		return -E2BIG;
	/* The server refuses a poll with a bad route: refuse it here, where the caller hears. */
	for (size_t i = 0; i < n; i++)
		if (wm_netmap_route_check(&routes[i], NULL, 0))
			return -EINVAL;
	memcpy(v, routes, n * sizeof(v[0]));
	qsort(v, n, sizeof(v[0]), cmp_prefix);
	for (size_t i = 0; i < n; i++)
		if (!k || wm_netmap_prefix_cmp(&v[k - 1], &v[i]))
			v[k++] = v[i];
	same = k == c->n_routes;
	for (size_t i = 0; same && i < k; i++)
		same = !wm_netmap_prefix_cmp(&v[i], &c->routes[i]);
	if (same)
		return 0;
	memcpy(c->routes, v, k * sizeof(v[0]));
	c->n_routes = k;
	kick(c);
	return 0;
}

void wm_coord_client_set_home_relay(struct wm_coord_client *c, int region)
{
	if (region < 0 || region > WM_RELAYMAP_REGION_ID_MAX || region == c->home_relay)
		return;
	c->home_relay = region;
	kick(c);
}

const struct wm_netmap *wm_coord_client_netmap(const struct wm_coord_client *c)
{
	return c->has_netmap ? &c->netmap : NULL;
}

const struct wm_netmap_self *wm_coord_client_self(const struct wm_coord_client *c)
{
	return c->has_self ? &c->self : NULL;
}

enum wm_coord_state wm_coord_client_state(const struct wm_coord_client *c)
{
	return c->state;
}

int wm_coord_client_rotate_key(struct wm_coord_client *c, const uint8_t new_priv[WM_KEY_LEN])
{
	if (c->phase == PH_STOPPED)
		return -EINVAL;
	if (c->want_rotate || c->want_logout)
		return -EBUSY;
	memcpy(c->new_priv, new_priv, WM_KEY_LEN);
	c->want_rotate = true;
	kick(c);
	return 0;
}

int wm_coord_client_logout(struct wm_coord_client *c)
{
	if (c->phase == PH_STOPPED)
		return -EINVAL;
	c->want_logout = true;
	kick(c);
	return 0;
}

void wm_coord_client_destroy(struct wm_coord_client *c)
{
	if (!c)
		return;
	if (c->busy) {
		c->doomed = true;
		return;
	}
	if (c->conn)
		wm_coord_conn_cancel(c->conn);
	if (c->loop)
		ev_timer_stop(c->loop, &c->timer);
	wm_tls_config_free(c->tls);
	wm_netmap_free(&c->netmap);
	sodium_memzero(c->priv, sizeof(c->priv));
	sodium_memzero(c->new_priv, sizeof(c->new_priv));
	wm_coord_box_wipe(&c->box);
	free(c);
}
