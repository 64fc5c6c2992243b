/* SPDX-License-Identifier: MIT */
/* Dialing on a real loop over loopback: success, refusal, each address in turn, the deadline,
 * cancelling. */
#include "common/dial.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <ev.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/tls_stream.h"

struct outcome {
	int calls, err, fd;
	struct wm_tls *tls;
	char why[256];
};

static void on_dial(void *ctx, int err, int fd, struct wm_tls *tls, const char *why)
{
	struct outcome *o = ctx;

	o->calls++;
	o->err = err;
	o->fd = fd;
	o->tls = tls;
	snprintf(o->why, sizeof(o->why), "%s", why);
}

/* A listening socket on 127.0.0.1 (never accepting: the kernel completes handshakes). */
static int listener(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(fd, 8), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* A port nothing listens on (bound, then closed). */
static uint16_t closed_port(void)
{
	uint16_t port;

	close(listener(&port));
	return port;
}

static void run(struct ev_loop *loop, struct outcome *o)
{
	while (!o->calls && ev_run(loop, EVRUN_ONCE))
		;
}

START_TEST(connects_plain)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct outcome o = { 0 };
	uint16_t port;
	int lfd = listener(&port);
	struct wm_dial_config cfg = { .host = "127.0.0.1", .port = port, .timeout_s = 30 };
	struct sockaddr_in peer;
	socklen_t len = sizeof(peer);

	ck_assert_ptr_nonnull(wm_dial_start(loop, &cfg, on_dial, &o));
	ck_assert_int_eq(o.calls, 0);	/* never from inside start */
	run(loop, &o);
	ck_assert_int_eq(o.calls, 1);
	ck_assert_msg(o.err == 0, "%s", o.why);
	ck_assert_ptr_null(o.tls);
	ck_assert_int_eq(getpeername(o.fd, (struct sockaddr *)&peer, &len), 0);
	ck_assert_uint_eq(ntohs(peer.sin_port), port);
	close(o.fd);
	close(lfd);
	ev_loop_destroy(loop);
}
END_TEST

START_TEST(refused)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct outcome o = { 0 };
	struct wm_dial_config cfg = { .host = "127.0.0.1", .port = closed_port(), .timeout_s = 30 };

	ck_assert_ptr_nonnull(wm_dial_start(loop, &cfg, on_dial, &o));
	run(loop, &o);
	ck_assert_int_eq(o.calls, 1);
	ck_assert_int_eq(o.err, -ECONNREFUSED);
	ck_assert_int_eq(o.fd, -1);
	ck_assert_msg(strstr(o.why, "cannot connect to 127.0.0.1: connect: "), "%s", o.why);
	ev_loop_destroy(loop);
}
END_TEST

/* "localhost" has ::1 and 127.0.0.1 on most systems: with only the IPv4 one listening, the
 * dial must get past the other, whichever comes first. */
START_TEST(each_address_in_turn)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	struct ev_loop *loop;
	struct outcome o = { 0 };
	uint16_t port;
	int lfd, n = 0;

	if (getaddrinfo("localhost", "1", &hints, &res))
		return;
	for (ai = res; ai; ai = ai->ai_next)
		n++;
	freeaddrinfo(res);
	if (n < 2)
		return;	/* nothing to show here */
	loop = ev_loop_new(EVFLAG_AUTO);
	lfd = listener(&port);
	{
		struct wm_dial_config cfg = { .host = "localhost", .port = port, .timeout_s = 30,
					      .address_timeout_s = 30 };

		ck_assert_ptr_nonnull(wm_dial_start(loop, &cfg, on_dial, &o));
		run(loop, &o);
	}
	ck_assert_msg(o.err == 0, "%s", o.why);
	close(o.fd);
	close(lfd);
	ev_loop_destroy(loop);
}
END_TEST

/* A listener that never answers TLS: the handshake runs into the deadline. */
START_TEST(deadline)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct outcome o = { 0 };
	uint16_t port;
	int lfd = listener(&port);
	char err[256];
	struct wm_tls_config *tls = wm_tls_client_config_new(NULL, err, sizeof(err));
	struct wm_dial_config cfg = { .host = "127.0.0.1", .port = port, .tls = tls,
				      .timeout_s = 0.2 };

	if (!tls) {	/* no system CA store: nothing to hang a session on */
		close(lfd);
		ev_loop_destroy(loop);
		return;
	}
	ck_assert_ptr_nonnull(wm_dial_start(loop, &cfg, on_dial, &o));
	run(loop, &o);
	ck_assert_int_eq(o.err, -ETIMEDOUT);
	ck_assert_msg(strstr(o.why, "TLS handshake with 127.0.0.1: timed out"), "%s", o.why);
	close(lfd);
	wm_tls_config_free(tls);
	ev_loop_destroy(loop);
}
END_TEST

static void stop_loop(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

START_TEST(cancel)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct outcome o = { 0 };
	uint16_t port;
	int lfd = listener(&port);
	struct wm_dial_config cfg = { .host = "127.0.0.1", .port = port };
	ev_timer t;

	wm_dial_cancel(wm_dial_start(loop, &cfg, on_dial, &o));
	wm_dial_cancel(NULL);
	ev_timer_init(&t, stop_loop, 0.1, 0);
	ev_timer_start(loop, &t);
	ev_run(loop, 0);
	ck_assert_int_eq(o.calls, 0);
	close(lfd);
	ev_loop_destroy(loop);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dial");
	TCase *tc = tcase_create("dial");
	SRunner *sr;
	int failures;

	tcase_add_test(tc, connects_plain);
	tcase_add_test(tc, refused);
	tcase_add_test(tc, each_address_in_turn);
	tcase_add_test(tc, deadline);
	tcase_add_test(tc, cancel);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
