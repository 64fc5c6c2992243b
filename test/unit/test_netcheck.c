/* SPDX-License-Identifier: MIT */
#include "nat/netcheck.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define MS 1000000ull
#define T0 (5000 * MS)		/* an arbitrary monotonic start time */

/* xorshift64: a fixed seed gives the same transaction IDs on every run. */
static void xorshift_fill(void *ctx, void *buf, size_t len)
{
	uint64_t *s = ctx;
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++) {
		*s ^= *s << 13;
		*s ^= *s >> 7;
		*s ^= *s << 17;
		p[i] = (uint8_t)*s;
	}
}

static uint64_t seed;
static const struct wm_rng test_rng = { xorshift_fill, &seed };

static struct wm_netcheck nc;
static struct wm_netcheck_report rep;
static struct wm_netcheck_request reqs[64];

static struct wm_endpoint ep(const char *text)
{
	struct wm_endpoint e;

	memset(&e, 0, sizeof(e));
	ck_assert_int_eq(wm_endpoint_parse(&e, text), 0);
	return e;
}

static bool ep_is(const struct wm_endpoint *e, const char *text)
{
	struct wm_endpoint want = ep(text);

	return wm_endpoint_equal(e, &want);
}

static void start(const struct wm_netcheck_server *servers, size_t n, uint64_t now)
{
	seed = 0x5eed0000cafef00dull;
	ck_assert_int_eq(wm_netcheck_start(&nc, servers, n, now, &test_rng), 0);
}

/* A success response for txid, as a Tailscale STUN server would write it. */
static size_t answer_txid(const uint8_t txid[WM_STUN_TXID_LEN], const char *mapped, uint8_t *out)
{
	struct wm_endpoint m = ep(mapped);
	ssize_t len = wm_stun_response_encode(out, WM_STUN_RESPONSE_MAX, txid, &m);

	ck_assert_int_gt(len, 0);
	return (size_t)len;
}

static void request_txid(const struct wm_netcheck_request *req, uint8_t txid[WM_STUN_TXID_LEN])
{
	struct wm_stun_request parsed;

	ck_assert_int_eq(wm_stun_request_parse(&parsed, req->buf, sizeof(req->buf)), 0);
	ck_assert(parsed.software_tailnode && parsed.has_fingerprint);
	memcpy(txid, parsed.txid, WM_STUN_TXID_LEN);
}

/* The server's answer to req. */
static size_t answer(const struct wm_netcheck_request *req, const char *mapped, uint8_t *out)
{
	uint8_t txid[WM_STUN_TXID_LEN];

	request_txid(req, txid);
	return answer_txid(txid, mapped, out);
}

/* Delivers the answer to req from where req went; returns what netcheck made of it. */
static bool deliver(const struct wm_netcheck_request *req, const char *mapped, uint64_t now)
{
	uint8_t buf[WM_STUN_RESPONSE_MAX];
	size_t len = answer(req, mapped, buf);

	return wm_netcheck_on_datagram(&nc, buf, len, &req->to, now);
}

/* The request (of those just polled) that goes to the server at text. */
static const struct wm_netcheck_request *req_to(size_t n, const char *text)
{
	for (size_t i = 0; i < n; i++)
		if (ep_is(&reqs[i].to, text))
			return &reqs[i];
	ck_abort_msg("no request to %s", text);
	return NULL;
}

START_TEST(test_one_server_answers)
{
	const struct wm_netcheck_server s[] = { { 7, ep("192.0.2.10:3478") } };
	size_t n;

	start(s, 1, T0);
	ck_assert(wm_netcheck_running(&nc, T0));
	ck_assert_uint_eq(wm_netcheck_next_deadline(&nc), T0);
	n = wm_netcheck_poll(&nc, T0, reqs, 64);
	ck_assert_uint_eq(n, 1);
	ck_assert(ep_is(&reqs[0].to, "192.0.2.10:3478"));
	ck_assert_uint_eq(wm_netcheck_next_deadline(&nc), T0 + 100 * MS);

	ck_assert(deliver(&reqs[0], "203.0.113.5:41641", T0 + 23 * MS));
	ck_assert(!wm_netcheck_running(&nc, T0 + 23 * MS));
	ck_assert_uint_eq(wm_netcheck_next_deadline(&nc), 0);
	ck_assert_uint_eq(wm_netcheck_poll(&nc, T0 + 200 * MS, reqs, 64), 0);

	wm_netcheck_report(&nc, &rep);
	ck_assert(rep.udp);
	ck_assert_uint_eq(rep.n_mapped, 1);
	ck_assert(ep_is(&rep.mapped[0], "203.0.113.5:41641"));
	ck_assert(!rep.mapping_known);
	ck_assert(!rep.mapping_varies_by_dest);
	ck_assert_uint_eq(rep.n_regions, 1);
	ck_assert_uint_eq(rep.regions[0].region, 7);
	ck_assert(rep.regions[0].answered);
	ck_assert_uint_eq(rep.regions[0].rtt_ns, 23 * MS);
	ck_assert(ep_is(&rep.regions[0].mapped, "203.0.113.5:41641"));
	ck_assert_uint_eq(rep.preferred_region, 7);
}
END_TEST

/* Servers a and b answer, seeing mapped_a and mapped_b; leaves the report in rep. */
static void two_servers(const char *a, const char *b, const char *mapped_a, const char *mapped_b)
{
	const struct wm_netcheck_server s[] = { { 1, ep(a) }, { 2, ep(b) } };
	size_t n;

	start(s, 2, T0);
	n = wm_netcheck_poll(&nc, T0, reqs, 64);
	ck_assert_uint_eq(n, 2);
	ck_assert(ep_is(&reqs[0].to, a) && ep_is(&reqs[1].to, b));	/* in server order */
	ck_assert(deliver(&reqs[0], mapped_a, T0 + 10 * MS));
	ck_assert(wm_netcheck_running(&nc, T0 + 10 * MS));
	ck_assert(deliver(&reqs[1], mapped_b, T0 + 20 * MS));
	ck_assert(!wm_netcheck_running(&nc, T0 + 20 * MS));
	wm_netcheck_report(&nc, &rep);
	ck_assert(rep.udp);
}

START_TEST(test_same_mapping)
{
	two_servers("192.0.2.10:3478", "198.51.100.20:3478", "203.0.113.5:41641",
		    "203.0.113.5:41641");
	ck_assert(rep.mapping_known);
	ck_assert(!rep.mapping_varies_by_dest);
	ck_assert_uint_eq(rep.n_mapped, 1);
}
END_TEST

START_TEST(test_mapping_varies)
{
	two_servers("192.0.2.10:3478", "198.51.100.20:3478", "203.0.113.5:41641",
		    "203.0.113.5:52000");
	ck_assert(rep.mapping_known);
	ck_assert(rep.mapping_varies_by_dest);
	ck_assert_uint_eq(rep.n_mapped, 2);
	ck_assert(ep_is(&rep.mapped[0], "203.0.113.5:41641"));
	ck_assert(ep_is(&rep.mapped[1], "203.0.113.5:52000"));

	/* Same IP, another port counts as another destination too. */
	two_servers("192.0.2.10:3478", "192.0.2.10:3479", "203.0.113.5:41641",
		    "203.0.113.9:41641");
	ck_assert(rep.mapping_known);
	ck_assert(rep.mapping_varies_by_dest);
}
END_TEST

START_TEST(test_families_kept_apart)
{
	two_servers("[2001:db8::10]:3478", "192.0.2.10:3478", "[2001:db8:1::5]:41641",
		    "203.0.113.5:41641");
	ck_assert(!rep.mapping_known);
	ck_assert(!rep.mapping_varies_by_dest);
	ck_assert_uint_eq(rep.n_mapped, 2);
	ck_assert(ep_is(&rep.mapped[0], "203.0.113.5:41641"));	/* IPv4 first */
	ck_assert(ep_is(&rep.mapped[1], "[2001:db8:1::5]:41641"));
}
END_TEST

/* The same server listed twice (in two regions) is one destination: it proves nothing. */
START_TEST(test_same_server_twice_is_one_destination)
{
	two_servers("192.0.2.10:3478", "192.0.2.10:3478", "203.0.113.5:41641",
		    "203.0.113.5:41641");
	ck_assert(!rep.mapping_known);
	ck_assert_uint_eq(rep.n_regions, 2);
	ck_assert(rep.regions[0].answered && rep.regions[1].answered);
}
END_TEST

START_TEST(test_no_answers)
{
	const struct wm_netcheck_server s[] = {
		{ 1, ep("192.0.2.10:3478") },
		{ 2, ep("[2001:db8::10]:3478") },
	};
	uint64_t now = T0, d;
	size_t polls = 0;

	start(s, 2, now);
	/* Drive it as the daemon would: sleep until the deadline, poll, repeat. */
	while ((d = wm_netcheck_next_deadline(&nc)) != 0) {
		ck_assert_uint_ge(d, now);
		now = d;
		wm_netcheck_poll(&nc, now, reqs, 64);
		ck_assert_uint_lt(++polls, 100);
	}
	ck_assert_uint_eq(now, T0 + WM_NETCHECK_TIMEOUT_NS);
	ck_assert(!wm_netcheck_running(&nc, now));

	wm_netcheck_report(&nc, &rep);
	ck_assert(!rep.udp);
	ck_assert_uint_eq(rep.n_mapped, 0);
	ck_assert(!rep.mapping_known);
	ck_assert_uint_eq(rep.n_regions, 2);
	ck_assert(!rep.regions[0].answered && !rep.regions[1].answered);
	ck_assert_uint_eq(rep.preferred_region, 0);
}
END_TEST

START_TEST(test_running_ends_at_timeout_without_poll)
{
	const struct wm_netcheck_server s[] = { { 1, ep("192.0.2.10:3478") } };

	start(s, 1, T0);
	ck_assert(wm_netcheck_running(&nc, T0 + WM_NETCHECK_TIMEOUT_NS - 1));
	ck_assert(!wm_netcheck_running(&nc, T0 + WM_NETCHECK_TIMEOUT_NS));
}
END_TEST

START_TEST(test_retransmits_until_timeout)
{
	const struct wm_netcheck_server s[] = { { 1, ep("192.0.2.10:3478") } };
	uint8_t seen[WM_NETCHECK_MAX_ATTEMPTS][WM_STUN_TXID_LEN];
	uint64_t sent_at[WM_NETCHECK_MAX_ATTEMPTS];
	size_t sends = 0;

	start(s, 1, T0);
	/* Poll far more often than needed: sends happen only every 100 ms. */
	for (uint64_t t = T0; t <= T0 + 3500 * MS; t += 7 * MS) {
		size_t n = wm_netcheck_poll(&nc, t, reqs, 64);

		ck_assert_uint_le(n, 1);
		if (n) {
			struct wm_stun_request parsed;

			ck_assert_uint_lt(sends, WM_NETCHECK_MAX_ATTEMPTS);
			ck_assert_int_eq(wm_stun_request_parse(&parsed, reqs[0].buf,
							       sizeof(reqs[0].buf)), 0);
			/* Every attempt has its own transaction ID. */
			for (size_t i = 0; i < sends; i++)
				ck_assert(memcmp(seen[i], parsed.txid, WM_STUN_TXID_LEN) != 0);
			memcpy(seen[sends], parsed.txid, WM_STUN_TXID_LEN);
			sent_at[sends++] = t;
		}
	}
	/* At 0, 105, ..., 2940 ms: each the first 7 ms step at least 100 ms after the last. */
	ck_assert_uint_eq(sends, 29);
	for (size_t i = 1; i < sends; i++) {
		ck_assert_uint_ge(sent_at[i] - sent_at[i - 1], 100 * MS);
		ck_assert_uint_lt(sent_at[i] - sent_at[i - 1], 107 * MS);
	}
	ck_assert_uint_lt(sent_at[sends - 1], T0 + WM_NETCHECK_TIMEOUT_NS);
	ck_assert(!wm_netcheck_running(&nc, T0 + 3500 * MS));
	ck_assert_uint_eq(wm_netcheck_next_deadline(&nc), 0);
}
END_TEST

START_TEST(test_retransmits_exactly_every_100ms)
{
	const struct wm_netcheck_server s[] = { { 1, ep("192.0.2.10:3478") } };
	size_t sends = 0;

	start(s, 1, T0);
	for (uint64_t t = T0; t < T0 + WM_NETCHECK_TIMEOUT_NS; t += 100 * MS) {
		ck_assert_uint_eq(wm_netcheck_poll(&nc, t, reqs, 64), 1);
		ck_assert_uint_eq(wm_netcheck_poll(&nc, t + 99 * MS, reqs, 64), 0);
		sends++;
	}
	ck_assert_uint_eq(sends, WM_NETCHECK_MAX_ATTEMPTS);
	ck_assert_uint_eq(wm_netcheck_poll(&nc, T0 + WM_NETCHECK_TIMEOUT_NS, reqs, 64), 0);
	ck_assert_uint_eq(wm_netcheck_next_deadline(&nc), 0);
}
END_TEST

START_TEST(test_no_retransmit_after_answer)
{
	const struct wm_netcheck_server s[] = {
		{ 1, ep("192.0.2.10:3478") },
		{ 2, ep("198.51.100.20:3478") },
	};
	struct wm_netcheck_request first, second;
	size_t n;

	start(s, 2, T0);
	ck_assert_uint_eq(wm_netcheck_poll(&nc, T0, reqs, 64), 2);
	first = *req_to(2, "192.0.2.10:3478");
	ck_assert_uint_eq(wm_netcheck_poll(&nc, T0 + 100 * MS, reqs, 64), 2);
	second = *req_to(2, "192.0.2.10:3478");
	ck_assert(deliver(&first, "203.0.113.5:41641", T0 + 150 * MS));
	/* The answer to the retransmission is a duplicate: it changes nothing. */
	ck_assert(!deliver(&second, "203.0.113.9:1", T0 + 160 * MS));
	/* Only the server that has not answered is asked again. */
	for (uint64_t t = T0 + 200 * MS; t < T0 + 1000 * MS; t += 100 * MS) {
		n = wm_netcheck_poll(&nc, t, reqs, 64);
		ck_assert_uint_eq(n, 1);
		ck_assert(ep_is(&reqs[0].to, "198.51.100.20:3478"));
	}
	ck_assert(deliver(&reqs[0], "203.0.113.5:41641", T0 + 950 * MS));
	ck_assert_uint_eq(wm_netcheck_next_deadline(&nc), 0);
	ck_assert_uint_eq(wm_netcheck_poll(&nc, T0 + 1000 * MS, reqs, 64), 0);

	/* The first answer matched the first attempt, so its RTT counts from T0. */
	wm_netcheck_report(&nc, &rep);
	ck_assert_uint_eq(rep.regions[0].rtt_ns, 150 * MS);
	ck_assert_uint_eq(rep.regions[1].rtt_ns, 50 * MS);
	ck_assert(ep_is(&rep.regions[0].mapped, "203.0.113.5:41641"));
	ck_assert_uint_eq(rep.n_mapped, 1);
}
END_TEST

START_TEST(test_rtt_from_matching_attempt)
{
	const struct wm_netcheck_server s[] = { { 1, ep("192.0.2.10:3478") } };
	struct wm_netcheck_request attempt[3];

	start(s, 1, T0);
	for (int i = 0; i < 3; i++) {
		ck_assert_uint_eq(wm_netcheck_poll(&nc, T0 + (uint64_t)i * 100 * MS, reqs, 64), 1);
		attempt[i] = reqs[0];
	}
	/* The second attempt's answer comes first; a later answer to another attempt is a
	 * duplicate and changes nothing. */
	ck_assert(deliver(&attempt[1], "203.0.113.5:41641", T0 + 230 * MS));
	ck_assert(!deliver(&attempt[2], "203.0.113.5:41641", T0 + 240 * MS));
	ck_assert(!deliver(&attempt[1], "203.0.113.5:41641", T0 + 250 * MS));
	wm_netcheck_report(&nc, &rep);
	ck_assert_uint_eq(rep.regions[0].rtt_ns, 130 * MS);
}
END_TEST

START_TEST(test_wrong_source_or_txid_ignored)
{
	const struct wm_netcheck_server s[] = {
		{ 1, ep("192.0.2.10:3478") },
		{ 2, ep("198.51.100.20:3478") },
	};
	uint8_t buf[WM_STUN_RESPONSE_MAX], txid[WM_STUN_TXID_LEN];
	const struct wm_netcheck_request *req;
	struct wm_endpoint from;
	size_t n, len;

	start(s, 2, T0);
	n = wm_netcheck_poll(&nc, T0, reqs, 64);
	ck_assert_uint_eq(n, 2);

	/* The right txid from the other server, another port, or a stranger. */
	len = answer(req_to(n, "192.0.2.10:3478"), "203.0.113.66:1", buf);
	from = ep("198.51.100.20:3478");
	ck_assert(!wm_netcheck_on_datagram(&nc, buf, len, &from, T0 + MS));
	from = ep("192.0.2.10:3479");
	ck_assert(!wm_netcheck_on_datagram(&nc, buf, len, &from, T0 + MS));
	from = ep("[2001:db8::10]:3478");
	ck_assert(!wm_netcheck_on_datagram(&nc, buf, len, &from, T0 + MS));

	/* The right source with a txid off by one bit, in the random part or the attempt byte. */
	req = req_to(n, "192.0.2.10:3478");
	request_txid(req, txid);
	txid[0] ^= 0x01;
	len = answer_txid(txid, "203.0.113.66:1", buf);
	ck_assert(!wm_netcheck_on_datagram(&nc, buf, len, &req->to, T0 + MS));
	txid[0] ^= 0x01;
	txid[WM_STUN_TXID_LEN - 1] ^= 0x01;	/* names attempt 1, which was never sent */
	len = answer_txid(txid, "203.0.113.66:1", buf);
	ck_assert(!wm_netcheck_on_datagram(&nc, buf, len, &req->to, T0 + MS));

	/* Not a success response: the request echoed, the genuine answer truncated, junk. */
	ck_assert(!wm_netcheck_on_datagram(&nc, req->buf, sizeof(req->buf), &req->to, T0 + MS));
	len = answer(req, "203.0.113.5:41641", buf);
	ck_assert(!wm_netcheck_on_datagram(&nc, buf, len - 1, &req->to, T0 + MS));
	memset(buf, 0xab, sizeof(buf));
	ck_assert(!wm_netcheck_on_datagram(&nc, buf, sizeof(buf), &req->to, T0 + MS));

	wm_netcheck_report(&nc, &rep);
	ck_assert(!rep.udp);
	ck_assert(wm_netcheck_running(&nc, T0 + MS));

	/* The genuine answer still gets through. */
	ck_assert(deliver(req, "203.0.113.5:41641", T0 + 2 * MS));
	wm_netcheck_report(&nc, &rep);
	ck_assert(rep.udp);
	ck_assert_uint_eq(rep.n_mapped, 1);
	ck_assert(ep_is(&rep.mapped[0], "203.0.113.5:41641"));
}
END_TEST

START_TEST(test_late_answer_ignored)
{
	const struct wm_netcheck_server s[] = { { 1, ep("192.0.2.10:3478") } };
	struct wm_netcheck_request first;

	start(s, 1, T0);
	ck_assert_uint_eq(wm_netcheck_poll(&nc, T0, reqs, 64), 1);
	first = reqs[0];
	/* Late whether or not poll has noticed the timeout yet. */
	ck_assert(!deliver(&first, "203.0.113.5:41641", T0 + WM_NETCHECK_TIMEOUT_NS));
	ck_assert_uint_eq(wm_netcheck_poll(&nc, T0 + WM_NETCHECK_TIMEOUT_NS + MS, reqs, 64), 0);
	ck_assert(!deliver(&first, "203.0.113.5:41641", T0 + WM_NETCHECK_TIMEOUT_NS + 2 * MS));
	wm_netcheck_report(&nc, &rep);
	ck_assert(!rep.udp);
	ck_assert(!rep.regions[0].answered);
	ck_assert_uint_eq(rep.preferred_region, 0);
}
END_TEST

START_TEST(test_poll_respects_cap)
{
	struct wm_netcheck_server s[5];
	char text[32];
	size_t n;

	for (int i = 0; i < 5; i++) {
		snprintf(text, sizeof(text), "192.0.2.%d:3478", 10 + i);
		s[i].region = (uint16_t)(i + 1);
		s[i].addr = ep(text);
	}
	start(s, 5, T0);
	ck_assert_uint_eq(wm_netcheck_poll(&nc, T0, reqs, 0), 0);
	ck_assert_uint_eq(wm_netcheck_poll(&nc, T0, reqs, 2), 2);
	ck_assert_uint_le(wm_netcheck_next_deadline(&nc), T0);	/* more are due */
	ck_assert_uint_eq(wm_netcheck_poll(&nc, T0 + MS, reqs, 2), 2);
	ck_assert_uint_le(wm_netcheck_next_deadline(&nc), T0 + MS);
	n = wm_netcheck_poll(&nc, T0 + 2 * MS, reqs, 2);
	ck_assert_uint_eq(n, 1);
	ck_assert(ep_is(&reqs[0].to, "192.0.2.14:3478"));
	ck_assert_uint_eq(wm_netcheck_poll(&nc, T0 + 3 * MS, reqs, 2), 0);
	/* The earliest retransmission is due 100 ms after the first sends. */
	ck_assert_uint_eq(wm_netcheck_next_deadline(&nc), T0 + 100 * MS);
	ck_assert_uint_eq(wm_netcheck_poll(&nc, T0 + 100 * MS, reqs, 64), 2);
}
END_TEST

START_TEST(test_restart_resets)
{
	const struct wm_netcheck_server s1[] = {
		{ 1, ep("192.0.2.10:3478") },
		{ 2, ep("198.51.100.20:3478") },
	};
	const struct wm_netcheck_server s2[] = { { 9, ep("192.0.2.10:3478") } };
	struct wm_netcheck_request old;

	start(s1, 2, T0);
	ck_assert_uint_eq(wm_netcheck_poll(&nc, T0, reqs, 64), 2);
	old = *req_to(2, "192.0.2.10:3478");
	ck_assert(deliver(&old, "203.0.113.5:41641", T0 + 10 * MS));
	ck_assert(deliver(req_to(2, "198.51.100.20:3478"), "203.0.113.5:52000", T0 + 10 * MS));
	wm_netcheck_report(&nc, &rep);
	ck_assert(rep.udp && rep.mapping_varies_by_dest);

	seed = 0x0123456789abcdefull;
	ck_assert_int_eq(wm_netcheck_start(&nc, s2, 1, T0 + 20 * MS, &test_rng), 0);
	ck_assert(wm_netcheck_running(&nc, T0 + 20 * MS));
	wm_netcheck_report(&nc, &rep);
	ck_assert(!rep.udp);
	ck_assert(!rep.mapping_known && !rep.mapping_varies_by_dest);
	ck_assert_uint_eq(rep.n_mapped, 0);
	ck_assert_uint_eq(rep.n_regions, 1);
	ck_assert_uint_eq(rep.regions[0].region, 9);
	ck_assert_uint_eq(rep.preferred_region, 0);

	/* The old round's request was never sent in this one: its answer is stale. */
	ck_assert_uint_eq(wm_netcheck_poll(&nc, T0 + 20 * MS, reqs, 64), 1);
	ck_assert(!deliver(&old, "203.0.113.5:41641", T0 + 25 * MS));
	ck_assert(deliver(&reqs[0], "203.0.113.5:41641", T0 + 30 * MS));
	wm_netcheck_report(&nc, &rep);
	ck_assert_uint_eq(rep.regions[0].rtt_ns, 10 * MS);
	ck_assert_uint_eq(wm_netcheck_next_deadline(&nc), 0);
}
END_TEST

START_TEST(test_preferred_region)
{
	const struct wm_netcheck_server s[] = {
		{ 1, ep("192.0.2.10:3478") },		/* region 1: 80 ms */
		{ 2, ep("192.0.2.20:3478") },		/* region 2: 60 ms and 30 ms */
		{ 3, ep("192.0.2.30:3478") },		/* region 3: 40 ms */
		{ 2, ep("[2001:db8::20]:3478") },
		{ 4, ep("192.0.2.40:3478") },		/* region 4: never */
	};
	size_t n;

	start(s, 5, T0);
	n = wm_netcheck_poll(&nc, T0, reqs, 64);
	ck_assert_uint_eq(n, 5);
	ck_assert(deliver(req_to(n, "[2001:db8::20]:3478"), "[2001:db8:1::5]:41641", T0 + 30 * MS));
	ck_assert(deliver(req_to(n, "192.0.2.30:3478"), "203.0.113.5:41641", T0 + 40 * MS));
	ck_assert(deliver(req_to(n, "192.0.2.20:3478"), "203.0.113.5:41641", T0 + 60 * MS));
	ck_assert(deliver(req_to(n, "192.0.2.10:3478"), "203.0.113.5:41641", T0 + 80 * MS));
	ck_assert(wm_netcheck_running(&nc, T0 + 80 * MS));

	wm_netcheck_report(&nc, &rep);
	ck_assert_uint_eq(rep.n_regions, 4);
	ck_assert_uint_eq(rep.regions[0].region, 1);
	ck_assert_uint_eq(rep.regions[0].rtt_ns, 80 * MS);
	ck_assert_uint_eq(rep.regions[1].region, 2);
	ck_assert_uint_eq(rep.regions[1].rtt_ns, 30 * MS);
	ck_assert(ep_is(&rep.regions[1].mapped, "[2001:db8:1::5]:41641"));
	ck_assert_uint_eq(rep.regions[2].region, 3);
	ck_assert_uint_eq(rep.regions[2].rtt_ns, 40 * MS);
	ck_assert_uint_eq(rep.regions[3].region, 4);
	ck_assert(!rep.regions[3].answered);
	ck_assert_uint_eq(rep.preferred_region, 2);
	ck_assert(rep.mapping_known && !rep.mapping_varies_by_dest);
	ck_assert_uint_eq(rep.n_mapped, 2);
}
END_TEST

START_TEST(test_start_checks_input)
{
	struct wm_netcheck_server s[WM_NETCHECK_MAX_SERVERS + 1];

	memset(s, 0, sizeof(s));
	for (size_t i = 0; i < WM_NETCHECK_MAX_SERVERS + 1; i++) {
		s[i].region = 1;
		s[i].addr = ep("192.0.2.10:3478");
	}
	ck_assert_int_eq(wm_netcheck_start(&nc, s, WM_NETCHECK_MAX_SERVERS + 1, T0, &test_rng),
			 -EINVAL);
	ck_assert(!wm_netcheck_running(&nc, T0));
	ck_assert_int_eq(wm_netcheck_start(&nc, s, WM_NETCHECK_MAX_SERVERS, T0, &test_rng), 0);
	ck_assert_uint_eq(wm_netcheck_poll(&nc, T0, reqs, 64), WM_NETCHECK_MAX_SERVERS);

	memset(&s[1].addr, 0, sizeof(s[1].addr));
	ck_assert_int_eq(wm_netcheck_start(&nc, s, 2, T0, &test_rng), -EINVAL);

	/* No servers: finished before it began. */
	ck_assert_int_eq(wm_netcheck_start(&nc, s, 0, T0, &test_rng), 0);
	ck_assert(!wm_netcheck_running(&nc, T0));
	ck_assert_uint_eq(wm_netcheck_next_deadline(&nc), 0);
	ck_assert_uint_eq(wm_netcheck_poll(&nc, T0, reqs, 64), 0);
	wm_netcheck_report(&nc, &rep);
	ck_assert(!rep.udp);
	ck_assert_uint_eq(rep.n_regions, 0);
}
END_TEST

START_TEST(test_start_at_time_zero)
{
	const struct wm_netcheck_server s[] = { { 1, ep("192.0.2.10:3478") } };

	start(s, 1, 0);
	ck_assert_uint_ne(wm_netcheck_next_deadline(&nc), 0);
	ck_assert_uint_eq(wm_netcheck_poll(&nc, 0, reqs, 64), 1);
	ck_assert_uint_eq(wm_netcheck_next_deadline(&nc), 100 * MS);
}
END_TEST

static Suite *netcheck_suite(void)
{
	Suite *s = suite_create("netcheck");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_one_server_answers);
	tcase_add_test(tc, test_same_mapping);
	tcase_add_test(tc, test_mapping_varies);
	tcase_add_test(tc, test_families_kept_apart);
	tcase_add_test(tc, test_same_server_twice_is_one_destination);
	tcase_add_test(tc, test_no_answers);
	tcase_add_test(tc, test_running_ends_at_timeout_without_poll);
	tcase_add_test(tc, test_retransmits_until_timeout);
	tcase_add_test(tc, test_retransmits_exactly_every_100ms);
	tcase_add_test(tc, test_no_retransmit_after_answer);
	tcase_add_test(tc, test_rtt_from_matching_attempt);
	tcase_add_test(tc, test_wrong_source_or_txid_ignored);
	tcase_add_test(tc, test_late_answer_ignored);
	tcase_add_test(tc, test_poll_respects_cap);
	tcase_add_test(tc, test_restart_resets);
	tcase_add_test(tc, test_preferred_region);
	tcase_add_test(tc, test_start_checks_input);
	tcase_add_test(tc, test_start_at_time_zero);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(netcheck_suite());
	int failures;

	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
