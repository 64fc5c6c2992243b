/* SPDX-License-Identifier: MIT */
/*
 * The coordination messages (docs/coord-protocol.md), pure: JSON text in and out (jansson),
 * every field checked strictly (types, lengths, key and address formats, bounded counts, no
 * unknown fields in requests). Parsers fill a struct or return -EBADMSG with a sentence in err
 * naming the field; they never crash and allocate only what the bounds allow.
 * Encoders return a malloc'd NUL-terminated string (or NULL when out of memory).
 */
#ifndef WM_COORD_MSG_H
#define WM_COORD_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord-client/coord_fields.h"
#include "coord-client/netmap.h"
#include "coord-client/netmap_json.h"

#define WM_COORD_REQ_ID_LEN 16		/* random request id: 32 hex digits */
#define WM_COORD_MAX_SKEW 60		/* seconds either side, "Replay protection" */
#define WM_COORD_AUTH_KEY_MAX 64
#define WM_COORD_OS_MAX 32
#define WM_COORD_VERSION_MAX 32
#define WM_COORD_ERROR_MAX 255
#define WM_COORD_PROOF_LEN (24 + 16 + 18 + WM_COORD_REQ_ID_LEN + WM_KEY_LEN)	/* "rotate" */
#define WM_COORD_PROOF_LABEL "wiremesh-rotate-v1"	/* 18 bytes */

/* Bodies: requests are small; a netmap grows with the mesh. Plaintext sizes. */
#define WM_COORD_REQUEST_MAX 16384
#define WM_COORD_RESPONSE_MAX (16u << 20)

enum wm_coord_msg_type {
	WM_COORD_REGISTER,
	WM_COORD_POLL,
	WM_COORD_ROTATE,
	WM_COORD_LOGOUT,
};

struct wm_coord_register_req {
	char auth_key[WM_COORD_AUTH_KEY_MAX + 1];	/* may be empty for a known node */
	uint8_t disco_key[WM_KEY_LEN];
	char hostname[WM_COORD_HOSTNAME_MAX + 1];
	char os[WM_COORD_OS_MAX + 1];
	char version[WM_COORD_VERSION_MAX + 1];
};

struct wm_coord_poll_req {
	uint64_t version;		/* the netmap version the node has; 0: none */
	bool wait;			/* hold until something changes (long poll) */
	struct wm_endpoint endpoints[WM_NETMAP_MAX_ENDPOINTS];
	size_t n_endpoints;
	int home_relay;			/* 0: none */
	struct wm_netmap_prefix routes[WM_NETMAP_MAX_ROUTES];	/* advertised subnet routes */
	size_t n_routes;
};

struct wm_coord_rotate_req {
	uint8_t new_key[WM_KEY_LEN];
	uint8_t proof[WM_COORD_PROOF_LEN];	/* see wm_coord_rotate_proof_make() */
};

/* A request after the envelope is opened. */
struct wm_coord_request {
	enum wm_coord_msg_type type;
	int64_t ts;				/* unix seconds */
	uint8_t id[WM_COORD_REQ_ID_LEN];
	union {
		struct wm_coord_register_req reg;
		struct wm_coord_poll_req poll;
		struct wm_coord_rotate_req rotate;
	} u;
};

/* The answer to register and rotate: who the node is now. */
struct wm_coord_register_resp {
	uint8_t id[WM_COORD_REQ_ID_LEN];	/* the request's */
	struct wm_netmap_self self;
	struct wm_relay_map relays;		/* owned: wm_relay_map_free() */
};

/* The answer to poll: a whole netmap, or "unchanged" (the keepalive). */
struct wm_coord_poll_resp {
	uint8_t id[WM_COORD_REQ_ID_LEN];
	bool unchanged;
	uint64_t version;
	struct wm_netmap netmap;		/* owned unless unchanged: wm_netmap_free() */
};

/* Encodes a request (all types; the union member of req->type). NULL when out of memory. */
char *wm_coord_request_encode(const struct wm_coord_request *req);

/* Parses and checks a request. 0 or -EBADMSG (err says why). */
int wm_coord_request_parse(struct wm_coord_request *req, const char *text, size_t len,
			   char *err, size_t errlen);

char *wm_coord_register_resp_encode(const struct wm_coord_register_resp *r,
				    enum wm_coord_msg_type type);

/* Parses the answer to register or rotate (type says which). 0 or -EBADMSG. */
int wm_coord_register_resp_parse(struct wm_coord_register_resp *r, enum wm_coord_msg_type type,
				 const char *text, size_t len, char *err, size_t errlen);

char *wm_coord_poll_resp_encode(const struct wm_coord_poll_resp *r);

/* 0 or -EBADMSG; on success r->netmap is owned by the caller (empty when unchanged). */
int wm_coord_poll_resp_parse(struct wm_coord_poll_resp *r, const char *text, size_t len,
			     char *err, size_t errlen);

char *wm_coord_logout_resp_encode(const uint8_t id[WM_COORD_REQ_ID_LEN]);

int wm_coord_logout_resp_parse(uint8_t id[WM_COORD_REQ_ID_LEN], const char *text, size_t len,
			       char *err, size_t errlen);

/* {"key": base64}: the answer to GET /v1/key (plain JSON, not sealed). */
char *wm_coord_key_resp_encode(const uint8_t key[WM_KEY_LEN]);
int wm_coord_key_resp_parse(uint8_t key[WM_KEY_LEN], const char *text, size_t len, char *err,
			    size_t errlen);

/* {"error": message, "code": code}: the body of every 4xx/5xx. */
char *wm_coord_error_encode(const char *code, const char *message);

/* Fills code and message from an error body; -EBADMSG when it is not one. */
int wm_coord_error_parse(const char *text, size_t len, char *code, size_t code_len,
			 char *message, size_t message_len);

/*
 * The rotate proof: new_priv seals LABEL || request id || old public key to the server key.
 * false when the keys are unusable.
 */
bool wm_coord_rotate_proof_make(uint8_t proof[WM_COORD_PROOF_LEN],
				const uint8_t new_priv[WM_KEY_LEN],
				const uint8_t server_pub[WM_KEY_LEN],
				const uint8_t id[WM_COORD_REQ_ID_LEN],
				const uint8_t old_pub[WM_KEY_LEN]);

/* Server side: whether proof opens with (new_pub, server_priv) to exactly the expected bytes. */
bool wm_coord_rotate_proof_check(const uint8_t proof[WM_COORD_PROOF_LEN],
				 const uint8_t new_pub[WM_KEY_LEN],
				 const uint8_t server_priv[WM_KEY_LEN],
				 const uint8_t id[WM_COORD_REQ_ID_LEN],
				 const uint8_t old_pub[WM_KEY_LEN]);

#endif
