/* SPDX-License-Identifier: MIT */
/*
 * common/sd_notify: NOTIFY_SOCKET's two address forms (a path, an abstract "@name") and what
 * is refused; the datagram a listener really receives on each; nothing sent and no error when
 * NOTIFY_SOCKET is unset; an error, not a crash, when nobody listens; STATUS= keeps one line.
 */
#include "common/sd_notify.h"

#include <check.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test/unit/scratch.h"

static char dir[64];

static void make_base(void)
{
	wm_scratch_create("notify");
}

static void remove_base(void)
{
	wm_scratch_remove();
}

static void setup(void)
{
	wm_scratch_dir(dir, sizeof(dir));
}

/* A datagram socket bound at NOTIFY_SOCKET's value where, as systemd's would be. */
static int listen_at(const char *where)
{
	struct sockaddr_un sa;
	socklen_t len;
	int fd;

	ck_assert_int_eq(wm_sd_notify_address(where, &sa, &len), 0);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, len), 0);
	return fd;
}

/* The next datagram, which the sender already sent (no waiting: MSG_DONTWAIT). */
static const char *received(int fd)
{
	static char buf[1024];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	return buf;
}

START_TEST(test_address_forms)
{
	struct sockaddr_un sa;
	socklen_t len;
	char longer[sizeof(sa.sun_path) + 2];

	ck_assert_int_eq(wm_sd_notify_address("/run/systemd/notify", &sa, &len), 0);
	ck_assert_int_eq(sa.sun_family, AF_UNIX);
	ck_assert_str_eq(sa.sun_path, "/run/systemd/notify");
	ck_assert_uint_eq(len, offsetof(struct sockaddr_un, sun_path) + 19);

	/* Abstract: a leading NUL, then the name, and the length ends right after it. */
	ck_assert_int_eq(wm_sd_notify_address("@wm/notify", &sa, &len), 0);
	ck_assert_int_eq(sa.sun_path[0], '\0');
	ck_assert_int_eq(memcmp(sa.sun_path + 1, "wm/notify", 9), 0);
	ck_assert_uint_eq(len, offsetof(struct sockaddr_un, sun_path) + 10);

	ck_assert_int_eq(wm_sd_notify_address("", &sa, &len), -EINVAL);
	ck_assert_int_eq(wm_sd_notify_address("@", &sa, &len), -EINVAL);
	ck_assert_int_eq(wm_sd_notify_address("relative/sock", &sa, &len), -EINVAL);
	ck_assert_int_eq(wm_sd_notify_address("vsock:2:1234", &sa, &len), -EINVAL);
	ck_assert_int_eq(wm_sd_notify_address(NULL, &sa, &len), -EINVAL);
	memset(longer, 'x', sizeof(longer) - 1);
	longer[0] = '/';
	longer[sizeof(longer) - 1] = '\0';
	ck_assert_int_eq(wm_sd_notify_address(longer, &sa, &len), -ENAMETOOLONG);
}
END_TEST

START_TEST(test_unset_sends_nothing)
{
	unsetenv("NOTIFY_SOCKET");
	ck_assert_int_eq(wm_sd_notify("READY=1"), 0);
	setenv("NOTIFY_SOCKET", "", 1);
	ck_assert_int_eq(wm_sd_notify_status("up"), 0);
}
END_TEST

START_TEST(test_path_socket_receives)
{
	char where[128];
	int fd;

	snprintf(where, sizeof(where), "%s/notify", dir);
	fd = listen_at(where);
	setenv("NOTIFY_SOCKET", where, 1);
	ck_assert_int_eq(wm_sd_notify("READY=1\nSTATUS=wm0 is up"), 1);
	ck_assert_str_eq(received(fd), "READY=1\nSTATUS=wm0 is up");
	close(fd);
}
END_TEST

START_TEST(test_abstract_socket_receives)
{
	char where[64];
	int fd;

	snprintf(where, sizeof(where), "@wm-test-notify-%d", (int)getpid());
	fd = listen_at(where);
	setenv("NOTIFY_SOCKET", where, 1);
	ck_assert_int_eq(wm_sd_notify("STOPPING=1"), 1);
	ck_assert_str_eq(received(fd), "STOPPING=1");
	close(fd);
}
END_TEST

START_TEST(test_status_keeps_the_first_line)
{
	char where[128];
	int fd;

	snprintf(where, sizeof(where), "%s/notify", dir);
	fd = listen_at(where);
	setenv("NOTIFY_SOCKET", where, 1);
	ck_assert_int_eq(wm_sd_notify_status("wm0 is up\nwarning: IP forwarding is off"), 1);
	ck_assert_str_eq(received(fd), "STATUS=wm0 is up");
	close(fd);
}
END_TEST

START_TEST(test_nobody_listening_is_an_error)
{
	char where[128];

	snprintf(where, sizeof(where), "%s/nobody", dir);
	setenv("NOTIFY_SOCKET", where, 1);
	ck_assert_int_eq(wm_sd_notify("READY=1"), -ENOENT);
	setenv("NOTIFY_SOCKET", "vsock:2:9", 1);
	ck_assert_int_eq(wm_sd_notify("READY=1"), -EINVAL);
}
END_TEST

static Suite *sd_notify_suite(void)
{
	Suite *s = suite_create("sd_notify");
	TCase *tc = tcase_create("sd_notify");

	tcase_add_unchecked_fixture(tc, make_base, remove_base);
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_address_forms);
	tcase_add_test(tc, test_unset_sends_nothing);
	tcase_add_test(tc, test_path_socket_receives);
	tcase_add_test(tc, test_abstract_socket_receives);
	tcase_add_test(tc, test_status_keeps_the_first_line);
	tcase_add_test(tc, test_nobody_listening_is_an_error);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sd_notify_suite());
	int failures;

	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
