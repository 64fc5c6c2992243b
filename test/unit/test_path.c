/* SPDX-License-Identifier: MIT */
#include "nat/path.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#define S WM_PATH_S
#define MS WM_PATH_MS
#define T0 (1000 * S)

static void counter_fill(void *ctx, void *buf, size_t len)
{
	uint8_t *b = buf, *counter = ctx;

	for (size_t i = 0; i < len; i++)
		b[i] = (*counter)++;
}

static uint8_t rng_state;
static const struct wm_rng test_rng = { .fill = counter_fill, .ctx = &rng_state };

static struct wm_endpoint ep(const char *text)
{
	struct wm_endpoint e;

	ck_assert_int_eq(wm_endpoint_parse(&e, text), 0);
	return e;
}

static struct wm_path path;
static struct wm_path_action act[64];

static void setup(void)
{
	struct wm_endpoint eps[2] = { ep("10.1.0.2:41641"), ep("203.0.113.1:41641") };

	wm_path_init(&path, true);
	wm_path_set_candidates(&path, WM_PATH_FROM_NETMAP, eps, 2);
}

static size_t count_kind(size_t n, enum wm_path_action_kind kind)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += act[i].kind == kind;
	return c;
}

/* Answers the ping of action i (a direct one from its address) after rtt. */
static bool pong(size_t i, uint64_t at)
{
	uint64_t latency;

	return wm_path_on_pong(&path, act[i].txid, &act[i].to, act[i].via_relay, at, &latency);
}

static int action_to(size_t n, const char *addr)
{
	struct wm_endpoint e = ep(addr);

	for (size_t i = 0; i < n; i++)
		if (act[i].kind == WM_PATH_SEND_PING && !act[i].via_relay &&
		    wm_endpoint_equal(&act[i].to, &e))
			return (int)i;
	return -1;
}

START_TEST(test_idle_peer_uses_relay_and_sends_nothing)
{
	struct wm_endpoint e;

	ck_assert_int_eq(wm_path_decide(&path, T0, &e), WM_PATH_RELAY);
	ck_assert_uint_eq(wm_path_tick(&path, T0, &test_rng, act, 64), 0);
	ck_assert(!wm_path_is_active(&path, T0));
}
END_TEST

START_TEST(test_active_peer_sweeps_and_calls)
{
	size_t n;

	wm_path_note_active(&path, T0);
	n = wm_path_tick(&path, T0, &test_rng, act, 64);
	ck_assert_uint_eq(count_kind(n, WM_PATH_SEND_PING), 2);
	ck_assert_uint_eq(count_kind(n, WM_PATH_SEND_CALL_ME_MAYBE), 1);
	ck_assert_int_ge(action_to(n, "10.1.0.2:41641"), 0);
	ck_assert_int_ge(action_to(n, "203.0.113.1:41641"), 0);
	/* Distinct transaction ids. */
	ck_assert(memcmp(act[0].txid, act[1].txid, WM_PATH_TXID_LEN) != 0);
	/* Nothing again before the ping interval… */
	ck_assert_uint_eq(wm_path_tick(&path, T0 + 4 * S, &test_rng, act, 64), 0);
	/* …and a new sweep after it. */
	n = wm_path_tick(&path, T0 + 5 * S, &test_rng, act, 64);
	ck_assert_uint_eq(count_kind(n, WM_PATH_SEND_PING), 2);
}
END_TEST

START_TEST(test_pong_makes_direct_then_heartbeats)
{
	struct wm_endpoint e;
	size_t n;
	int i;

	wm_path_note_active(&path, T0);
	n = wm_path_tick(&path, T0, &test_rng, act, 64);
	i = action_to(n, "203.0.113.1:41641");
	ck_assert(pong((size_t)i, T0 + 2 * MS));
	ck_assert_int_eq(wm_path_decide(&path, T0 + 3 * MS, &e), WM_PATH_DIRECT);
	ck_assert(wm_endpoint_equal(&e, &act[i].to));
	ck_assert_uint_eq(wm_path_best(&path)->latency, 2 * MS);
	/* A second pong of the same txid is not accepted. */
	ck_assert(!pong((size_t)i, T0 + 3 * MS));
	/* Heartbeat: only the best, every 3 s; no call-me-maybe while trusted. */
	wm_path_note_active(&path, T0 + 2 * S);
	ck_assert_uint_eq(wm_path_tick(&path, T0 + 2 * S, &test_rng, act, 64), 0);
	n = wm_path_tick(&path, T0 + 3 * S, &test_rng, act, 64);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(action_to(n, "203.0.113.1:41641"), 0);
	ck_assert(pong(0, T0 + 3 * S + MS));
	ck_assert_int_eq(wm_path_decide(&path, T0 + 9 * S, &e), WM_PATH_DIRECT);
}
END_TEST

START_TEST(test_trust_expires_to_relay_then_recovers)
{
	struct wm_endpoint e;
	size_t n;
	int i;

	wm_path_note_active(&path, T0);
	n = wm_path_tick(&path, T0, &test_rng, act, 64);
	i = action_to(n, "203.0.113.1:41641");
	ck_assert(pong((size_t)i, T0 + MS));
	/* The path breaks: heartbeats go unanswered. */
	for (uint64_t t = T0 + S; t <= T0 + 6 * S; t += S) {
		wm_path_note_active(&path, t);
		wm_path_tick(&path, t, &test_rng, act, 64);
	}
	ck_assert_int_eq(wm_path_decide(&path, T0 + 6 * S, &e), WM_PATH_DIRECT);
	ck_assert_int_eq(wm_path_decide(&path, T0 + 6 * S + 600 * MS, &e), WM_PATH_RELAY);
	/* Untrusted: the next tick sweeps the candidates not pinged lately, with a call-me-maybe. */
	wm_path_note_active(&path, T0 + 7 * S);
	n = wm_path_tick(&path, T0 + 7 * S, &test_rng, act, 64);
	ck_assert_uint_eq(count_kind(n, WM_PATH_SEND_CALL_ME_MAYBE), 1);
	ck_assert_int_ge(action_to(n, "10.1.0.2:41641"), 0);
	ck_assert_int_lt(action_to(n, "203.0.113.1:41641"), 0);	/* its heartbeat is 1 s old */
	/* Every 5 s every candidate again, until one answers. */
	wm_path_note_active(&path, T0 + 11 * S);
	n = wm_path_tick(&path, T0 + 11 * S, &test_rng, act, 64);
	ck_assert_uint_eq(count_kind(n, WM_PATH_SEND_CALL_ME_MAYBE), 1);
	/* The path heals: a pong brings direct back at once. */
	i = action_to(n, "203.0.113.1:41641");
	ck_assert_int_ge(i, 0);
	ck_assert(pong((size_t)i, T0 + 11 * S + MS));
	ck_assert_int_eq(wm_path_decide(&path, T0 + 11 * S + 2 * MS, &e), WM_PATH_DIRECT);
}
END_TEST

START_TEST(test_pong_from_elsewhere_or_unknown_is_ignored)
{
	uint8_t bogus[WM_PATH_TXID_LEN] = { 0xee };
	struct wm_endpoint other = ep("198.51.100.9:1"), e;
	uint64_t latency;
	size_t n;

	wm_path_note_active(&path, T0);
	n = wm_path_tick(&path, T0, &test_rng, act, 64);
	ck_assert_uint_ge(n, 1);
	ck_assert(!wm_path_on_pong(&path, act[0].txid, &other, false, T0 + MS, &latency));
	ck_assert(!wm_path_on_pong(&path, bogus, &act[0].to, false, T0 + MS, &latency));
	ck_assert(!wm_path_on_pong(&path, act[0].txid, &act[0].to, true, T0 + MS, &latency));
	ck_assert_int_eq(wm_path_decide(&path, T0 + MS, &e), WM_PATH_RELAY);
	/* A ping that timed out cannot be answered any more. */
	wm_path_tick(&path, T0 + 6 * S, &test_rng, act + 10, 10);
	ck_assert(!wm_path_on_pong(&path, act[0].txid, &act[0].to, false, T0 + 6 * S, &latency));
}
END_TEST

START_TEST(test_call_me_maybe_sweeps_without_echo)
{
	struct wm_endpoint cmm[1] = { ep("203.0.113.7:5000") };
	size_t n;

	/* Not active ourselves: the peer's call-me-maybe still makes us ping at once. */
	wm_path_call_me_maybe(&path, cmm, 1, T0);
	n = wm_path_tick(&path, T0, &test_rng, act, 64);
	ck_assert_uint_eq(count_kind(n, WM_PATH_SEND_PING), 3);
	ck_assert_int_ge(action_to(n, "203.0.113.7:5000"), 0);
	ck_assert_uint_eq(count_kind(n, WM_PATH_SEND_CALL_ME_MAYBE), 0);
	/* A new call-me-maybe replaces the earlier list. */
	cmm[0] = ep("203.0.113.7:5001");
	wm_path_call_me_maybe(&path, cmm, 1, T0 + S);
	n = wm_path_tick(&path, T0 + S, &test_rng, act, 64);
	ck_assert_int_lt(action_to(n, "203.0.113.7:5000"), 0);
	ck_assert_int_ge(action_to(n, "203.0.113.7:5001"), 0);
}
END_TEST

START_TEST(test_learned_addresses_expire)
{
	struct wm_endpoint roamed = ep("203.0.113.1:20001");

	wm_path_learn(&path, &roamed, WM_PATH_FROM_ROAMING, T0);
	ck_assert_uint_eq(path.n_cand, 3);
	wm_path_learn(&path, &roamed, WM_PATH_FROM_ROAMING, T0 + 30 * S);	/* refreshed */
	wm_path_tick(&path, T0 + 50 * S, &test_rng, act, 64);
	ck_assert_uint_eq(path.n_cand, 3);
	wm_path_tick(&path, T0 + 76 * S, &test_rng, act, 64);
	ck_assert_uint_eq(path.n_cand, 2);
}
END_TEST

START_TEST(test_rebinding_moves_best_to_the_new_port)
{
	struct wm_endpoint e, roamed = ep("203.0.113.1:20001");
	size_t n;
	int i;

	wm_path_note_active(&path, T0);
	n = wm_path_tick(&path, T0, &test_rng, act, 64);
	ck_assert(pong((size_t)action_to(n, "203.0.113.1:41641"), T0 + MS));
	/* The NAT rebinds: WireGuard roaming reports the new address; the old best goes quiet. */
	wm_path_learn(&path, &roamed, WM_PATH_FROM_ROAMING, T0 + 2 * S);
	wm_path_want_sweep(&path);
	wm_path_note_active(&path, T0 + 2 * S);
	n = wm_path_tick(&path, T0 + 2 * S, &test_rng, act, 64);
	i = action_to(n, "203.0.113.1:20001");
	ck_assert_int_ge(i, 0);
	ck_assert(pong((size_t)i, T0 + 2 * S + MS));
	/* Both answered about as fast: the trusted old best stays until its trust runs out… */
	for (uint64_t t = T0 + 3 * S; t <= T0 + 9 * S; t += S) {
		wm_path_note_active(&path, t);
		n = wm_path_tick(&path, t, &test_rng, act, 64);
		i = action_to(n, "203.0.113.1:20001");
		if (i >= 0)
			pong((size_t)i, t + MS);
	}
	/* …and then the new port, which keeps answering, is the path. */
	ck_assert_int_eq(wm_path_decide(&path, T0 + 10 * S, &e), WM_PATH_DIRECT);
	ck_assert(wm_endpoint_equal(&e, &roamed));
}
END_TEST

START_TEST(test_prefer_the_roamed_address)
{
	struct wm_endpoint e, roamed = ep("203.0.113.1:20001");
	struct wm_path_action a;
	uint64_t latency;
	size_t n;

	wm_path_note_active(&path, T0);
	n = wm_path_tick(&path, T0, &test_rng, act, 64);
	ck_assert(pong((size_t)action_to(n, "203.0.113.1:41641"), T0 + MS));
	/* Not answered yet: preferring it changes nothing. */
	wm_path_learn(&path, &roamed, WM_PATH_FROM_ROAMING, T0 + S);
	wm_path_prefer(&path, &roamed);
	ck_assert_int_eq(wm_path_decide(&path, T0 + S, &e), WM_PATH_DIRECT);
	ck_assert(!wm_endpoint_equal(&e, &roamed));
	wm_path_ping_direct(&path, &roamed, T0 + S, &test_rng, &a);
	ck_assert(wm_path_on_pong(&path, a.txid, &roamed, false, T0 + S + MS, &latency));
	wm_path_prefer(&path, &roamed);
	ck_assert_int_eq(wm_path_decide(&path, T0 + S + 2 * MS, &e), WM_PATH_DIRECT);
	ck_assert(wm_endpoint_equal(&e, &roamed));
}
END_TEST

START_TEST(test_faster_path_wins)
{
	struct wm_endpoint e;
	size_t n;

	wm_path_note_active(&path, T0);
	n = wm_path_tick(&path, T0, &test_rng, act, 64);
	ck_assert(pong((size_t)action_to(n, "203.0.113.1:41641"), T0 + 20 * MS));
	ck_assert(pong((size_t)action_to(n, "10.1.0.2:41641"), T0 + 2 * MS));
	ck_assert_int_eq(wm_path_decide(&path, T0 + 30 * MS, &e), WM_PATH_DIRECT);
	ck_assert(wm_endpoint_equal(&e, &act[action_to(n, "10.1.0.2:41641")].to));
}
END_TEST

START_TEST(test_no_relay_falls_back_to_a_candidate)
{
	struct wm_endpoint e;

	path.has_relay = false;
	ck_assert_int_eq(wm_path_decide(&path, T0, &e), WM_PATH_DIRECT);
	wm_path_init(&path, false);
	ck_assert_int_eq(wm_path_decide(&path, T0, &e), WM_PATH_NONE);
}
END_TEST

START_TEST(test_bounded_under_floods)
{
	struct wm_endpoint e;
	char text[32];
	size_t n;

	/* Learned addresses never crowd out the published ones. */
	for (int k = 0; k < 1000; k++) {
		snprintf(text, sizeof(text), "198.51.100.%d:%d", k % 250 + 1, 1000 + k);
		e = ep(text);
		wm_path_learn(&path, &e, WM_PATH_FROM_PING, T0 + (uint64_t)k);
	}
	ck_assert_uint_eq(path.n_cand, WM_PATH_MAX_CANDIDATES);
	n = 0;
	for (size_t i = 0; i < path.n_cand; i++)
		n += path.cand[i].source == WM_PATH_FROM_NETMAP;
	ck_assert_uint_eq(n, 2);
	/* Outstanding pings are bounded too. */
	for (int k = 0; k < 500; k++)
		wm_path_ping_via_relay(&path, T0 + (uint64_t)k, &test_rng, &act[0]);
	n = 0;
	for (size_t i = 0; i < WM_PATH_MAX_PINGS; i++)
		n += path.pings[i].in_use;
	ck_assert_uint_eq(n, WM_PATH_MAX_PINGS);
	/* The newest relay ping is answerable and gives the relay latency. */
	uint64_t latency;
	ck_assert(wm_path_on_pong(&path, act[0].txid, NULL, true, T0 + 600, &latency));
	ck_assert_uint_eq(path.relay_latency, 600 - 499);
}
END_TEST

START_TEST(test_set_candidates_keeps_history)
{
	struct wm_endpoint eps[1] = { ep("203.0.113.1:41641") };
	size_t n;

	wm_path_note_active(&path, T0);
	n = wm_path_tick(&path, T0, &test_rng, act, 64);
	ck_assert(pong((size_t)action_to(n, "203.0.113.1:41641"), T0 + MS));
	wm_path_set_candidates(&path, WM_PATH_FROM_NETMAP, eps, 1);
	ck_assert_uint_eq(path.n_cand, 1);
	ck_assert_ptr_nonnull(wm_path_best(&path));
	ck_assert_uint_eq(wm_path_best(&path)->latency, MS);
	wm_path_set_candidates(&path, WM_PATH_FROM_NETMAP, NULL, 0);
	ck_assert_ptr_null(wm_path_best(&path));
}
END_TEST

START_TEST(test_deadline)
{
	ck_assert_uint_eq(wm_path_next_deadline(&path, T0), 0);
	wm_path_note_active(&path, T0);
	ck_assert_uint_eq(wm_path_next_deadline(&path, T0), T0);
	wm_path_tick(&path, T0, &test_rng, act, 64);
	ck_assert_uint_eq(wm_path_next_deadline(&path, T0), T0 + WM_PATH_PING_INTERVAL_NS);
}
END_TEST

static Suite *path_suite(void)
{
	Suite *s = suite_create("path");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_idle_peer_uses_relay_and_sends_nothing);
	tcase_add_test(tc, test_active_peer_sweeps_and_calls);
	tcase_add_test(tc, test_pong_makes_direct_then_heartbeats);
	tcase_add_test(tc, test_trust_expires_to_relay_then_recovers);
	tcase_add_test(tc, test_pong_from_elsewhere_or_unknown_is_ignored);
	tcase_add_test(tc, test_call_me_maybe_sweeps_without_echo);
	tcase_add_test(tc, test_learned_addresses_expire);
	tcase_add_test(tc, test_rebinding_moves_best_to_the_new_port);
	tcase_add_test(tc, test_prefer_the_roamed_address);
	tcase_add_test(tc, test_faster_path_wins);
	tcase_add_test(tc, test_no_relay_falls_back_to_a_candidate);
	tcase_add_test(tc, test_bounded_under_floods);
	tcase_add_test(tc, test_set_candidates_keeps_history);
	tcase_add_test(tc, test_deadline);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(path_suite());
	int failures;

	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
