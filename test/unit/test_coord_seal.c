/* SPDX-License-Identifier: MIT */
/* The sealed envelope: what one side seals only the other opens, and any change is caught. */
#include "coord-client/coord_seal.h"

#include <check.h>
#include <errno.h>
#include <string.h>

#include <sodium.h>

static uint8_t node_pub[32], node_priv[32], server_pub[32], server_priv[32];

static void setup(void)
{
	/* Fixed keys: deterministic runs. */
	for (int i = 0; i < 32; i++) {
		node_priv[i] = (uint8_t)(i + 1);
		server_priv[i] = (uint8_t)(0x80 + i);
	}
	wm_coord_public_key(node_pub, node_priv);
	wm_coord_public_key(server_pub, server_priv);
}

START_TEST(both_ways)
{
	struct wm_coord_box node, server;
	static const char msg[] = "{\"type\":\"poll\"}";
	uint8_t box[128], out[128];
	ssize_t n, m;

	ck_assert(wm_coord_box_init(&node, server_pub, node_priv));
	ck_assert(wm_coord_box_init(&server, node_pub, server_priv));
	n = wm_coord_seal(&node, box, sizeof(box), msg, sizeof(msg));
	ck_assert_int_eq(n, sizeof(msg) + WM_COORD_SEAL_OVERHEAD);
	m = wm_coord_open(&server, out, sizeof(out), box, (size_t)n);
	ck_assert_int_eq(m, sizeof(msg));
	ck_assert_mem_eq(out, msg, sizeof(msg));
	/* And back: the answer direction. */
	n = wm_coord_seal(&server, box, sizeof(box), msg, sizeof(msg));
	ck_assert_int_eq(wm_coord_open(&node, out, sizeof(out), box, (size_t)n), sizeof(msg));
	/* Two seals of one message differ (fresh nonces). */
	{
		uint8_t box2[128];

		ck_assert_int_eq(wm_coord_seal(&node, box2, sizeof(box2), msg, sizeof(msg)), n);
		ck_assert(memcmp(box, box2, (size_t)n));
	}
}
END_TEST

START_TEST(tampered_and_wrong_key)
{
	struct wm_coord_box node, server, other;
	uint8_t box[64], out[64], other_pub[32], other_priv[32];
	ssize_t n;

	ck_assert(wm_coord_box_init(&node, server_pub, node_priv));
	ck_assert(wm_coord_box_init(&server, node_pub, server_priv));
	n = wm_coord_seal(&node, box, sizeof(box), "hello", 5);
	for (ssize_t i = 0; i < n; i++) {
		box[i] ^= 0x01;
		ck_assert_int_eq(wm_coord_open(&server, out, sizeof(out), box, (size_t)n), -EBADMSG);
		box[i] ^= 0x01;
	}
	ck_assert_int_eq(wm_coord_open(&server, out, sizeof(out), box, (size_t)n - 1), -EBADMSG);
	ck_assert_int_eq(wm_coord_open(&server, out, sizeof(out), box, 10), -EBADMSG);
	ck_assert_int_eq(wm_coord_open(&server, out, 2, box, (size_t)n), -ENOSPC);
	/* Another node claiming this node's key cannot open or forge. */
	for (int i = 0; i < 32; i++)
		other_priv[i] = (uint8_t)(0x40 + i);
	wm_coord_public_key(other_pub, other_priv);
	ck_assert(wm_coord_box_init(&other, server_pub, other_priv));
	ck_assert_int_eq(wm_coord_open(&other, out, sizeof(out), box, (size_t)n), -EBADMSG);
	n = wm_coord_seal(&other, box, sizeof(box), "hello", 5);
	ck_assert_int_eq(wm_coord_open(&server, out, sizeof(out), box, (size_t)n), -EBADMSG);
	ck_assert_int_eq(wm_coord_seal(&node, box, 20, "hello", 5), -ENOSPC);
}
END_TEST

START_TEST(low_order_key)
{
	struct wm_coord_box b;
	uint8_t zero[32] = { 0 };

	ck_assert(!wm_coord_box_init(&b, zero, node_priv));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("coord_seal");
	TCase *tc = tcase_create("seal");
	SRunner *sr;
	int failures;

	if (sodium_init() < 0)
		return 1;
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, both_ways);
	tcase_add_test(tc, tampered_and_wrong_key);
	tcase_add_test(tc, low_order_key);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
