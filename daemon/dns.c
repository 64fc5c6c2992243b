/* SPDX-License-Identifier: MIT */
#include "daemon/dns.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

/* --- the names ------------------------------------------------------------------------- */

static int compare_names(const void *a, const void *b)
{
	return strcmp(((const struct wm_dns_name *)a)->label, ((const struct wm_dns_name *)b)->label);
}

int wm_dns_names_build(struct wm_dns_names *t, const struct wm_netmap *nm)
{
	size_t i;

	memset(t, 0, sizeof(*t));
	snprintf(t->suffix, sizeof(t->suffix), "%s", nm->dns_suffix);
	t->serial = (uint32_t)nm->version;
	t->names = calloc(nm->n_peers + 1, sizeof(*t->names));
	if (!t->names)
		return -ENOMEM;
	if (nm->self.name[0]) {
		snprintf(t->names[t->n].label, sizeof(t->names[t->n].label), "%s", nm->self.name);
		t->names[t->n].ipv4 = nm->self.ipv4;
		t->names[t->n++].ipv6 = nm->self.ipv6;
	}
	for (i = 0; i < nm->n_peers; i++) {
		const struct wm_netmap_peer *p = &nm->peers[i];

		if (p->expired || !p->name[0])
			continue;
		snprintf(t->names[t->n].label, sizeof(t->names[t->n].label), "%s", p->name);
		t->names[t->n].ipv4 = p->ipv4;
		t->names[t->n++].ipv6 = p->ipv6;
	}
	qsort(t->names, t->n, sizeof(*t->names), compare_names);
	return 0;
}

void wm_dns_names_free(struct wm_dns_names *t)
{
	free(t->names);
	memset(t, 0, sizeof(*t));
}

const struct wm_dns_name *wm_dns_names_find(const struct wm_dns_names *t, const char *label)
{
	struct wm_dns_name key;

	if (strlen(label) >= sizeof(key.label) || !t->n)
		return NULL;
	strcpy(key.label, label);
	return bsearch(&key, t->names, t->n, sizeof(*t->names), compare_names);
}

/* --- answers ---------------------------------------------------------------------------- */

static ldns_rdf *suffix_dname(const struct wm_dns_names *t)
{
	char text[WM_NETMAP_DNS_SUFFIX_MAX + 2];

	snprintf(text, sizeof(text), "%s.", t->suffix);
	return ldns_dname_new_frm_str(text);
}

/* The query's first label, lowercased, if it is a plain DNS label (else ""). */
static void first_label(const ldns_rdf *owner, char out[WM_NETMAP_NAME_MAX + 1])
{
	ldns_rdf *label = ldns_dname_label(owner, 0);
	const uint8_t *d;
	size_t n;

	out[0] = '\0';
	if (!label)
		return;
	d = ldns_rdf_data(label);
	n = ldns_rdf_size(label) ? d[0] : 0;
	if (n && n <= WM_NETMAP_NAME_MAX && n + 1 <= ldns_rdf_size(label)) {
		for (size_t i = 0; i < n; i++) {
			uint8_t c = d[1 + i];

			if (c >= 'A' && c <= 'Z')
				c = (uint8_t)(c - 'A' + 'a');
			/* A NUL or a dot inside a label never names a node. */
			if (!c || c == '.') {
				n = 0;
				break;
			}
			out[i] = (char)c;
		}
		out[n] = '\0';
	}
	ldns_rdf_deep_free(label);
}

static bool push_rr(ldns_pkt *r, ldns_pkt_section section, const ldns_rdf *owner,
		    ldns_rr_type type, uint32_t ttl, ldns_rdf *rdata[], size_t n)
{
	ldns_rr *rr = ldns_rr_new();
	ldns_rdf *name = ldns_rdf_clone(owner);
	bool ok = rr && name;

	if (rr) {
		ldns_rr_set_owner(rr, name);
		ldns_rr_set_type(rr, type);
		ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
		ldns_rr_set_ttl(rr, ttl);
	} else {
		ldns_rdf_deep_free(name);
	}
	for (size_t i = 0; i < n; i++) {
		if (ok && rdata[i] && ldns_rr_push_rdf(rr, rdata[i]))
			continue;
		ok = false;
		ldns_rdf_deep_free(rdata[i]);
	}
	if (ok && ldns_pkt_push_rr(r, section, rr))
		return true;
	ldns_rr_free(rr);
	return false;
}

static bool push_address(ldns_pkt *r, const ldns_rdf *owner, const struct wm_dns_name *n,
			 bool v6)
{
	ldns_rdf *rd = v6 ? ldns_rdf_new_frm_data(LDNS_RDF_TYPE_AAAA, 16, n->ipv6.s6_addr) :
			    ldns_rdf_new_frm_data(LDNS_RDF_TYPE_A, 4, &n->ipv4);

	return push_rr(r, LDNS_SECTION_ANSWER, owner, v6 ? LDNS_RR_TYPE_AAAA : LDNS_RR_TYPE_A,
		       WM_DNS_TTL, &rd, 1);
}

/* The suffix's SOA (RFC 2308: a negative answer carries it, its minimum the negative TTL). */
static bool push_soa(ldns_pkt *r, const struct wm_dns_names *t, const ldns_rdf *apex,
		     ldns_pkt_section section)
{
	char mname[WM_NETMAP_DNS_SUFFIX_MAX + 16], rname[WM_NETMAP_DNS_SUFFIX_MAX + 16];
	ldns_rdf *rd[7];

	snprintf(mname, sizeof(mname), "ns.%s.", t->suffix);
	snprintf(rname, sizeof(rname), "hostmaster.%s.", t->suffix);
	rd[0] = ldns_dname_new_frm_str(mname);
	rd[1] = ldns_dname_new_frm_str(rname);
	rd[2] = ldns_native2rdf_int32(LDNS_RDF_TYPE_INT32, t->serial);
	rd[3] = ldns_native2rdf_int32(LDNS_RDF_TYPE_PERIOD, 3600);	/* refresh */
	rd[4] = ldns_native2rdf_int32(LDNS_RDF_TYPE_PERIOD, 600);	/* retry */
	rd[5] = ldns_native2rdf_int32(LDNS_RDF_TYPE_PERIOD, 86400);	/* expire */
	rd[6] = ldns_native2rdf_int32(LDNS_RDF_TYPE_PERIOD, WM_DNS_NEGATIVE_TTL);
	return push_rr(r, section, apex, LDNS_RR_TYPE_SOA, WM_DNS_NEGATIVE_TTL, rd, 7);
}

/* The answer's frame: the query's id, question and recursion wish; authoritative. */
static ldns_pkt *answer_frame(const ldns_pkt *q, ldns_pkt_rcode rcode)
{
	ldns_pkt *r = ldns_pkt_new();
	ldns_rr_list *question = ldns_pkt_question(q);

	if (!r)
		return NULL;
	ldns_pkt_set_id(r, ldns_pkt_id(q));
	ldns_pkt_set_qr(r, true);
	ldns_pkt_set_opcode(r, ldns_pkt_get_opcode(q));
	ldns_pkt_set_rd(r, ldns_pkt_rd(q));
	ldns_pkt_set_ra(r, true);
	ldns_pkt_set_cd(r, ldns_pkt_cd(q));
	ldns_pkt_set_rcode(r, (uint8_t)rcode);
	if (question && ldns_rr_list_rr_count(question) == 1) {
		ldns_rr *copy = ldns_rr_clone(ldns_rr_list_rr(question, 0));

		if (!copy || !ldns_pkt_push_rr(r, LDNS_SECTION_QUESTION, copy)) {
			ldns_rr_free(copy);
			ldns_pkt_free(r);
			return NULL;
		}
	}
	/* RFC 6891 6.1.1: answer EDNS with EDNS. */
	if (ldns_pkt_edns(q))
		ldns_pkt_set_edns_udp_size(r, WM_DNS_UDP_MAX);
	return r;
}

/* The client's limit: 512 bytes, or its EDNS size within [512, WM_DNS_UDP_MAX]. */
static size_t udp_limit(const ldns_pkt *q)
{
	size_t size = ldns_pkt_edns(q) ? ldns_pkt_edns_udp_size(q) : 0;

	return size < WM_DNS_UDP_MIN ? WM_DNS_UDP_MIN : size > WM_DNS_UDP_MAX ? WM_DNS_UDP_MAX : size;
}

/* r to wire format in out; an answer over limit goes as its frame with TC set (RFC 2181 9). */
static bool to_wire(ldns_pkt *r, const ldns_pkt *q, uint8_t *out, size_t cap, size_t *out_len)
{
	size_t limit = udp_limit(q), size = 0;
	uint8_t *wire = NULL;

	if (limit > cap)
		limit = cap;
	if (ldns_pkt2wire(&wire, r, &size) != LDNS_STATUS_OK) {
		free(wire);
		return false;
	}
	if (size > limit) {
		ldns_pkt *tc = answer_frame(q, ldns_pkt_get_rcode(r));

		free(wire);
		wire = NULL;
		if (!tc)
			return false;
		ldns_pkt_set_tc(tc, true);
		if (ldns_pkt2wire(&wire, tc, &size) != LDNS_STATUS_OK || size > limit) {
			ldns_pkt_free(tc);
			free(wire);
			return false;
		}
		ldns_pkt_free(tc);
	}
	memcpy(out, wire, size);
	*out_len = size;
	free(wire);
	return true;
}

/* The answer to a question about owner, a name under the suffix (or the suffix itself). */
static ldns_pkt *answer_mesh_name(const struct wm_dns_names *t, const ldns_pkt *q,
				  const ldns_rr *question, const ldns_rdf *apex, bool is_apex)
{
	const ldns_rdf *owner = ldns_rr_owner(question);
	ldns_rr_type type = ldns_rr_get_type(question);
	const struct wm_dns_name *node = NULL;
	char label[WM_NETMAP_NAME_MAX + 1];
	bool ok = true, any = type == LDNS_RR_TYPE_ANY;
	ldns_pkt *r;

	if (!is_apex && ldns_dname_label_count(owner) == ldns_dname_label_count(apex) + 1) {
		first_label(owner, label);
		node = wm_dns_names_find(t, label);
	}
	r = answer_frame(q, is_apex || node ? LDNS_RCODE_NOERROR : LDNS_RCODE_NXDOMAIN);
	if (!r)
		return NULL;
	ldns_pkt_set_aa(r, true);
	if (node && (type == LDNS_RR_TYPE_A || any))
		ok = push_address(r, owner, node, false);
	if (node && ok && (type == LDNS_RR_TYPE_AAAA || any))
		ok = push_address(r, owner, node, true);
	if (ok && is_apex && (type == LDNS_RR_TYPE_SOA || any))
		ok = push_soa(r, t, apex, LDNS_SECTION_ANSWER);
	else if (ok && !ldns_pkt_ancount(r))	/* NXDOMAIN or no data: say how long to cache */
		ok = push_soa(r, t, apex, LDNS_SECTION_AUTHORITY);
	if (!ok) {
		ldns_pkt_free(r);
		return NULL;
	}
	return r;
}

/* --- reverse names --------------------------------------------------------------------- */

/* A label of 1-3 decimal digits without a leading zero, at most 255. */
static bool octet_label(const char *s, uint8_t *out)
{
	size_t n = strlen(s);

	if (!n || n > 3 || strspn(s, "0123456789") != n || (n > 1 && s[0] == '0') ||
	    strtoul(s, NULL, 10) > 255)
		return false;
	*out = (uint8_t)strtoul(s, NULL, 10);
	return true;
}

/*
 * The address a reverse name spells (RFC 1035 3.5: "d.c.b.a.in-addr.arpa.", RFC 3596 2.5:
 * 32 nibbles under "ip6.arpa."): AF_INET or AF_INET6 with addr filled, or 0.
 */
static int reverse_address(const ldns_rdf *owner, uint8_t addr[16])
{
	char *text = ldns_rdf2str(owner), *label[35], *save = NULL, *tok;
	size_t n = 0, i;
	int family = 0;

	if (!text)
		return 0;
	for (char *p = text; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	for (tok = strtok_r(text, ".", &save); tok && n < 35; tok = strtok_r(NULL, ".", &save))
		label[n++] = tok;
	memset(addr, 0, 16);
	if (n == 6 && !strcmp(label[4], "in-addr") && !strcmp(label[5], "arpa")) {
		for (i = 0; i < 4 && octet_label(label[i], &addr[3 - i]); i++)
			;
		family = i == 4 ? AF_INET : 0;
	} else if (n == 34 && !strcmp(label[32], "ip6") && !strcmp(label[33], "arpa")) {
		for (i = 0; i < 32; i++) {
			const char *hex = "0123456789abcdef", *at = strchr(hex, label[i][0]);

			if (!at || !label[i][0] || label[i][1])
				break;
			addr[15 - i / 2] |= (uint8_t)((at - hex) << (i % 2 ? 4 : 0));
		}
		family = i == 32 ? AF_INET6 : 0;
	}
	free(text);
	return family;
}

static const struct wm_dns_name *node_with_address(const struct wm_dns_names *t, int family,
						    const uint8_t addr[16])
{
	for (size_t i = 0; i < t->n; i++)
		if (family == AF_INET ? !memcmp(&t->names[i].ipv4, addr, 4) :
		    !memcmp(t->names[i].ipv6.s6_addr, addr, 16))
			return &t->names[i];
	return NULL;
}

/* PTR for a node's address: NAME.SUFFIX. NULL when the name is not a node's reverse name. */
static ldns_pkt *answer_reverse(const struct wm_dns_names *t, const ldns_pkt *q,
				const ldns_rr *question, bool *failed)
{
	const ldns_rdf *owner = ldns_rr_owner(question);
	ldns_rr_type type = ldns_rr_get_type(question);
	char fqdn[WM_NETMAP_NAME_MAX + WM_NETMAP_DNS_SUFFIX_MAX + 3];
	const struct wm_dns_name *node;
	uint8_t addr[16];
	ldns_rdf *target;
	ldns_pkt *r;
	int family;

	*failed = false;
	if ((type != LDNS_RR_TYPE_PTR && type != LDNS_RR_TYPE_ANY) ||
	    ldns_rr_get_class(question) != LDNS_RR_CLASS_IN ||
	    !(family = reverse_address(owner, addr)) ||
	    !(node = node_with_address(t, family, addr)))
		return NULL;
	snprintf(fqdn, sizeof(fqdn), "%s.%s.", node->label, t->suffix);
	target = ldns_dname_new_frm_str(fqdn);
	r = answer_frame(q, LDNS_RCODE_NOERROR);
	if (!r || !target || !push_rr(r, LDNS_SECTION_ANSWER, owner, LDNS_RR_TYPE_PTR, WM_DNS_TTL,
				      &target, 1)) {
		if (!r)
			ldns_rdf_deep_free(target);
		ldns_pkt_free(r);
		*failed = true;
		return NULL;
	}
	ldns_pkt_set_aa(r, true);
	return r;
}

static enum wm_dns_verdict drop(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return WM_DNS_DROP;
}

static enum wm_dns_verdict send_frame(const ldns_pkt *q, ldns_pkt_rcode rcode, uint8_t *out,
				      size_t cap, size_t *out_len, const char **why)
{
	ldns_pkt *r = answer_frame(q, rcode);
	bool ok = r && to_wire(r, q, out, cap, out_len);

	ldns_pkt_free(r);
	return ok ? WM_DNS_ANSWER : drop(why, "out of memory");
}

/* Decides for a parsed query. */
static enum wm_dns_verdict decide(const struct wm_dns_names *t, const ldns_pkt *q, uint8_t *out,
				  size_t cap, size_t *out_len, const char **why)
{
	ldns_rr_list *questions = ldns_pkt_question(q);
	const ldns_rr *question;
	const ldns_rdf *owner;
	ldns_rdf *apex;
	ldns_pkt *r;
	bool is_apex, ok, failed;

	if (ldns_pkt_qr(q))
		return drop(why, "a response, not a query");
	if (ldns_pkt_get_opcode(q) != LDNS_PACKET_QUERY)
		return send_frame(q, LDNS_RCODE_NOTIMPL, out, cap, out_len, why);
	/* RFC 9619: exactly one question. */
	if (ldns_pkt_qdcount(q) != 1 || !questions || ldns_rr_list_rr_count(questions) != 1)
		return send_frame(q, LDNS_RCODE_FORMERR, out, cap, out_len, why);
	question = ldns_rr_list_rr(questions, 0);
	owner = ldns_rr_owner(question);
	if (!t->suffix[0] || !owner || ldns_rdf_get_type(owner) != LDNS_RDF_TYPE_DNAME)
		return WM_DNS_FORWARD;
	if ((r = answer_reverse(t, q, question, &failed)) || failed) {
		ok = !failed && to_wire(r, q, out, cap, out_len);
		ldns_pkt_free(r);
		return ok ? WM_DNS_ANSWER : drop(why, "out of memory");
	}
	if (!(apex = suffix_dname(t)))
		return drop(why, "out of memory");
	is_apex = ldns_dname_compare(owner, apex) == 0;
	if (!is_apex && !ldns_dname_is_subdomain(owner, apex)) {
		ldns_rdf_deep_free(apex);
		return WM_DNS_FORWARD;
	}
	if (ldns_rr_get_class(question) != LDNS_RR_CLASS_IN &&
	    ldns_rr_get_class(question) != LDNS_RR_CLASS_ANY) {
		ldns_rdf_deep_free(apex);
		return send_frame(q, LDNS_RCODE_REFUSED, out, cap, out_len, why);
	}
	r = answer_mesh_name(t, q, question, apex, is_apex);
	ldns_rdf_deep_free(apex);
	ok = r && to_wire(r, q, out, cap, out_len);
	ldns_pkt_free(r);
	return ok ? WM_DNS_ANSWER : drop(why, "out of memory");
}

/*
 * A query carries at most one additional record (its EDNS OPT). More is refused before ldns
 * reads it: libldns 1.8 leaks the first of two TSIG records (the fuzzer found it), and a stub
 * resolver never sends them.
 */
static bool too_many_additional(const uint8_t *q, size_t len)
{
	return len >= LDNS_HEADER_SIZE && LDNS_ARCOUNT(q) > 1;
}

enum wm_dns_verdict wm_dns_answer(const struct wm_dns_names *t, const uint8_t *q, size_t len,
				  uint8_t *out, size_t cap, size_t *out_len, const char **why)
{
	enum wm_dns_verdict v;
	ldns_pkt *pkt = NULL;

	if (why)
		*why = NULL;
	if (cap < WM_DNS_UDP_MAX)
		return drop(why, "no room for an answer");
	if (too_many_additional(q, len))
		return drop(why, "more than one additional record");
	if (ldns_wire2pkt(&pkt, q, len) != LDNS_STATUS_OK) {
		ldns_pkt_free(pkt);
		return drop(why, "malformed");
	}
	v = decide(t, pkt, out, cap, out_len, why);
	ldns_pkt_free(pkt);
	return v;
}

bool wm_dns_servfail(const uint8_t *q, size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
	ldns_pkt *pkt = NULL, *r;
	bool ok;

	if (too_many_additional(q, len) || ldns_wire2pkt(&pkt, q, len) != LDNS_STATUS_OK) {
		ldns_pkt_free(pkt);
		return false;
	}
	r = answer_frame(pkt, LDNS_RCODE_SERVFAIL);
	ok = r && to_wire(r, pkt, out, cap, out_len);
	ldns_pkt_free(r);
	ldns_pkt_free(pkt);
	return ok;
}

/*
 * Only the header, through ldns's wire macros: the asker parses the answer itself, and a whole
 * parse here would hand ldns (which leaks on some malformed additional sections) every byte an
 * upstream sends.
 */
bool wm_dns_is_response(const uint8_t *r, size_t len, uint16_t id)
{
	return len >= LDNS_HEADER_SIZE && LDNS_QR_WIRE(r) && LDNS_ID_WIRE(r) == id;
}
