/* SPDX-License-Identifier: MIT */
/* common/metrics_server: real sockets on loopback and a real loop. Replies to GET and HEAD,
 * 405 and 400 (counted) for the rest, oversized heads refused, and the connection bound: with
 * every slot held, a request waits in the backlog and is answered once a slot frees; out of
 * descriptors, accepting pauses and resumes. */
#include "common/metrics_server.h"

#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"

static struct ev_loop *loop;
static struct wm_metrics_server srv;
static struct sockaddr_in addr;
static unsigned pages;

/* Echoes the path, so the tests see what reached the owner. */
static void page(void *ctx, const char *path, struct wm_metrics_reply *r)
{
	char text[300];

	(void)ctx;
	pages++;
	if (!strcmp(path, "/missing")) {
		wm_metrics_reply_text(r, 404, "not found\n");
		return;
	}
	snprintf(text, sizeof(text), "path %s\n", path);
	wm_metrics_reply_text(r, 200, text);
}

static void setup(void)
{
	char err[128];
	socklen_t len = sizeof(addr);

	loop = ev_loop_new(EVFLAG_AUTO);
	pages = 0;
	ck_assert_int_eq(wm_metrics_server_start(&srv, loop, "127.0.0.1:0", page, NULL, err,
						 sizeof(err)), 0);
	ck_assert_int_eq(getsockname(srv.fd, (struct sockaddr *)&addr, &len), 0);
}

static void teardown(void)
{
	wm_metrics_server_stop(&srv);
	ev_loop_destroy(loop);
}

static int dial(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	return fd;
}

/* Turns the loop until fd has the whole reply (EOF) or 5 s pass; the reply, NUL-terminated. */
static size_t read_reply(int fd, char *out, size_t cap)
{
	uint64_t deadline = wm_clock_monotonic_ns() + 5000000000ULL;
	size_t got = 0;

	while (wm_clock_monotonic_ns() < deadline) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		ev_run(loop, EVRUN_NOWAIT);
		if (poll(&p, 1, 10) <= 0)
			continue;
		n = recv(fd, out + got, cap - 1 - got, MSG_DONTWAIT);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	out[got] = '\0';
	return got;
}

static void ask(const char *request, size_t len, char *out, size_t cap)
{
	int fd = dial();

	ck_assert_int_eq(send(fd, request, len, MSG_NOSIGNAL), (ssize_t)len);
	read_reply(fd, out, cap);
	close(fd);
}

START_TEST(answers_get_and_head)
{
	static const char get[] = "GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n";
	static const char head[] = "HEAD /healthz HTTP/1.1\r\nHost: a\r\n\r\n";
	static const char missing[] = "GET /missing HTTP/1.1\r\n\r\n";
	char reply[1024];

	ask(get, sizeof(get) - 1, reply, sizeof(reply));
	ck_assert_msg(!strncmp(reply, "HTTP/1.1 200 OK\r\n", 17), "%s", reply);
	ck_assert_ptr_nonnull(strstr(reply, "Content-Length: 14\r\n"));
	ck_assert_ptr_nonnull(strstr(reply, "Connection: close\r\n"));
	ck_assert_ptr_nonnull(strstr(reply, "\r\n\r\npath /metrics\n"));	/* no query */
	ask(head, sizeof(head) - 1, reply, sizeof(reply));
	ck_assert_msg(!strncmp(reply, "HTTP/1.1 200 OK\r\n", 17), "%s", reply);
	ck_assert_ptr_nonnull(strstr(reply, "Content-Length: 14\r\n"));
	ck_assert_str_eq(strstr(reply, "\r\n\r\n"), "\r\n\r\n");	/* no body */
	ask(missing, sizeof(missing) - 1, reply, sizeof(reply));
	ck_assert_msg(!strncmp(reply, "HTTP/1.1 404 ", 13), "%s", reply);
	ck_assert_uint_eq(srv.requests, 3);
	ck_assert_uint_eq(srv.bad_requests, 0);
}
END_TEST

START_TEST(refuses_other_methods_and_bad_heads)
{
	static const char post[] = "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n";
	static const char bad[] = "GET /metrics HTTP/9.9 nonsense\r\n\r\n";
	char reply[1024], *big;
	size_t n = 20000;

	ask(post, sizeof(post) - 1, reply, sizeof(reply));
	ck_assert_msg(!strncmp(reply, "HTTP/1.1 405 ", 13), "%s", reply);
	ask(bad, sizeof(bad) - 1, reply, sizeof(reply));
	ck_assert_msg(!strncmp(reply, "HTTP/1.1 400 ", 13), "%s", reply);
	/* A head over WM_HTTP_HEAD_MAX: refused once the bound is passed, not buffered whole. */
	big = malloc(n);
	ck_assert_ptr_nonnull(big);
	memset(big, 'a', n);
	memcpy(big, "GET /metrics HTTP/1.1\r\nX-Big: ", 30);
	{
		int fd = dial();

		/* The server may close before taking it all; what it answered is what counts. */
		(void)!send(fd, big, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		read_reply(fd, reply, sizeof(reply));
		close(fd);
	}
	free(big);
	ck_assert_msg(!strncmp(reply, "HTTP/1.1 400 ", 13), "%s", reply);
	ck_assert_uint_eq(srv.bad_requests, 2);
	ck_assert_uint_eq(pages, 0);
}
END_TEST

START_TEST(holds_at_most_the_bound)
{
	static const char get[] = "GET /metrics HTTP/1.1\r\n\r\n";
	int idle[WM_METRICS_MAX_CONNECTIONS + 4], fd, i;
	char reply[1024];
	uint64_t until;

	for (i = 0; i < WM_METRICS_MAX_CONNECTIONS + 4; i++)
		idle[i] = dial();
	/* Turned until the slots fill (bounded), then a while more: no more are taken. */
	until = wm_clock_monotonic_ns() + 5000000000ULL;
	while (srv.count < WM_METRICS_MAX_CONNECTIONS && wm_clock_monotonic_ns() < until)
		ev_run(loop, EVRUN_NOWAIT);
	until = wm_clock_monotonic_ns() + 200000000ULL;
	while (wm_clock_monotonic_ns() < until)
		ev_run(loop, EVRUN_NOWAIT);
	ck_assert_uint_eq(srv.count, WM_METRICS_MAX_CONNECTIONS);

	/* Full: a request waits in the backlog... */
	fd = dial();
	ck_assert_int_eq(send(fd, get, sizeof(get) - 1, MSG_NOSIGNAL), (ssize_t)sizeof(get) - 1);
	until = wm_clock_monotonic_ns() + 200000000ULL;
	while (wm_clock_monotonic_ns() < until)
		ev_run(loop, EVRUN_NOWAIT);
	ck_assert_uint_eq(pages, 0);
	ck_assert_uint_eq(srv.count, WM_METRICS_MAX_CONNECTIONS);

	/* ...and is answered once idle clients leave (they are ahead of it in the backlog). */
	for (i = 0; i < WM_METRICS_MAX_CONNECTIONS + 4; i++)
		close(idle[i]);
	read_reply(fd, reply, sizeof(reply));
	close(fd);
	ck_assert_msg(!strncmp(reply, "HTTP/1.1 200 OK\r\n", 17), "%s", reply);
	ck_assert_uint_eq(pages, 1);
}
END_TEST

/* Out of descriptors: the listener pauses instead of spinning, then serves the waiting client. */
START_TEST(pauses_without_descriptors)
{
	static const char get[] = "GET /metrics HTTP/1.1\r\n\r\n";
	struct rlimit old, low;
	char reply[1024];
	uint64_t until;
	int fd = dial(), spare;

	ck_assert_int_eq(send(fd, get, sizeof(get) - 1, MSG_NOSIGNAL), (ssize_t)sizeof(get) - 1);
	/* The next descriptor number is the limit: accept4 gets EMFILE. */
	spare = dup(0);
	ck_assert_int_ge(spare, 0);
	close(spare);
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = (rlim_t)spare;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	until = wm_clock_monotonic_ns() + 300000000ULL;
	while (wm_clock_monotonic_ns() < until && !ev_is_active(&srv.pause_timer))
		ev_run(loop, EVRUN_NOWAIT);
	ck_assert(ev_is_active(&srv.pause_timer));
	ck_assert(!ev_is_active(&srv.accept_watcher));
	ck_assert_uint_eq(srv.count, 0);
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	/* After the pause (1 s) the client is served. */
	read_reply(fd, reply, sizeof(reply));
	close(fd);
	ck_assert_msg(!strncmp(reply, "HTTP/1.1 200 OK\r\n", 17), "%s", reply);
}
END_TEST

START_TEST(bad_listen_address)
{
	struct wm_metrics_server s;
	char err[128];
	struct ev_loop *l = ev_loop_new(EVFLAG_AUTO);

	ck_assert_int_eq(wm_metrics_server_start(&s, l, "nowhere", page, NULL, err, sizeof(err)),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "nowhere"));
	wm_metrics_server_stop(&s);
	ev_loop_destroy(l);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("metrics_server");
	TCase *tc = tcase_create("metrics_server");
	SRunner *sr;
	int failures;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, answers_get_and_head);
	tcase_add_test(tc, refuses_other_methods_and_bad_heads);
	tcase_add_test(tc, holds_at_most_the_bound);
	tcase_add_test(tc, pauses_without_descriptors);
	tcase_add_test(tc, bad_listen_address);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
