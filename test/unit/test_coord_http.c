/* SPDX-License-Identifier: MIT */
/* HTTP framing: URLs, heads we write, and the bounded reader fed whole or byte by byte. */
#include "coord-client/coord_http.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char request[] =
	"POST /v1/poll?x=1 HTTP/1.1\r\nHost: c.example\r\n"
	"wiremesh-node: AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\r\n"
	"Content-Type: application/x-wiremesh-sealed; v=1\r\nContent-Length: 5\r\n\r\nhelloEXTRA";

/* Feeds text in chunks of step bytes; returns the last feed result. */
static ssize_t feed(struct wm_coord_http_msg *m, const char *text, size_t len, size_t step)
{
	size_t off = 0;
	ssize_t n = 0;

	while (off < len && !m->http.done) {
		size_t chunk = len - off < step ? len - off : step;

		n = wm_http_msg_feed(&m->http, text + off, chunk);
		if (n < 0)
			return n;
		off += (size_t)n;
		if (n == 0)
			break;
	}
	return (ssize_t)off;
}

START_TEST(request_any_split)
{
	static const size_t steps[] = { 1, 2, 7, 64, 4096 };
	struct wm_coord_http_msg m;

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		wm_coord_http_init(&m, true, 100);
		ck_assert_int_eq(feed(&m, request, strlen(request), steps[i]), strlen(request) - 5);
		ck_assert(m.http.done);
		ck_assert_int_eq(m.http.method, WM_HTTP_POST);
		ck_assert_str_eq(m.http.path, "/v1/poll");
		ck_assert_str_eq(m.http.query, "x=1");
		ck_assert(m.has_node_key);
		ck_assert_uint_eq(m.node_key[31], 1);
		ck_assert_str_eq(m.content_type, "application/x-wiremesh-sealed");
		ck_assert_uint_eq(m.http.body_len, 5);
		ck_assert_mem_eq(m.http.body, "hello", 5);
		wm_http_msg_free(&m.http);
	}
}
END_TEST

START_TEST(response_until_eof)
{
	static const char resp[] = "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n\r\n{\"a\":1}";
	struct wm_coord_http_msg m;

	wm_coord_http_init(&m, false, 100);
	ck_assert_int_eq(wm_http_msg_feed(&m.http, resp, strlen(resp)), strlen(resp));
	ck_assert(!m.http.done);
	ck_assert_int_eq(wm_http_msg_feed_eof(&m.http), 0);
	ck_assert(m.http.done);
	ck_assert_int_eq(m.http.status, 401);
	ck_assert_uint_eq(m.http.body_len, 7);
	wm_http_msg_free(&m.http);
	/* Chunked bodies are joined. */
	wm_coord_http_init(&m, false, 100);
	ck_assert_int_gt(wm_http_msg_feed(&m.http, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
					     "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", 69), 0);
	ck_assert(m.http.done);
	ck_assert_mem_eq(m.http.body, "abcde", 5);
	wm_http_msg_free(&m.http);
	/* A response cut short. */
	wm_coord_http_init(&m, false, 100);
	ck_assert_int_gt(wm_http_msg_feed(&m.http, "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nab", 40), 0);
	ck_assert_int_eq(wm_http_msg_feed_eof(&m.http), -EBADMSG);
	wm_http_msg_free(&m.http);
}
END_TEST

static const struct {
	const char *text;
	int err;
	bool head_done;
} bad[] = {
	{ "GARBAGE\r\n\r\n", -EBADMSG, false },
	{ "GET /x HTTP/9.9\r\n\r\n", -EBADMSG, false },
	{ "GET /x HTTP/1.1\r\nBad Header\r\n\r\n", -EBADMSG, false },
	{ "GET http://a/x HTTP/1.1\r\n\r\n", -EBADMSG, false },
	{ "POST /x HTTP/1.1\r\nContent-Length: 101\r\n\r\n", -EMSGSIZE, true },
	{ "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n65\r\n"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	  -EMSGSIZE, true },
	{ "POST /x HTTP/1.1\r\nWiremesh-Node: nope\r\n\r\n", -EBADMSG, false },
	{ "POST /x HTTP/1.1\r\nContent-Type: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n", -EBADMSG, false },
};

START_TEST(bad_requests)
{
	struct wm_coord_http_msg m;
	ssize_t n;

	wm_coord_http_init(&m, true, 100);
	n = wm_http_msg_feed(&m.http, bad[_i].text, strlen(bad[_i].text));
	ck_assert_msg(n == bad[_i].err, "%s: got %zd (%s)", bad[_i].text, n, m.http.error);
	ck_assert(m.http.head_done == bad[_i].head_done);
	ck_assert(m.http.error[0]);
	wm_http_msg_free(&m.http);
}
END_TEST

START_TEST(head_too_long)
{
	struct wm_coord_http_msg m;
	char *big = malloc(WM_HTTP_HEAD_MAX + 100);
	ssize_t n;

	strcpy(big, "GET /x HTTP/1.1\r\nX-Pad: ");
	memset(big + strlen(big), 'a', WM_HTTP_HEAD_MAX);
	big[WM_HTTP_HEAD_MAX + 20] = '\0';
	wm_coord_http_init(&m, true, 100);
	n = feed(&m, big, strlen(big), 1000);
	ck_assert_int_eq(n, -EMSGSIZE);
	ck_assert(!m.http.head_done);
	wm_http_msg_free(&m.http);
	free(big);
}
END_TEST

START_TEST(urls)
{
	struct wm_coord_url u;
	char err[128];

	ck_assert_int_eq(wm_coord_url_parse(&u, "https://coord.example.com", err, sizeof(err)), 0);
	ck_assert(u.tls);
	ck_assert_uint_eq(u.port, 443);
	ck_assert_str_eq(u.base, "");
	ck_assert(!u.has_key);
	ck_assert_int_eq(wm_coord_url_parse(&u, "http://[::1]:8080/mesh/?key="
					    "0101010101010101010101010101010101010101010101010101010101010101",
					    err, sizeof(err)), 0);
	ck_assert(!u.tls);
	ck_assert_str_eq(u.host, "::1");
	ck_assert_uint_eq(u.port, 8080);
	ck_assert_str_eq(u.base, "/mesh");
	ck_assert(u.has_key);
	ck_assert_uint_eq(u.server_key[31], 1);
	ck_assert_int_eq(wm_coord_url_parse(&u, "ftp://x", err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "scheme"));
	ck_assert_int_eq(wm_coord_url_parse(&u, "http://x/?key=12", err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "key"));
	ck_assert_int_eq(wm_coord_url_parse(&u, "http://x:0", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(wm_coord_url_parse(&u, "not a url", err, sizeof(err)), -EINVAL);
}
END_TEST

START_TEST(heads)
{
	struct wm_coord_url u;
	struct wm_coord_http_msg m;
	uint8_t key[32];
	char out[1024];
	ssize_t n;

	memset(key, 1, sizeof(key));
	ck_assert_int_eq(wm_coord_url_parse(&u, "http://[::1]:8080/base", NULL, 0), 0);
	n = wm_coord_http_request_head(out, sizeof(out), "POST", &u, "/v1/poll", key,
				       WM_COORD_SEALED_TYPE, 3);
	ck_assert_int_gt(n, 0);
	ck_assert_ptr_nonnull(strstr(out, "POST /base/v1/poll HTTP/1.1\r\nHost: [::1]:8080\r\n"));
	/* What we write, we read. */
	memcpy(out + n, "abc", 3);
	wm_coord_http_init(&m, true, 10);
	ck_assert_int_eq(wm_http_msg_feed(&m.http, out, (size_t)n + 3), n + 3);
	ck_assert(m.http.done && m.has_node_key);
	ck_assert_mem_eq(m.node_key, key, 32);
	wm_http_msg_free(&m.http);
	n = wm_coord_http_response_head(out, sizeof(out), 413, "application/json", 10);
	ck_assert_ptr_nonnull(strstr(out, "HTTP/1.1 413 Payload Too Large\r\n"));
	ck_assert_int_eq(wm_coord_http_response_head(out, 10, 200, "x", 1), -ENOSPC);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("coord_http");
	TCase *tc = tcase_create("http");
	SRunner *sr;
	int failures;

	tcase_add_test(tc, request_any_split);
	tcase_add_test(tc, response_until_eof);
	tcase_add_loop_test(tc, bad_requests, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, head_too_long);
	tcase_add_test(tc, urls);
	tcase_add_test(tc, heads);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
