/* SPDX-License-Identifier: MIT */
/* The node's DNS answers (daemon/dns.c): queries built and answers read with ldns. */
#include "daemon/dns.h"

#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/checksum.h"
#include "daemon/dns_host.h"
#include "daemon/dns_packet.h"

#include <ldns/ldns.h>

static struct wm_netmap nm;
static struct wm_dns_names names;

static void add_peer(const char *name, const char *v4, bool expired)
{
	struct wm_netmap_peer *p = &nm.peers[nm.n_peers++];

	memset(p, 0, sizeof(*p));
	p->id = nm.n_peers + 1;
	strcpy(p->name, name);
	ck_assert_int_eq(inet_pton(AF_INET, v4, &p->ipv4), 1);
	p->ipv6.s6_addr[0] = 0xfd;
	memcpy(&p->ipv6.s6_addr[12], &p->ipv4, 4);
	p->expired = expired;
}

static void setup(void)
{
	memset(&nm, 0, sizeof(nm));
	nm.version = 42;
	strcpy(nm.dns_suffix, "mesh.internal");
	strcpy(nm.self.name, "alpha");
	inet_pton(AF_INET, "100.64.0.1", &nm.self.ipv4);
	inet_pton(AF_INET6, "fd77:6d65:7368::6440:1", &nm.self.ipv6);
	nm.peers = calloc(4, sizeof(*nm.peers));
	add_peer("gamma", "100.64.0.3", false);
	add_peer("beta", "100.64.0.2", false);
	add_peer("old", "100.64.0.9", true);
	ck_assert_int_eq(wm_dns_names_build(&names, &nm), 0);
}

static void teardown(void)
{
	wm_dns_names_free(&names);
	wm_netmap_free(&nm);
}

/* A query for name/type/class as a stub resolver sends it (RD set); edns: with an OPT RR. */
static size_t query(uint8_t *buf, const char *name, ldns_rr_type type, ldns_rr_class cls,
		    bool edns)
{
	ldns_pkt *q = ldns_pkt_query_new(ldns_dname_new_frm_str(name), type, cls, LDNS_RD);
	uint8_t *wire = NULL;
	size_t size = 0;

	ck_assert_ptr_nonnull(q);
	ldns_pkt_set_id(q, 0x1234);
	if (edns)
		ldns_pkt_set_edns_udp_size(q, 4096);
	ck_assert_int_eq(ldns_pkt2wire(&wire, q, &size), LDNS_STATUS_OK);
	memcpy(buf, wire, size);
	free(wire);
	ldns_pkt_free(q);
	return size;
}

/* Answers the query and parses the answer. */
static ldns_pkt *ask(const char *name, ldns_rr_type type)
{
	uint8_t q[512], out[WM_DNS_UDP_MAX];
	size_t len = query(q, name, type, LDNS_RR_CLASS_IN, false), out_len = 0;
	ldns_pkt *r = NULL;

	ck_assert_int_eq(wm_dns_answer(&names, q, len, out, sizeof(out), &out_len, NULL),
			 WM_DNS_ANSWER);
	ck_assert_int_eq(ldns_wire2pkt(&r, out, out_len), LDNS_STATUS_OK);
	ck_assert_uint_eq(ldns_pkt_id(r), 0x1234);
	ck_assert(ldns_pkt_qr(r));
	ck_assert(ldns_pkt_rd(r));
	ck_assert_uint_eq(ldns_pkt_qdcount(r), 1);
	return r;
}

/* The answer section as text: "TYPE value" of each record, space-separated. */
static const char *answers(const ldns_pkt *r)
{
	static char text[512];
	ldns_rr_list *an = ldns_pkt_answer(r);

	text[0] = '\0';
	for (size_t i = 0; an && i < ldns_rr_list_rr_count(an); i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);
		char *v = ldns_rdf2str(ldns_rr_rdf(rr, 0));
		char *t = ldns_rr_type2str(ldns_rr_get_type(rr));

		snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s%s %s",
			 i ? " " : "", t, v);
		ck_assert_uint_eq(ldns_rr_ttl(rr), ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA ?
				  WM_DNS_NEGATIVE_TTL : WM_DNS_TTL);
		free(v);
		free(t);
	}
	return text;
}

/* The authority section holds the suffix's SOA with the negative TTL as its minimum. */
static bool has_soa(const ldns_pkt *r)
{
	ldns_rr_list *ns = ldns_pkt_authority(r);
	ldns_rr *soa;
	char *owner;
	bool ok;

	if (!ns || ldns_rr_list_rr_count(ns) != 1)
		return false;
	soa = ldns_rr_list_rr(ns, 0);
	owner = ldns_rdf2str(ldns_rr_owner(soa));
	ok = ldns_rr_get_type(soa) == LDNS_RR_TYPE_SOA && !strcmp(owner, "mesh.internal.") &&
	     ldns_rdf2native_int32(ldns_rr_rdf(soa, 6)) == WM_DNS_NEGATIVE_TTL &&
	     ldns_rdf2native_int32(ldns_rr_rdf(soa, 2)) == 42;
	free(owner);
	return ok;
}

START_TEST(names_table)
{
	ck_assert_uint_eq(names.n, 3);		/* alpha, beta, gamma; not the expired one */
	ck_assert_str_eq(names.names[0].label, "alpha");
	ck_assert_str_eq(names.names[1].label, "beta");
	ck_assert_str_eq(names.names[2].label, "gamma");
	ck_assert_ptr_nonnull(wm_dns_names_find(&names, "gamma"));
	ck_assert_ptr_null(wm_dns_names_find(&names, "old"));
	ck_assert_ptr_null(wm_dns_names_find(&names, "delta"));
	ck_assert_ptr_null(wm_dns_names_find(&names, ""));
}
END_TEST

START_TEST(addresses_of_nodes)
{
	ldns_pkt *r = ask("beta.mesh.internal.", LDNS_RR_TYPE_A);

	ck_assert_int_eq(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	ck_assert(ldns_pkt_aa(r));
	ck_assert_str_eq(answers(r), "A 100.64.0.2");
	ldns_pkt_free(r);
	r = ask("alpha.mesh.internal.", LDNS_RR_TYPE_AAAA);
	ck_assert_str_eq(answers(r), "AAAA fd77:6d65:7368::6440:1");
	ldns_pkt_free(r);
	r = ask("gamma.mesh.internal.", LDNS_RR_TYPE_ANY);
	ck_assert_str_eq(answers(r), "A 100.64.0.3 AAAA fd00::6440:3");
	ldns_pkt_free(r);
}
END_TEST

/* Names are case-insensitive (RFC 4343); the answer keeps the query's spelling (0x20). */
START_TEST(case_insensitive)
{
	ldns_pkt *r = ask("BeTa.MESH.Internal.", LDNS_RR_TYPE_A);
	char *owner;

	ck_assert_str_eq(answers(r), "A 100.64.0.2");
	owner = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_answer(r), 0)));
	ck_assert_str_eq(owner, "BeTa.MESH.Internal.");
	free(owner);
	ldns_pkt_free(r);
}
END_TEST

START_TEST(unknown_names_fail_at_once)
{
	static const char *const unknown[] = {
		"delta.mesh.internal.", "old.mesh.internal.", "www.beta.mesh.internal.",
		"a.b.c.mesh.internal.",
	};

	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		ldns_pkt *r = ask(unknown[i], LDNS_RR_TYPE_A);

		ck_assert_msg(ldns_pkt_get_rcode(r) == LDNS_RCODE_NXDOMAIN, "%s", unknown[i]);
		ck_assert_uint_eq(ldns_pkt_ancount(r), 0);
		ck_assert_msg(has_soa(r), "%s: no SOA", unknown[i]);
		ldns_pkt_free(r);
	}
}
END_TEST

/* A known name and another type, or the suffix itself: no data (NOERROR, SOA in authority). */
START_TEST(no_data)
{
	ldns_pkt *r = ask("beta.mesh.internal.", LDNS_RR_TYPE_MX);

	ck_assert_int_eq(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	ck_assert_uint_eq(ldns_pkt_ancount(r), 0);
	ck_assert(has_soa(r));
	ldns_pkt_free(r);
	r = ask("mesh.internal.", LDNS_RR_TYPE_A);
	ck_assert_int_eq(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	ck_assert(has_soa(r));
	ldns_pkt_free(r);
	r = ask("mesh.internal.", LDNS_RR_TYPE_SOA);
	ck_assert_uint_eq(ldns_pkt_ancount(r), 1);
	ck_assert_str_eq(answers(r), "SOA ns.mesh.internal.");
	ldns_pkt_free(r);
}
END_TEST

/* PTR for a node's address, IPv4 and IPv6; any other reverse name goes upstream. */
START_TEST(reverse_names)
{
	static const char *const other[] = {
		"9.0.64.100.in-addr.arpa.", "256.0.64.100.in-addr.arpa.", "02.0.64.100.in-addr.arpa.",
		"0.64.100.in-addr.arpa.", "x.2.0.64.100.in-addr.arpa.", "2.0.64.100.in-addr.arpa.x.",
		"2.0.0.0.0.4.4.6.0.0.0.0.0.0.0.0.0.0.0.0.8.6.3.7.5.6.d.6.7.7.d.f.ip6.arpa.",
	};
	uint8_t q[512], out[WM_DNS_UDP_MAX];
	size_t out_len;
	ldns_pkt *r = ask("2.0.64.100.in-addr.arpa.", LDNS_RR_TYPE_PTR);

	ck_assert_int_eq(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
	ck_assert(ldns_pkt_aa(r));
	ck_assert_str_eq(answers(r), "PTR beta.mesh.internal.");
	ldns_pkt_free(r);
	r = ask("1.0.0.0.0.4.4.6.0.0.0.0.0.0.0.0.0.0.0.0.8.6.3.7.5.6.D.6.7.7.D.F.ip6.arpa.",
		LDNS_RR_TYPE_PTR);
	ck_assert_str_eq(answers(r), "PTR alpha.mesh.internal.");
	ldns_pkt_free(r);
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		size_t len = query(q, other[i], LDNS_RR_TYPE_PTR, LDNS_RR_CLASS_IN, false);

		ck_assert_msg(wm_dns_answer(&names, q, len, out, sizeof(out), &out_len, NULL) ==
			      WM_DNS_FORWARD, "%s", other[i]);
	}
	/* Another type for a node's reverse name: upstream too. */
	ck_assert_int_eq(wm_dns_answer(&names, q, query(q, "2.0.64.100.in-addr.arpa.",
							 LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, false),
				       out, sizeof(out), &out_len, NULL), WM_DNS_FORWARD);
}
END_TEST

START_TEST(other_names_are_forwarded)
{
	static const char *const other[] = {
		"www.example.com.", "internal.", "xmesh.internal.", "beta.",
		"beta.mesh.internal.example.",
	};
	uint8_t q[512], out[WM_DNS_UDP_MAX];
	size_t out_len;

	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		size_t len = query(q, other[i], LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, false);

		ck_assert_msg(wm_dns_answer(&names, q, len, out, sizeof(out), &out_len, NULL) ==
			      WM_DNS_FORWARD, "%s", other[i]);
	}
	/* Without a suffix there are no mesh names: everything goes upstream. */
	names.suffix[0] = '\0';
	ck_assert_int_eq(wm_dns_answer(&names, q, query(q, "beta.mesh.internal.", LDNS_RR_TYPE_A,
							 LDNS_RR_CLASS_IN, false),
				       out, sizeof(out), &out_len, NULL), WM_DNS_FORWARD);
}
END_TEST

START_TEST(odd_queries)
{
	uint8_t q[512], out[WM_DNS_UDP_MAX];
	size_t len, out_len = 0;
	ldns_pkt *r = NULL, *p = NULL;
	uint8_t *wire = NULL;
	const char *why;

	/* Another class under the suffix: refused. */
	len = query(q, "beta.mesh.internal.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_CH, false);
	ck_assert_int_eq(wm_dns_answer(&names, q, len, out, sizeof(out), &out_len, NULL),
			 WM_DNS_ANSWER);
	ck_assert_int_eq(ldns_wire2pkt(&r, out, out_len), LDNS_STATUS_OK);
	ck_assert_int_eq(ldns_pkt_get_rcode(r), LDNS_RCODE_REFUSED);
	ldns_pkt_free(r);

	/* Not a QUERY: not implemented. */
	len = query(q, "beta.mesh.internal.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, false);
	ck_assert_int_eq(ldns_wire2pkt(&p, q, len), LDNS_STATUS_OK);
	ldns_pkt_set_opcode(p, LDNS_PACKET_STATUS);
	ck_assert_int_eq(ldns_pkt2wire(&wire, p, &len), LDNS_STATUS_OK);
	ck_assert_int_eq(wm_dns_answer(&names, wire, len, out, sizeof(out), &out_len, NULL),
			 WM_DNS_ANSWER);
	free(wire);
	ck_assert_int_eq(ldns_wire2pkt(&r, out, out_len), LDNS_STATUS_OK);
	ck_assert_int_eq(ldns_pkt_get_rcode(r), LDNS_RCODE_NOTIMPL);
	ldns_pkt_free(r);

	/* Two questions: format error. */
	ldns_pkt_set_opcode(p, LDNS_PACKET_QUERY);
	ck_assert(ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION,
				   ldns_rr_clone(ldns_rr_list_rr(ldns_pkt_question(p), 0))));
	ck_assert_int_eq(ldns_pkt2wire(&wire, p, &len), LDNS_STATUS_OK);
	ck_assert_int_eq(wm_dns_answer(&names, wire, len, out, sizeof(out), &out_len, NULL),
			 WM_DNS_ANSWER);
	free(wire);
	ck_assert_int_eq(ldns_wire2pkt(&r, out, out_len), LDNS_STATUS_OK);
	ck_assert_int_eq(ldns_pkt_get_rcode(r), LDNS_RCODE_FORMERR);
	ldns_pkt_free(r);

	/* A response is never answered. */
	ldns_pkt_free(p);
	len = query(q, "beta.mesh.internal.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, false);
	q[2] |= 0x80;	/* QR */
	ck_assert_int_eq(wm_dns_answer(&names, q, len, out, sizeof(out), &out_len, &why),
			 WM_DNS_DROP);
	ck_assert_str_eq(why, "a response, not a query");
}
END_TEST

/* Whatever the bytes, a drop or an answer, never a crash (the fuzz target goes further). */
START_TEST(malformed_queries_dropped)
{
	uint8_t q[512], out[WM_DNS_UDP_MAX];
	size_t len = query(q, "beta.mesh.internal.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, false);
	size_t out_len;
	const char *why;

	for (size_t cut = 0; cut < len; cut++) {
		ck_assert_int_eq(wm_dns_answer(&names, q, cut, out, sizeof(out), &out_len, &why),
				 WM_DNS_DROP);
		ck_assert_str_eq(why, "malformed");
	}
	srand(7);
	for (int round = 0; round < 20000; round++) {
		size_t n = (size_t)rand() % sizeof(q);

		for (size_t i = 0; i < n; i++)
			q[i] = (uint8_t)rand();
		if (round & 1)	/* a plausible header: one question, QR clear */
			q[2] = 1, q[4] = 0, q[5] = 1;
		wm_dns_answer(&names, q, n, out, sizeof(out), &out_len, &why);
	}
	/* Two additional records (here two TSIGs, which libldns would leak one of): refused
	 * before ldns reads them, as is SERVFAIL for such a query. */
	len = query(q, "beta.mesh.internal.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, false);
	for (int k = 0; k < 2; k++) {
		static const uint8_t tsig[] = { 0, 0, 250, 0, 255, 0, 0, 0, 0, 0, 0 };

		memcpy(q + len, tsig, sizeof(tsig));
		len += sizeof(tsig);
	}
	q[10] = 0;
	q[11] = 2;
	ck_assert_int_eq(wm_dns_answer(&names, q, len, out, sizeof(out), &out_len, &why),
			 WM_DNS_DROP);
	ck_assert_str_eq(why, "more than one additional record");
	ck_assert(!wm_dns_servfail(q, len, out, sizeof(out), &out_len));
}
END_TEST

/* EDNS is answered with EDNS; the size offered bounds the answer. */
START_TEST(edns)
{
	uint8_t q[512], out[WM_DNS_UDP_MAX];
	size_t len = query(q, "beta.mesh.internal.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, true);
	size_t out_len;
	ldns_pkt *r = NULL;

	ck_assert_int_eq(wm_dns_answer(&names, q, len, out, sizeof(out), &out_len, NULL),
			 WM_DNS_ANSWER);
	ck_assert_int_eq(ldns_wire2pkt(&r, out, out_len), LDNS_STATUS_OK);
	ck_assert(ldns_pkt_edns(r));
	ck_assert_uint_eq(ldns_pkt_edns_udp_size(r), WM_DNS_UDP_MAX);
	ldns_pkt_free(r);
}
END_TEST

START_TEST(servfail_and_responses)
{
	uint8_t q[512], out[WM_DNS_UDP_MAX];
	size_t len = query(q, "www.example.com.", LDNS_RR_TYPE_AAAA, LDNS_RR_CLASS_IN, false);
	size_t out_len = 0;
	ldns_pkt *r = NULL;

	ck_assert(!wm_dns_is_response(q, len, 0x1234));		/* a query */
	ck_assert(wm_dns_servfail(q, len, out, sizeof(out), &out_len));
	ck_assert(wm_dns_is_response(out, out_len, 0x1234));
	ck_assert(!wm_dns_is_response(out, out_len, 0x1235));
	ck_assert(!wm_dns_is_response(out, 5, 0x1234));
	ck_assert_int_eq(ldns_wire2pkt(&r, out, out_len), LDNS_STATUS_OK);
	ck_assert_int_eq(ldns_pkt_get_rcode(r), LDNS_RCODE_SERVFAIL);
	ck_assert_uint_eq(ldns_pkt_qdcount(r), 1);
	ldns_pkt_free(r);
	ck_assert(!wm_dns_servfail(q, 5, out, sizeof(out), &out_len));
}
END_TEST

/* The resolver's IPv6 address is inside the mesh's /48 and no node's address. */
START_TEST(resolver_addresses)
{
	static const uint8_t v6[16] = WM_DNS_ADDR6, ula[6] = WM_NETMAP_ULA_PREFIX;
	static const uint8_t v4[4] = WM_DNS_ADDR4;
	char text[INET6_ADDRSTRLEN];

	ck_assert_str_eq(inet_ntop(AF_INET6, v6, text, sizeof(text)), "fd77:6d65:7368::53");
	ck_assert_str_eq(inet_ntop(AF_INET, v4, text, sizeof(text)), "100.100.100.100");
	ck_assert_mem_eq(v6, ula, sizeof(ula));
	/* Nodes' IPv6 addresses end in their 100.64.0.0/10 address: 0.0.0.83 is not one. */
	ck_assert_uint_ne(v6[12] & 0xc0, 0x40);
}
END_TEST

/* --- the packets around queries and answers ---------------------------------------------- */

/* An IPv4 (v6 false) or IPv6 UDP packet from the host to the resolver's dport with payload. */
static size_t udp_packet(uint8_t *pkt, bool v6, uint16_t dport, const uint8_t *payload,
			 size_t n)
{
	static const uint8_t r4[4] = WM_DNS_ADDR4, r6[16] = WM_DNS_ADDR6;
	size_t ip = v6 ? 40 : 20;

	memset(pkt, 0, ip + 8);
	if (v6) {
		pkt[0] = 0x60;
		pkt[4] = (uint8_t)((8 + n) >> 8), pkt[5] = (uint8_t)(8 + n);
		pkt[6] = 17, pkt[7] = 64;
		inet_pton(AF_INET6, "fd77:6d65:7368::6440:1", pkt + 8);
		memcpy(pkt + 24, r6, 16);
	} else {
		pkt[0] = 0x45;
		pkt[2] = (uint8_t)((ip + 8 + n) >> 8), pkt[3] = (uint8_t)(ip + 8 + n);
		pkt[8] = 64, pkt[9] = 17;
		inet_pton(AF_INET, "100.64.0.1", pkt + 12);
		memcpy(pkt + 16, r4, 4);
	}
	pkt[ip] = 0xc3, pkt[ip + 1] = 0x50;		/* source port 50000 */
	pkt[ip + 2] = (uint8_t)(dport >> 8), pkt[ip + 3] = (uint8_t)dport;
	pkt[ip + 4] = (uint8_t)((8 + n) >> 8), pkt[ip + 5] = (uint8_t)(8 + n);
	memcpy(pkt + ip + 8, payload, n);
	return ip + 8 + n;
}

static void check_reply(bool v6)
{
	uint8_t q[512], pkt[1024], out[1024], msg[WM_DNS_UDP_MAX];
	size_t qlen = query(q, "beta.mesh.internal.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, false);
	size_t len = udp_packet(pkt, v6, 53, q, qlen), ip = v6 ? 40 : 20, mlen, n;
	const uint8_t *inner;
	struct wm_pkt p, back;

	ck_assert(wm_dns_packet_is_for_resolver(pkt, len));
	ck_assert(wm_dns_packet_query(pkt, len, &p, &inner, &n));
	ck_assert_uint_eq(n, qlen);
	ck_assert_mem_eq(inner, q, qlen);
	ck_assert_int_eq(wm_dns_answer(&names, inner, n, msg, sizeof(msg), &mlen, NULL),
			 WM_DNS_ANSWER);
	n = wm_dns_packet_reply(&p, msg, mlen, out, sizeof(out));
	ck_assert_uint_eq(n, ip + 8 + mlen);
	ck_assert(wm_pkt_parse(&back, out, n, false));
	ck_assert_uint_eq(back.proto, 17);
	ck_assert_uint_eq(back.sport, 53);
	ck_assert_uint_eq(back.dport, 50000);
	ck_assert_mem_eq(back.src, p.dst, v6 ? 16 : 4);
	ck_assert_mem_eq(back.dst, p.src, v6 ? 16 : 4);
	ck_assert(!wm_dns_packet_is_for_resolver(out, n));
	if (!v6)
		ck_assert_uint_eq(wm_checksum_sum(out, 20), 0xffff);
	ck_assert_uint_eq(wm_checksum_fold((uint64_t)wm_checksum_pseudo(back.src, back.dst,
					   v6 ? 16 : 4, 17, 8 + mlen) +
					   wm_checksum_sum(out + ip, 8 + mlen)), 0xffff);
	ck_assert_mem_eq(out + ip + 8, msg, mlen);
	ck_assert_uint_eq(wm_dns_packet_reply(&p, msg, mlen, out, ip + 8 + mlen - 1), 0);
}

START_TEST(packets_v4_and_v6)
{
	check_reply(false);
	check_reply(true);
}
END_TEST

START_TEST(packets_not_queries)
{
	uint8_t q[64] = { 0 }, pkt[256];
	const uint8_t *inner;
	struct wm_pkt p;
	size_t n, len;

	len = udp_packet(pkt, false, 54, q, 20);		/* another port */
	ck_assert(wm_dns_packet_is_for_resolver(pkt, len));
	ck_assert(!wm_dns_packet_query(pkt, len, &p, &inner, &n));
	len = udp_packet(pkt, false, 53, q, 20);
	pkt[9] = 6;						/* TCP */
	ck_assert(!wm_dns_packet_query(pkt, len, &p, &inner, &n));
	len = udp_packet(pkt, true, 53, q, 20);
	pkt[40 + 5] = 200;					/* UDP length past the end */
	ck_assert(!wm_dns_packet_query(pkt, len, &p, &inner, &n));
	len = udp_packet(pkt, false, 53, q, 20);
	pkt[16] = 100, pkt[17] = 64;				/* another destination */
	ck_assert(!wm_dns_packet_is_for_resolver(pkt, len));
	ck_assert(!wm_dns_packet_is_for_resolver(pkt, 19));
}
END_TEST

/* --- the host's resolv.conf -------------------------------------------------------------- */

static const char resolv_conf[] =
	"# from DHCP\n"
	"nameserver 192.0.2.53\n"
	"nameserver 100.100.100.100\n"
	"  nameserver\tfe80::1%eth0  \n"
	"nameserver junk\n"
	"#nameserver 198.51.100.1\n"
	"search corp.example lab.example\n"
	"options edns0 timeout:2\n"
	"nameserver 2001:db8::53\n"
	"nameserver 203.0.113.53\n";

START_TEST(host_nameservers)
{
	struct wm_endpoint eps[WM_DNS_MAX_UPSTREAMS];
	char text[WM_ENDPOINT_STR_LEN];
	size_t n = wm_dns_host_nameservers(resolv_conf, strlen(resolv_conf), eps,
					   WM_DNS_MAX_UPSTREAMS);

	ck_assert_uint_eq(n, 3);	/* the resolver itself skipped, the fourth one past MAXNS */
	wm_endpoint_format(&eps[0], text);
	ck_assert_str_eq(text, "192.0.2.53:53");
	wm_endpoint_format(&eps[1], text);
	ck_assert_str_eq(text, "[fe80::1]:53");
	wm_endpoint_format(&eps[2], text);
	ck_assert_str_eq(text, "[2001:db8::53]:53");
	ck_assert_uint_eq(wm_dns_host_nameservers("", 0, eps, 3), 0);
	ck_assert_uint_eq(wm_dns_host_nameservers("nameserver 192.0.2.1", 14, eps, 3), 0);
}
END_TEST

START_TEST(host_resolv_conf_text)
{
	char *text = wm_dns_host_resolv_conf(resolv_conf, "mesh.internal", "wm0");

	ck_assert_ptr_nonnull(text);
	ck_assert_msg(!strncmp(text, "# Written by wiremesh", 21), "%s", text);
	ck_assert_ptr_nonnull(strstr(text, "\nnameserver 100.100.100.100\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nsearch mesh.internal corp.example lab.example\n"));
	ck_assert_ptr_nonnull(strstr(text, "\noptions edns0 timeout:2\n"));
	ck_assert_ptr_null(strstr(text, "192.0.2.53"));
	free(text);
	text = wm_dns_host_resolv_conf("", "mesh.internal", "wm0");
	ck_assert_ptr_nonnull(strstr(text, "\nsearch mesh.internal\n"));
	free(text);
}
END_TEST

static char *slurp(const char *path)
{
	static char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void spit(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

/* --accept-dns without systemd-resolved: rewritten, then put back byte for byte. */
START_TEST(host_rewrites_and_restores)
{
	char dir[] = "/tmp/wm-dns-XXXXXX", conf[64], backup[96], cmd[96], none[64];
	struct wm_dns_host_paths paths = { conf, none };
	struct wm_dns_host h;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(conf, sizeof(conf), "%s/resolv.conf", dir);
	snprintf(none, sizeof(none), "%s/no-resolved", dir);	/* systemd-resolved is not there */
	snprintf(backup, sizeof(backup), "%s/resolv.conf.orig", dir);
	spit(conf, resolv_conf);

	/* Without --accept-dns (and no resolved): nothing is touched. */
	ck_assert_int_eq(wm_dns_host_start(&h, WM_DNS_ACCEPT_AUTO, "wm0", dir, &paths), 0);
	ck_assert_int_eq(h.mode, WM_DNS_HOST_UNTOUCHED);
	ck_assert_uint_eq(h.n_upstreams, 3);
	wm_dns_host_apply(&h, "mesh.internal");
	wm_dns_host_stop(&h);
	ck_assert_str_eq(slurp(conf), resolv_conf);
	ck_assert_int_ne(access(backup, F_OK), 0);

	ck_assert_int_eq(wm_dns_host_start(&h, WM_DNS_ACCEPT_YES, "wm0", dir, &paths), 0);
	ck_assert_int_eq(h.mode, WM_DNS_HOST_RESOLV_CONF);
	wm_dns_host_apply(&h, "mesh.internal");
	ck_assert_ptr_nonnull(strstr(slurp(conf), "search mesh.internal corp.example"));
	ck_assert_str_eq(slurp(backup), resolv_conf);
	wm_dns_host_apply(&h, "other.example");		/* the suffix changed */
	ck_assert_ptr_nonnull(strstr(slurp(conf), "search other.example corp.example"));
	ck_assert_str_eq(slurp(backup), resolv_conf);

	/* A node that died: the next one takes its upstreams from the copy. */
	{
		struct wm_dns_host again;

		ck_assert_int_eq(wm_dns_host_start(&again, WM_DNS_ACCEPT_YES, "wm0", dir, &paths), 0);
		ck_assert_uint_eq(again.n_upstreams, 3);
		ck_assert_str_eq(again.original, resolv_conf);
		wm_dns_host_stop(&again);	/* never applied: changes nothing */
	}
	wm_dns_host_stop(&h);
	ck_assert_str_eq(slurp(conf), resolv_conf);
	ck_assert_int_ne(access(backup, F_OK), 0);

	/* Changed by someone else meanwhile: left as it is, the copy kept. */
	ck_assert_int_eq(wm_dns_host_start(&h, WM_DNS_ACCEPT_YES, "wm0", dir, &paths), 0);
	wm_dns_host_apply(&h, "mesh.internal");
	spit(conf, "nameserver 198.51.100.7\n");
	wm_dns_host_stop(&h);
	ck_assert_str_eq(slurp(conf), "nameserver 198.51.100.7\n");
	ck_assert_str_eq(slurp(backup), resolv_conf);

	/* --accept-dns=false: nothing, whatever the file says. */
	ck_assert_int_eq(wm_dns_host_start(&h, WM_DNS_ACCEPT_NO, "wm0", dir, &paths), 0);
	ck_assert_int_eq(h.mode, WM_DNS_HOST_UNTOUCHED);
	wm_dns_host_stop(&h);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/*
 * With systemd-resolved (its directory, resolvectl on PATH, the stub in resolv.conf): the
 * interface's settings through resolvectl, reverted on stop, resolv.conf untouched. A stand-in
 * resolvectl records its arguments; the real one is not run here.
 */
START_TEST(host_with_resolved)
{
	char dir[] = "/tmp/wm-dns-XXXXXX", conf[64], rdir[64], bin[64], script[96], log[96];
	char path[1200], cmd[96], *old_path = getenv("PATH");
	struct wm_dns_host_paths paths = { conf, rdir };
	struct wm_dns_host h;
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(conf, sizeof(conf), "%s/resolv.conf", dir);
	snprintf(rdir, sizeof(rdir), "%s/resolve", dir);
	snprintf(bin, sizeof(bin), "%s/bin", dir);
	snprintf(script, sizeof(script), "%s/resolvectl", bin);
	snprintf(log, sizeof(log), "%s/calls", dir);
	ck_assert_int_eq(mkdir(rdir, 0755), 0);
	ck_assert_int_eq(mkdir(bin, 0755), 0);
	f = fopen(script, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "#!/bin/sh\necho \"$*\" >>'%s'\n", log);
	fclose(f);
	ck_assert_int_eq(chmod(script, 0755), 0);
	snprintf(path, sizeof(path), "%s:%s", bin, old_path ? old_path : "/usr/bin:/bin");
	spit(conf, "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n");

	setenv("PATH", path, 1);
	ck_assert_int_eq(wm_dns_host_start(&h, WM_DNS_ACCEPT_AUTO, "wm0", dir, &paths), 0);
	ck_assert_int_eq(h.mode, WM_DNS_HOST_RESOLVED);
	ck_assert_uint_eq(h.n_upstreams, 1);		/* resolved's stub answers the rest */
	wm_dns_host_apply(&h, "mesh.internal");
	wm_dns_host_apply(&h, "mesh.internal");		/* unchanged: nothing more */
	wm_dns_host_stop(&h);
	ck_assert_str_eq(slurp(log), "dns wm0 100.100.100.100 fd77:6d65:7368::53\n"
				     "domain wm0 mesh.internal ~mesh.internal\n"
				     "default-route wm0 false\n"
				     "revert wm0\n");
	ck_assert_str_eq(slurp(conf), "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n");
	ck_assert_ptr_nonnull(strstr(h.note, "systemd-resolved"));

	/* --accept-dns=false: not even resolved's per-link settings. */
	unlink(log);
	ck_assert_int_eq(wm_dns_host_start(&h, WM_DNS_ACCEPT_NO, "wm0", dir, &paths), 0);
	ck_assert_int_eq(h.mode, WM_DNS_HOST_UNTOUCHED);
	wm_dns_host_apply(&h, "mesh.internal");
	wm_dns_host_stop(&h);
	ck_assert_int_ne(access(log, F_OK), 0);

	/* The stub is not the host's resolver: resolved is not in use. */
	spit(conf, "nameserver 192.0.2.53\n");
	ck_assert_int_eq(wm_dns_host_start(&h, WM_DNS_ACCEPT_AUTO, "wm0", dir, &paths), 0);
	ck_assert_int_eq(h.mode, WM_DNS_HOST_UNTOUCHED);
	wm_dns_host_stop(&h);
	setenv("PATH", old_path ? old_path : "/usr/bin:/bin", 1);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dns");
	TCase *tc = tcase_create("answers");
	SRunner *sr;
	int failures;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, names_table);
	tcase_add_test(tc, addresses_of_nodes);
	tcase_add_test(tc, case_insensitive);
	tcase_add_test(tc, unknown_names_fail_at_once);
	tcase_add_test(tc, no_data);
	tcase_add_test(tc, other_names_are_forwarded);
	tcase_add_test(tc, reverse_names);
	tcase_add_test(tc, odd_queries);
	tcase_add_test(tc, malformed_queries_dropped);
	tcase_add_test(tc, edns);
	tcase_add_test(tc, servfail_and_responses);
	tcase_add_test(tc, resolver_addresses);
	tcase_add_test(tc, packets_v4_and_v6);
	tcase_add_test(tc, packets_not_queries);
	tcase_add_test(tc, host_nameservers);
	tcase_add_test(tc, host_resolv_conf_text);
	tcase_add_test(tc, host_rewrites_and_restores);
	tcase_add_test(tc, host_with_resolved);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
