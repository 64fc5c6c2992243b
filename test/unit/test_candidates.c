/* SPDX-License-Identifier: MIT */
#include "nat/candidates.h"

#include <arpa/inet.h>
#include <check.h>
#include <net/if.h>
#include <string.h>

static struct sockaddr_storage addr_of(const char *text)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(text, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		ck_assert_int_eq(inet_pton(AF_INET6, text, &a->sin6_addr), 1);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		ck_assert_int_eq(inet_pton(AF_INET, text, &a->sin_addr), 1);
	}
	return ss;
}

static bool usable(const char *text, unsigned flags)
{
	struct sockaddr_storage ss = addr_of(text);

	return wm_candidates_usable((struct sockaddr *)&ss, flags);
}

START_TEST(test_usable_table)
{
	static const struct {
		const char *addr;
		bool want;
	} cases[] = {
		{ "10.1.2.3", true },		{ "192.168.0.9", true },
		{ "203.0.113.5", true },	{ "127.0.0.1", false },
		{ "127.3.3.40", false },	{ "169.254.10.1", false },
		{ "0.0.0.0", false },		{ "224.0.0.1", false },
		{ "255.255.255.255", false },	{ "100.64.0.1", false },
		{ "100.127.255.254", false },	{ "100.128.0.1", true },
		{ "100.63.255.255", true },	{ "2001:db8::1", true },
		{ "fd00::1", true },		{ "::1", false },
		{ "::", false },		{ "fe80::1", false },
		{ "ff02::1", false },		{ "::ffff:10.0.0.1", false },
		{ "fd77:6d65:7368::1", false },	{ "fd77:6d65:7369::1", true },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(usable(cases[i].addr, IFF_UP) == cases[i].want, "%s", cases[i].addr);
}
END_TEST

START_TEST(test_interface_flags)
{
	ck_assert(usable("10.0.0.1", IFF_UP | IFF_RUNNING));
	ck_assert(!usable("10.0.0.1", 0));
	ck_assert(!usable("10.0.0.1", IFF_UP | IFF_LOOPBACK));
	ck_assert(!wm_candidates_usable(NULL, IFF_UP));
}
END_TEST

static struct wm_endpoint ep(const char *text)
{
	struct wm_endpoint e;

	ck_assert_int_eq(wm_endpoint_parse(&e, text), 0);
	return e;
}

START_TEST(test_normalize)
{
	struct wm_endpoint eps[6] = {
		ep("[2001:db8::2]:5"), ep("10.0.0.2:7"), ep("10.0.0.1:9"),
		ep("10.0.0.2:7"), ep("[2001:db8::1]:5"), ep("10.0.0.2:6"),
	};
	const char *want[] = { "10.0.0.1:9", "10.0.0.2:6", "10.0.0.2:7", "[2001:db8::1]:5",
			       "[2001:db8::2]:5" };
	char text[WM_ENDPOINT_STR_LEN];
	size_t n = wm_candidates_normalize(eps, 6);

	ck_assert_uint_eq(n, 5);
	for (size_t i = 0; i < n; i++) {
		wm_endpoint_format(&eps[i], text);
		ck_assert_str_eq(text, want[i]);
	}
	ck_assert_uint_eq(wm_candidates_normalize(eps, 0), 0);
}
END_TEST

START_TEST(test_local_carries_port_and_filters)
{
	struct wm_endpoint eps[64];
	int n = wm_candidates_local(eps, 64, 41641, NULL);

	ck_assert_int_ge(n, 0);
	for (int i = 0; i < n; i++) {
		ck_assert(wm_candidates_usable(&eps[i].addr.sa, IFF_UP));
		ck_assert_uint_eq(ntohs(eps[i].addr.in4.sin_port), 41641);	/* same offset in both */
	}
	ck_assert_int_eq(wm_candidates_local(eps, 0, 1, NULL), 0);
	ck_assert_int_eq(wm_candidates_local(eps, 64, 1, "lo"), n);
}
END_TEST

static Suite *candidates_suite(void)
{
	Suite *s = suite_create("candidates");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_usable_table);
	tcase_add_test(tc, test_interface_flags);
	tcase_add_test(tc, test_normalize);
	tcase_add_test(tc, test_local_carries_port_and_filters);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(candidates_suite());
	int failures;

	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
