/* SPDX-License-Identifier: MIT */
#include "relay-client/derp_http.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_url_parse)
{
	static const struct {
		const char *text;
		bool tls;
		const char *host;
		unsigned port;
		const char *path;
	} good[] = {
		{ "https://derp.example.net/derp", true, "derp.example.net", 443, "/derp" },
		{ "https://derp.example.net", true, "derp.example.net", 443, "/derp" },
		{ "HTTPS://relay:8443/derp", true, "relay", 8443, "/derp" },
		{ "http://127.0.0.1:3340/derp", false, "127.0.0.1", 3340, "/derp" },
		{ "http://[::1]:3340/derp", false, "::1", 3340, "/derp" },
		{ "http://[2001:db8::7]", false, "2001:db8::7", 80, "/derp" },
		{ "https://h/other/path?x=1", true, "h", 443, "/other/path?x=1" },
	};
	static const char *const bad[] = {
		"", "derp.example.net", "ftp://h/derp", "https://", "https:///derp", "https://h:/derp",
		"https://h:0/derp", "https://h:65536/derp", "https://h:12x/derp", "https://u@h/derp",
		"https://[::1/derp", "https://[nonsense]/derp", "https://h/de rp", "https://h/d#frag",
		"https://h\x01/derp", "https://[]/derp",
	};
	struct wm_derp_url u;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ck_assert_msg(wm_derp_url_parse(&u, good[i].text) == 0, "%s", good[i].text);
		ck_assert_int_eq(u.tls, good[i].tls);
		ck_assert_str_eq(u.host, good[i].host);
		ck_assert_uint_eq(u.port, good[i].port);
		ck_assert_str_eq(u.path, good[i].path);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(wm_derp_url_parse(&u, bad[i]) == -EINVAL, "accepted %s", bad[i]);
}
END_TEST

START_TEST(test_request_format)
{
	struct wm_derp_url u;
	char buf[512];

	ck_assert_int_eq(wm_derp_url_parse(&u, "https://derp.example.net/derp"), 0);
	ck_assert_int_gt(wm_derp_http_request_format(buf, sizeof(buf), &u), 0);
	ck_assert_str_eq(buf, "GET /derp HTTP/1.1\r\nHost: derp.example.net\r\n"
			      "User-Agent: wiremesh\r\nConnection: Upgrade\r\nUpgrade: DERP\r\n\r\n");
	ck_assert_int_eq(wm_derp_url_parse(&u, "http://[::1]:3340/derp"), 0);
	wm_derp_http_request_format(buf, sizeof(buf), &u);
	ck_assert_ptr_nonnull(strstr(buf, "\r\nHost: [::1]:3340\r\n"));
	ck_assert_int_eq(wm_derp_http_request_format(buf, 20, &u), -ENOSPC);

	/* What we send, the server side parses as an upgrade. */
	{
		struct wm_derp_http_request req;
		ssize_t n = wm_derp_http_request_format(buf, sizeof(buf), &u);

		ck_assert_int_eq(wm_derp_http_request_parse(&req, buf, (size_t)n), n);
		ck_assert(req.upgrade_derp && !req.fast_start);
		ck_assert_str_eq(req.path, "/derp");
	}
}
END_TEST

START_TEST(test_response_parse)
{
	const char *ok = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: DERP\r\nConnection: Upgrade\r\n"
			 "Derp-Version: 2\r\nDerp-Public-Key: 00\r\n\r\n\x01\x00";
	size_t head = strlen(ok) - 1;	/* strlen stops inside the frame: after \x01 */
	int status;

	ck_assert_int_eq(wm_derp_http_response_parse(ok, head + 2, &status), (ssize_t)head);
	ck_assert_int_eq(status, 101);
	/* Every prefix of the head is incomplete. */
	for (size_t n = 0; n < head; n++)
		ck_assert_int_eq(wm_derp_http_response_parse(ok, n, &status), -EAGAIN);
	ck_assert_int_eq(wm_derp_http_response_parse("HTTP/1.0 426 Upgrade Required\n\nbody", 35,
						     &status), 31);
	ck_assert_int_eq(status, 426);
	ck_assert_int_eq(wm_derp_http_response_parse("HTTP/1.1 200\r\n\r\n", 16, &status), 16);
	ck_assert_int_eq(status, 200);

	static const char *const bad[] = {
		"\r\n\r\n", "HTTP/2 101 x\r\n\r\n", "HTTP/1.1 1O1 x\r\n\r\n", "HTTP/1.1 101x\r\n\r\n",
		"HTTP/1.1 099 x\r\n\r\n", "SSH-2.0-OpenSSH\r\n\r\n", "HTTP/1.1 101 x\r\nNoColon\r\n\r\n",
		"HTTP/1.1 101 x\r\n: empty name\r\n\r\n", "HTTP/1.1 101 x\r\nA: b\x01\r\n\r\n",
	};
	static const char nul[] = "HTTP/1.1 101 x\r\nA\0: b\r\n\r\n";

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(wm_derp_http_response_parse(bad[i], strlen(bad[i]), &status) == -EBADMSG,
			      "accepted %zu", i);
	ck_assert_int_eq(wm_derp_http_response_parse(nul, sizeof(nul) - 1, &status), -EBADMSG);
}
END_TEST

START_TEST(test_head_limit)
{
	char *buf = malloc(WM_DERP_HTTP_HEAD_MAX + 16);
	struct wm_derp_http_request req;
	size_t fill;

	memcpy(buf, "GET /derp HTTP/1.1\r\nX: ", 23);
	memset(buf + 23, 'a', WM_DERP_HTTP_HEAD_MAX + 16 - 23);
	/* No end of head within the limit: incomplete below it, malformed at it. */
	ck_assert_int_eq(wm_derp_http_request_parse(&req, buf, WM_DERP_HTTP_HEAD_MAX - 1), -EAGAIN);
	ck_assert_int_eq(wm_derp_http_request_parse(&req, buf, WM_DERP_HTTP_HEAD_MAX), -EBADMSG);
	/* A head that ends exactly at the limit is fine. */
	fill = WM_DERP_HTTP_HEAD_MAX - 4;
	memcpy(buf + fill, "\r\n\r\n", 4);
	ck_assert_int_eq(wm_derp_http_request_parse(&req, buf, WM_DERP_HTTP_HEAD_MAX + 16),
			 WM_DERP_HTTP_HEAD_MAX);
	free(buf);
}
END_TEST

static ssize_t parse(struct wm_derp_http_request *req, const char *text)
{
	return wm_derp_http_request_parse(req, text, strlen(text));
}

START_TEST(test_request_parse)
{
	struct wm_derp_http_request req;

	ck_assert_int_gt(parse(&req, "GET /derp HTTP/1.1\r\nHost: h\r\nupgrade:   dErP \r\n\r\n"), 0);
	ck_assert(req.upgrade_derp && !req.upgrade_other);
	ck_assert_int_eq(req.method, WM_HTTP_GET);
	ck_assert_int_gt(parse(&req, "GET /derp HTTP/1.1\nUpgrade: websocket\nDerp-Fast-Start: 1\n\n"),
			 0);
	ck_assert(!req.upgrade_derp && req.upgrade_other && req.fast_start);
	/* Go's Header.Get: the first of repeated headers counts. */
	ck_assert_int_gt(parse(&req, "GET /derp HTTP/1.0\r\nUpgrade: h2c\r\nUpgrade: DERP\r\n\r\n"), 0);
	ck_assert(!req.upgrade_derp);
	ck_assert_int_gt(parse(&req, "HEAD /generate_204?x=1 HTTP/1.1\r\n"
				     "X-Tailscale-Challenge: ts_1.2-3:abc\r\n\r\n"), 0);
	ck_assert_int_eq(req.method, WM_HTTP_HEAD);
	ck_assert_str_eq(req.path, "/generate_204");
	ck_assert(req.has_challenge);
	ck_assert_str_eq(req.challenge, "ts_1.2-3:abc");
	/* handler.go: challenges over 64 characters or with other characters are not echoed. */
	ck_assert_int_gt(parse(&req, "GET /generate_204 HTTP/1.1\r\nX-Tailscale-Challenge: a b\r\n\r\n"),
			 0);
	ck_assert(!req.has_challenge);
	ck_assert_int_gt(parse(&req, "GET /generate_204 HTTP/1.1\r\nX-Tailscale-Challenge: "
				     "0123456789012345678901234567890123456789012345678901234567890123"
				     "\r\n\r\n"), 0);
	ck_assert(req.has_challenge);
	ck_assert_int_gt(parse(&req, "GET /generate_204 HTTP/1.1\r\nX-Tailscale-Challenge: "
				     "01234567890123456789012345678901234567890123456789012345678901234"
				     "\r\n\r\n"), 0);
	ck_assert(!req.has_challenge);
	ck_assert_int_gt(parse(&req, "POST /derp HTTP/1.1\r\n\r\n"), 0);
	ck_assert_int_eq(req.method, WM_HTTP_OTHER);

	static const char *const bad[] = {
		"\r\n\r\n", "GET\r\n\r\n", "GET /derp\r\n\r\n", "GET derp HTTP/1.1\r\n\r\n",
		"GET /derp HTTP/2.0\r\n\r\n", "GET /derp HTTP/1.1 x\r\n\r\n", "GET  /derp HTTP/1.1\r\n\r\n",
		"G(T /derp HTTP/1.1\r\n\r\n", "GET /de\x7frp HTTP/1.1\r\n\r\n",
		"GET /derp HTTP/1.1\r\nUpgrade: derp\r\n folded\r\n\r\n",
		"GET /derp HTTP/1.1\r\nUp grade: derp\r\n\r\n", "GET /derp HTTP/1.1\r\nUpgrade\r\n\r\n",
		"GET /derp HTTP/1.1\r\nUpgrade: de\x02rp\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(parse(&req, bad[i]) == -EBADMSG, "accepted %s", bad[i]);
	ck_assert_int_eq(wm_derp_http_request_parse(&req, "GET /\0 HTTP/1.1\r\n\r\n", 20), -EBADMSG);
}
END_TEST

START_TEST(test_request_truncations)
{
	const char *text = "GET /derp HTTP/1.1\r\nHost: relay\r\nConnection: Upgrade\r\n"
			   "Upgrade: DERP\r\n\r\n";
	struct wm_derp_http_request req;
	size_t len = strlen(text);

	for (size_t n = 0; n < len; n++)
		ck_assert_int_eq(wm_derp_http_request_parse(&req, text, n), -EAGAIN);
	ck_assert_int_eq(wm_derp_http_request_parse(&req, text, len), (ssize_t)len);
}
END_TEST

START_TEST(test_replies)
{
	uint8_t key[32];
	char buf[512];
	int status;

	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	ck_assert_int_gt(wm_derp_http_switching_format(buf, sizeof(buf), key), 0);
	ck_assert_str_eq(buf, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: DERP\r\n"
			      "Connection: Upgrade\r\nDerp-Version: 2\r\nDerp-Public-Key: "
			      "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\r\n\r\n");
	ck_assert_int_eq(wm_derp_http_response_parse(buf, strlen(buf), &status), (ssize_t)strlen(buf));
	ck_assert_int_eq(status, 101);
	ck_assert_int_gt(wm_http_reply_head(buf, sizeof(buf), 426, "text/plain", 33, NULL, 0), 0);
	ck_assert_str_eq(buf, "HTTP/1.1 426 Upgrade Required\r\nContent-Type: text/plain\r\n"
			      "Content-Length: 33\r\nConnection: close\r\n\r\n");
	ck_assert_int_gt(wm_http_reply_head(buf, sizeof(buf), 204, NULL, 0,
					    (const struct wm_http_field[]){ { "A", "b" } }, 1), 0);
	ck_assert_str_eq(buf, "HTTP/1.1 204 No Content\r\nA: b\r\nConnection: close\r\n\r\n");
	ck_assert_int_eq(wm_http_reply_head(buf, 10, 200, NULL, 0, NULL, 0), -ENOSPC);
}
END_TEST

static Suite *http_suite(void)
{
	Suite *s = suite_create("derp_http");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_url_parse);
	tcase_add_test(tc, test_request_format);
	tcase_add_test(tc, test_response_parse);
	tcase_add_test(tc, test_head_limit);
	tcase_add_test(tc, test_request_parse);
	tcase_add_test(tc, test_request_truncations);
	tcase_add_test(tc, test_replies);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(http_suite());
	int failures;

	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
