/* SPDX-License-Identifier: MIT */
/*
 * Two engines in one process, wired through test/inproc's fake UDP network
 * and TUN inboxes, with the clock moved by hand: handshakes, data, timers,
 * cookies, replays and bad input, as the whitepaper and the Linux
 * implementation specify them.
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/encoding.h"
#include "engine/crypt.h"
#include "engine/receive.h"
#include "engine/send.h"
#include "engine/uapi.h"
#include "test/inproc.h"

enum { A = 0, B = 1 };

static struct wm_inproc_net net;

static void setup(void)
{
	wm_inproc_init(&net, 2, 0x5eed);
	wm_inproc_pair(&net, A, B);
}

static void teardown(void)
{
	wm_inproc_free(&net);
}

static struct wm_peer *peer_of(size_t self, size_t other)
{
	return wm_device_lookup_peer(net.nodes[self].dev, net.nodes[other].public_key);
}

/* Sends one packet from `from` to `to` and delivers; true when it reached to's TUN intact. */
static bool send_and_check(size_t from, size_t to, bool v6, size_t payload, uint8_t pattern)
{
	uint8_t pkt[WM_INPROC_MAX_PACKET];
	size_t len = wm_inproc_make_packet(pkt, &net.nodes[from], &net.nodes[to], v6, payload, pattern);
	size_t before = net.nodes[to].tun_count;

	wm_inproc_send_ip(&net, from, pkt, len);
	wm_inproc_deliver(&net);
	if (net.nodes[to].tun_count != before + 1)
		return false;
	return net.nodes[to].tun[before].len == len && !memcmp(net.nodes[to].tun[before].data, pkt, len);
}

static bool drop_everything(void *ctx, struct wm_inproc_datagram *dg)
{
	(void)ctx;
	(void)dg;
	return false;
}

START_TEST(handshake_then_data_both_ways)
{
	struct wm_peer *pa = peer_of(A, B), *pb = peer_of(B, A);

	ck_assert(send_and_check(A, B, false, 100, 1));
	ck_assert_ptr_nonnull(pa->keypairs.current);
	ck_assert(pa->keypairs.current->i_am_initiator);
	/* B confirmed the session on A's first data packet (it waited in "next" until then). */
	ck_assert_ptr_nonnull(pb->keypairs.current);
	ck_assert_ptr_null(pb->keypairs.next);
	ck_assert(send_and_check(B, A, false, 1300, 2));
	ck_assert(send_and_check(A, B, true, 0, 3));
	ck_assert(send_and_check(B, A, true, 1380, 4));
	ck_assert_uint_eq(net.nodes[A].handshake_initiations_sent, 1);
	ck_assert_uint_eq(net.nodes[B].handshake_initiations_sent, 0);
	ck_assert_uint_gt(pa->last_handshake_wall_ns, 1700000000ULL * WM_NSEC_PER_SEC);
	ck_assert_uint_gt(pa->rx_bytes, 0);
	ck_assert_uint_gt(pb->tx_bytes, 1300);
}
END_TEST

START_TEST(packets_wait_for_the_handshake_in_order)
{
	uint8_t pkt[WM_INPROC_MAX_PACKET];
	size_t i, len;

	for (i = 0; i < 5; i++) {
		len = wm_inproc_make_packet(pkt, &net.nodes[A], &net.nodes[B], false, 40, (uint8_t)i);
		ck_assert_int_eq(wm_inproc_send_ip(&net, A, pkt, len), WM_VERDICT_CONSUMED);
	}
	ck_assert_uint_eq(peer_of(A, B)->staged_count, 5);
	wm_inproc_deliver(&net);
	ck_assert_uint_eq(net.nodes[B].tun_count, 5);
	for (i = 0; i < 5; i++)
		ck_assert_uint_eq(net.nodes[B].tun[i].data[20], (uint8_t)i);
	ck_assert_uint_eq(peer_of(A, B)->staged_count, 0);
}
END_TEST

START_TEST(padding_is_trimmed_and_sizes_are_multiples_of_16)
{
	uint8_t pkt[WM_INPROC_MAX_PACKET];
	size_t len = wm_inproc_make_packet(pkt, &net.nodes[A], &net.nodes[B], false, 1, 9);

	ck_assert(send_and_check(A, B, false, 10, 0));
	net.record = true;
	wm_inproc_send_ip(&net, A, pkt, len);
	wm_inproc_deliver(&net);
	ck_assert_uint_eq(net.log_count, 1);
	/* 21 bytes of plaintext pad to 32: 16 header + 32 + 16 tag. */
	ck_assert_uint_eq(net.log[0].len, 64);
	ck_assert_uint_eq(net.nodes[B].tun[net.nodes[B].tun_count - 1].len, 21);
}
END_TEST

START_TEST(rekey_after_time_by_the_initiator)
{
	struct wm_peer *pa = peer_of(A, B);
	uint64_t first;

	ck_assert(send_and_check(A, B, false, 64, 0));
	first = pa->keypairs.current->internal_id;
	/* Keep traffic flowing both ways for a bit over REKEY_AFTER_TIME. */
	while (net.now < 1000 * WM_NSEC_PER_SEC + WM_REKEY_AFTER_TIME + 5 * WM_NSEC_PER_SEC) {
		ck_assert(send_and_check(A, B, false, 64, 1));
		ck_assert(send_and_check(B, A, false, 64, 2));
		wm_inproc_advance(&net, 2 * WM_NSEC_PER_SEC, WM_NSEC_PER_SEC);
	}
	ck_assert_uint_eq(net.nodes[A].handshake_initiations_sent, 2);
	ck_assert_uint_ne(pa->keypairs.current->internal_id, first);
	ck_assert_ptr_nonnull(pa->keypairs.previous);
	ck_assert(send_and_check(A, B, true, 500, 3));
}
END_TEST

START_TEST(keepalive_after_keepalive_timeout)
{
	struct wm_peer *pb = peer_of(B, A);
	uint64_t sent_before;

	ck_assert(send_and_check(A, B, false, 64, 0));
	sent_before = net.nodes[B].datagrams_sent;
	net.record = true;
	/* B received data and sends nothing: a keepalive must leave B after KEEPALIVE_TIMEOUT. */
	wm_inproc_advance(&net, WM_KEEPALIVE_TIMEOUT - WM_NSEC_PER_SEC, WM_NSEC_PER_SEC / 10);
	ck_assert_uint_eq(net.nodes[B].datagrams_sent, sent_before);
	wm_inproc_advance(&net, 2 * WM_NSEC_PER_SEC, WM_NSEC_PER_SEC / 10);
	ck_assert_uint_eq(net.nodes[B].datagrams_sent, sent_before + 1);
	ck_assert_uint_eq(net.log[net.log_count - 1].len, WM_MSG_DATA_MIN_LEN);
	ck_assert_uint_eq(pb->timers.send_keepalive, 0);
	/* A keepalive is not data: no keepalive answers it. */
	wm_inproc_advance(&net, 3 * WM_KEEPALIVE_TIMEOUT, WM_NSEC_PER_SEC);
	ck_assert_uint_eq(net.nodes[B].datagrams_sent, sent_before + 1);
}
END_TEST

START_TEST(keys_rejected_after_reject_after_time)
{
	uint8_t pkt[WM_INPROC_MAX_PACKET];
	size_t len = wm_inproc_make_packet(pkt, &net.nodes[A], &net.nodes[B], false, 64, 5);
	uint64_t expired_before = net.nodes[B].dev->drops[WM_DROP_KEY_EXPIRED];

	ck_assert(send_and_check(A, B, false, 64, 0));
	/* Capture one sealed packet while the keys are fresh, deliver it much later. */
	net.filter = drop_everything;
	net.record = false;
	wm_inproc_send_ip(&net, A, pkt, len);
	struct wm_inproc_datagram held = net.inflight[net.inflight_count - 1];
	wm_inproc_deliver(&net);
	wm_inproc_advance(&net, WM_REJECT_AFTER_TIME + WM_NSEC_PER_SEC, 10 * WM_NSEC_PER_SEC);
	net.filter = NULL;
	wm_inproc_inject(&net, B, &held.from, held.data, held.len);
	wm_inproc_deliver(&net);
	ck_assert_uint_eq(net.nodes[B].dev->drops[WM_DROP_KEY_EXPIRED], expired_before + 1);
	/* And A will not seal under the expired keypair: it stages and handshakes again. */
	ck_assert(!wm_keypair_can_send(peer_of(A, B)->keypairs.current, net.now));
	/* A is still retrying its handshake from the silent period, so the next one carries it. */
	size_t tun_before = net.nodes[B].tun_count;
	ck_assert_int_eq(wm_inproc_send_ip(&net, A, pkt, len), WM_VERDICT_CONSUMED);
	wm_inproc_advance(&net, WM_REKEY_TIMEOUT + WM_REKEY_TIMEOUT_JITTER_MAX, WM_NSEC_PER_SEC / 10);
	ck_assert_uint_eq(net.nodes[B].tun_count, tun_before + 1);
	ck_assert_mem_eq(net.nodes[B].tun[tun_before].data, pkt, len);
}
END_TEST

START_TEST(handshake_retransmits_with_jitter_then_gives_up)
{
	uint8_t pkt[WM_INPROC_MAX_PACKET];
	size_t len = wm_inproc_make_packet(pkt, &net.nodes[A], &net.nodes[B], false, 64, 0);
	struct wm_peer *pa = peer_of(A, B);
	uint64_t last = 0, start = net.now, gap;
	unsigned initiations = 0, distinct_gaps = 0;
	uint64_t prev_gap = 0;

	net.filter = drop_everything;
	wm_inproc_send_ip(&net, A, pkt, len);
	ck_assert_uint_eq(pa->staged_count, 1);
	while (net.now < start + 200 * WM_NSEC_PER_SEC) {
		uint64_t before = net.nodes[A].handshake_initiations_sent;

		wm_inproc_advance(&net, 10 * WM_NSEC_PER_MSEC, WM_NSEC_PER_SEC);
		if (net.nodes[A].handshake_initiations_sent != before) {
			initiations++;
			if (last) {
				gap = net.now - last;
				ck_assert_uint_ge(gap, WM_REKEY_TIMEOUT);
				ck_assert_uint_le(gap, WM_REKEY_TIMEOUT + WM_REKEY_TIMEOUT_JITTER_MAX +
							       10 * WM_NSEC_PER_MSEC);
				if (gap != prev_gap)
					distinct_gaps++;
				prev_gap = gap;
			}
			last = net.now;
		}
	}
	/* The first, then MAX_TIMER_HANDSHAKES + 1 retries (the Linux count), then silence. */
	ck_assert_uint_eq(initiations + 1, WM_MAX_TIMER_HANDSHAKES + 2);
	ck_assert_uint_ge(last - start, WM_REKEY_ATTEMPT_TIME);
	ck_assert_uint_gt(distinct_gaps, 3);	/* jitter really varies */
	ck_assert_uint_eq(pa->staged_count, 0);
	ck_assert_uint_eq(pa->timers.retransmit_handshake, 0);
}
END_TEST

START_TEST(new_handshake_when_data_goes_unanswered)
{
	ck_assert(send_and_check(A, B, false, 64, 0));
	wm_inproc_advance(&net, 20 * WM_NSEC_PER_SEC, WM_NSEC_PER_SEC);
	net.filter = drop_everything;
	/* A sends, B never answers: after KEEPALIVE_TIMEOUT + REKEY_TIMEOUT A tries a handshake. */
	uint8_t pkt[WM_INPROC_MAX_PACKET];
	size_t len = wm_inproc_make_packet(pkt, &net.nodes[A], &net.nodes[B], false, 64, 0);
	ck_assert_int_eq(wm_inproc_send_ip(&net, A, pkt, len), WM_VERDICT_SEND);
	wm_inproc_advance(&net, WM_KEEPALIVE_TIMEOUT + WM_REKEY_TIMEOUT - WM_NSEC_PER_SEC,
			  WM_NSEC_PER_SEC / 10);
	ck_assert_uint_eq(net.nodes[A].handshake_initiations_sent, 1);
	wm_inproc_advance(&net, 2 * WM_NSEC_PER_SEC, WM_NSEC_PER_SEC / 10);
	ck_assert_uint_eq(net.nodes[A].handshake_initiations_sent, 2);
}
END_TEST

START_TEST(keys_are_zeroed_after_three_reject_times)
{
	struct wm_peer *pa = peer_of(A, B);

	ck_assert(send_and_check(A, B, false, 64, 0));
	net.filter = drop_everything;
	wm_inproc_advance(&net, WM_ZERO_KEY_AFTER + WM_NSEC_PER_SEC, 10 * WM_NSEC_PER_SEC);
	ck_assert_ptr_null(pa->keypairs.current);
	ck_assert_ptr_null(pa->keypairs.previous);
	ck_assert_ptr_null(peer_of(B, A)->keypairs.current);
	ck_assert_uint_eq(net.nodes[A].dev->index.count, 0);
}
END_TEST

START_TEST(replayed_data_packet_is_dropped)
{
	ck_assert(send_and_check(A, B, false, 64, 0));
	net.record = true;
	net.log_count = 0;
	ck_assert(send_and_check(A, B, false, 64, 1));
	ck_assert_uint_eq(net.log_count, 1);
	size_t tun_before = net.nodes[B].tun_count;
	wm_inproc_inject(&net, B, &net.log[0].from, net.log[0].data, net.log[0].len);
	wm_inproc_deliver(&net);
	ck_assert_uint_eq(net.nodes[B].tun_count, tun_before);
	ck_assert_uint_eq(net.nodes[B].dev->drops[WM_DROP_REPLAYED], 1);
}
END_TEST

START_TEST(replayed_initiation_is_rejected)
{
	size_t i;
	struct wm_inproc_datagram initiation = { 0 };
	uint64_t responses_before;

	net.record = true;
	ck_assert(send_and_check(A, B, false, 64, 0));
	for (i = 0; i < net.log_count; i++)
		if (net.log[i].data[0] == WM_MSG_HANDSHAKE_INITIATION)
			initiation = net.log[i];
	ck_assert_uint_eq(initiation.len, WM_MSG_INITIATION_LEN);
	wm_inproc_advance(&net, WM_NSEC_PER_SEC, WM_NSEC_PER_SEC);
	responses_before = net.nodes[B].datagrams_sent;
	wm_inproc_inject(&net, B, &initiation.from, initiation.data, initiation.len);
	wm_inproc_deliver(&net);
	ck_assert_uint_eq(net.nodes[B].dev->drops[WM_DROP_HANDSHAKE_INVALID], 1);
	ck_assert_uint_eq(net.nodes[B].datagrams_sent, responses_before);
	/* The session made by the genuine handshake still works. */
	ck_assert(send_and_check(B, A, false, 64, 1));
}
END_TEST

static bool corrupt_mac1(void *ctx, struct wm_inproc_datagram *dg)
{
	(void)ctx;
	if (dg->data[0] == WM_MSG_HANDSHAKE_INITIATION)
		dg->data[WM_MSG_INITIATION_LEN - 2 * WM_MAC_LEN] ^= 0x80;
	return true;
}

START_TEST(bad_mac1_is_dropped_silently)
{
	uint8_t pkt[WM_INPROC_MAX_PACKET];
	size_t len = wm_inproc_make_packet(pkt, &net.nodes[A], &net.nodes[B], false, 64, 0);

	net.filter = corrupt_mac1;
	wm_inproc_send_ip(&net, A, pkt, len);
	wm_inproc_deliver(&net);
	ck_assert_uint_eq(net.nodes[B].dev->drops[WM_DROP_BAD_MAC1], 1);
	ck_assert_uint_eq(net.nodes[B].datagrams_sent, 0);	/* no answer of any kind */
	ck_assert_uint_eq(net.nodes[B].tun_count, 0);
}
END_TEST

START_TEST(under_load_a_cookie_is_demanded_and_the_retry_succeeds)
{
	struct wm_peer *pa = peer_of(A, B);
	uint8_t pkt[WM_INPROC_MAX_PACKET];
	size_t len = wm_inproc_make_packet(pkt, &net.nodes[A], &net.nodes[B], false, 64, 7);

	wm_device_set_load_threshold(net.nodes[B].dev, 0);	/* B is always under load */
	wm_inproc_send_ip(&net, A, pkt, len);
	wm_inproc_deliver(&net);
	ck_assert_uint_eq(net.nodes[B].cookie_replies_sent, 1);
	ck_assert(pa->cookie.is_valid);
	ck_assert_ptr_null(pa->keypairs.current);
	ck_assert_uint_eq(net.nodes[B].tun_count, 0);
	/* The retransmission carries MAC2; B answers it and the staged packet arrives. */
	wm_inproc_advance(&net, WM_REKEY_TIMEOUT + WM_REKEY_TIMEOUT_JITTER_MAX, WM_NSEC_PER_SEC / 10);
	ck_assert_uint_eq(net.nodes[B].cookie_replies_sent, 1);
	ck_assert_ptr_nonnull(pa->keypairs.current);
	ck_assert_uint_eq(net.nodes[B].tun_count, 1);
	ck_assert_uint_eq(net.nodes[B].tun[0].data[20], 7);
}
END_TEST

START_TEST(a_forged_cookie_reply_is_refused)
{
	struct wm_msg_cookie forged;
	uint8_t pkt[WM_INPROC_MAX_PACKET];
	size_t len = wm_inproc_make_packet(pkt, &net.nodes[A], &net.nodes[B], false, 64, 7);
	struct wm_peer *pa = peer_of(A, B);

	net.filter = drop_everything;
	wm_inproc_send_ip(&net, A, pkt, len);
	wm_inproc_deliver(&net);
	net.filter = NULL;
	memset(&forged, 0x11, sizeof(forged));
	forged.header.type = htole32(WM_MSG_HANDSHAKE_COOKIE);
	forged.receiver_index = htole32(pa->handshake.entry.index);
	wm_inproc_inject(&net, A, &net.nodes[B].addr, (uint8_t *)&forged, sizeof(forged));
	wm_inproc_deliver(&net);
	ck_assert_uint_eq(net.nodes[A].dev->drops[WM_DROP_COOKIE_INVALID], 1);
	ck_assert(!pa->cookie.is_valid);
}
END_TEST

START_TEST(preshared_keys_must_match)
{
	uint8_t psk[32], other[32];

	memset(psk, 0x33, sizeof(psk));
	memset(other, 0x44, sizeof(other));
	wm_device_set_preshared_key(peer_of(A, B), psk);
	wm_device_set_preshared_key(peer_of(B, A), other);
	ck_assert(!send_and_check(A, B, false, 64, 0));
	ck_assert_ptr_null(peer_of(A, B)->keypairs.current);
	ck_assert_uint_eq(net.nodes[A].dev->drops[WM_DROP_HANDSHAKE_INVALID], 1);

	wm_device_set_preshared_key(peer_of(B, A), psk);
	wm_inproc_advance(&net, WM_REKEY_TIMEOUT + WM_REKEY_TIMEOUT_JITTER_MAX, WM_NSEC_PER_SEC / 10);
	ck_assert_ptr_nonnull(peer_of(A, B)->keypairs.current);
	ck_assert_uint_eq(net.nodes[B].tun_count, 1);
}
END_TEST

START_TEST(source_outside_allowed_ips_is_dropped)
{
	uint8_t pkt[WM_INPROC_MAX_PACKET];
	size_t len;

	ck_assert(send_and_check(A, B, false, 64, 0));
	len = wm_inproc_make_packet(pkt, &net.nodes[A], &net.nodes[B], false, 64, 0);
	pkt[15] = 99;	/* source 10.0.0.99: not A's */
	ck_assert_int_eq(wm_inproc_send_ip(&net, A, pkt, len), WM_VERDICT_SEND);
	wm_inproc_deliver(&net);
	ck_assert_uint_eq(net.nodes[B].tun_count, 1);
	ck_assert_uint_eq(net.nodes[B].dev->drops[WM_DROP_SOURCE_NOT_ALLOWED], 1);
}
END_TEST

START_TEST(no_route_and_no_endpoint_are_counted)
{
	uint8_t pkt[WM_INPROC_MAX_PACKET];
	size_t len = wm_inproc_make_packet(pkt, &net.nodes[A], &net.nodes[B], false, 64, 0);
	struct wm_endpoint none = { 0 };

	pkt[19] = 77;	/* 10.0.0.77 routes nowhere */
	ck_assert_int_eq(wm_inproc_send_ip(&net, A, pkt, len), WM_VERDICT_DROP);
	ck_assert_uint_eq(net.nodes[A].dev->drops[WM_DROP_NO_ROUTE], 1);
	wm_peer_set_endpoint(peer_of(A, B), &none);
	len = wm_inproc_make_packet(pkt, &net.nodes[A], &net.nodes[B], false, 64, 0);
	ck_assert_int_eq(wm_inproc_send_ip(&net, A, pkt, len), WM_VERDICT_DROP);
	ck_assert_uint_eq(net.nodes[A].dev->drops[WM_DROP_NO_ENDPOINT], 1);
}
END_TEST

START_TEST(roaming_follows_the_authenticated_source)
{
	struct wm_peer *pb = peer_of(B, A);
	char text[WM_ENDPOINT_STR_LEN];

	ck_assert(send_and_check(A, B, false, 64, 0));
	/* A moves to a new address (and family); B learns it from A's next packet. */
	wm_endpoint_parse(&net.nodes[A].addr, "[2001:db8::a]:4444");
	ck_assert(send_and_check(A, B, false, 64, 1));
	wm_endpoint_format(&pb->endpoint, text);
	ck_assert_str_eq(text, "[2001:db8::a]:4444");
	ck_assert(send_and_check(B, A, false, 64, 2));
	/* An unauthenticated datagram from elsewhere does not move it. */
	struct wm_endpoint evil;
	uint8_t junk[64] = { WM_MSG_DATA };
	wm_endpoint_parse(&evil, "203.0.113.9:1");
	wm_inproc_inject(&net, B, &evil, junk, sizeof(junk));
	wm_inproc_deliver(&net);
	wm_endpoint_format(&pb->endpoint, text);
	ck_assert_str_eq(text, "[2001:db8::a]:4444");
}
END_TEST

START_TEST(persistent_keepalive_is_sent_on_schedule)
{
	struct wm_peer *pa = peer_of(A, B);
	char hex[WM_KEY_HEX_LEN], set[128];
	uint64_t before;
	int n;

	/* Through the UAPI, which sends the first keepalive when one is turned on. */
	wm_key_to_hex(hex, net.nodes[B].public_key);
	n = snprintf(set, sizeof(set), "public_key=%s\npersistent_keepalive_interval=25\n", hex);
	ck_assert_int_eq(wm_uapi_set(net.nodes[A].dev, NULL, set, (size_t)n, net.now), 0);
	wm_inproc_deliver(&net);
	ck_assert_ptr_nonnull(pa->keypairs.current);	/* the first keepalive made a session */
	before = net.nodes[A].datagrams_sent;
	wm_inproc_advance(&net, 24 * WM_NSEC_PER_SEC, WM_NSEC_PER_SEC);
	ck_assert_uint_eq(net.nodes[A].datagrams_sent, before);
	wm_inproc_advance(&net, 2 * WM_NSEC_PER_SEC, WM_NSEC_PER_SEC);
	ck_assert_uint_eq(net.nodes[A].datagrams_sent, before + 1);
}
END_TEST

START_TEST(garbage_datagrams_are_counted_drops)
{
	static const size_t lens[] = { 0, 1, 3, 4, 31, 32, 63, 64, 65, 91, 92, 93, 147, 148, 149, 1500 };
	uint8_t junk[1500];
	struct wm_endpoint from;
	size_t i, t;
	uint64_t total = 0, before = 0;

	wm_endpoint_parse(&from, "203.0.113.7:9");
	for (i = 0; i < WM_DROP_REASON_COUNT; i++)
		before += net.nodes[B].dev->drops[i];
	for (t = 0; t < 6; t++) {
		for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			memset(junk, (int)(0x5a + t), sizeof(junk));
			if (lens[i] >= 4) {
				memset(junk, 0, 4);
				junk[0] = (uint8_t)t;
			}
			wm_inproc_inject(&net, B, &from, junk, lens[i]);
		}
	}
	wm_inproc_deliver(&net);
	for (i = 0; i < WM_DROP_REASON_COUNT; i++)
		total += net.nodes[B].dev->drops[i];
	ck_assert_uint_eq(total - before, 6 * sizeof(lens) / sizeof(lens[0]));
	ck_assert_uint_eq(net.nodes[B].datagrams_sent, 0);
	ck_assert_uint_eq(net.nodes[B].tun_count, 0);
	/* The device still works. */
	ck_assert(send_and_check(A, B, false, 64, 0));
}
END_TEST

START_TEST(reserved_type_bytes_must_be_zero)
{
	uint8_t msg[WM_MSG_INITIATION_LEN] = { WM_MSG_HANDSHAKE_INITIATION, 0, 1, 0 };
	struct wm_endpoint from;

	wm_endpoint_parse(&from, "203.0.113.7:9");
	wm_inproc_inject(&net, B, &from, msg, sizeof(msg));
	wm_inproc_deliver(&net);
	ck_assert_uint_eq(net.nodes[B].dev->drops[WM_DROP_UNKNOWN_TYPE], 1);
}
END_TEST

START_TEST(simultaneous_initiations_converge)
{
	uint8_t pa_pkt[WM_INPROC_MAX_PACKET], pb_pkt[WM_INPROC_MAX_PACKET];
	size_t la = wm_inproc_make_packet(pa_pkt, &net.nodes[A], &net.nodes[B], false, 64, 1);
	size_t lb = wm_inproc_make_packet(pb_pkt, &net.nodes[B], &net.nodes[A], false, 64, 2);

	/* Both start at once; both initiations cross in flight. */
	wm_inproc_send_ip(&net, A, pa_pkt, la);
	wm_inproc_send_ip(&net, B, pb_pkt, lb);
	wm_inproc_deliver(&net);
	wm_inproc_advance(&net, 15 * WM_NSEC_PER_SEC, WM_NSEC_PER_SEC / 10);
	ck_assert(send_and_check(A, B, false, 64, 3));
	ck_assert(send_and_check(B, A, false, 64, 4));
}
END_TEST

START_TEST(removing_a_peer_stops_traffic_and_frees_its_indices)
{
	ck_assert(send_and_check(A, B, false, 64, 0));
	wm_device_remove_peer(net.nodes[B].dev, peer_of(B, A));
	ck_assert_uint_eq(net.nodes[B].dev->index.count, 0);
	ck_assert(!send_and_check(A, B, false, 64, 1));
	ck_assert_uint_eq(net.nodes[B].dev->drops[WM_DROP_UNKNOWN_INDEX], 1);
}
END_TEST

START_TEST(private_key_change_forces_a_new_handshake)
{
	uint8_t priv[32], pub[32];

	ck_assert(send_and_check(A, B, false, 64, 0));
	wm_crypto_generate_keypair(priv, pub, &net.rng);
	ck_assert_int_eq(wm_device_set_private_key(net.nodes[A].dev, priv), 0);
	ck_assert(!wm_keypair_can_send(peer_of(A, B)->keypairs.current, net.now));
	wm_inproc_advance(&net, WM_REKEY_TIMEOUT, WM_NSEC_PER_SEC);
	/* B still knows A's old key, so the new handshake must fail. */
	ck_assert(!send_and_check(A, B, false, 64, 1));
	ck_assert_uint_eq(net.nodes[B].dev->drops[WM_DROP_HANDSHAKE_INVALID], 1);
}
END_TEST

static bool hold_everything(void *ctx, struct wm_inproc_datagram *dg)
{
	struct wm_inproc_datagram *held = ctx;

	*held = *dg;
	return false;
}

/* Forces a new handshake from A and lets it complete (B confirms on A's data). */
static void rekey_from_a(void)
{
	wm_inproc_advance(&net, WM_REKEY_TIMEOUT + WM_NSEC_PER_SEC, WM_NSEC_PER_SEC);
	peer_of(A, B)->keypairs.current->birthdate -= WM_REKEY_AFTER_TIME;
	ck_assert(send_and_check(A, B, false, 64, 0));	/* triggers the initiation */
	ck_assert(send_and_check(A, B, false, 64, 0));	/* under the new keypair: B confirms */
}

START_TEST(a_keypair_retired_within_a_batch_is_not_used_after)
{
	struct wm_inproc_datagram held = { 0 }, initiation = { 0 };
	uint8_t pkt[WM_INPROC_MAX_PACKET];
	size_t len = wm_inproc_make_packet(pkt, &net.nodes[A], &net.nodes[B], false, 64, 9);
	struct wm_packet batch[2] = { { 0 } };
	uint64_t first_initiations;

	ck_assert(send_and_check(A, B, false, 64, 0));
	/* A data packet under the first keypair, held back. */
	net.filter = hold_everything;
	net.filter_ctx = &held;
	wm_inproc_send_ip(&net, A, pkt, len);
	wm_inproc_deliver(&net);
	net.filter = NULL;
	ck_assert_uint_eq(held.data[0], WM_MSG_DATA);
	/* Second handshake: B keeps the first keypair as "previous". */
	rekey_from_a();
	ck_assert_ptr_nonnull(peer_of(B, A)->keypairs.previous);
	/* Third handshake: capture A's initiation. */
	wm_inproc_advance(&net, WM_REKEY_TIMEOUT + WM_NSEC_PER_SEC, WM_NSEC_PER_SEC);
	first_initiations = net.nodes[A].handshake_initiations_sent;
	net.filter = hold_everything;
	net.filter_ctx = &initiation;
	wm_send_handshake_initiation(peer_of(A, B), net.now, false);
	wm_inproc_deliver(&net);
	net.filter = NULL;
	ck_assert_uint_eq(net.nodes[A].handshake_initiations_sent, first_initiations + 1);
	ck_assert_uint_eq(initiation.data[0], WM_MSG_HANDSHAKE_INITIATION);

	/* One batch: the old data packet, then the initiation that retires its keypair. */
	batch[0].data = held.data;
	batch[0].len = held.len;
	batch[0].endpoint = held.from;
	batch[1].data = initiation.data;
	batch[1].len = initiation.len;
	batch[1].endpoint = initiation.from;
	wm_receive_prepare(net.nodes[B].dev, batch, 2, net.now);
	ck_assert_int_eq(batch[0].verdict, WM_VERDICT_OPEN);
	ck_assert_int_eq(batch[1].verdict, WM_VERDICT_CONSUMED);
	ck_assert_ptr_null(peer_of(B, A)->keypairs.previous);
	wm_crypt_packets(batch, 2);
	ck_assert_int_eq(batch[0].verdict, WM_VERDICT_OPENED);
	wm_receive_finish(net.nodes[B].dev, batch, 2, net.now);
	ck_assert_int_eq(batch[0].verdict, WM_VERDICT_DROP);
	ck_assert_int_eq(batch[0].drop_reason, WM_DROP_UNKNOWN_INDEX);
}
END_TEST

START_TEST(split_phases_match_the_one_call_api)
{
	uint8_t bufs[8][WM_PACKET_HEADROOM + 1500 + WM_PACKET_TAILROOM];
	struct wm_packet out[8] = { { 0 } }, in[8] = { { 0 } };
	size_t i;

	ck_assert(send_and_check(A, B, false, 64, 0));
	for (i = 0; i < 8; i++) {
		out[i].data = bufs[i] + WM_PACKET_HEADROOM;
		out[i].len = wm_inproc_make_packet(out[i].data, &net.nodes[A], &net.nodes[B], i & 1,
						   100 * i, (uint8_t)i);
	}
	wm_send_prepare(net.nodes[A].dev, out, 8, net.now);
	for (i = 0; i < 8; i++)
		ck_assert_int_eq(out[i].verdict, WM_VERDICT_SEAL);
	/* Any slicing of the crypto phase gives the same result. */
	wm_crypt_packets(out + 5, 3);
	wm_crypt_packets(out, 5);
	for (i = 0; i < 8; i++) {
		ck_assert_int_eq(out[i].verdict, WM_VERDICT_SEND);
		in[i].data = out[i].data;
		in[i].len = out[i].len;
		in[i].endpoint = net.nodes[A].addr;
	}
	wm_receive_packets(net.nodes[B].dev, in, 8, net.now);
	for (i = 0; i < 8; i++) {
		ck_assert_int_eq(in[i].verdict, WM_VERDICT_TUN);
		ck_assert_uint_eq(in[i].len, (i & 1 ? 40 : 20) + 100 * i);
		if (i)
			ck_assert_uint_eq(in[i].data[(i & 1 ? 40 : 20)], (uint8_t)i);
	}
}
END_TEST

/* Moves the clock straight to deadline (a timer's), ticking and delivering once. */
static void advance_to(uint64_t deadline)
{
	ck_assert_uint_gt(deadline, net.now);
	wm_inproc_advance(&net, deadline - net.now, deadline - net.now);
}

/* Loses what the node at ctx sends; the other node's datagrams pass. */
static bool drop_from(void *ctx, struct wm_inproc_datagram *dg)
{
	const struct wm_inproc_node *node = ctx;

	return !wm_endpoint_equal(&dg->from, &node->addr);
}

/* Holds back the last handshake response (the initiator's key confirmation waits); the rest passes. */
static bool hold_responses(void *ctx, struct wm_inproc_datagram *dg)
{
	struct wm_inproc_datagram *held = ctx;

	if (dg->data[0] != WM_MSG_HANDSHAKE_RESPONSE)
		return true;
	*held = *dg;
	return false;
}

START_TEST(a_responder_with_new_data_waits_instead_of_initiating)
{
	struct wm_inproc_datagram response = { 0 };
	uint8_t to_b[WM_INPROC_MAX_PACKET], to_a[WM_INPROC_MAX_PACKET];
	size_t len_b = wm_inproc_make_packet(to_b, &net.nodes[A], &net.nodes[B], false, 64, 1);
	size_t len_a = wm_inproc_make_packet(to_a, &net.nodes[B], &net.nodes[A], false, 64, 2);

	net.filter = hold_responses;
	net.filter_ctx = &response;
	ck_assert_int_eq(wm_inproc_send_ip(&net, A, to_b, len_b), WM_VERDICT_CONSUMED);
	wm_inproc_deliver(&net);
	ck_assert_uint_eq(response.len, WM_MSG_RESPONSE_LEN);
	/*
	 * B has answered; its keypair waits for A's confirmation. Data B sends now waits too: the
	 * response counts as a handshake sent (the kernel's wg_packet_send_handshake_response sets
	 * last_sent_handshake), so B starts no crossing handshake of its own.
	 */
	ck_assert_int_eq(wm_inproc_send_ip(&net, B, to_a, len_a), WM_VERDICT_CONSUMED);
	ck_assert_uint_eq(peer_of(B, A)->staged_count, 1);
	ck_assert_uint_eq(net.nodes[B].handshake_initiations_sent, 0);

	net.filter = NULL;
	wm_inproc_inject(&net, A, &response.from, response.data, response.len);
	wm_inproc_deliver(&net);
	ck_assert_uint_eq(net.nodes[B].tun_count, 1);
	ck_assert_mem_eq(net.nodes[B].tun[0].data, to_b, len_b);
	ck_assert_uint_eq(net.nodes[A].tun_count, 1);
	ck_assert_mem_eq(net.nodes[A].tun[0].data, to_a, len_a);
	/* One initiation on the wire in all. */
	ck_assert_uint_eq(net.nodes[A].handshake_initiations_sent, 1);
	ck_assert_uint_eq(net.nodes[B].handshake_initiations_sent, 0);
}
END_TEST

START_TEST(a_responder_with_staged_data_does_not_retry_over_its_response)
{
	struct wm_inproc_datagram response = { 0 };
	struct wm_peer *pb = peer_of(B, A);
	uint8_t to_b[WM_INPROC_MAX_PACKET], to_a[WM_INPROC_MAX_PACKET];
	size_t len_b = wm_inproc_make_packet(to_b, &net.nodes[A], &net.nodes[B], false, 64, 1);
	size_t len_a = wm_inproc_make_packet(to_a, &net.nodes[B], &net.nodes[A], false, 64, 2);
	uint64_t retry_at;

	/* B has data for A; its initiation is lost, and its retry is due shortly. */
	net.filter = drop_from;
	net.filter_ctx = &net.nodes[B];
	ck_assert_int_eq(wm_inproc_send_ip(&net, B, to_a, len_a), WM_VERDICT_CONSUMED);
	wm_inproc_deliver(&net);
	ck_assert_uint_eq(net.nodes[B].handshake_initiations_sent, 1);
	retry_at = pb->timers.retransmit_handshake;
	advance_to(retry_at - WM_NSEC_PER_SEC / 10);

	/* A's initiation arrives first; B answers it, and the answer is slow to arrive. */
	net.filter = hold_responses;
	net.filter_ctx = &response;
	ck_assert_int_eq(wm_inproc_send_ip(&net, A, to_b, len_b), WM_VERDICT_CONSUMED);
	wm_inproc_deliver(&net);
	ck_assert_uint_eq(response.len, WM_MSG_RESPONSE_LEN);
	ck_assert_uint_eq(pb->staged_count, 1);
	/* B's retry comes due less than REKEY_TIMEOUT after its response: it must not cross it. */
	advance_to(retry_at + WM_NSEC_PER_SEC / 10);
	ck_assert_uint_eq(net.nodes[B].handshake_initiations_sent, 1);

	net.filter = NULL;
	wm_inproc_inject(&net, A, &response.from, response.data, response.len);
	wm_inproc_deliver(&net);
	ck_assert_uint_eq(net.nodes[B].tun_count, 1);
	ck_assert_mem_eq(net.nodes[B].tun[0].data, to_b, len_b);
	ck_assert_uint_eq(net.nodes[A].tun_count, 1);
	ck_assert_mem_eq(net.nodes[A].tun[0].data, to_a, len_a);
	ck_assert_uint_eq(net.nodes[A].handshake_initiations_sent, 1);
	ck_assert_uint_eq(net.nodes[B].handshake_initiations_sent, 1);
	ck_assert_uint_eq(pb->staged_count, 0);
}
END_TEST

/* Counts the initiations that leave, noting whether the last named a source address; loses all. */
struct initiation_watch {
	unsigned count;
	bool last_had_src;
};

static bool watch_initiations(void *ctx, struct wm_inproc_datagram *dg)
{
	struct initiation_watch *w = ctx;

	if (dg->data[0] == WM_MSG_HANDSHAKE_INITIATION) {
		w->count++;
		w->last_had_src = wm_endpoint_has_src(&dg->to);
	}
	return false;
}

/* As if B's packets had come to A's address 192.0.2.7: A's replies would leave from it. */
static void stick_source_address(struct wm_peer *pa)
{
	pa->endpoint.src.v4.s_addr = htonl(0xc0000207);
	ck_assert(wm_endpoint_has_src(&pa->endpoint));
}

START_TEST(retried_initiations_forget_the_source_address)
{
	struct initiation_watch w = { 0 };
	struct wm_peer *pa = peer_of(A, B);
	uint8_t pkt[WM_INPROC_MAX_PACKET];
	size_t len = wm_inproc_make_packet(pkt, &net.nodes[A], &net.nodes[B], false, 64, 0);

	stick_source_address(pa);
	net.filter = watch_initiations;
	net.filter_ctx = &w;
	wm_inproc_send_ip(&net, A, pkt, len);
	wm_inproc_deliver(&net);
	ck_assert_uint_eq(w.count, 1);
	/*
	 * Unanswered: the source address may be what is wrong (it may have left this host), so
	 * the retry lets the kernel choose again, as wg_expired_retransmit_handshake does.
	 */
	advance_to(pa->timers.retransmit_handshake);
	ck_assert_uint_eq(w.count, 2);
	ck_assert(!w.last_had_src);
	ck_assert(!wm_endpoint_has_src(&pa->endpoint));
}
END_TEST

START_TEST(a_new_handshake_forgets_the_source_address)
{
	struct initiation_watch w = { 0 };
	struct wm_peer *pa = peer_of(A, B);
	uint8_t pkt[WM_INPROC_MAX_PACKET];
	size_t len = wm_inproc_make_packet(pkt, &net.nodes[A], &net.nodes[B], false, 64, 0);

	ck_assert(send_and_check(A, B, false, 64, 0));
	wm_inproc_advance(&net, 20 * WM_NSEC_PER_SEC, WM_NSEC_PER_SEC);
	stick_source_address(pa);
	net.filter = watch_initiations;
	net.filter_ctx = &w;
	/* Data goes out and nothing comes back: wg_expired_new_handshake's case. */
	ck_assert_int_eq(wm_inproc_send_ip(&net, A, pkt, len), WM_VERDICT_SEND);
	wm_inproc_deliver(&net);
	advance_to(pa->timers.new_handshake);
	ck_assert_uint_eq(w.count, 1);
	ck_assert(!w.last_had_src);
	ck_assert(!wm_endpoint_has_src(&pa->endpoint));
}
END_TEST

START_TEST(giving_up_on_a_handshake_stops_the_keepalive_timer)
{
	struct wm_peer *pa = peer_of(A, B);
	uint64_t sent;

	ck_assert(send_and_check(A, B, false, 64, 0));
	wm_inproc_advance(&net, WM_REKEY_TIMEOUT + WM_NSEC_PER_SEC, WM_NSEC_PER_SEC);
	/* A's handshakes go unanswered (what A sends is lost); B's data still reaches A. */
	net.filter = drop_from;
	net.filter_ctx = &net.nodes[A];
	wm_send_handshake_initiation(pa, net.now, false);
	ck_assert_uint_ne(pa->timers.retransmit_handshake, 0);
	while (pa->timers.handshake_attempts <= WM_MAX_TIMER_HANDSHAKES)
		advance_to(pa->timers.retransmit_handshake);
	/* After the last retry, data from B arms A's keepalive timer... */
	ck_assert(send_and_check(B, A, false, 64, 1));
	ck_assert_uint_ne(pa->timers.send_keepalive, 0);
	/* ...and giving up disarms it, as the kernel's del_timer(&peer->timer_send_keepalive) does. */
	advance_to(pa->timers.retransmit_handshake);
	ck_assert_uint_eq(pa->timers.retransmit_handshake, 0);
	ck_assert_uint_eq(pa->timers.send_keepalive, 0);
	/* So A stays quiet: no keepalive sent into the silence. */
	net.filter = drop_everything;
	sent = net.nodes[A].datagrams_sent;
	wm_inproc_advance(&net, 2 * WM_KEEPALIVE_TIMEOUT, WM_NSEC_PER_SEC);
	ck_assert_uint_eq(net.nodes[A].datagrams_sent, sent);
}
END_TEST

/* The caller moved the endpoint (a better path): an unanswered initiation goes again at once. */
START_TEST(an_unanswered_initiation_goes_again_when_the_endpoint_moves)
{
	uint8_t pkt[WM_INPROC_MAX_PACKET];
	size_t len = wm_inproc_make_packet(pkt, &net.nodes[A], &net.nodes[B], false, 64, 3);
	struct wm_peer *pa = peer_of(A, B);
	struct wm_endpoint nowhere = net.nodes[B].addr;

	/* The first path leads nowhere: the initiation is lost on it. */
	nowhere.addr.in4.sin_port = htons(9);
	wm_peer_set_endpoint(pa, &nowhere);
	ck_assert_int_eq(wm_inproc_send_ip(&net, A, pkt, len), WM_VERDICT_CONSUMED);
	wm_inproc_advance(&net, 100 * WM_NSEC_PER_MSEC, 10 * WM_NSEC_PER_MSEC);
	ck_assert_uint_eq(net.nodes[A].handshake_initiations_sent, 1);
	ck_assert_uint_eq(net.nodes[B].tun_count, 0);

	wm_peer_set_endpoint(pa, &net.nodes[B].addr);
	wm_send_handshake_on_new_endpoint(pa, net.now);
	wm_inproc_deliver(&net);
	ck_assert_uint_eq(net.nodes[A].handshake_initiations_sent, 2);
	ck_assert_uint_eq(net.nodes[B].tun_count, 1);
	ck_assert_mem_eq(net.nodes[B].tun[0].data, pkt, len);

	/* With the session up there is nothing to send again. */
	wm_peer_set_endpoint(pa, &nowhere);
	wm_send_handshake_on_new_endpoint(pa, net.now + WM_NSEC_PER_SEC);
	ck_assert_uint_eq(net.nodes[A].handshake_initiations_sent, 2);
}
END_TEST

/* Not twice within the responder's flood limit, and not once we answered the peer's own. */
START_TEST(an_initiation_goes_again_only_when_it_can_still_be_answered)
{
	uint8_t to_b[WM_INPROC_MAX_PACKET], to_a[WM_INPROC_MAX_PACKET];
	size_t len_b = wm_inproc_make_packet(to_b, &net.nodes[A], &net.nodes[B], false, 64, 4);
	size_t len_a = wm_inproc_make_packet(to_a, &net.nodes[B], &net.nodes[A], false, 64, 5);
	struct wm_peer *pa = peer_of(A, B);

	net.filter = drop_everything;
	ck_assert_int_eq(wm_inproc_send_ip(&net, A, to_b, len_b), WM_VERDICT_CONSUMED);
	wm_send_handshake_on_new_endpoint(pa, net.now + WM_NSEC_PER_SEC / WM_INITIATIONS_PER_SECOND / 2);
	ck_assert_uint_eq(net.nodes[A].handshake_initiations_sent, 1);

	/* B's initiation reaches A, A answers it: A's own initiation is replaced, not pending. */
	net.filter = drop_from;
	net.filter_ctx = &net.nodes[A];
	wm_inproc_advance(&net, 100 * WM_NSEC_PER_MSEC, 10 * WM_NSEC_PER_MSEC);
	ck_assert_int_eq(wm_inproc_send_ip(&net, B, to_a, len_a), WM_VERDICT_CONSUMED);
	wm_inproc_deliver(&net);
	ck_assert_uint_eq(net.nodes[B].handshake_initiations_sent, 1);
	ck_assert_int_ne(pa->handshake.state, WM_HANDSHAKE_CREATED_INITIATION);
	wm_send_handshake_on_new_endpoint(pa, net.now + WM_NSEC_PER_SEC);
	ck_assert_uint_eq(net.nodes[A].handshake_initiations_sent, 1);
}
END_TEST

START_TEST(rekey_after_messages_by_either_side)
{
	struct wm_peer *pa = peer_of(A, B), *pb = peer_of(B, A);

	ck_assert(send_and_check(A, B, false, 64, 0));
	wm_inproc_advance(&net, WM_REKEY_TIMEOUT + WM_NSEC_PER_SEC, WM_NSEC_PER_SEC);
	/* §6.1: a sender asks for new keys once it has used more than REKEY_AFTER_MESSAGES counters. */
	pa->keypairs.current->send_counter = WM_REKEY_AFTER_MESSAGES - 1;
	ck_assert(send_and_check(A, B, false, 64, 1));	/* sent with counter REKEY_AFTER_MESSAGES - 1 */
	ck_assert_uint_eq(net.nodes[A].handshake_initiations_sent, 1);
	ck_assert(send_and_check(A, B, false, 64, 2));	/* with REKEY_AFTER_MESSAGES: now past it */
	ck_assert_uint_eq(net.nodes[A].handshake_initiations_sent, 2);
	ck_assert_uint_lt(pa->keypairs.current->send_counter, 4);	/* the new keypair */

	/* Unlike REKEY_AFTER_TIME, the count applies to the responder too. */
	wm_inproc_advance(&net, WM_REKEY_TIMEOUT + WM_NSEC_PER_SEC, WM_NSEC_PER_SEC);
	ck_assert(!pb->keypairs.current->i_am_initiator);
	pb->keypairs.current->send_counter = WM_REKEY_AFTER_MESSAGES;
	ck_assert(send_and_check(B, A, false, 64, 3));
	ck_assert_uint_eq(net.nodes[B].handshake_initiations_sent, 1);
	ck_assert(pb->keypairs.current->i_am_initiator);
	ck_assert(send_and_check(B, A, false, 64, 4));
}
END_TEST

/* A data message under kp with any counter, sealed as a sender would (§5.4.6). */
static size_t seal_with_counter(uint8_t *out, const struct wm_keypair *kp, uint64_t counter,
				const uint8_t *plain, size_t len)
{
	struct wm_msg_data *hdr = (struct wm_msg_data *)out;

	hdr->header.type = htole32(WM_MSG_DATA);
	hdr->key_index = kp->remote_index;
	hdr->counter = htole64(counter);
	wm_crypto_aead_seal(out + WM_MSG_DATA_HEADER_LEN, plain, len, NULL, 0, counter, kp->send_key);
	return WM_MSG_DATA_HEADER_LEN + len + WM_AUTHTAG_LEN;
}

START_TEST(reject_after_messages_on_send_and_receive)
{
	/* §6.1: REJECT_AFTER_MESSAGES = 2^64 - 2^13 - 1, written out rather than taken from the macro. */
	const uint64_t reject_after_messages = UINT64_MAX - 8192;
	struct wm_peer *pa = peer_of(A, B);
	struct wm_keypair *kp;
	uint8_t pkt[WM_INPROC_MAX_PACKET], later[WM_INPROC_MAX_PACKET], sealed[WM_INPROC_MAX_PACKET];
	size_t len = wm_inproc_make_packet(pkt, &net.nodes[A], &net.nodes[B], false, 64, 7), n;
	size_t later_len = wm_inproc_make_packet(later, &net.nodes[A], &net.nodes[B], false, 64, 8);
	uint64_t replayed;

	ck_assert(send_and_check(A, B, false, 64, 0));
	kp = pa->keypairs.current;
	/* The last counter a keypair may send, and the receiver accepts it. */
	kp->send_counter = reject_after_messages - 1;
	ck_assert(send_and_check(A, B, false, 64, 1));
	ck_assert_uint_eq(kp->send_counter, reject_after_messages);
	ck_assert(!wm_keypair_can_send(kp, net.now));
	/* The next packet waits for new keys. */
	ck_assert_int_eq(wm_inproc_send_ip(&net, A, pkt, len), WM_VERDICT_CONSUMED);
	ck_assert_uint_eq(kp->send_counter, reject_after_messages);

	/* A counter at or past the limit is refused even though it authenticates. */
	replayed = net.nodes[B].dev->drops[WM_DROP_REPLAYED];
	n = seal_with_counter(sealed, kp, reject_after_messages, pkt, len);
	wm_inproc_inject(&net, B, &net.nodes[A].addr, sealed, n);
	n = seal_with_counter(sealed, kp, UINT64_MAX, pkt, len);
	wm_inproc_inject(&net, B, &net.nodes[A].addr, sealed, n);
	wm_inproc_deliver(&net);
	ck_assert_uint_eq(net.nodes[B].dev->drops[WM_DROP_REPLAYED], replayed + 2);
	ck_assert_uint_eq(net.nodes[B].tun_count, 2);

	/* Once a handshake is allowed again, both packets go, in order, under new keys. */
	wm_inproc_advance(&net, WM_REKEY_TIMEOUT, WM_NSEC_PER_SEC);
	ck_assert_int_eq(wm_inproc_send_ip(&net, A, later, later_len), WM_VERDICT_CONSUMED);
	wm_inproc_deliver(&net);
	ck_assert_ptr_ne(pa->keypairs.current, kp);
	ck_assert_uint_eq(net.nodes[B].tun_count, 4);
	ck_assert_mem_eq(net.nodes[B].tun[2].data, pkt, len);
	ck_assert_mem_eq(net.nodes[B].tun[3].data, later, later_len);
}
END_TEST

START_TEST(staged_packets_stop_at_reject_after_messages)
{
	struct wm_peer *pa = peer_of(A, B);
	struct wm_keypair *kp;
	uint8_t pkt[WM_INPROC_MAX_PACKET];
	size_t len, i;
	bool evicted;

	ck_assert(send_and_check(A, B, false, 64, 0));
	kp = pa->keypairs.current;
	kp->send_counter = WM_REJECT_AFTER_MESSAGES - 1;
	for (i = 1; i <= 2; i++) {
		len = wm_inproc_make_packet(pkt, &net.nodes[A], &net.nodes[B], false, 64, (uint8_t)i);
		ck_assert(wm_peer_stage_packet(pa, pkt, len, &evicted));
	}
	/* One counter is left: the first goes, the second waits for new keys (as the kernel re-stages). */
	wm_send_staged_packets(pa, net.now);
	wm_inproc_deliver(&net);
	ck_assert_uint_eq(kp->send_counter, WM_REJECT_AFTER_MESSAGES);
	ck_assert_uint_eq(pa->staged_count, 1);
	ck_assert_uint_eq(net.nodes[B].tun_count, 2);
	ck_assert_uint_eq(net.nodes[B].tun[1].data[20], 1);
}
END_TEST

static Suite *device_suite(void)
{
	Suite *s = suite_create("device");
	TCase *tc = tcase_create("two engines");

	tcase_add_checked_fixture(tc, setup, teardown);
	/*
	 * The clock is injected, so no test waits; each runs in well under a second even under
	 * the sanitizers (the slowest, a full REKEY_ATTEMPT_TIME of retries in 10 ms steps, took
	 * minutes while the harness copied 8 MB per step). The margin is for a loaded machine.
	 */
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, handshake_then_data_both_ways);
	tcase_add_test(tc, packets_wait_for_the_handshake_in_order);
	tcase_add_test(tc, padding_is_trimmed_and_sizes_are_multiples_of_16);
	tcase_add_test(tc, rekey_after_time_by_the_initiator);
	tcase_add_test(tc, keepalive_after_keepalive_timeout);
	tcase_add_test(tc, keys_rejected_after_reject_after_time);
	tcase_add_test(tc, handshake_retransmits_with_jitter_then_gives_up);
	tcase_add_test(tc, new_handshake_when_data_goes_unanswered);
	tcase_add_test(tc, keys_are_zeroed_after_three_reject_times);
	tcase_add_test(tc, replayed_data_packet_is_dropped);
	tcase_add_test(tc, replayed_initiation_is_rejected);
	tcase_add_test(tc, bad_mac1_is_dropped_silently);
	tcase_add_test(tc, under_load_a_cookie_is_demanded_and_the_retry_succeeds);
	tcase_add_test(tc, a_forged_cookie_reply_is_refused);
	tcase_add_test(tc, preshared_keys_must_match);
	tcase_add_test(tc, source_outside_allowed_ips_is_dropped);
	tcase_add_test(tc, no_route_and_no_endpoint_are_counted);
	tcase_add_test(tc, roaming_follows_the_authenticated_source);
	tcase_add_test(tc, persistent_keepalive_is_sent_on_schedule);
	tcase_add_test(tc, garbage_datagrams_are_counted_drops);
	tcase_add_test(tc, reserved_type_bytes_must_be_zero);
	tcase_add_test(tc, simultaneous_initiations_converge);
	tcase_add_test(tc, removing_a_peer_stops_traffic_and_frees_its_indices);
	tcase_add_test(tc, private_key_change_forces_a_new_handshake);
	tcase_add_test(tc, a_keypair_retired_within_a_batch_is_not_used_after);
	tcase_add_test(tc, split_phases_match_the_one_call_api);
	tcase_add_test(tc, a_responder_with_new_data_waits_instead_of_initiating);
	tcase_add_test(tc, a_responder_with_staged_data_does_not_retry_over_its_response);
	tcase_add_test(tc, retried_initiations_forget_the_source_address);
	tcase_add_test(tc, a_new_handshake_forgets_the_source_address);
	tcase_add_test(tc, giving_up_on_a_handshake_stops_the_keepalive_timer);
	tcase_add_test(tc, rekey_after_messages_by_either_side);
	tcase_add_test(tc, reject_after_messages_on_send_and_receive);
	tcase_add_test(tc, staged_packets_stop_at_reject_after_messages);
	tcase_add_test(tc, an_unanswered_initiation_goes_again_when_the_endpoint_moves);
	tcase_add_test(tc, an_initiation_goes_again_only_when_it_can_still_be_answered);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(device_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
