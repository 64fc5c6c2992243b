/* SPDX-License-Identifier: MIT */
/*
 * UAPI text in: framing a stream into requests, and parsing a set body into a diff. Which
 * values are accepted follows wireguard-go (device/uapi.go): booleans are only "true", an
 * all-zero private key removes the key, protocol_version must be "1", peer keys before a
 * public_key line and device keys after one are unknown keys (-EINVAL), a line without '='
 * is -EPROTO.
 */
#include "engine/uapi.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "engine/crypto.h"

enum line_status { LINE_OK, LINE_END, LINE_TOO_LONG };

struct line_reader {
	const char *text;
	size_t len, pos;
	unsigned number;
};

/*
 * The next line without its "\n" (and, as Go's bufio.Scanner does, without one "\r" before
 * it). LINE_END at the blank line that ends a set, or at the end of the input: a body cut
 * short is still taken, as wireguard-go takes it at end of stream.
 */
static enum line_status next_line(struct line_reader *r, const char **line, size_t *n)
{
	const char *start, *nl;
	size_t avail, scan;

	if (r->pos >= r->len)
		return LINE_END;
	start = r->text + r->pos;
	avail = r->len - r->pos;
	/* Room for the longest line, a "\r" and the "\n": never scan further than that. */
	scan = avail < WM_UAPI_MAX_LINE + 2 ? avail : WM_UAPI_MAX_LINE + 2;
	nl = memchr(start, '\n', scan);
	r->number++;
	if (nl) {
		*n = (size_t)(nl - start);
		r->pos += *n + 1;
	} else if (avail >= WM_UAPI_MAX_LINE + 2) {
		return LINE_TOO_LONG;
	} else {
		*n = avail;
		r->pos = r->len;
	}
	if (*n && start[*n - 1] == '\r')
		(*n)--;
	if (*n > WM_UAPI_MAX_LINE)
		return LINE_TOO_LONG;
	*line = start;
	return *n ? LINE_OK : LINE_END;
}

/* One line of a stream: 0 with *end past its "\n", -EAGAIN or -EMSGSIZE. */
static int frame_line(const char *buf, size_t len, size_t pos, size_t *content, size_t *end)
{
	size_t avail = len - pos, scan = avail < WM_UAPI_MAX_LINE + 2 ? avail : WM_UAPI_MAX_LINE + 2;
	const char *nl = memchr(buf + pos, '\n', scan);

	if (!nl)
		return avail >= WM_UAPI_MAX_LINE + 2 ? -EMSGSIZE : -EAGAIN;
	*content = (size_t)(nl - (buf + pos));
	*end = *content + pos + 1;
	if (*content && nl[-1] == '\r')
		(*content)--;
	return *content > WM_UAPI_MAX_LINE ? -EMSGSIZE : 0;
}

int wm_uapi_frame(const char *buf, size_t len, size_t *request_len)
{
	size_t n, end, pos;
	int ret;

	ret = frame_line(buf, len, 0, &n, &end);
	if (ret)
		return ret;
	if (end == 6 && !memcmp(buf, "get=1\n", 6)) {
		/* wireguard-go reads exactly one byte more, which must be the "\n". */
		if (len < 7)
			return -EAGAIN;
		*request_len = 7;
		return 0;
	}
	if (!(end == 6 && !memcmp(buf, "set=1\n", 6))) {
		*request_len = end;	/* an unknown operation: wm_uapi_handle refuses it */
		return 0;
	}
	for (pos = end;; pos = end) {
		ret = frame_line(buf, len, pos, &n, &end);
		if (ret)
			return ret;
		if (!n) {
			*request_len = end;
			return 0;
		}
	}
}

struct parser {
	struct wm_uapi_diff *diff;
	struct wm_uapi_peer *peer;	/* the block being read; NULL before the first public_key */
	bool ignoring;			/* after remove=true: checked, not recorded */
	unsigned line;
	char value[WM_UAPI_MAX_LINE + 1];
	size_t vlen;
};

static int fail(struct parser *ps, int err, const char *why)
{
	ps->diff->error_line = ps->line;
	ps->diff->error = why;
	return err;
}

static bool key_is(const char *key, size_t klen, const char *name)
{
	return klen == strlen(name) && !memcmp(key, name, klen);
}

static bool value_is(const struct parser *ps, const char *want)
{
	return !strcmp(ps->value, want);
}

/* Decimal as Go's strconv.ParseUint(s, 10, bits) takes it: digits only, leading zeros fine. */
static bool parse_uint(const char *s, size_t n, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (!n)
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v > max)
			return false;
	}
	*out = (uint32_t)v;
	return true;
}

static void mask_prefix(uint8_t addr[16], unsigned cidr, unsigned bits)
{
	unsigned i;

	for (i = 0; i < bits / 8; i++) {
		if (cidr >= 8 * (i + 1))
			continue;
		if (cidr <= 8 * i)
			addr[i] = 0;
		else
			addr[i] &= (uint8_t)(0xff << (8 - (cidr - 8 * i)));
	}
}

/*
 * "[-]ADDR/BITS" as Go's netip.ParsePrefix takes it: no zone, BITS without sign or leading
 * zero. Host bits are cleared, as wireguard-go's trie clears them.
 */
static bool parse_prefix(const char *s, size_t n, struct wm_uapi_allowedip *aip)
{
	char host[INET6_ADDRSTRLEN];
	uint32_t cidr;
	size_t slash, blen;
	unsigned bits;

	memset(aip, 0, sizeof(*aip));
	if (n && s[0] == '-') {
		aip->remove = true;
		s++;
		n--;
	}
	for (slash = n; slash > 0 && s[slash - 1] != '/'; slash--)
		;
	if (!slash)
		return false;
	slash--;
	blen = n - slash - 1;
	if (slash == 0 || slash >= sizeof(host) || blen == 0 || blen > 3 ||
	    (blen > 1 && s[slash + 1] == '0') || !parse_uint(s + slash + 1, blen, 128, &cidr))
		return false;
	memcpy(host, s, slash);
	host[slash] = '\0';
	aip->family = memchr(host, ':', slash) ? AF_INET6 : AF_INET;
	if (inet_pton(aip->family, host, aip->addr) != 1)
		return false;
	bits = aip->family == AF_INET ? 32 : 128;
	if (cidr > bits)
		return false;
	aip->cidr = (uint8_t)cidr;
	mask_prefix(aip->addr, cidr, bits);
	return true;
}

static int parse_device_line(struct parser *ps, const char *key, size_t klen)
{
	struct wm_uapi_diff *diff = ps->diff;
	uint8_t pub[WM_KEY_LEN];
	uint32_t v;

	if (key_is(key, klen, "private_key")) {
		if (!wm_key_from_hex(diff->private_key, ps->value))
			return fail(ps, -EINVAL, "private_key is not 64 hex digits");
		if (!wm_key_is_zero(diff->private_key)) {
			/* Stored clamped, as wireguard-go stores it, so get shows that form. */
			diff->private_key[0] &= 248;
			diff->private_key[31] = (diff->private_key[31] & 127) | 64;
			/* Checked now so that applying cannot fail half way. */
			if (!wm_crypto_public_from_private(pub, diff->private_key))
				return fail(ps, -EINVAL, "private_key is unusable");
		}
		diff->flags |= WM_UAPI_HAS_PRIVATE_KEY;
	} else if (key_is(key, klen, "listen_port")) {
		if (!parse_uint(ps->value, ps->vlen, UINT16_MAX, &v))
			return fail(ps, -EINVAL, "listen_port is not a number 0-65535");
		diff->listen_port = (uint16_t)v;
		diff->flags |= WM_UAPI_HAS_LISTEN_PORT;
	} else if (key_is(key, klen, "fwmark")) {
		if (!parse_uint(ps->value, ps->vlen, UINT32_MAX, &v))
			return fail(ps, -EINVAL, "fwmark is not a number 0-4294967295");
		diff->fwmark = v;
		diff->flags |= WM_UAPI_HAS_FWMARK;
	} else if (key_is(key, klen, "replace_peers")) {
		if (!value_is(ps, "true"))
			return fail(ps, -EINVAL, "replace_peers takes only \"true\"");
		diff->flags |= WM_UAPI_REPLACE_PEERS;
	} else {
		return fail(ps, -EINVAL, "unknown device key");
	}
	return 0;
}

static int parse_public_key(struct parser *ps)
{
	struct wm_uapi_diff *diff = ps->diff;
	struct wm_uapi_peer *peer = &diff->peers[diff->peer_count];
	uint8_t key[WM_KEY_LEN];

	if (!wm_key_from_hex(key, ps->value))
		return fail(ps, -EINVAL, "public_key is not 64 hex digits");
	diff->peer_count++;
	memset(peer, 0, sizeof(*peer));
	memcpy(peer->public_key, key, WM_KEY_LEN);
	peer->first_allowedip = diff->allowedip_count;
	ps->peer = peer;
	ps->ignoring = false;
	return 0;
}

/* Forgets the allowed-IP changes recorded so far for the current peer (always the last ones). */
static void drop_peer_allowedips(struct parser *ps)
{
	ps->diff->allowedip_count = ps->peer->first_allowedip;
	ps->peer->allowedip_count = 0;
}

static int parse_peer_line(struct parser *ps, const char *key, size_t klen)
{
	struct wm_uapi_peer *peer = ps->peer;
	struct wm_uapi_allowedip aip;
	struct wm_endpoint ep;
	uint8_t psk[WM_KEY_LEN];
	uint32_t v;

	if (key_is(key, klen, "update_only")) {
		if (!value_is(ps, "true"))
			return fail(ps, -EINVAL, "update_only takes only \"true\"");
		if (!ps->ignoring)
			peer->flags |= WM_UAPI_PEER_UPDATE_ONLY;
	} else if (key_is(key, klen, "remove")) {
		if (!value_is(ps, "true"))
			return fail(ps, -EINVAL, "remove takes only \"true\"");
		if (!ps->ignoring) {
			drop_peer_allowedips(ps);
			peer->flags = WM_UAPI_PEER_REMOVE;
			ps->ignoring = true;
		}
	} else if (key_is(key, klen, "preshared_key")) {
		if (!wm_key_from_hex(psk, ps->value))
			return fail(ps, -EINVAL, "preshared_key is not 64 hex digits");
		if (!ps->ignoring) {
			memcpy(peer->preshared_key, psk, WM_KEY_LEN);
			peer->flags |= WM_UAPI_PEER_HAS_PRESHARED_KEY;
		}
		wm_crypto_wipe(psk, sizeof(psk));
	} else if (key_is(key, klen, "endpoint")) {
		if (ps->vlen >= WM_ENDPOINT_STR_LEN || wm_endpoint_parse(&ep, ps->value) < 0)
			return fail(ps, -EINVAL, "endpoint is not IPv4:port or [IPv6]:port");
		if (!ps->ignoring) {
			peer->endpoint = ep;
			peer->flags |= WM_UAPI_PEER_HAS_ENDPOINT;
		}
	} else if (key_is(key, klen, "persistent_keepalive_interval")) {
		if (!parse_uint(ps->value, ps->vlen, UINT16_MAX, &v))
			return fail(ps, -EINVAL, "persistent_keepalive_interval is not a number 0-65535");
		if (!ps->ignoring) {
			peer->persistent_keepalive_interval = (uint16_t)v;
			peer->flags |= WM_UAPI_PEER_HAS_KEEPALIVE;
		}
	} else if (key_is(key, klen, "replace_allowed_ips")) {
		if (!value_is(ps, "true"))
			return fail(ps, -EINVAL, "replace_allowed_ips takes only \"true\"");
		/* Earlier additions in this block would be removed again: forget them. */
		if (!ps->ignoring) {
			drop_peer_allowedips(ps);
			peer->flags |= WM_UAPI_PEER_REPLACE_ALLOWEDIPS;
		}
	} else if (key_is(key, klen, "allowed_ip")) {
		if (!parse_prefix(ps->value, ps->vlen, &aip))
			return fail(ps, -EINVAL, "allowed_ip is not [-]address/cidr");
		if (!ps->ignoring) {
			ps->diff->allowedips[ps->diff->allowedip_count++] = aip;
			peer->allowedip_count++;
		}
	} else if (key_is(key, klen, "protocol_version")) {
		if (!value_is(ps, "1"))
			return fail(ps, -EINVAL, "protocol_version must be 1");
	} else {
		return fail(ps, -EINVAL, "unknown peer key");
	}
	return 0;
}

static int parse_line(struct parser *ps, const char *line, size_t n)
{
	const char *eq = memchr(line, '=', n);
	size_t klen;

	if (!eq)
		return fail(ps, -EPROTO, "line without '='");
	/* Whatever a NUL is in, wireguard-go finds an unknown key or a bad value. */
	if (memchr(line, '\0', n))
		return fail(ps, -EINVAL, "line holds a NUL byte");
	klen = (size_t)(eq - line);
	ps->vlen = n - klen - 1;
	memcpy(ps->value, eq + 1, ps->vlen);
	ps->value[ps->vlen] = '\0';

	if (key_is(line, klen, "public_key"))
		return parse_public_key(ps);
	if (!ps->peer)
		return parse_device_line(ps, line, klen);
	return parse_peer_line(ps, line, klen);
}

/* Sizes the arrays: each public_key or allowed_ip line adds at most one entry. */
static void count_entries(const char *body, size_t len, size_t *peers, size_t *allowedips)
{
	struct line_reader r = { .text = body, .len = len };
	const char *line;
	size_t n;

	*peers = *allowedips = 0;
	while (next_line(&r, &line, &n) == LINE_OK) {
		if (n >= 11 && !memcmp(line, "public_key=", 11))
			(*peers)++;
		else if (n >= 11 && !memcmp(line, "allowed_ip=", 11))
			(*allowedips)++;
	}
}

int wm_uapi_parse_set(struct wm_uapi_diff *diff, const char *body, size_t len)
{
	struct line_reader r = { .text = body, .len = len };
	size_t npeers, naips, n;
	enum line_status st;
	struct parser *ps;
	const char *line;
	int ret = 0;

	memset(diff, 0, sizeof(*diff));
	count_entries(body, len, &npeers, &naips);
	/* The parser holds a copy of the value being read (maybe a key): on the heap, wiped. */
	ps = calloc(1, sizeof(*ps));
	diff->peers = npeers ? calloc(npeers, sizeof(*diff->peers)) : NULL;
	diff->allowedips = naips ? calloc(naips, sizeof(*diff->allowedips)) : NULL;
	if (!ps || (npeers && !diff->peers) || (naips && !diff->allowedips)) {
		diff->error = "out of memory";
		ret = -ENOMEM;
		goto out;
	}
	ps->diff = diff;
	while ((st = next_line(&r, &line, &n)) == LINE_OK) {
		ps->line = r.number;
		ret = parse_line(ps, line, n);
		if (ret)
			goto out;
	}
	if (st == LINE_TOO_LONG) {
		ps->line = r.number;
		ret = fail(ps, -EINVAL, "line too long");
	}
out:
	if (ps) {
		wm_crypto_wipe(ps, sizeof(*ps));
		free(ps);
	}
	return ret;
}

void wm_uapi_diff_free(struct wm_uapi_diff *diff)
{
	if (diff->peers) {
		wm_crypto_wipe(diff->peers, diff->peer_count * sizeof(*diff->peers));
		free(diff->peers);
	}
	free(diff->allowedips);
	wm_crypto_wipe(diff->private_key, sizeof(diff->private_key));
	diff->peers = NULL;
	diff->allowedips = NULL;
	diff->peer_count = diff->allowedip_count = 0;
}
