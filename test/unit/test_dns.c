/* SPDX-License-Identifier: MIT */
/* The node's DNS answers (daemon/dns.c): queries built and answers read with ldns. */
#include "daemon/dns.h"

#include <arpa/inet.h>
#include <check.h>
#include <stdlib.h>
#include <string.h>

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
	tcase_add_test(tc, odd_queries);
	tcase_add_test(tc, malformed_queries_dropped);
	tcase_add_test(tc, edns);
	tcase_add_test(tc, servfail_and_responses);
	tcase_add_test(tc, resolver_addresses);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
