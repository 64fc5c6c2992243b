/* SPDX-License-Identifier: MIT */
/*
 * The UAPI text protocol against a real device: sets that round-trip through get, the
 * peer flags, wireguard-go's answers to bad input (each leaving the device byte-for-byte as
 * it was), the socket hooks, whole requests and stream framing.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/encoding.h"
#include "engine/crypto.h"
#include "engine/device.h"
#include "engine/uapi.h"

static struct wm_device *dev;
static unsigned sends;

struct hook_log {
	unsigned bind_calls, mark_calls;
	uint16_t last_port;
	uint32_t marks[4];
	int bind_result;
	uint16_t bound_override;	/* what "the kernel" picked for port 0 */
};
static struct hook_log hl;

static int hook_bind(void *ctx, uint16_t requested, uint16_t *bound)
{
	struct hook_log *h = ctx;

	h->bind_calls++;
	h->last_port = requested;
	if (h->bind_result)
		return h->bind_result;
	*bound = requested ? requested : h->bound_override;
	return 0;
}

static int hook_mark(void *ctx, uint32_t mark)
{
	struct hook_log *h = ctx;

	if (h->mark_calls < 4)
		h->marks[h->mark_calls] = mark;
	h->mark_calls++;
	return 0;
}

static const struct wm_uapi_hooks hooks = { .bind_port = hook_bind, .set_fwmark = hook_mark, .ctx = &hl };

static void count_send(void *ctx, struct wm_peer *peer, const struct wm_endpoint *to,
		       const uint8_t *buf, size_t len)
{
	(void)ctx;
	(void)peer;
	(void)to;
	(void)buf;
	(void)len;
	sends++;
}

static void setup(void)
{
	struct wm_device_ops ops = { .send = count_send };

	memset(&hl, 0, sizeof(hl));
	hl.bound_override = 40000;
	sends = 0;
	dev = wm_device_create(&ops, NULL, NULL);
	ck_assert_ptr_nonnull(dev);
}

static void teardown(void)
{
	wm_device_destroy(dev);
}

/* 64 hex digits: one byte pair repeated. Several may be live at once (a small ring). */
static const char *K(const char *pair)
{
	static char ring[8][WM_KEY_HEX_LEN];
	static unsigned next;
	char *out = ring[next++ % 8];

	for (int i = 0; i < 32; i++)
		memcpy(out + 2 * i, pair, 2);
	out[64] = '\0';
	return out;
}

/* The get dump, NUL-terminated; caller frees. */
static char *dump(void)
{
	struct wm_uapi_buf b = { 0 };

	ck_assert_int_eq(wm_uapi_get(dev, &b, 0), 0);
	if (!b.data)
		return strdup("");
	return b.data;
}

static int set(const char *body)
{
	return wm_uapi_set(dev, &hooks, body, strlen(body), 0);
}

static void set_ok(const char *body)
{
	int ret = set(body);

	ck_assert_msg(ret == 0, "set returned %d for:\n%s", ret, body);
}

static void assert_dump(const char *want)
{
	char *got = dump();

	ck_assert_str_eq(got, want);
	free(got);
}

/* A configured device, the starting point of the error tests. */
static void configure(void)
{
	char req[2048];

	snprintf(req, sizeof(req),
		 "private_key=%s\nlisten_port=51820\nfwmark=7\n"
		 "public_key=%s\npreshared_key=%s\nendpoint=192.0.2.1:51820\n"
		 "persistent_keepalive_interval=25\nallowed_ip=10.0.0.0/24\nallowed_ip=fd00::/64\n"
		 "public_key=%s\nendpoint=[2001:db8::9]:4500\nallowed_ip=10.0.1.1/32\n",
		 K("48"), K("11"), K("aa"), K("22"));
	set_ok(req);
}

START_TEST(round_trip)
{
	char req[4096], want[4096];

	snprintf(req, sizeof(req),
		 "private_key=%s\nlisten_port=51820\nfwmark=4294967295\nreplace_peers=true\n"
		 "public_key=%s\nprotocol_version=1\npreshared_key=%s\nendpoint=192.0.2.1:51820\n"
		 "persistent_keepalive_interval=25\nreplace_allowed_ips=true\n"
		 "allowed_ip=10.1.2.3/8\nallowed_ip=192.168.4.0/24\nallowed_ip=2001:db8::1/32\n"
		 "public_key=%s\nendpoint=[2001:db8::9]:4500\nallowed_ip=fd00::1/128\n"
		 "allowed_ip=0.0.0.0/0\nallowed_ip=::ffff:10.9.8.7/128\n"
		 "public_key=%s\npreshared_key=%s\npersistent_keepalive_interval=0\n\n",
		 K("48"), K("11"), K("aa"), K("22"), K("33"), K("bb"));
	set_ok(req);
	ck_assert_uint_eq(hl.bind_calls, 1);
	ck_assert_uint_eq(hl.last_port, 51820);
	ck_assert_uint_eq(hl.mark_calls, 1);
	ck_assert_uint_eq(hl.marks[0], 4294967295u);
	ck_assert_uint_eq(dev->peer_count, 3);
	/* Keepalive turned on with an endpoint and a key: an initiation (148 bytes) went out. */
	ck_assert_uint_eq(sends, 1);

	snprintf(want, sizeof(want),
		 "private_key=%s\nlisten_port=51820\nfwmark=4294967295\n"
		 "public_key=%s\npreshared_key=%s\nprotocol_version=1\nendpoint=192.0.2.1:51820\n"
		 "last_handshake_time_sec=0\nlast_handshake_time_nsec=0\ntx_bytes=148\nrx_bytes=0\n"
		 "persistent_keepalive_interval=25\n"
		 "allowed_ip=10.0.0.0/8\nallowed_ip=192.168.4.0/24\nallowed_ip=2001:db8::/32\n"
		 "public_key=%s\npreshared_key=%s\nprotocol_version=1\nendpoint=[2001:db8::9]:4500\n"
		 "last_handshake_time_sec=0\nlast_handshake_time_nsec=0\ntx_bytes=0\nrx_bytes=0\n"
		 "persistent_keepalive_interval=0\n"
		 "allowed_ip=0.0.0.0/0\nallowed_ip=::ffff:10.9.8.7/128\nallowed_ip=fd00::1/128\n"
		 "public_key=%s\npreshared_key=%s\nprotocol_version=1\n"
		 "last_handshake_time_sec=0\nlast_handshake_time_nsec=0\ntx_bytes=0\nrx_bytes=0\n"
		 "persistent_keepalive_interval=0\n",
		 K("48"), K("11"), K("aa"), K("22"), K("00"), K("33"), K("bb"));
	assert_dump(want);
}
END_TEST

START_TEST(get_of_dump_is_a_fixed_point)
{
	char *first, *second, *line, *save, req[8192];
	size_t n = 0;

	configure();
	first = dump();
	/* Feed the dump back without the read-only keys, to a fresh device. */
	for (line = strtok_r(first, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "last_handshake", 14) || !strncmp(line, "tx_bytes", 8) ||
		    !strncmp(line, "rx_bytes", 8))
			continue;
		n += (size_t)snprintf(req + n, sizeof(req) - n, "%s\n", line);
	}
	free(first);
	first = dump();
	teardown();
	setup();
	set_ok(req);
	second = dump();
	ck_assert_str_eq(first, second);
	free(first);
	free(second);
}
END_TEST

START_TEST(counters_and_handshake_time)
{
	char req[256], want[1024];
	struct wm_peer *p;
	uint8_t pub[WM_KEY_LEN];

	snprintf(req, sizeof(req), "public_key=%s\n", K("11"));
	set_ok(req);
	wm_key_from_hex(pub, K("11"));
	p = wm_device_lookup_peer(dev, pub);
	ck_assert_ptr_nonnull(p);
	p->last_handshake_wall_ns = 1700000000123456789ULL;
	p->tx_bytes = 18446744073709551615ULL;
	p->rx_bytes = 42;
	snprintf(want, sizeof(want),
		 "public_key=%s\npreshared_key=%s\nprotocol_version=1\n"
		 "last_handshake_time_sec=1700000000\nlast_handshake_time_nsec=123456789\n"
		 "tx_bytes=18446744073709551615\nrx_bytes=42\npersistent_keepalive_interval=0\n",
		 K("11"), K("00"));
	assert_dump(want);
}
END_TEST

START_TEST(private_key_is_clamped_and_zero_clears_it)
{
	char req[256], *d;

	snprintf(req, sizeof(req), "private_key=%s\n", K("ff"));
	set_ok(req);
	d = dump();
	ck_assert_str_eq(d, "private_key=f8ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f\n");
	free(d);
	ck_assert(dev->identity.has_private_key);
	snprintf(req, sizeof(req), "private_key=%s\n", K("00"));
	set_ok(req);
	ck_assert(!dev->identity.has_private_key);
	assert_dump("");
	/* Upper-case hex is taken too. */
	snprintf(req, sizeof(req), "private_key=%s\n", K("E8"));
	set_ok(req);
	ck_assert(dev->identity.has_private_key);
}
END_TEST

START_TEST(private_key_change_keeps_peers)
{
	char req[256], *before, *after;

	configure();
	before = dump();
	snprintf(req, sizeof(req), "private_key=%s\n", K("68"));
	set_ok(req);
	after = dump();
	ck_assert_uint_eq(dev->peer_count, 2);
	/* Only the first line differs. */
	ck_assert_str_eq(strchr(before, '\n'), strchr(after, '\n'));
	ck_assert(!strncmp(after + 12, K("68"), 64));
	free(before);
	free(after);
}
END_TEST

START_TEST(own_public_key_is_ignored)
{
	uint8_t priv[WM_KEY_LEN], pub[WM_KEY_LEN];
	char pubhex[WM_KEY_HEX_LEN], req[512];

	wm_key_from_hex(priv, K("48"));
	ck_assert(wm_crypto_public_from_private(pub, priv));
	wm_key_to_hex(pubhex, pub);
	snprintf(req, sizeof(req), "private_key=%s\npublic_key=%s\nallowed_ip=10.0.0.1/32\n"
		 "public_key=%s\n", K("48"), pubhex, K("11"));
	set_ok(req);
	ck_assert_uint_eq(dev->peer_count, 1);
	ck_assert_uint_eq(dev->allowedips.count, 0);
	/* A peer that becomes our own key goes when the key is set. */
	snprintf(req, sizeof(req), "private_key=%s\npublic_key=%s\n", K("00"), pubhex);
	set_ok(req);
	ck_assert_uint_eq(dev->peer_count, 2);
	snprintf(req, sizeof(req), "private_key=%s\n", K("48"));
	set_ok(req);
	ck_assert_uint_eq(dev->peer_count, 1);
}
END_TEST

START_TEST(replace_peers)
{
	char req[512], want[1024];

	configure();
	snprintf(req, sizeof(req), "replace_peers=true\npublic_key=%s\nallowed_ip=10.0.1.1/32\n",
		 K("44"));
	set_ok(req);
	ck_assert_uint_eq(dev->peer_count, 1);
	snprintf(want, sizeof(want),
		 "private_key=%s\nlisten_port=51820\nfwmark=7\n"
		 "public_key=%s\npreshared_key=%s\nprotocol_version=1\n"
		 "last_handshake_time_sec=0\nlast_handshake_time_nsec=0\ntx_bytes=0\nrx_bytes=0\n"
		 "persistent_keepalive_interval=0\nallowed_ip=10.0.1.1/32\n",
		 K("48"), K("44"), K("00"));
	assert_dump(want);
	/* Alone it empties the device of peers and nothing else. */
	set_ok("replace_peers=true\n");
	ck_assert_uint_eq(dev->peer_count, 0);
	ck_assert_uint_eq(dev->allowedips.count, 0);
	ck_assert_uint_eq(dev->listen_port, 51820);
}
END_TEST

START_TEST(remove_peer)
{
	char req[512], *before, *after;

	configure();
	snprintf(req, sizeof(req), "public_key=%s\nremove=true\n", K("11"));
	set_ok(req);
	ck_assert_uint_eq(dev->peer_count, 1);
	ck_assert_uint_eq(dev->allowedips.count, 1);
	/* Unknown: nothing happens, and lines after remove only get checked. */
	before = dump();
	snprintf(req, sizeof(req), "public_key=%s\nendpoint=1.2.3.4:5\nremove=true\n"
		 "allowed_ip=10.9.0.0/16\npersistent_keepalive_interval=5\n", K("55"));
	set_ok(req);
	after = dump();
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	/* Removed then named again in the same set: created afresh. */
	snprintf(req, sizeof(req), "public_key=%s\nremove=true\npublic_key=%s\n", K("22"), K("22"));
	set_ok(req);
	ck_assert_uint_eq(dev->peer_count, 1);
	ck_assert_uint_eq(dev->allowedips.count, 0);
}
END_TEST

START_TEST(update_only)
{
	char req[512], *before, *after;
	struct wm_peer *p;
	uint8_t pub[WM_KEY_LEN];

	configure();
	before = dump();
	snprintf(req, sizeof(req), "public_key=%s\nendpoint=1.2.3.4:5\nupdate_only=true\n"
		 "allowed_ip=10.9.0.0/16\n", K("55"));
	set_ok(req);
	after = dump();
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	/* Known: updated. */
	snprintf(req, sizeof(req), "public_key=%s\nupdate_only=true\npersistent_keepalive_interval=9\n",
		 K("22"));
	set_ok(req);
	wm_key_from_hex(pub, K("22"));
	p = wm_device_lookup_peer(dev, pub);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->persistent_keepalive_interval, 9);
	/* Created by an earlier block of the same set: counts as known. */
	snprintf(req, sizeof(req), "public_key=%s\npublic_key=%s\nupdate_only=true\nallowed_ip=10.7.0.0/16\n",
		 K("66"), K("66"));
	set_ok(req);
	ck_assert_uint_eq(dev->peer_count, 3);
	ck_assert_uint_eq(dev->allowedips.count, 4);
}
END_TEST

START_TEST(replace_allowed_ips)
{
	char req[512], *d;

	configure();
	snprintf(req, sizeof(req), "public_key=%s\nallowed_ip=10.5.0.0/16\nreplace_allowed_ips=true\n"
		 "allowed_ip=10.6.0.0/16\n", K("11"));
	set_ok(req);
	d = dump();
	ck_assert_ptr_null(strstr(d, "10.0.0.0/24"));
	ck_assert_ptr_null(strstr(d, "fd00::/64"));
	ck_assert_ptr_null(strstr(d, "10.5.0.0/16"));
	ck_assert_ptr_nonnull(strstr(d, "allowed_ip=10.6.0.0/16\n"));
	ck_assert_ptr_nonnull(strstr(d, "allowed_ip=10.0.1.1/32\n"));	/* the other peer's */
	free(d);
	ck_assert_uint_eq(dev->allowedips.count, 2);
	/* An existing prefix moves to the peer that names it. */
	snprintf(req, sizeof(req), "public_key=%s\nallowed_ip=10.0.1.1/32\n", K("11"));
	set_ok(req);
	ck_assert_uint_eq(dev->allowedips.count, 2);
}
END_TEST

START_TEST(allowed_ip_removal)
{
	char req[512], *before, *after;

	configure();
	/* Host bits are cleared before matching, as for adding. */
	snprintf(req, sizeof(req), "public_key=%s\nallowed_ip=-10.0.0.77/24\nallowed_ip=-fd00::/64\n",
		 K("11"));
	set_ok(req);
	ck_assert_uint_eq(dev->allowedips.count, 1);
	/* Another peer's prefix, or one nobody has: no change and no error. */
	before = dump();
	snprintf(req, sizeof(req), "public_key=%s\nallowed_ip=-10.0.1.1/32\nallowed_ip=-10.0.0.0/8\n",
		 K("11"));
	set_ok(req);
	after = dump();
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	/* Add and remove in order within one block. */
	snprintf(req, sizeof(req), "public_key=%s\nallowed_ip=10.8.0.0/16\nallowed_ip=-10.8.0.0/16\n"
		 "allowed_ip=10.9.0.0/16\n", K("11"));
	set_ok(req);
	ck_assert_uint_eq(dev->allowedips.count, 2);
}
END_TEST

START_TEST(ipv6_text_forms)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "2001:db8:0:1:0:0:0:1/128", "2001:db8:0:1::1/128" },
		{ "1:0:1:0:1:0:1:0/128", "1:0:1:0:1:0:1:0/128" },
		{ "0:0:1:0:0:0:1:0/128", "0:0:1::1:0/128" },
		{ "1:0:0:1:0:0:1:1/128", "1::1:0:0:1:1/128" },
		{ "::102:304/128", "::102:304/128" },	/* Go prints no dotted tail here */
		{ "::ffff:1.2.3.4/128", "::ffff:1.2.3.4/128" },
		{ "::/0", "::/0" },
		{ "::1/128", "::1/128" },
		{ "FE80::AB/10", "fe80::/10" },
		{ "1::/16", "1::/16" },
		{ "1:2:3:4:5:6:7:8/128", "1:2:3:4:5:6:7:8/128" },
	};
	char req[256], want[128], *d;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(req, sizeof(req), "replace_peers=true\npublic_key=%s\nallowed_ip=%s\n", K("11"),
			 cases[i].in);
		set_ok(req);
		snprintf(want, sizeof(want), "allowed_ip=%s\n", cases[i].out);
		d = dump();
		ck_assert_msg(strstr(d, want), "%s gave:\n%s", cases[i].in, d);
		free(d);
	}
}
END_TEST

START_TEST(listen_port_zero_reports_bound_port)
{
	set_ok("listen_port=0\n");
	ck_assert_uint_eq(hl.last_port, 0);
	ck_assert_uint_eq(dev->listen_port, 40000);
	assert_dump("listen_port=40000\n");
	/* Without hooks the numbers are stored as given. */
	ck_assert_int_eq(wm_uapi_set(dev, NULL, "listen_port=7\nfwmark=0\n", 23, 0), 0);
	ck_assert_uint_eq(dev->listen_port, 7);
	ck_assert_uint_eq(hl.bind_calls, 1);
}
END_TEST

START_TEST(lines_cr_and_unterminated)
{
	char req[512];

	/* CRLF lines, as Go's scanner takes them; no blank line at the end. */
	snprintf(req, sizeof(req), "listen_port=1234\r\npublic_key=%s\r\nallowed_ip=10.0.0.0/8", K("11"));
	set_ok(req);
	ck_assert_uint_eq(dev->listen_port, 1234);
	ck_assert_uint_eq(dev->allowedips.count, 1);
	/* A blank line ends the set; what follows is not part of it. */
	set_ok("listen_port=99\n\nlisten_port=nonsense\n");
	ck_assert_uint_eq(dev->listen_port, 99);
	set_ok("listen_port=98\r\n\r\nlisten_port=nonsense\n");
	ck_assert_uint_eq(dev->listen_port, 98);
	/* Leading zeros in numbers are fine (strconv.ParseUint). */
	set_ok("listen_port=00080\n");
	ck_assert_uint_eq(dev->listen_port, 80);
	set_ok("");
	set_ok("\n");
}
END_TEST

struct bad_case {
	const char *name;
	const char *body;
	size_t len;	/* 0 = strlen */
	int err;
};

#define DEV_PRE "listen_port=4444\nfwmark=9\nreplace_peers=true\n"
#define PEER_PRE DEV_PRE "public_key=4444444444444444444444444444444444444444444444444444444444444444\n" \
	"endpoint=198.51.100.1:1\nallowed_ip=10.44.0.0/16\n"
#define HEX63 "111111111111111111111111111111111111111111111111111111111111111"

static const struct bad_case bad_cases[] = {
	{ "private_key bad hex", DEV_PRE "private_key=" HEX63 "g\n", 0, -EINVAL },
	{ "private_key 63 digits", DEV_PRE "private_key=" HEX63 "\n", 0, -EINVAL },
	{ "private_key 65 digits", DEV_PRE "private_key=" HEX63 "11\n", 0, -EINVAL },
	{ "private_key empty", DEV_PRE "private_key=\n", 0, -EINVAL },
	{ "private_key base64", DEV_PRE "private_key=6GjoaOho6Gjo6Ojo6Ojo6Ojo6Ojo6Ojo6Ojo6OjoUVE=\n", 0, -EINVAL },
	{ "public_key bad", PEER_PRE "public_key=" HEX63 "x\n", 0, -EINVAL },
	{ "public_key short", DEV_PRE "public_key=" HEX63 "\n", 0, -EINVAL },
	{ "preshared_key short", PEER_PRE "preshared_key=" HEX63 "\n", 0, -EINVAL },
	{ "endpoint no port", PEER_PRE "endpoint=1.2.3.4\n", 0, -EINVAL },
	{ "endpoint empty port", PEER_PRE "endpoint=1.2.3.4:\n", 0, -EINVAL },
	{ "endpoint port range", PEER_PRE "endpoint=1.2.3.4:65536\n", 0, -EINVAL },
	{ "endpoint v6 no brackets", PEER_PRE "endpoint=::1:80\n", 0, -EINVAL },
	{ "endpoint v4 in brackets", PEER_PRE "endpoint=[1.2.3.4]:80\n", 0, -EINVAL },
	{ "endpoint name", PEER_PRE "endpoint=example.com:80\n", 0, -EINVAL },
	{ "endpoint empty", PEER_PRE "endpoint=\n", 0, -EINVAL },
	{ "cidr v4 33", PEER_PRE "allowed_ip=10.0.0.0/33\n", 0, -EINVAL },
	{ "cidr v6 129", PEER_PRE "allowed_ip=::/129\n", 0, -EINVAL },
	{ "cidr missing", PEER_PRE "allowed_ip=10.0.0.0\n", 0, -EINVAL },
	{ "cidr empty", PEER_PRE "allowed_ip=10.0.0.0/\n", 0, -EINVAL },
	{ "cidr leading zero", PEER_PRE "allowed_ip=10.0.0.0/08\n", 0, -EINVAL },
	{ "cidr sign", PEER_PRE "allowed_ip=10.0.0.0/+8\n", 0, -EINVAL },
	{ "cidr twice", PEER_PRE "allowed_ip=10.0.0.0/8/8\n", 0, -EINVAL },
	{ "prefix zone", PEER_PRE "allowed_ip=fe80::1%eth0/64\n", 0, -EINVAL },
	{ "prefix octet leading zero", PEER_PRE "allowed_ip=01.2.3.4/32\n", 0, -EINVAL },
	{ "prefix only dash", PEER_PRE "allowed_ip=-\n", 0, -EINVAL },
	{ "prefix plus", PEER_PRE "allowed_ip=+10.0.0.0/8\n", 0, -EINVAL },
	{ "prefix empty", PEER_PRE "allowed_ip=\n", 0, -EINVAL },
	{ "listen_port 65536", DEV_PRE "listen_port=65536\n", 0, -EINVAL },
	{ "listen_port negative", DEV_PRE "listen_port=-1\n", 0, -EINVAL },
	{ "listen_port empty", DEV_PRE "listen_port=\n", 0, -EINVAL },
	{ "listen_port space", DEV_PRE "listen_port= 1\n", 0, -EINVAL },
	{ "listen_port hex", DEV_PRE "listen_port=0x10\n", 0, -EINVAL },
	{ "fwmark 2^32", DEV_PRE "fwmark=4294967296\n", 0, -EINVAL },
	{ "fwmark huge", DEV_PRE "fwmark=99999999999999999999999999\n", 0, -EINVAL },
	{ "keepalive 65536", PEER_PRE "persistent_keepalive_interval=65536\n", 0, -EINVAL },
	{ "replace_peers false", DEV_PRE "replace_peers=false\n", 0, -EINVAL },
	{ "replace_peers 1", DEV_PRE "replace_peers=1\n", 0, -EINVAL },
	{ "remove false", PEER_PRE "remove=false\n", 0, -EINVAL },
	{ "update_only yes", PEER_PRE "update_only=yes\n", 0, -EINVAL },
	{ "replace_allowed_ips TRUE", PEER_PRE "replace_allowed_ips=TRUE\n", 0, -EINVAL },
	{ "unknown device key", DEV_PRE "foo=bar\n", 0, -EINVAL },
	{ "unknown peer key", PEER_PRE "foo=bar\n", 0, -EINVAL },
	{ "read-only key", PEER_PRE "tx_bytes=0\n", 0, -EINVAL },
	{ "empty key", DEV_PRE "=1\n", 0, -EINVAL },
	{ "key with space", DEV_PRE "listen_port =1\n", 0, -EINVAL },
	{ "peer key before public_key", DEV_PRE "endpoint=1.2.3.4:5\n", 0, -EINVAL },
	{ "allowed_ip before public_key", DEV_PRE "allowed_ip=10.0.0.0/8\n", 0, -EINVAL },
	{ "device key after public_key", PEER_PRE "listen_port=1\n", 0, -EINVAL },
	{ "protocol_version 2", PEER_PRE "protocol_version=2\n", 0, -EINVAL },
	{ "protocol_version 01", PEER_PRE "protocol_version=01\n", 0, -EINVAL },
	{ "protocol_version at device", DEV_PRE "protocol_version=1\n", 0, -EINVAL },
	{ "missing =", DEV_PRE "listen_port\n", 0, -EPROTO },
	{ "missing = in peer", PEER_PRE "remove\n", 0, -EPROTO },
	{ "NUL in value", DEV_PRE "listen_port=1\0\n", sizeof(DEV_PRE "listen_port=1\0\n") - 1, -EINVAL },
	{ "NUL in key", PEER_PRE "remove\0=true\n", sizeof(PEER_PRE "remove\0=true\n") - 1, -EINVAL },
	{ "bad line after blank-free tail", PEER_PRE "allowed_ip=10.0.0.0/99", 0, -EINVAL },
};

static void assert_rejected(const char *name, const char *body, size_t len, int err)
{
	struct wm_uapi_buf reply = { 0 };
	char *before, *after, *req, want[32];
	unsigned binds = hl.bind_calls, marks = hl.mark_calls, peers = dev->peer_count;

	req = malloc(len + 6);
	ck_assert_ptr_nonnull(req);
	memcpy(req, "set=1\n", 6);
	memcpy(req + 6, body, len);
	before = dump();
	ck_assert_int_eq(wm_uapi_handle(dev, &hooks, req, len + 6, &reply, 0), 0);
	snprintf(want, sizeof(want), "errno=%d\n\n", err);
	ck_assert_msg(reply.data && !strcmp(reply.data, want), "%s: got \"%s\", want \"%s\"", name,
		      reply.data ? reply.data : "", want);
	after = dump();
	ck_assert_msg(!strcmp(before, after), "%s changed the device", name);
	ck_assert_uint_eq(hl.bind_calls, binds);
	ck_assert_uint_eq(hl.mark_calls, marks);
	ck_assert_uint_eq(dev->peer_count, peers);
	wm_uapi_buf_free(&reply);
	free(req);
	free(before);
	free(after);
}

START_TEST(malformed_inputs_change_nothing)
{
	size_t i = (size_t)_i;
	const struct bad_case *c = &bad_cases[i];

	configure();
	assert_rejected(c->name, c->body, c->len ? c->len : strlen(c->body), c->err);
}
END_TEST

START_TEST(overlong_line)
{
	size_t n = strlen(DEV_PRE), len = n + 12 + 5000 + 1;
	char *body = malloc(len);
	struct wm_uapi_diff diff;

	configure();
	memcpy(body, DEV_PRE "listen_port=", n + 12);
	memset(body + n + 12, '1', 5000);
	body[len - 1] = '\n';
	assert_rejected("overlong value", body, len, -EINVAL);
	/* Unterminated, and longer than the reader looks. */
	assert_rejected("overlong tail", body, len - 1, -EINVAL);
	/* A line of exactly WM_UAPI_MAX_LINE is read (and refused for what it says). */
	memset(body, 'k', WM_UAPI_MAX_LINE);
	body[WM_UAPI_MAX_LINE - 2] = '=';
	body[WM_UAPI_MAX_LINE] = '\n';
	assert_rejected("max line", body, WM_UAPI_MAX_LINE + 1, -EINVAL);
	ck_assert_int_eq(wm_uapi_parse_set(&diff, body, WM_UAPI_MAX_LINE + 1), -EINVAL);
	ck_assert_str_eq(diff.error, "unknown device key");
	wm_uapi_diff_free(&diff);
	body[WM_UAPI_MAX_LINE] = 'k';
	body[WM_UAPI_MAX_LINE + 1] = '\n';
	ck_assert_int_eq(wm_uapi_parse_set(&diff, body, WM_UAPI_MAX_LINE + 2), -EINVAL);
	ck_assert_str_eq(diff.error, "line too long");
	wm_uapi_diff_free(&diff);
	free(body);
}
END_TEST

START_TEST(parse_names_the_line)
{
	struct wm_uapi_diff diff;
	const char *body = "listen_port=1\nfwmark=2\nlisten_port=x\n";

	ck_assert_int_eq(wm_uapi_parse_set(&diff, body, strlen(body)), -EINVAL);
	ck_assert_uint_eq(diff.error_line, 3);
	ck_assert_ptr_nonnull(strstr(diff.error, "listen_port"));
	wm_uapi_diff_free(&diff);
}
END_TEST

START_TEST(hook_failure_changes_nothing)
{
	struct wm_uapi_buf reply = { 0 };
	char *before, *after, req[512];
	int n;

	configure();
	before = dump();
	hl.bind_result = -EADDRINUSE;
	hl.mark_calls = 0;
	n = snprintf(req, sizeof(req), "set=1\nlisten_port=1\nfwmark=8\nreplace_peers=true\n"
		     "private_key=%s\npublic_key=%s\n\n", K("00"), K("77"));
	ck_assert_int_eq(wm_uapi_handle(dev, &hooks, req, (size_t)n, &reply, 0), 0);
	ck_assert_str_eq(reply.data, "errno=-98\n\n");
	after = dump();
	ck_assert_str_eq(before, after);
	/* The mark went on first and was put back. */
	ck_assert_uint_eq(hl.mark_calls, 2);
	ck_assert_uint_eq(hl.marks[0], 8);
	ck_assert_uint_eq(hl.marks[1], 7);
	ck_assert_uint_eq(dev->fwmark, 7);
	/* An unchanged mark is not re-applied. */
	hl.bind_result = 0;
	set_ok("fwmark=7\n");
	ck_assert_uint_eq(hl.mark_calls, 2);
	wm_uapi_buf_free(&reply);
	free(before);
	free(after);
}
END_TEST

START_TEST(handle_requests)
{
	struct wm_uapi_buf reply = { 0 };
	char *d;

	configure();
	d = dump();
	ck_assert_int_eq(wm_uapi_handle(dev, &hooks, "get=1\n\n", 7, &reply, 0), 0);
	ck_assert_uint_eq(reply.len, strlen(d) + 9);
	ck_assert(!memcmp(reply.data, d, strlen(d)));
	ck_assert_str_eq(reply.data + strlen(d), "errno=0\n\n");
	free(d);
	wm_uapi_buf_free(&reply);

	/* The reply is appended to what the buffer holds. */
	ck_assert_int_eq(wm_uapi_handle(dev, &hooks, "set=1\nlisten_port=5\n\n", 21, &reply, 0), 0);
	ck_assert_int_eq(wm_uapi_handle(dev, &hooks, "set=1\nlisten_port=x\n\n", 21, &reply, 0), 0);
	ck_assert_str_eq(reply.data, "errno=0\n\nerrno=-22\n\n");
	ck_assert_uint_eq(dev->listen_port, 5);
	wm_uapi_buf_free(&reply);

	/* get with junk after it: an error answer, no dump. */
	ck_assert_int_eq(wm_uapi_handle(dev, &hooks, "get=1\nx", 7, &reply, 0), 0);
	ck_assert_str_eq(reply.data, "errno=-22\n\n");
	wm_uapi_buf_free(&reply);

	/* Not an operation, or a get cut short: no answer at all. */
	ck_assert_int_eq(wm_uapi_handle(dev, &hooks, "hello\n\n", 7, &reply, 0), -EPROTO);
	ck_assert_int_eq(wm_uapi_handle(dev, &hooks, "get=2\n\n", 7, &reply, 0), -EPROTO);
	ck_assert_int_eq(wm_uapi_handle(dev, &hooks, "set=1\r\n\n", 8, &reply, 0), -EPROTO);
	ck_assert_int_eq(wm_uapi_handle(dev, &hooks, "get=1\n", 6, &reply, 0), -EPROTO);
	ck_assert_int_eq(wm_uapi_handle(dev, &hooks, "get", 3, &reply, 0), -EPROTO);
	ck_assert_int_eq(wm_uapi_handle(dev, &hooks, "", 0, &reply, 0), -EPROTO);
	ck_assert_uint_eq(reply.len, 0);
	/* A set with an empty body. */
	ck_assert_int_eq(wm_uapi_handle(dev, &hooks, "set=1\n", 6, &reply, 0), 0);
	ck_assert_str_eq(reply.data, "errno=0\n\n");
	wm_uapi_buf_free(&reply);
}
END_TEST

START_TEST(framing)
{
	size_t n = 0;
	char *big;

	ck_assert_int_eq(wm_uapi_frame("", 0, &n), -EAGAIN);
	ck_assert_int_eq(wm_uapi_frame("get=1", 5, &n), -EAGAIN);
	ck_assert_int_eq(wm_uapi_frame("get=1\n", 6, &n), -EAGAIN);
	ck_assert_int_eq(wm_uapi_frame("get=1\n\nset=1\n", 13, &n), 0);
	ck_assert_uint_eq(n, 7);
	ck_assert_int_eq(wm_uapi_frame("set=1\nlisten_port=1\n", 20, &n), -EAGAIN);
	ck_assert_int_eq(wm_uapi_frame("set=1\nlisten_port=1\n\nget=1\n\n", 28, &n), 0);
	ck_assert_uint_eq(n, 21);
	ck_assert_int_eq(wm_uapi_frame("set=1\nlisten_port=1\r\n\r\nx", 24, &n), 0);
	ck_assert_uint_eq(n, 23);
	ck_assert_int_eq(wm_uapi_frame("set=1\n\n", 7, &n), 0);
	ck_assert_uint_eq(n, 7);
	ck_assert_int_eq(wm_uapi_frame("bogus\nmore", 10, &n), 0);
	ck_assert_uint_eq(n, 6);

	big = malloc(WM_UAPI_MAX_LINE + 16);
	memcpy(big, "set=1\n", 6);
	memset(big + 6, 'a', WM_UAPI_MAX_LINE + 10);
	ck_assert_int_eq(wm_uapi_frame(big, 6 + 100, &n), -EAGAIN);
	ck_assert_int_eq(wm_uapi_frame(big, WM_UAPI_MAX_LINE + 16, &n), -EMSGSIZE);
	ck_assert_int_eq(wm_uapi_frame(big + 6, WM_UAPI_MAX_LINE + 10, &n), -EMSGSIZE);
	free(big);
}
END_TEST

START_TEST(input_buffer_keeps_no_copy_of_a_served_request)
{
	static const char key_hex[] = "e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a";
	static const char get[] = "get=1\n\n";
	char set[128], *at;
	struct wm_uapi_buf in = { 0 };
	size_t set_len, total, i;

	set_len = (size_t)snprintf(set, sizeof(set), "set=1\nprivate_key=%s\n\n", key_hex);
	total = set_len + strlen(get);
	/* As the UAPI server reads: make room, receive into it, serve the first request, consume it. */
	ck_assert_int_eq(wm_uapi_buf_reserve(&in, set_len), 0);
	memcpy(in.data, set, set_len);
	in.len = set_len;
	ck_assert_int_eq(wm_uapi_buf_reserve(&in, 4096), 0);	/* grows: the content moves along */
	ck_assert_uint_ge(in.cap, set_len + 4096 + 1);
	ck_assert(!memcmp(in.data, set, set_len));
	memcpy(in.data + in.len, get, strlen(get));
	in.len = total;

	wm_uapi_buf_consume(&in, set_len);
	ck_assert_uint_eq(in.len, strlen(get));
	ck_assert_str_eq(in.data, get);
	/* Nothing of the served request is left, not even in the bytes the move vacated. */
	for (i = in.len; i < total; i++)
		ck_assert_int_eq(in.data[i], 0);
	at = memmem(in.data, total, key_hex + 8, 16);
	ck_assert_ptr_null(at);

	wm_uapi_buf_consume(&in, in.len);
	ck_assert_uint_eq(in.len, 0);
	for (i = 0; i < total; i++)
		ck_assert_int_eq(in.data[i], 0);
	wm_uapi_buf_consume(&in, 1);	/* nothing left: a no-op */
	ck_assert_uint_eq(in.len, 0);
	wm_uapi_buf_free(&in);
	ck_assert_ptr_null(in.data);
}
END_TEST

static Suite *uapi_suite(void)
{
	Suite *s = suite_create("uapi");
	TCase *tc = tcase_create("set and get");
	TCase *te = tcase_create("errors");
	TCase *tb = tcase_create("buffers");

	/* Check's default of 4 s is no margin under the sanitizers on a loaded machine. */
	tcase_set_timeout(tc, 60);
	tcase_set_timeout(te, 60);
	tcase_set_timeout(tb, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, get_of_dump_is_a_fixed_point);
	tcase_add_test(tc, counters_and_handshake_time);
	tcase_add_test(tc, private_key_is_clamped_and_zero_clears_it);
	tcase_add_test(tc, private_key_change_keeps_peers);
	tcase_add_test(tc, own_public_key_is_ignored);
	tcase_add_test(tc, replace_peers);
	tcase_add_test(tc, remove_peer);
	tcase_add_test(tc, update_only);
	tcase_add_test(tc, replace_allowed_ips);
	tcase_add_test(tc, allowed_ip_removal);
	tcase_add_test(tc, ipv6_text_forms);
	tcase_add_test(tc, listen_port_zero_reports_bound_port);
	tcase_add_test(tc, lines_cr_and_unterminated);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(te, setup, teardown);
	tcase_add_loop_test(te, malformed_inputs_change_nothing, 0,
			    (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	tcase_add_test(te, overlong_line);
	tcase_add_test(te, parse_names_the_line);
	tcase_add_test(te, hook_failure_changes_nothing);
	tcase_add_test(te, handle_requests);
	tcase_add_test(te, framing);
	suite_add_tcase(s, te);

	tcase_add_test(tb, input_buffer_keeps_no_copy_of_a_served_request);
	suite_add_tcase(s, tb);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(uapi_suite());
	int failures;

	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
