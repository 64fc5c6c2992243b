/* SPDX-License-Identifier: MIT */
/* The coordination message codec: every message round-trips; every class of bad input is
 * refused with a sentence naming the field, never a crash. */
#include "coord-client/coord_msg.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7 + 1);
}

static struct wm_coord_request base_request(enum wm_coord_msg_type type)
{
	struct wm_coord_request r = { .type = type, .ts = 1700000000 };

	fill(r.id, sizeof(r.id), 3);
	return r;
}

static void peer_fixture(struct wm_netmap_peer *p, uint64_t id)
{
	memset(p, 0, sizeof(*p));
	p->id = id;
	snprintf(p->name, sizeof(p->name), "peer-%llu", (unsigned long long)id);
	fill(p->node_key, WM_KEY_LEN, (uint8_t)id);
	fill(p->disco_key, WM_KEY_LEN, (uint8_t)(id + 100));
	p->ipv4.s_addr = htonl(0x64400000u + (uint32_t)id);
	wm_coord_ipv6_for(&p->ipv6, p->ipv4);
	p->allowed_ips[0].family = AF_INET;
	memcpy(p->allowed_ips[0].addr, &p->ipv4, 4);
	p->allowed_ips[0].cidr = 32;
	p->allowed_ips[1].family = AF_INET6;
	memcpy(p->allowed_ips[1].addr, &p->ipv6, 16);
	p->allowed_ips[1].cidr = 128;
	p->n_allowed_ips = 2;
	ck_assert_int_eq(wm_endpoint_parse(&p->endpoints[0], "192.0.2.1:41641"), 0);
	ck_assert_int_eq(wm_endpoint_parse(&p->endpoints[1], "[2001:db8::1]:41641"), 0);
	p->n_endpoints = 2;
	if (id == 3) {		/* a subnet router */
		ck_assert(wm_netmap_prefix_parse(&p->routes[0], "192.168.50.0/24"));
		ck_assert(wm_netmap_prefix_parse(&p->routes[1], "2001:db8:50::/48"));
		p->n_routes = 2;
	}
	p->home_relay = 3;
	p->online = true;
	p->last_seen = 1700000001;
	p->key_expiry = 1800000000;
}

static void relays_fixture(struct wm_relay_map *rm)
{
	rm->regions = calloc(2, sizeof(*rm->regions));
	rm->n_regions = 2;
	rm->regions[0].id = 1;
	strcpy(rm->regions[0].code, "home");
	strcpy(rm->regions[0].name, "Home");
	strcpy(rm->regions[0].relays[0].url, "https://relay.example.com/derp");
	strcpy(rm->regions[0].relays[0].stun_host, "relay.example.com");
	rm->regions[0].relays[0].stun_port = 3478;
	rm->regions[0].n_relays = 1;
	rm->regions[1].id = 900;
	strcpy(rm->regions[1].code, "lab");
	strcpy(rm->regions[1].name, "lab");
	strcpy(rm->regions[1].relays[0].url, "http://[2001:db8::5]:8080/derp");
	strcpy(rm->regions[1].relays[0].stun_host, "2001:db8::5");
	rm->regions[1].relays[0].stun_port = 3478;
	strcpy(rm->regions[1].relays[1].url, "http://10.0.0.1/derp");
	rm->regions[1].n_relays = 2;
}

static void roundtrip(const struct wm_coord_request *in, struct wm_coord_request *out)
{
	char err[WM_COORD_ERR_LEN] = "";
	char *text = wm_coord_request_encode(in);

	ck_assert_ptr_nonnull(text);
	ck_assert_msg(wm_coord_request_parse(out, text, strlen(text), err, sizeof(err)) == 0,
		      "%s: %s", text, err);
	ck_assert_int_eq(out->type, in->type);
	ck_assert_int_eq(out->ts, in->ts);
	ck_assert_mem_eq(out->id, in->id, sizeof(in->id));
	free(text);
}

START_TEST(register_roundtrip)
{
	struct wm_coord_request in = base_request(WM_COORD_REGISTER), out;

	strcpy(in.u.reg.auth_key, "wmauth-0123456789abcdef0123456789abcdef");
	fill(in.u.reg.disco_key, WM_KEY_LEN, 9);
	strcpy(in.u.reg.hostname, "Laptop_1.local");
	strcpy(in.u.reg.os, "linux");
	strcpy(in.u.reg.version, "0.1 (abc)");
	roundtrip(&in, &out);
	ck_assert_str_eq(out.u.reg.auth_key, in.u.reg.auth_key);
	ck_assert_mem_eq(out.u.reg.disco_key, in.u.reg.disco_key, WM_KEY_LEN);
	ck_assert_str_eq(out.u.reg.hostname, "Laptop_1.local");
	ck_assert_str_eq(out.u.reg.version, "0.1 (abc)");
	/* Without an auth key (a known node registering again). */
	in.u.reg.auth_key[0] = '\0';
	roundtrip(&in, &out);
	ck_assert_str_eq(out.u.reg.auth_key, "");
}
END_TEST

START_TEST(poll_roundtrip)
{
	struct wm_coord_request in = base_request(WM_COORD_POLL), out;
	char a[WM_ENDPOINT_STR_LEN], b[WM_ENDPOINT_STR_LEN];

	in.u.poll.version = 42;
	in.u.poll.wait = true;
	in.u.poll.home_relay = 7;
	for (int i = 0; i < WM_NETMAP_MAX_ENDPOINTS; i++) {
		char text[32];

		snprintf(text, sizeof(text), "198.51.100.%d:%d", i + 1, 1000 + i);
		ck_assert_int_eq(wm_endpoint_parse(&in.u.poll.endpoints[i], text), 0);
	}
	in.u.poll.n_endpoints = WM_NETMAP_MAX_ENDPOINTS;
	roundtrip(&in, &out);
	ck_assert_uint_eq(out.u.poll.version, 42);
	ck_assert(out.u.poll.wait);
	ck_assert_int_eq(out.u.poll.home_relay, 7);
	ck_assert_uint_eq(out.u.poll.n_endpoints, WM_NETMAP_MAX_ENDPOINTS);
	wm_endpoint_format(&out.u.poll.endpoints[15], a);
	wm_endpoint_format(&in.u.poll.endpoints[15], b);
	ck_assert_str_eq(a, b);
	ck_assert_uint_eq(out.u.poll.n_routes, 0);
}
END_TEST

START_TEST(poll_routes_roundtrip)
{
	struct wm_coord_request in = base_request(WM_COORD_POLL), out;
	char *text;

	in.u.poll.version = 1;
	for (int i = 0; i < WM_NETMAP_MAX_ROUTES - 1; i++) {
		char prefix[32];

		snprintf(prefix, sizeof(prefix), "10.%d.0.0/16", i);
		ck_assert(wm_netmap_prefix_parse(&in.u.poll.routes[i], prefix));
	}
	ck_assert(wm_netmap_prefix_parse(&in.u.poll.routes[15], "2001:db8:1::/48"));
	in.u.poll.n_routes = WM_NETMAP_MAX_ROUTES;
	text = wm_coord_request_encode(&in);
	ck_assert_ptr_nonnull(strstr(text, "\"routes\":[\"10.0.0.0/16\",\"10.1.0.0/16\","));
	ck_assert_ptr_nonnull(strstr(text, ",\"2001:db8:1::/48\"]"));
	free(text);
	roundtrip(&in, &out);
	ck_assert_uint_eq(out.u.poll.n_routes, WM_NETMAP_MAX_ROUTES);
	ck_assert_mem_eq(out.u.poll.routes, in.u.poll.routes, sizeof(in.u.poll.routes));
	/* None: the member is left out, and absent reads as none. */
	in.u.poll.n_routes = 0;
	text = wm_coord_request_encode(&in);
	ck_assert_ptr_null(strstr(text, "routes"));
	free(text);
	roundtrip(&in, &out);
	ck_assert_uint_eq(out.u.poll.n_routes, 0);
}
END_TEST

START_TEST(rotate_and_logout_roundtrip)
{
	struct wm_coord_request in = base_request(WM_COORD_ROTATE), out;

	fill(in.u.rotate.new_key, WM_KEY_LEN, 77);
	fill(in.u.rotate.proof, WM_COORD_PROOF_LEN, 5);
	roundtrip(&in, &out);
	ck_assert_mem_eq(out.u.rotate.new_key, in.u.rotate.new_key, WM_KEY_LEN);
	ck_assert_mem_eq(out.u.rotate.proof, in.u.rotate.proof, WM_COORD_PROOF_LEN);
	in = base_request(WM_COORD_LOGOUT);
	roundtrip(&in, &out);
}
END_TEST

START_TEST(register_response_roundtrip)
{
	struct wm_coord_register_resp in = { 0 }, out;
	char err[WM_COORD_ERR_LEN] = "", *text;

	fill(in.id, sizeof(in.id), 1);
	in.self.id = 12;
	strcpy(in.self.name, "laptop");
	in.self.ipv4.s_addr = htonl(0x6440000c);
	wm_coord_ipv6_for(&in.self.ipv6, in.self.ipv4);
	in.self.key_expiry = 1800000000;
	relays_fixture(&in.relays);
	text = wm_coord_register_resp_encode(&in, WM_COORD_REGISTER);
	ck_assert_msg(wm_coord_register_resp_parse(&out, WM_COORD_REGISTER, text, strlen(text), err,
						   sizeof(err)) == 0, "%s", err);
	ck_assert_mem_eq(&out.self, &in.self, sizeof(in.self));
	ck_assert_uint_eq(out.relays.n_regions, 2);
	ck_assert_mem_eq(out.relays.regions, in.relays.regions, 2 * sizeof(*in.relays.regions));
	wm_relay_map_free(&out.relays);
	/* The same text is not a rotate answer. */
	ck_assert_int_eq(wm_coord_register_resp_parse(&out, WM_COORD_ROTATE, text, strlen(text),
						      err, sizeof(err)), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(err, "type"));
	free(text);
	wm_relay_map_free(&in.relays);
}
END_TEST

START_TEST(netmap_roundtrip)
{
	struct wm_coord_poll_resp in = { .version = 9 }, out;
	char err[WM_COORD_ERR_LEN] = "", *text;

	fill(in.id, sizeof(in.id), 2);
	in.netmap.version = 9;
	in.netmap.self.id = 1;
	strcpy(in.netmap.self.name, "me");
	in.netmap.self.ipv4.s_addr = htonl(0x64400001);
	wm_coord_ipv6_for(&in.netmap.self.ipv6, in.netmap.self.ipv4);
	ck_assert(wm_netmap_prefix_parse(&in.netmap.self.approved_routes[0], "10.9.0.0/16"));
	in.netmap.self.n_approved_routes = 1;
	in.netmap.peers = calloc(3, sizeof(*in.netmap.peers));
	in.netmap.n_peers = 3;
	for (int i = 0; i < 3; i++)
		peer_fixture(&in.netmap.peers[i], (uint64_t)i + 2);
	in.netmap.peers[2].expired = true;
	in.netmap.peers[2].n_endpoints = 0;
	memset(in.netmap.peers[2].endpoints, 0, sizeof(in.netmap.peers[2].endpoints));
	relays_fixture(&in.netmap.relays);
	in.netmap.packet_filter = strdup("[{\"src\":[\"*\"]}]");
	strcpy(in.netmap.dns_suffix, "mesh.example");
	text = wm_coord_poll_resp_encode(&in);
	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_nonnull(strstr(text, "\"dns\":{\"suffix\":\"mesh.example\"}"));
	ck_assert_ptr_nonnull(strstr(text, "\"key_expiry\":0,\"approved_routes\":[\"10.9.0.0/16\"]}"));
	ck_assert_ptr_nonnull(strstr(text, "\"routes\":[\"192.168.50.0/24\",\"2001:db8:50::/48\"]"));
	ck_assert_msg(wm_coord_poll_resp_parse(&out, text, strlen(text), err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert(!out.unchanged);
	ck_assert_uint_eq(out.netmap.peers[1].n_routes, 2);	/* id 3 */
	ck_assert_uint_eq(out.netmap.peers[0].n_routes, 0);
	ck_assert_uint_eq(out.netmap.self.n_approved_routes, 1);
	ck_assert_uint_eq(out.version, 9);
	ck_assert_uint_eq(out.netmap.n_peers, 3);
	for (int i = 0; i < 3; i++)
		ck_assert_mem_eq(&out.netmap.peers[i], &in.netmap.peers[i], sizeof(in.netmap.peers[i]));
	ck_assert_mem_eq(&out.netmap.self, &in.netmap.self, sizeof(in.netmap.self));
	ck_assert_str_eq(out.netmap.packet_filter, in.netmap.packet_filter);
	ck_assert_str_eq(out.netmap.dns_suffix, "mesh.example");
	free(text);
	wm_netmap_free(&out.netmap);
	wm_netmap_free(&in.netmap);

	/* The keepalive. */
	memset(&in, 0, sizeof(in));
	in.unchanged = true;
	in.version = 10;
	text = wm_coord_poll_resp_encode(&in);
	ck_assert_int_eq(wm_coord_poll_resp_parse(&out, text, strlen(text), err, sizeof(err)), 0);
	ck_assert(out.unchanged);
	ck_assert_uint_eq(out.version, 10);
	ck_assert_ptr_null(out.netmap.peers);
	free(text);
}
END_TEST

START_TEST(small_messages_roundtrip)
{
	uint8_t id[WM_COORD_REQ_ID_LEN], id2[WM_COORD_REQ_ID_LEN], key[WM_KEY_LEN], key2[WM_KEY_LEN];
	char code[32], msg[256], *text;

	fill(id, sizeof(id), 4);
	text = wm_coord_logout_resp_encode(id);
	ck_assert_int_eq(wm_coord_logout_resp_parse(id2, text, strlen(text), NULL, 0), 0);
	ck_assert_mem_eq(id, id2, sizeof(id));
	free(text);
	fill(key, sizeof(key), 8);
	text = wm_coord_key_resp_encode(key);
	ck_assert_int_eq(wm_coord_key_resp_parse(key2, text, strlen(text), NULL, 0), 0);
	ck_assert_mem_eq(key, key2, sizeof(key));
	free(text);
	text = wm_coord_error_encode("auth_key_invalid", "auth key \"x\" was revoked");
	ck_assert_int_eq(wm_coord_error_parse(text, strlen(text), code, sizeof(code), msg,
					      sizeof(msg)), 0);
	ck_assert_str_eq(code, "auth_key_invalid");
	ck_assert_str_eq(msg, "auth key \"x\" was revoked");
	free(text);
}
END_TEST

/* Each bad request and a word its error must contain. */
static const struct {
	const char *json, *why;
} bad_requests[] = {
	{ "", "bad JSON" },
	{ "{", "bad JSON" },
	{ "[1,2]", "not an object" },
	{ "\"poll\"", "bad JSON" },
	{ "{\"type\":\"poll\",\"type\":\"poll\"}", "bad JSON" },	/* duplicate member */
	{ "{}", "missing field \"type\"" },
	{ "{\"type\":5}", "\"type\" must be a string" },
	{ "{\"type\":\"dance\",\"ts\":1,\"id\":\"00000000000000000000000000000000\"}", "unknown message type" },
	{ "{\"type\":\"poll\",\"id\":\"00000000000000000000000000000000\",\"version\":1}", "missing field \"ts\"" },
	{ "{\"type\":\"poll\",\"ts\":\"now\",\"id\":\"00000000000000000000000000000000\",\"version\":1}", "\"ts\" must be an integer" },
	{ "{\"type\":\"poll\",\"ts\":-5,\"id\":\"00000000000000000000000000000000\",\"version\":1}", "\"ts\" is out of range" },
	{ "{\"type\":\"poll\",\"ts\":1.5,\"id\":\"00000000000000000000000000000000\",\"version\":1}", "\"ts\" must be an integer" },
	{ "{\"type\":\"poll\",\"ts\":1,\"id\":\"0000\",\"version\":1}", "\"id\" is not a request id" },
	{ "{\"type\":\"poll\",\"ts\":1,\"id\":\"zz000000000000000000000000000000\",\"version\":1}", "\"id\" is not a request id" },
	{ "{\"type\":\"poll\",\"ts\":1,\"id\":\"00000000000000000000000000000000\"}", "missing field \"version\"" },
	{ "{\"type\":\"poll\",\"ts\":1,\"id\":\"00000000000000000000000000000000\",\"version\":1,\"wait\":1}", "\"wait\" must be true or false" },
	{ "{\"type\":\"poll\",\"ts\":1,\"id\":\"00000000000000000000000000000000\",\"version\":1,\"endpoints\":\"1.2.3.4:5\"}", "\"endpoints\" must be an array" },
	{ "{\"type\":\"poll\",\"ts\":1,\"id\":\"00000000000000000000000000000000\",\"version\":1,\"endpoints\":[\"1.2.3.4\"]}", "entry 0 is not an endpoint" },
	{ "{\"type\":\"poll\",\"ts\":1,\"id\":\"00000000000000000000000000000000\",\"version\":1,\"endpoints\":[\"1.2.3.4:0\"]}", "entry 0 is not an endpoint" },
	{ "{\"type\":\"poll\",\"ts\":1,\"id\":\"00000000000000000000000000000000\",\"version\":1,\"endpoints\":[\"0.0.0.0:5\"]}", "entry 0 is not an endpoint" },
	{ "{\"type\":\"poll\",\"ts\":1,\"id\":\"00000000000000000000000000000000\",\"version\":1,\"endpoints\":[\"[fe80::1%eth0]:5\"]}", "entry 0 is not an endpoint" },
	{ "{\"type\":\"poll\",\"ts\":1,\"id\":\"00000000000000000000000000000000\",\"version\":1,\"endpoints\":[\"1.1.1.1:1\",\"1.1.1.1:2\",\"1.1.1.1:3\",\"1.1.1.1:4\",\"1.1.1.1:5\",\"1.1.1.1:6\",\"1.1.1.1:7\",\"1.1.1.1:8\",\"1.1.1.1:9\",\"1.1.1.1:10\",\"1.1.1.1:11\",\"1.1.1.1:12\",\"1.1.1.1:13\",\"1.1.1.1:14\",\"1.1.1.1:15\",\"1.1.1.1:16\",\"1.1.1.1:17\"]}", "too many entries" },
	{ "{\"type\":\"poll\",\"ts\":1,\"id\":\"00000000000000000000000000000000\",\"version\":1,\"home_relay\":70000}", "\"home_relay\" is out of range" },
	{ "{\"type\":\"poll\",\"ts\":1,\"id\":\"00000000000000000000000000000000\",\"version\":1,\"routes\":\"192.168.50.0/24\"}", "\"routes\" must be an array" },
	{ "{\"type\":\"poll\",\"ts\":1,\"id\":\"00000000000000000000000000000000\",\"version\":1,\"routes\":[24]}", "entry 0 is not a prefix" },
	{ "{\"type\":\"poll\",\"ts\":1,\"id\":\"00000000000000000000000000000000\",\"version\":1,\"routes\":[\"192.168.50.1/24\"]}", "entry 0 (192.168.50.1/24) is not a prefix" },
	{ "{\"type\":\"poll\",\"ts\":1,\"id\":\"00000000000000000000000000000000\",\"version\":1,\"routes\":[\"10.0.0.0/8\",\"10.0.0.0/33\"]}", "entry 1 (10.0.0.0/33) is not a prefix" },
	{ "{\"type\":\"poll\",\"ts\":1,\"id\":\"00000000000000000000000000000000\",\"version\":1,\"routes\":[\"10.0.0.0/8\",\"10.0.0.0/08\"]}", "entry 1 (10.0.0.0/08) is not a prefix" },
	{ "{\"type\":\"poll\",\"ts\":1,\"id\":\"00000000000000000000000000000000\",\"version\":1,\"routes\":[\"\\u0001/8\"]}", "entry 0 is not a prefix" },
	{ "{\"type\":\"poll\",\"ts\":1,\"id\":\"00000000000000000000000000000000\",\"version\":1,\"routes\":[\"0.0.0.0/0\",\"0.0.0.0/0\"]}", "entry 1 (0.0.0.0/0) repeats entry 0" },
	{ "{\"type\":\"poll\",\"ts\":1,\"id\":\"00000000000000000000000000000000\",\"version\":1,\"routes\":[\"10.0.0.0/8\",\"::/1\"]}", "entry 1 (::/1) overlaps" },
	{ "{\"type\":\"poll\",\"ts\":1,\"id\":\"00000000000000000000000000000000\",\"version\":1,\"routes\":[\"100.64.1.0/24\"]}", "entry 0 (100.64.1.0/24) overlaps the mesh's own addresses" },
	{ "{\"type\":\"poll\",\"ts\":1,\"id\":\"00000000000000000000000000000000\",\"version\":1,\"routes\":[\"fd77:6d65:7368::/64\"]}", "overlaps the mesh's own IPv6 prefix" },
	{ "{\"type\":\"poll\",\"ts\":1,\"id\":\"00000000000000000000000000000000\",\"version\":1,\"routes\":[\"127.0.0.0/8\"]}", "overlaps loopback" },
	{ "{\"type\":\"poll\",\"ts\":1,\"id\":\"00000000000000000000000000000000\",\"version\":1,\"routes\":[\"fe80::/64\"]}", "overlaps link-local" },
	{ "{\"type\":\"poll\",\"ts\":1,\"id\":\"00000000000000000000000000000000\",\"version\":1,\"routes\":[\"239.0.0.0/8\"]}", "overlaps multicast" },
	{ "{\"type\":\"poll\",\"ts\":1,\"id\":\"00000000000000000000000000000000\",\"version\":1,\"routes\":[\"10.0.0.0/8\",\"2001:DB8::/32\",\"2001:db8::/32\"]}", "entry 2 (2001:db8::/32) repeats entry 1" },
	{ "{\"type\":\"poll\",\"ts\":1,\"id\":\"00000000000000000000000000000000\",\"version\":1,\"routes\":[\"10.0.0.0/16\",\"10.1.0.0/16\",\"10.2.0.0/16\",\"10.3.0.0/16\",\"10.4.0.0/16\",\"10.5.0.0/16\",\"10.6.0.0/16\",\"10.7.0.0/16\",\"10.8.0.0/16\",\"10.9.0.0/16\",\"10.10.0.0/16\",\"10.11.0.0/16\",\"10.12.0.0/16\",\"10.13.0.0/16\",\"10.14.0.0/16\",\"10.15.0.0/16\",\"10.16.0.0/16\"]}", "\"routes\" has too many entries (17, at most 16)" },
	{ "{\"type\":\"register\",\"ts\":1,\"id\":\"00000000000000000000000000000000\",\"hostname\":\"h\",\"os\":\"l\",\"version\":\"v\"}", "missing field \"disco_key\"" },
	{ "{\"type\":\"register\",\"ts\":1,\"id\":\"00000000000000000000000000000000\",\"disco_key\":\"abc\",\"hostname\":\"h\",\"os\":\"l\",\"version\":\"v\"}", "\"disco_key\" is not a key" },
	{ "{\"type\":\"register\",\"ts\":1,\"id\":\"00000000000000000000000000000000\",\"disco_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\",\"hostname\":\"h\",\"os\":\"l\",\"version\":\"v\"}", "all-zero key" },
	{ "{\"type\":\"register\",\"ts\":1,\"id\":\"00000000000000000000000000000000\",\"disco_key\":\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\",\"hostname\":\"bad host\",\"os\":\"l\",\"version\":\"v\"}", "\"hostname\" must be" },
	{ "{\"type\":\"register\",\"ts\":1,\"id\":\"00000000000000000000000000000000\",\"disco_key\":\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\",\"hostname\":\"h\",\"os\":\"l\\u0007\",\"version\":\"v\"}", "control characters" },
	{ "{\"type\":\"register\",\"ts\":1,\"id\":\"00000000000000000000000000000000\",\"disco_key\":\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\",\"hostname\":\"h\",\"os\":\"\",\"version\":\"v\"}", "\"os\" must be" },
	{ "{\"type\":\"register\",\"ts\":1,\"id\":\"00000000000000000000000000000000\",\"disco_key\":\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\",\"hostname\":\"h\",\"os\":\"l\",\"version\":\"0123456789012345678901234567890123\"}", "\"version\" is too long" },
	{ "{\"type\":\"register\",\"ts\":1,\"id\":\"00000000000000000000000000000000\",\"disco_key\":\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\",\"hostname\":\"h\",\"os\":\"l\",\"version\":\"v\",\"auth_key\":\"\\u00e9\"}", "printable ASCII" },
	{ "{\"type\":\"rotate\",\"ts\":1,\"id\":\"00000000000000000000000000000000\",\"new_key\":\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\",\"proof\":\"AAAA\"}", "\"proof\" is not" },
	{ "{\"type\":\"rotate\",\"ts\":1,\"id\":\"00000000000000000000000000000000\",\"proof\":\"AAAA\"}", "missing field \"new_key\"" },
};

START_TEST(bad_request)
{
	struct wm_coord_request req;
	char err[WM_COORD_ERR_LEN] = "";
	const char *json = bad_requests[_i].json;

	ck_assert_int_eq(wm_coord_request_parse(&req, json, strlen(json), err, sizeof(err)),
			 -EBADMSG);
	ck_assert_msg(strstr(err, bad_requests[_i].why), "'%s' gave '%s', want '%s'", json, err,
		      bad_requests[_i].why);
}
END_TEST

START_TEST(oversized_request)
{
	size_t len = WM_COORD_REQUEST_MAX + 1;
	char *big = malloc(len), err[WM_COORD_ERR_LEN] = "";
	struct wm_coord_request req;

	memset(big, ' ', len);
	big[0] = '{';
	big[len - 1] = '}';
	ck_assert_int_eq(wm_coord_request_parse(&req, big, len, err, sizeof(err)), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(err, "too large"));
	/* A NUL inside the text is not JSON either. */
	ck_assert_int_eq(wm_coord_request_parse(&req, "{\"type\"\0:1}", 11, err, sizeof(err)),
			 -EBADMSG);
	free(big);
}
END_TEST

/* Bad netmaps: each is a valid netmap with one field spoiled. */
static const struct {
	const char *from, *to, *why;
} bad_netmaps[] = {
	{ "\"ipv4\":\"100.64.0.2\"", "\"ipv4\":\"100.64.0.256\"", "not an IPv4 address" },
	{ "\"ipv6\":\"fd77", "\"ipv6\":\"gd77", "not an IPv6 address" },
	{ "\"name\":\"peer-2\"", "\"name\":\"Peer 2\"", "not a DNS label" },
	{ "\"100.64.0.2/32\"", "\"100.64.0.2/33\"", "not a prefix" },
	{ "\"100.64.0.2/32\"", "\"100.64.0.2/24\"", "not a prefix" },
	{ "\"id\":3,", "\"id\":2,", "appears twice" },
	{ "\"id\":2,", "\"id\":1,", "this node itself" },
	{ "\"node_key\":\"", "\"node_key\":\"!", "not a key" },
	{ "\"version\":9", "\"version\":0", "out of range" },
	{ "\"unchanged\":false", "\"unchanged\":\"no\"", "true or false" },
	{ "\"peers\":[", "\"peers\":7,\"x\":[", "must be an array" },
	{ "\"regions\":[", "\"regions\":7,\"x\":[", "must be an array" },
	{ "\"stun\":\"relay.example.com:3478\"", "\"stun\":\"relay.example.com\"", "host:port" },
	{ "\"url\":\"https://relay", "\"url\":\"ftp://relay", "http:// or https://" },
	{ "\"code\":\"home\"", "\"code\":\"Home!\"", "lowercase" },
	{ "\"id\":900", "\"id\":1", "appears twice" },
	{ "\"type\":\"netmap\"", "\"type\":\"register\"", "expected \"netmap\"" },
	{ "\"routes\":[\"192.168.50.0/24\"", "\"routes\":[\"192.168.50.1/24\"",
	  "peer 1: field \"routes\" entry 0 (192.168.50.1/24) is not a prefix" },
	{ "\"routes\":[\"192.168.50.0/24\"", "\"routes\":[\"100.64.0.0/24\"",
	  "peer 1: field \"routes\" entry 0 (100.64.0.0/24) overlaps the mesh's own addresses" },
	{ "\"routes\":[\"192.168.50.0/24\"", "\"routes\":7,\"x\":[\"192.168.50.0/24\"",
	  "field \"routes\" must be an array" },
	{ "\"routes\":[\"192.168.50.0/24\",\"2001:db8:50::/48\"", "\"routes\":[\"192.168.50.0/24\",\"192.168.50.0/24\"",
	  "entry 1 (192.168.50.0/24) repeats entry 0" },
	{ "\"approved_routes\":[\"10.9.0.0/16\"", "\"approved_routes\":[\"0.0.0.0/1\"",
	  "field \"approved_routes\" entry 0 (0.0.0.0/1) overlaps" },
	{ "\"approved_routes\":[\"10.9.0.0/16\"", "\"approved_routes\":[\"ff00::/8\"",
	  "field \"approved_routes\" entry 0 (ff00::/8) overlaps multicast" },
	{ "\"suffix\":\"mesh.internal\"", "\"suffix\":\"Mesh..internal\"",
	  "field \"dns\": the suffix is not a domain name" },
	{ "\"suffix\":\"mesh.internal\"", "\"suffix\":7", "\"suffix\"" },
	{ "\"dns\":{", "\"dns\":7,\"x\":{", "field \"dns\" must be an object" },
};

static char *replace(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	char *out;

	ck_assert_msg(at != NULL, "fixture lacks %s", from);
	out = malloc(strlen(text) + strlen(to) + 1);
	memcpy(out, text, (size_t)(at - text));
	strcpy(out + (at - text), to);
	strcat(out, at + strlen(from));
	return out;
}

START_TEST(bad_netmap)
{
	struct wm_coord_poll_resp in = { .version = 9 }, out;
	char err[WM_COORD_ERR_LEN] = "", *text, *spoiled;

	in.netmap.self.id = 1;
	strcpy(in.netmap.self.name, "me");
	ck_assert(wm_netmap_prefix_parse(&in.netmap.self.approved_routes[0], "10.9.0.0/16"));
	in.netmap.self.n_approved_routes = 1;
	in.netmap.peers = calloc(2, sizeof(*in.netmap.peers));
	in.netmap.n_peers = 2;
	peer_fixture(&in.netmap.peers[0], 2);
	peer_fixture(&in.netmap.peers[1], 3);
	relays_fixture(&in.netmap.relays);
	strcpy(in.netmap.dns_suffix, "mesh.internal");
	text = wm_coord_poll_resp_encode(&in);
	ck_assert_int_eq(wm_coord_poll_resp_parse(&out, text, strlen(text), err, sizeof(err)), 0);
	wm_netmap_free(&out.netmap);
	spoiled = replace(text, bad_netmaps[_i].from, bad_netmaps[_i].to);
	ck_assert_int_eq(wm_coord_poll_resp_parse(&out, spoiled, strlen(spoiled), err, sizeof(err)),
			 -EBADMSG);
	ck_assert_msg(strstr(err, bad_netmaps[_i].why), "got '%s', want '%s'", err,
		      bad_netmaps[_i].why);
	ck_assert_ptr_null(out.netmap.peers);
	free(spoiled);
	free(text);
	wm_netmap_free(&in.netmap);
}
END_TEST

START_TEST(too_many_peers)
{
	size_t n = WM_NETMAP_MAX_PEERS + 1, len = 0;
	char *text = malloc(n * 3 + 512), err[WM_COORD_ERR_LEN] = "";
	struct wm_coord_poll_resp out;

	len = (size_t)sprintf(text, "{\"type\":\"netmap\",\"id\":\"00000000000000000000000000000000\","
				    "\"version\":1,\"unchanged\":false,\"self\":{\"id\":1,\"name\":\"a\","
				    "\"ipv4\":\"100.64.0.1\",\"ipv6\":\"::1\",\"key_expiry\":0},"
				    "\"relays\":{\"regions\":[]},\"peers\":[");
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(text + len, "%s{}", i ? "," : "");
	strcpy(text + len, "]}");
	ck_assert_int_eq(wm_coord_poll_resp_parse(&out, text, strlen(text), err, sizeof(err)),
			 -EBADMSG);
	ck_assert_ptr_nonnull(strstr(err, "too many entries"));
	free(text);
}
END_TEST

START_TEST(relay_map_file)
{
	static const char good[] = "{\"regions\":[{\"id\":1,\"code\":\"home\",\"relays\":"
				   "[{\"url\":\"https://r.example/derp\",\"stun\":\"r.example:3478\"}]}]}";
	static const char empty[] = "{\"regions\":[{\"id\":1,\"code\":\"x\",\"relays\":[]}]}";
	struct wm_relay_map rm;
	char err[WM_COORD_ERR_LEN];

	ck_assert_int_eq(wm_coord_relay_map_parse(&rm, good, strlen(good), err, sizeof(err)), 0);
	ck_assert_uint_eq(rm.n_regions, 1);
	ck_assert_str_eq(rm.regions[0].name, "home");	/* defaults to the code */
	ck_assert_uint_eq(rm.regions[0].relays[0].stun_port, 3478);
	wm_relay_map_free(&rm);
	ck_assert_int_eq(wm_coord_relay_map_parse(&rm, empty, strlen(empty), err, sizeof(err)),
			 -EBADMSG);
	ck_assert_ptr_nonnull(strstr(err, "region 0"));
	ck_assert_ptr_null(rm.regions);
}
END_TEST

START_TEST(validators)
{
	ck_assert(wm_coord_hostname_valid("a"));
	ck_assert(!wm_coord_hostname_valid(""));
	ck_assert(!wm_coord_hostname_valid("a b"));
	ck_assert(wm_coord_name_valid("a-1"));
	ck_assert(!wm_coord_name_valid("-a"));
	ck_assert(!wm_coord_name_valid("a-"));
	ck_assert(!wm_coord_name_valid("A"));
	ck_assert(!wm_coord_name_valid("0123456789012345678901234567890123456789012345678901234567890123"));
	ck_assert(wm_coord_label_valid("x y", 3));
	ck_assert(!wm_coord_label_valid("x\ty", 3));
}
END_TEST

/* The DNS suffix: domain names of DNS labels, short enough, not multicast DNS or reverse. */
START_TEST(dns_suffixes)
{
	static const struct {
		const char *suffix, *why;	/* why NULL: allowed */
	} cases[] = {
		{ "mesh.internal", NULL }, { "internal", NULL }, { "a-1.b2.example", NULL },
		{ "localhost.example", NULL }, { "notlocal", NULL },
		{ "", "1-189 characters" },
		{ "Mesh.internal", "\"Mesh\" is not a DNS label" },
		{ "mesh..internal", "\"\" is not a DNS label" },
		{ ".mesh", "\"\" is not a DNS label" },
		{ "mesh.", "\"\" is not a DNS label" },
		{ "-mesh.internal", "\"-mesh\" is not a DNS label" },
		{ "me sh", "\"me sh\" is not a DNS label" },
		{ "local", "multicast DNS" }, { "mesh.local", "multicast DNS" },
		{ "in-addr.arpa", ".arpa" },
		{ "a234567890123456789012345678901234567890123456789012345678901234.x",
		  "longer than 63" },
	};
	char why[160], long_one[WM_NETMAP_DNS_SUFFIX_MAX + 3];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		why[0] = '\0';
		ck_assert_msg(wm_coord_dns_suffix_check(cases[i].suffix, why, sizeof(why)) ==
			      (cases[i].why ? -EINVAL : 0), "%s: %s", cases[i].suffix, why);
		if (cases[i].why)
			ck_assert_msg(strstr(why, cases[i].why), "%s: got '%s', want '%s'",
				      cases[i].suffix, why, cases[i].why);
	}
	/* 189 characters fit (NAME of 63 + '.' + 189 = 253); 190 do not. */
	memset(long_one, 'a', sizeof(long_one));
	for (size_t i = 50; i < WM_NETMAP_DNS_SUFFIX_MAX; i += 51)
		long_one[i] = '.';
	long_one[WM_NETMAP_DNS_SUFFIX_MAX] = '\0';
	ck_assert_int_eq(wm_coord_dns_suffix_check(long_one, why, sizeof(why)), 0);
	long_one[WM_NETMAP_DNS_SUFFIX_MAX] = 'a';
	long_one[WM_NETMAP_DNS_SUFFIX_MAX + 1] = '\0';
	ck_assert_int_eq(wm_coord_dns_suffix_check(long_one, why, sizeof(why)), -EINVAL);
}
END_TEST

START_TEST(rotate_proof)
{
	uint8_t server_pub[WM_KEY_LEN], server_priv[WM_KEY_LEN], new_pub[WM_KEY_LEN],
		new_priv[WM_KEY_LEN], old_pub[WM_KEY_LEN], id[WM_COORD_REQ_ID_LEN],
		proof[WM_COORD_PROOF_LEN];

	crypto_box_keypair(server_pub, server_priv);
	crypto_box_keypair(new_pub, new_priv);
	fill(old_pub, sizeof(old_pub), 6);
	fill(id, sizeof(id), 7);
	ck_assert(wm_coord_rotate_proof_make(proof, new_priv, server_pub, id, old_pub));
	ck_assert(wm_coord_rotate_proof_check(proof, new_pub, server_priv, id, old_pub));
	id[0] ^= 1;	/* another request */
	ck_assert(!wm_coord_rotate_proof_check(proof, new_pub, server_priv, id, old_pub));
	id[0] ^= 1;
	old_pub[0] ^= 1;	/* another node */
	ck_assert(!wm_coord_rotate_proof_check(proof, new_pub, server_priv, id, old_pub));
	old_pub[0] ^= 1;
	proof[40] ^= 1;	/* tampered */
	ck_assert(!wm_coord_rotate_proof_check(proof, new_pub, server_priv, id, old_pub));
}
END_TEST

static Suite *msg_suite(void)
{
	Suite *s = suite_create("coord_msg");
	TCase *tc = tcase_create("roundtrip"), *bad = tcase_create("malformed");

	tcase_add_test(tc, register_roundtrip);
	tcase_add_test(tc, poll_roundtrip);
	tcase_add_test(tc, poll_routes_roundtrip);
	tcase_add_test(tc, rotate_and_logout_roundtrip);
	tcase_add_test(tc, register_response_roundtrip);
	tcase_add_test(tc, netmap_roundtrip);
	tcase_add_test(tc, small_messages_roundtrip);
	tcase_add_test(tc, relay_map_file);
	tcase_add_test(tc, validators);
	tcase_add_test(tc, dns_suffixes);
	tcase_add_test(tc, rotate_proof);
	suite_add_tcase(s, tc);
	tcase_add_loop_test(bad, bad_request, 0, sizeof(bad_requests) / sizeof(bad_requests[0]));
	tcase_add_loop_test(bad, bad_netmap, 0, sizeof(bad_netmaps) / sizeof(bad_netmaps[0]));
	tcase_add_test(bad, oversized_request);
	tcase_add_test(bad, too_many_peers);
	suite_add_tcase(s, bad);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(msg_suite());
	int failures;

	if (sodium_init() < 0)
		return 1;
	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
