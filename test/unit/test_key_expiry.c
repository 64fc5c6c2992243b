/* SPDX-License-Identifier: MIT */
/*
 * daemon/key_expiry: what `wiremesh status` says about the node key at each moment: nothing
 * for a key that never expires or has more than a week left, a warning naming the time left in
 * the last week, and after expiry (by the local clock or by the server's refusal) why the node
 * has no mesh and the command to run.
 */
#include "daemon/key_expiry.h"

#include <check.h>
#include <string.h>

#define NOW 1800000000LL
#define DAY 86400LL

static enum wm_key_expiry_state note(char *out, int64_t expiry, bool refused)
{
	return wm_key_expiry_note(out, 512, expiry, NOW, refused);
}

START_TEST(fine_when_never_or_far)
{
	char out[512];

	ck_assert_int_eq(note(out, 0, false), WM_KEY_FINE);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(note(out, NOW + 180 * DAY, false), WM_KEY_FINE);
	ck_assert_int_eq(note(out, NOW + 7 * DAY + 1, false), WM_KEY_FINE);
	ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(warns_in_the_last_week)
{
	char out[512];

	ck_assert_int_eq(note(out, NOW + 7 * DAY, false), WM_KEY_EXPIRES_SOON);
	ck_assert_ptr_nonnull(strstr(out, "expires in 7 days"));
	ck_assert_ptr_nonnull(strstr(out, "wiremesh rotate-key"));
	ck_assert_int_eq(note(out, NOW + 3 * DAY + 5, false), WM_KEY_EXPIRES_SOON);
	ck_assert_ptr_nonnull(strstr(out, "expires in 3 days"));
	ck_assert_int_eq(note(out, NOW + 5 * 3600, false), WM_KEY_EXPIRES_SOON);
	ck_assert_ptr_nonnull(strstr(out, "expires in 5 hours"));
	ck_assert_int_eq(note(out, NOW + 61, false), WM_KEY_EXPIRES_SOON);
	ck_assert_ptr_nonnull(strstr(out, "expires in 2 minutes"));
	/* The date is in UTC: 1800000000 + 3 days is 2027-01-18 08:00 UTC. */
	ck_assert_int_eq(note(out, NOW + 3 * DAY, false), WM_KEY_EXPIRES_SOON);
	ck_assert_ptr_nonnull(strstr(out, "2027-01-18 08:00 UTC"));
}
END_TEST

START_TEST(after_expiry_says_what_to_run)
{
	char out[512];

	ck_assert_int_eq(note(out, NOW, false), WM_KEY_EXPIRED);
	ck_assert_ptr_nonnull(strstr(out, "expired at 2027-01-15 08:00 UTC"));
	ck_assert_ptr_nonnull(strstr(out, "no peers"));
	ck_assert_ptr_nonnull(strstr(out, WM_MESH_REAUTH_HINT));
	/* The server's clock counts: its refusal wins over a local clock that says otherwise. */
	ck_assert_int_eq(note(out, NOW + 100 * DAY, true), WM_KEY_EXPIRED);
	ck_assert_ptr_nonnull(strstr(out, WM_MESH_REAUTH_HINT));
	/* A never-expiring key the admin ended: no date to give. */
	ck_assert_int_eq(note(out, 0, true), WM_KEY_EXPIRED);
	ck_assert_ptr_nonnull(strstr(out, "this node's key expired: "));
	/* A short buffer is cut, never overrun. */
	ck_assert_int_eq(wm_key_expiry_note(out, 8, NOW - 1, NOW, false), WM_KEY_EXPIRED);
	ck_assert_uint_eq(strlen(out), 7);
}
END_TEST

START_TEST(refusals_that_mean_expiry)
{
	ck_assert(wm_key_expiry_refusal("rejected",
					"server: this node's key expired: register again with an auth key"));
	ck_assert(!wm_key_expiry_refusal("rejected", "server: unknown, revoked auth key"));
	ck_assert(!wm_key_expiry_refusal("connected", "key expired"));
	ck_assert(!wm_key_expiry_refusal(NULL, NULL));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("key_expiry");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, fine_when_never_or_far);
	tcase_add_test(tc, warns_in_the_last_week);
	tcase_add_test(tc, after_expiry_says_what_to_run);
	tcase_add_test(tc, refusals_that_mean_expiry);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
