/* SPDX-License-Identifier: MIT */
#include "coord-client/coord_msg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/json.h"

#define TS_MAX (INT64_C(1) << 40)	/* far beyond any real clock, well inside JSON's 2^53 */
#define PROOF_B64_LEN 145		/* 106 bytes: 144 characters + NUL */

static const char *const type_names[] = {
	[WM_COORD_REGISTER] = "register",
	[WM_COORD_POLL] = "poll",
	[WM_COORD_ROTATE] = "rotate",
	[WM_COORD_LOGOUT] = "logout",
};

/* Every message is one JSON object; a repeated member is an error. */
static json_t *load(const char *text, size_t len, char *err, size_t errlen)
{
	return wm_json_load_object(text, len, JSON_REJECT_DUPLICATES, err, errlen);
}

static int read_id(const json_t *o, uint8_t id[WM_COORD_REQ_ID_LEN], char *err, size_t errlen)
{
	return wm_json_hex(o, "id", id, WM_COORD_REQ_ID_LEN, "a request id", err, errlen);
}

/* The "type" member must equal want. */
static int check_type(const json_t *o, const char *want, char *err, size_t errlen)
{
	char type[16];
	int ret = wm_json_string(o, "type", true, type, sizeof(type), err, errlen);

	if (ret)
		return ret;
	if (strcmp(type, want))
		return wm_json_fail(err, errlen, "field \"type\" is \"%s\", expected \"%s\"", type,
				    want);
	return 0;
}

/* --- requests --------------------------------------------------------------------------- */

static bool put_register(json_t *o, const struct wm_coord_register_req *r)
{
	bool ok = true;

	if (r->auth_key[0])
		ok = wm_json_put(o, "auth_key", json_string(r->auth_key));
	ok = wm_json_put(o, "disco_key", wm_json_key_new(r->disco_key)) && ok;
	ok = wm_json_put(o, "hostname", json_string(r->hostname)) && ok;
	ok = wm_json_put(o, "os", json_string(r->os)) && ok;
	return wm_json_put(o, "version", json_string(r->version)) && ok;
}

static bool put_poll(json_t *o, const struct wm_coord_poll_req *p)
{
	bool ok = wm_json_put(o, "version", json_integer((json_int_t)p->version));

	ok = wm_json_put(o, "wait", json_boolean(p->wait)) && ok;
	ok = wm_json_put(o, "endpoints",
			       wm_json_endpoints_new(p->endpoints, p->n_endpoints)) && ok;
	/* Absent means none: what a node without subnet routes (or an older one) sends. */
	if (p->n_routes)
		ok = wm_json_put(o, "routes", wm_netmap_json_prefixes_new(p->routes, p->n_routes)) &&
		     ok;
	return wm_json_put(o, "home_relay", json_integer(p->home_relay)) && ok;
}

static bool put_rotate(json_t *o, const struct wm_coord_rotate_req *r)
{
	char proof[PROOF_B64_LEN];

	sodium_bin2base64(proof, sizeof(proof), r->proof, sizeof(r->proof),
			  sodium_base64_VARIANT_ORIGINAL);
	bool ok = wm_json_put(o, "new_key", wm_json_key_new(r->new_key));

	return wm_json_put(o, "proof", json_string(proof)) && ok;
}

char *wm_coord_request_encode(const struct wm_coord_request *req)
{
	json_t *o = json_object();
	bool ok;

	if ((unsigned int)req->type > WM_COORD_LOGOUT) {
		json_decref(o);
		return NULL;
	}
	ok = wm_json_put(o, "type", json_string(type_names[req->type]));
	ok = wm_json_put(o, "ts", json_integer(req->ts)) && ok;
	ok = wm_json_put(o, "id", wm_json_hex_new(req->id, WM_COORD_REQ_ID_LEN)) && ok;
	if (req->type == WM_COORD_REGISTER)
		ok = put_register(o, &req->u.reg) && ok;
	else if (req->type == WM_COORD_POLL)
		ok = put_poll(o, &req->u.poll) && ok;
	else if (req->type == WM_COORD_ROTATE)
		ok = put_rotate(o, &req->u.rotate) && ok;
	return wm_json_finish(o, ok);
}

static int parse_register(const json_t *o, struct wm_coord_register_req *r, char *err,
			  size_t errlen)
{
	int ret;

	if ((ret = wm_json_string(o, "auth_key", false, r->auth_key, sizeof(r->auth_key),
					err, errlen)) ||
	    (ret = wm_json_key(o, "disco_key", r->disco_key, err, errlen)) ||
	    (ret = wm_json_string(o, "hostname", true, r->hostname, sizeof(r->hostname),
					err, errlen)) ||
	    (ret = wm_json_string(o, "os", true, r->os, sizeof(r->os), err, errlen)) ||
	    (ret = wm_json_string(o, "version", true, r->version, sizeof(r->version), err,
					errlen)))
		return ret;
	if (r->auth_key[0] && !wm_coord_label_valid(r->auth_key, WM_COORD_AUTH_KEY_MAX))
		return wm_json_fail(err, errlen, "field \"auth_key\" has characters outside printable ASCII");
	if (!wm_coord_hostname_valid(r->hostname))
		return wm_json_fail(err, errlen,
					  "field \"hostname\" must be 1-253 letters, digits, '.', '-' or '_'");
	if (!wm_coord_label_valid(r->os, WM_COORD_OS_MAX))
		return wm_json_fail(err, errlen, "field \"os\" must be 1-32 printable ASCII characters");
	if (!wm_coord_label_valid(r->version, WM_COORD_VERSION_MAX))
		return wm_json_fail(err, errlen,
					  "field \"version\" must be 1-32 printable ASCII characters");
	return 0;
}

static int parse_poll(const json_t *o, struct wm_coord_poll_req *p, char *err, size_t errlen)
{
	int64_t version = 0, relay = 0;
	int ret;

	p->wait = true;
	if ((ret = wm_json_int(o, "version", true, 0, INT64_MAX, &version, err, errlen)) ||
	    (ret = wm_json_bool(o, "wait", false, &p->wait, err, errlen)) ||
	    (ret = wm_json_endpoints(o, "endpoints", p->endpoints, WM_NETMAP_MAX_ENDPOINTS,
					   &p->n_endpoints, err, errlen)) ||
	    (ret = wm_json_int(o, "home_relay", false, 0, WM_RELAYMAP_REGION_ID_MAX, &relay,
				     err, errlen)) ||
	    (ret = wm_netmap_json_routes(o, "routes", p->routes, &p->n_routes, err, errlen)))
		return ret;
	p->version = (uint64_t)version;
	p->home_relay = (int)relay;
	return 0;
}

static int parse_rotate(const json_t *o, struct wm_coord_rotate_req *r, char *err,
			size_t errlen)
{
	char proof[PROOF_B64_LEN + 1];
	size_t len = 0;
	int ret;

	if ((ret = wm_json_key(o, "new_key", r->new_key, err, errlen)) ||
	    (ret = wm_json_string(o, "proof", true, proof, sizeof(proof), err, errlen)))
		return ret;
	if (sodium_base642bin(r->proof, sizeof(r->proof), proof, strlen(proof), NULL, &len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) ||
	    len != sizeof(r->proof))
		return wm_json_fail(err, errlen, "field \"proof\" is not %zu bytes of base64",
					  sizeof(r->proof));
	return 0;
}

static int request_type(const json_t *o, enum wm_coord_msg_type *type, char *err,
			size_t errlen)
{
	char name[16];
	int ret = wm_json_string(o, "type", true, name, sizeof(name), err, errlen);

	if (ret)
		return ret;
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++) {
		if (!strcmp(name, type_names[i])) {
			*type = (enum wm_coord_msg_type)i;
			return 0;
		}
	}
	return wm_json_fail(err, errlen, "field \"type\": unknown message type \"%s\"", name);
}

int wm_coord_request_parse(struct wm_coord_request *req, const char *text, size_t len,
			   char *err, size_t errlen)
{
	json_t *o;
	int ret;

	memset(req, 0, sizeof(*req));
	if (len > WM_COORD_REQUEST_MAX)
		return wm_json_fail(err, errlen, "request too large (%zu bytes, at most %d)", len,
					  WM_COORD_REQUEST_MAX);
	o = load(text, len, err, errlen);
	if (!o)
		return -EBADMSG;
	if (!(ret = request_type(o, &req->type, err, errlen)) &&
	    !(ret = wm_json_int(o, "ts", true, 0, TS_MAX, &req->ts, err, errlen)) &&
	    !(ret = read_id(o, req->id, err, errlen))) {
		if (req->type == WM_COORD_REGISTER)
			ret = parse_register(o, &req->u.reg, err, errlen);
		else if (req->type == WM_COORD_POLL)
			ret = parse_poll(o, &req->u.poll, err, errlen);
		else if (req->type == WM_COORD_ROTATE)
			ret = parse_rotate(o, &req->u.rotate, err, errlen);
	}
	json_decref(o);
	return ret;
}

/* --- responses -------------------------------------------------------------------------- */

char *wm_coord_register_resp_encode(const struct wm_coord_register_resp *r,
				    enum wm_coord_msg_type type)
{
	json_t *o = json_object();
	bool ok;

	ok = wm_json_put(o, "type", json_string(type == WM_COORD_ROTATE ? "rotate"
									    : "register"));
	ok = wm_json_put(o, "id", wm_json_hex_new(r->id, WM_COORD_REQ_ID_LEN)) && ok;
	ok = wm_json_put(o, "self", wm_netmap_json_self_new(&r->self)) && ok;
	ok = wm_json_put(o, "relays", wm_netmap_json_relay_map_new(&r->relays)) && ok;
	return wm_json_finish(o, ok);
}

int wm_coord_register_resp_parse(struct wm_coord_register_resp *r, enum wm_coord_msg_type type,
				 const char *text, size_t len, char *err, size_t errlen)
{
	json_t *o, *v;
	int ret;

	memset(r, 0, sizeof(*r));
	o = load(text, len, err, errlen);
	if (!o)
		return -EBADMSG;
	ret = check_type(o, type == WM_COORD_ROTATE ? "rotate" : "register", err, errlen);
	if (!ret)
		ret = read_id(o, r->id, err, errlen);
	if (!ret) {
		v = json_object_get(o, "self");
		ret = v ? wm_netmap_json_self(v, &r->self, err, errlen)
			: wm_json_fail(err, errlen, "missing field \"self\"");
	}
	if (!ret)
		ret = wm_netmap_json_relay_map(json_object_get(o, "relays"), &r->relays, err, errlen);
	json_decref(o);
	return ret;
}

char *wm_coord_poll_resp_encode(const struct wm_coord_poll_resp *r)
{
	json_t *o = json_object();
	bool ok = wm_json_put(o, "type", json_string("netmap"));

	ok = wm_json_put(o, "id", wm_json_hex_new(r->id, WM_COORD_REQ_ID_LEN)) && ok;
	ok = wm_json_put(o, "version", json_integer((json_int_t)r->version)) && ok;
	ok = wm_json_put(o, "unchanged", json_boolean(r->unchanged)) && ok;
	if (!r->unchanged)
		ok = o && wm_netmap_json_put(o, &r->netmap) && ok;
	return wm_json_finish(o, ok);
}

int wm_coord_poll_resp_parse(struct wm_coord_poll_resp *r, const char *text, size_t len,
			     char *err, size_t errlen)
{
	int64_t version = 0;
	json_t *o;
	int ret;

	memset(r, 0, sizeof(*r));
	if (len > WM_COORD_RESPONSE_MAX)
		return wm_json_fail(err, errlen, "netmap too large (%zu bytes)", len);
	o = load(text, len, err, errlen);
	if (!o)
		return -EBADMSG;
	if (!(ret = check_type(o, "netmap", err, errlen)) &&
	    !(ret = read_id(o, r->id, err, errlen)) &&
	    !(ret = wm_json_int(o, "version", true, 1, INT64_MAX, &version, err, errlen)) &&
	    !(ret = wm_json_bool(o, "unchanged", true, &r->unchanged, err, errlen))) {
		r->version = (uint64_t)version;
		r->netmap.version = r->version;
		if (!r->unchanged)
			ret = wm_netmap_json_read(o, &r->netmap, err, errlen);
	}
	json_decref(o);
	if (ret)
		wm_netmap_free(&r->netmap);
	return ret;
}

char *wm_coord_logout_resp_encode(const uint8_t id[WM_COORD_REQ_ID_LEN])
{
	json_t *o = json_object();
	bool ok = wm_json_put(o, "type", json_string("logout"));

	ok = wm_json_put(o, "id", wm_json_hex_new(id, WM_COORD_REQ_ID_LEN)) && ok;
	return wm_json_finish(o, ok);
}

int wm_coord_logout_resp_parse(uint8_t id[WM_COORD_REQ_ID_LEN], const char *text, size_t len,
			       char *err, size_t errlen)
{
	json_t *o = load(text, len, err, errlen);
	int ret;

	if (!o)
		return -EBADMSG;
	ret = check_type(o, "logout", err, errlen);
	if (!ret)
		ret = read_id(o, id, err, errlen);
	json_decref(o);
	return ret;
}

char *wm_coord_key_resp_encode(const uint8_t key[WM_KEY_LEN])
{
	json_t *o = json_object();
	bool ok = wm_json_put(o, "key", wm_json_key_new(key));

	return wm_json_finish(o, ok);
}

int wm_coord_key_resp_parse(uint8_t key[WM_KEY_LEN], const char *text, size_t len, char *err,
			    size_t errlen)
{
	json_t *o = load(text, len, err, errlen);
	int ret;

	if (!o)
		return -EBADMSG;
	ret = wm_json_key(o, "key", key, err, errlen);
	json_decref(o);
	return ret;
}

char *wm_coord_error_encode(const char *code, const char *message)
{
	json_t *o = json_object();
	bool ok = wm_json_put(o, "error", json_string(message));

	ok = wm_json_put(o, "code", json_string(code)) && ok;
	return wm_json_finish(o, ok);
}

int wm_coord_error_parse(const char *text, size_t len, char *code, size_t code_len,
			 char *message, size_t message_len)
{
	json_t *o = load(text, len, NULL, 0);
	int ret;

	if (!o)
		return -EBADMSG;
	ret = wm_json_string(o, "error", true, message, message_len, NULL, 0);
	if (!ret)
		ret = wm_json_string(o, "code", true, code, code_len, NULL, 0);
	json_decref(o);
	return ret;
}

/* --- key rotation proof ----------------------------------------------------------------- */

#define PROOF_MSG_LEN (sizeof(WM_COORD_PROOF_LABEL) - 1 + WM_COORD_REQ_ID_LEN + WM_KEY_LEN)
_Static_assert(WM_COORD_PROOF_LEN == crypto_box_NONCEBYTES + crypto_box_MACBYTES + PROOF_MSG_LEN,
	       "the proof is nonce || box(label || id || old key)");

static void proof_message(uint8_t msg[PROOF_MSG_LEN], const uint8_t id[WM_COORD_REQ_ID_LEN],
			  const uint8_t old_pub[WM_KEY_LEN])
{
	size_t label_len = sizeof(WM_COORD_PROOF_LABEL) - 1;

	memcpy(msg, WM_COORD_PROOF_LABEL, label_len);
	memcpy(msg + label_len, id, WM_COORD_REQ_ID_LEN);
	memcpy(msg + label_len + WM_COORD_REQ_ID_LEN, old_pub, WM_KEY_LEN);
}

bool wm_coord_rotate_proof_make(uint8_t proof[WM_COORD_PROOF_LEN],
				const uint8_t new_priv[WM_KEY_LEN],
				const uint8_t server_pub[WM_KEY_LEN],
				const uint8_t id[WM_COORD_REQ_ID_LEN],
				const uint8_t old_pub[WM_KEY_LEN])
{
	uint8_t msg[PROOF_MSG_LEN];

	proof_message(msg, id, old_pub);
	randombytes_buf(proof, crypto_box_NONCEBYTES);
	return !crypto_box_easy(proof + crypto_box_NONCEBYTES, msg, sizeof(msg), proof,
				server_pub, new_priv);
}

bool wm_coord_rotate_proof_check(const uint8_t proof[WM_COORD_PROOF_LEN],
				 const uint8_t new_pub[WM_KEY_LEN],
				 const uint8_t server_priv[WM_KEY_LEN],
				 const uint8_t id[WM_COORD_REQ_ID_LEN],
				 const uint8_t old_pub[WM_KEY_LEN])
{
	uint8_t want[PROOF_MSG_LEN], got[PROOF_MSG_LEN];

	proof_message(want, id, old_pub);
	if (crypto_box_open_easy(got, proof + crypto_box_NONCEBYTES,
				 WM_COORD_PROOF_LEN - crypto_box_NONCEBYTES, proof, new_pub,
				 server_priv))
		return false;
	return !sodium_memcmp(got, want, sizeof(want));
}
