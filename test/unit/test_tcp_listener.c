/* SPDX-License-Identifier: MIT */
/* common/tcp_listener: --listen texts, and listening on loopback. */
#include "common/tcp_listener.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

START_TEST(listen_texts)
{
	static const char *const bad[] = { "", ":", ":x", ":70000", ":-1", "bogus", "1.2.3",
					   "127.0.0.1", "[::1]", "::1:80x" };
	struct wm_endpoint ep;

	ck_assert_int_eq(wm_listen_addr_parse(&ep, ":443"), 0);
	ck_assert_int_eq(ep.addr.sa.sa_family, AF_INET6);
	ck_assert(!memcmp(&ep.addr.in6.sin6_addr, &in6addr_any, 16));
	ck_assert_uint_eq(ntohs(ep.addr.in6.sin6_port), 443);
	ck_assert_int_eq(wm_listen_addr_parse(&ep, "127.0.0.1:8080"), 0);
	ck_assert_int_eq(ep.addr.sa.sa_family, AF_INET);
	ck_assert_uint_eq(ntohs(ep.addr.in4.sin_port), 8080);
	ck_assert_int_eq(wm_listen_addr_parse(&ep, "[::1]:443"), 0);
	ck_assert_int_eq(ep.addr.sa.sa_family, AF_INET6);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(wm_listen_addr_parse(&ep, bad[i]) == -EINVAL, "'%s' accepted", bad[i]);
}
END_TEST

START_TEST(listens_once_per_port)
{
	struct wm_endpoint ep;
	socklen_t len = sizeof(ep.addr);
	char err[200], text[64];
	int fd, again;

	fd = wm_tcp_listen("127.0.0.1:0", 8, err, sizeof(err));
	ck_assert_msg(fd >= 0, "%s", err);
	ck_assert_int_eq(getsockname(fd, &ep.addr.sa, &len), 0);
	snprintf(text, sizeof(text), "127.0.0.1:%u", ntohs(ep.addr.in4.sin_port));
	again = wm_tcp_listen(text, 8, err, sizeof(err));
	ck_assert_int_eq(again, -EADDRINUSE);
	ck_assert_msg(strstr(err, "cannot listen on 127.0.0.1:"), "%s", err);
	close(fd);
	ck_assert_int_eq(wm_tcp_listen("nowhere", 8, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "'nowhere' is not ADDR:PORT"), "%s", err);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tcp_listener");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failures;

	tcase_add_test(tc, listen_texts);
	tcase_add_test(tc, listens_once_per_port);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
