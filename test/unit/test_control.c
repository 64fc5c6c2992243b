/* SPDX-License-Identifier: MIT */
/*
 * The control socket: the server runs on its own loop in a thread, the blocking client (or a
 * raw socket, to misbehave) in the test's thread. Peers of another uid are forked children.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/control.h"
#include "test/unit/skip.h"

#define BIG_LEN (5u << 20)
#define OPERATOR_GID ((gid_t)54321)	/* any group; root may give a socket to it */

static char tmpdir[64], path[128];
static struct ev_loop *loop;
static struct wm_control_server srv;
static ev_async stop_async;
static ev_timer later_timer;
static struct wm_control_conn *later_conn;
static pthread_t thread;
static char *big;

static void on_later(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)l;
	(void)w;
	(void)revents;
	wm_control_reply(later_conn, "done", 4);
	later_conn = NULL;
}

/* "echo X" → X, "big" → 5 MB, "later"/"slow" → "done" from a timer, "never" → nothing, else
 * the line's length. */
static void handle(void *ctx, struct wm_control_conn *conn, const char *line)
{
	char buf[32];
	int n;

	ck_assert_ptr_eq(ctx, &srv);
	if (!strncmp(line, "echo ", 5)) {
		wm_control_reply(conn, line + 5, strlen(line + 5));
	} else if (!strcmp(line, "big")) {
		wm_control_reply(conn, big, BIG_LEN);
	} else if (!strcmp(line, "later") || !strcmp(line, "slow")) {
		later_conn = conn;
		ev_timer_init(&later_timer, on_later, line[0] == 'l' ? 0.05 : 0.5, 0.);
		ev_timer_start(loop, &later_timer);
	} else if (strcmp(line, "never")) {
		n = snprintf(buf, sizeof(buf), "len=%zu", strlen(line));
		wm_control_reply(conn, buf, (size_t)n);
	}
}

static void on_stop(struct ev_loop *l, ev_async *w, int revents)
{
	(void)revents;
	wm_control_stop(&srv);
	ev_timer_stop(l, &later_timer);
	ev_async_stop(l, w);
	ev_break(l, EVBREAK_ALL);
}

static void setup(void)
{
	strcpy(tmpdir, "/tmp/wm-control-test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(path, sizeof(path), "%s/" WM_CONTROL_SOCKET_NAME, tmpdir);
	big = malloc(BIG_LEN);
	ck_assert_ptr_nonnull(big);
	for (size_t i = 0; i < BIG_LEN; i++)
		big[i] = (char)(i * 31 + i / 4099);
	loop = ev_loop_new(EVFLAG_AUTO);
	ck_assert_ptr_nonnull(loop);
	ev_async_init(&stop_async, on_stop);
	ev_async_start(loop, &stop_async);
	ev_init(&later_timer, on_later);
}

static void teardown(void)
{
	char cmd[128];

	ev_loop_destroy(loop);
	free(big);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static void *serve(void *arg)
{
	(void)arg;
	ev_run(loop, 0);
	return NULL;
}

static void start_server(gid_t operator_gid)
{
	ck_assert_int_eq(wm_control_start(&srv, loop, path, operator_gid, handle, &srv), 0);
}

/* Everything set on srv or loop before this is seen by the server thread. */
static void run_server(void)
{
	ck_assert_int_eq(pthread_create(&thread, NULL, serve, NULL), 0);
}

static void stop_server(void)
{
	ev_async_send(loop, &stop_async);
	ck_assert_int_eq(pthread_join(thread, NULL), 0);
}

static void expect_reply(const char *line, const char *want)
{
	char *reply;
	size_t len;

	ck_assert_int_eq(wm_control_request(path, line, 5.0, &reply, &len), 0);
	ck_assert_uint_eq(len, strlen(want));
	ck_assert_str_eq(reply, want);
	free(reply);
}

/* A plain connection, with a receive timeout so a test fails instead of hanging. */
static int raw_connect(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 5 };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	strcpy(addr.sun_path, path);
	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	return fd;
}

static void raw_send(int fd, const char *data, size_t len)
{
	ck_assert_int_eq(send(fd, data, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* Reads until EOF (true) or an error; the bytes go to buf when it is given. */
static bool raw_read_all(int fd, char *buf, size_t cap, size_t *total)
{
	char scratch[65536];
	ssize_t r;

	*total = 0;
	for (;;) {
		r = buf ? recv(fd, buf + *total, cap - *total, 0) : recv(fd, scratch, sizeof(scratch), 0);
		if (r <= 0)
			return r == 0;
		*total += (size_t)r;
	}
}

START_TEST(round_trip)
{
	char line[WM_CONTROL_MAX_LINE + 2], buf[64], *reply;
	size_t len, got;
	int fd;

	start_server((gid_t)-1);
	run_server();
	expect_reply("echo hello", "hello");
	expect_reply("ip beta", "len=7");

	/* A line that arrives in pieces, then a half-close. */
	fd = raw_connect();
	raw_send(fd, "ech", 3);
	raw_send(fd, "o split\n", 8);
	ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
	ck_assert(raw_read_all(fd, buf, sizeof(buf), &got));
	ck_assert_uint_eq(got, 5);
	ck_assert_mem_eq(buf, "split", 5);
	close(fd);

	/* The longest line there may be, and what the client refuses to send. */
	memset(line, 'x', sizeof(line));
	line[WM_CONTROL_MAX_LINE] = '\0';
	expect_reply(line, "len=4096");
	line[WM_CONTROL_MAX_LINE] = 'x';
	line[WM_CONTROL_MAX_LINE + 1] = '\0';
	ck_assert_int_eq(wm_control_request(path, line, 5.0, &reply, &len), -EMSGSIZE);
	ck_assert_ptr_null(reply);
	ck_assert_int_eq(wm_control_request(path, "a\nb", 5.0, &reply, &len), -EINVAL);
	/* An empty reply is no answer. */
	ck_assert_int_eq(wm_control_request(path, "echo ", 5.0, &reply, &len), -ECONNRESET);
	ck_assert_ptr_null(reply);

	stop_server();
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_int_eq(wm_control_request(path, "status", 1.0, &reply, &len), -ENOENT);
}
END_TEST

START_TEST(big_reply)
{
	char *reply, buf[1000];
	size_t len;
	int fd;

	start_server((gid_t)-1);
	run_server();
	ck_assert_int_eq(wm_control_request(path, "big", 5.0, &reply, &len), 0);
	ck_assert_uint_eq(len, BIG_LEN);
	ck_assert(memcmp(reply, big, BIG_LEN) == 0);
	ck_assert_int_eq(reply[len], '\0');
	free(reply);

	/* A client that leaves mid-reply: the server's next send fails, and it carries on. */
	fd = raw_connect();
	raw_send(fd, "big\n", 4);
	ck_assert_int_eq(recv(fd, buf, sizeof(buf), MSG_WAITALL), (ssize_t)sizeof(buf));
	ck_assert_mem_eq(buf, big, sizeof(buf));
	close(fd);
	expect_reply("echo still here", "still here");
	stop_server();
}
END_TEST

START_TEST(later_reply)
{
	start_server((gid_t)-1);
	run_server();
	expect_reply("later", "done");
	expect_reply("echo after", "after");
	stop_server();
}
END_TEST

START_TEST(not_running)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char *reply;
	size_t len;
	struct stat st;
	int fd;
	FILE *f;

	ck_assert_int_eq(wm_control_request(path, "status", 1.0, &reply, &len), -ENOENT);
	ck_assert_ptr_null(reply);

	/* A socket file left behind by a daemon that died. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	strcpy(addr.sun_path, path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	close(fd);
	ck_assert_int_eq(wm_control_request(path, "status", 1.0, &reply, &len), -ECONNREFUSED);
	start_server((gid_t)-1);
	run_server();
	expect_reply("echo new", "new");
	stop_server();

	/* Not a socket: left alone. */
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("keep", f);
	fclose(f);
	ck_assert_int_eq(wm_control_start(&srv, loop, path, (gid_t)-1, handle, &srv), -EEXIST);
	wm_control_stop(&srv);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(st.st_size, 4);
}
END_TEST

START_TEST(address_in_use)
{
	struct wm_control_server second;

	start_server((gid_t)-1);
	run_server();
	ck_assert_int_eq(wm_control_start(&second, loop, path, (gid_t)-1, handle, &srv),
			 -EADDRINUSE);
	wm_control_stop(&second);	/* must leave the live socket file alone */
	expect_reply("echo first", "first");
	stop_server();
}
END_TEST

START_TEST(oversized_line)
{
	char line[5000], buf[64];
	size_t got;
	int fd;

	start_server((gid_t)-1);
	run_server();
	memset(line, 'a', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\n';
	fd = raw_connect();
	raw_send(fd, line, sizeof(line));
	raw_read_all(fd, buf, sizeof(buf), &got);	/* EOF or a reset: either way, no reply */
	ck_assert_uint_eq(got, 0);
	close(fd);

	/* A NUL inside the line is no line either. */
	fd = raw_connect();
	raw_send(fd, "echo a\0b\n", 9);
	ck_assert(raw_read_all(fd, buf, sizeof(buf), &got));
	ck_assert_uint_eq(got, 0);
	close(fd);

	/* Nor is a line cut short by EOF. */
	fd = raw_connect();
	raw_send(fd, "echo x", 6);
	ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
	ck_assert(raw_read_all(fd, buf, sizeof(buf), &got));
	ck_assert_uint_eq(got, 0);
	close(fd);

	expect_reply("echo next", "next");
	stop_server();
}
END_TEST

START_TEST(socket_mode)
{
	struct stat st;

	start_server((gid_t)-1);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_uint_eq(st.st_uid, geteuid());
	wm_control_stop(&srv);
	ck_assert_int_eq(access(path, F_OK), -1);
}
END_TEST

START_TEST(socket_mode_operator_group)
{
	struct stat st;

	if (geteuid() != 0)
		WM_SKIP_TEST("needs root (only root may hand a file to any group)");
	start_server(OPERATOR_GID);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0660);
	ck_assert_uint_eq(st.st_gid, OPERATOR_GID);
	wm_control_stop(&srv);
}
END_TEST

START_TEST(idle_client)
{
	char buf[16];
	size_t got;
	int fd;

	start_server((gid_t)-1);
	srv.read_timeout_s = 0.1;
	run_server();
	fd = raw_connect();
	/* Closed by the server well before the socket's 5 s receive timeout. */
	ck_assert(raw_read_all(fd, buf, sizeof(buf), &got));
	ck_assert_uint_eq(got, 0);
	close(fd);
	expect_reply("echo awake", "awake");
	stop_server();
}
END_TEST

START_TEST(stalled_reader)
{
	struct pollfd p;
	size_t got;
	int fd;

	start_server((gid_t)-1);
	srv.write_timeout_s = 0.2;
	run_server();
	fd = raw_connect();
	raw_send(fd, "big\n", 4);
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	ck_assert_int_eq(poll(&p, 1, 5000), 1);	/* the reply has begun */
	/* Answered 0.5 s later, when the stalled reply has been dropped. */
	expect_reply("slow", "done");
	ck_assert(raw_read_all(fd, NULL, 0, &got));
	ck_assert_uint_gt(got, 0);
	ck_assert_uint_lt(got, BIG_LEN);
	close(fd);
	stop_server();
}
END_TEST

START_TEST(connection_limit)
{
	int fds[WM_CONTROL_MAX_CONNECTIONS], extra;
	char buf[16];
	size_t got;

	start_server((gid_t)-1);
	run_server();
	for (int i = 0; i < WM_CONTROL_MAX_CONNECTIONS; i++)
		fds[i] = raw_connect();
	/* Accepted after the others (the backlog is a queue), and closed at once. */
	extra = raw_connect();
	ck_assert(raw_read_all(extra, buf, sizeof(buf), &got));
	ck_assert_uint_eq(got, 0);
	close(extra);
	raw_send(fds[0], "echo x\n", 7);
	ck_assert(raw_read_all(fds[0], buf, sizeof(buf), &got));
	ck_assert_uint_eq(got, 1);
	ck_assert_int_eq(buf[0], 'x');
	for (int i = 0; i < WM_CONTROL_MAX_CONNECTIONS; i++)
		close(fds[i]);
	stop_server();
}
END_TEST

START_TEST(pending_at_stop)
{
	char *reply, buf[16];
	size_t len, got;
	int fd;

	start_server((gid_t)-1);
	run_server();
	ck_assert_int_eq(wm_control_request(path, "never", 0.2, &reply, &len), -ETIMEDOUT);
	ck_assert_ptr_null(reply);
	fd = raw_connect();
	raw_send(fd, "never\n", 6);
	/* Stop frees both pending connections (ASan would see a leak) and closes this one. */
	stop_server();
	raw_read_all(fd, buf, sizeof(buf), &got);	/* EOF, or a reset if it was unread */
	ck_assert_uint_eq(got, 0);
	close(fd);
	ck_assert_int_eq(access(path, F_OK), -1);
}
END_TEST

/*
 * A child that asks as uid/gid with the given supplementary groups; its exit status is 0 for
 * the right answer, else the errno of the failure.
 */
static pid_t ask_as(uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups)
{
	pid_t pid = fork();
	char *reply;
	size_t len;
	int r;

	ck_assert_int_ge(pid, 0);
	if (pid)
		return pid;
	if (setgroups(n_groups, groups) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
		_exit(100);
	r = wm_control_request(path, "echo op", 5.0, &reply, &len);
	if (r < 0)
		_exit(-r);
	_exit(len == 2 && !strcmp(reply, "op") ? 0 : 101);
}

static int exit_code(pid_t pid)
{
	int status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* Children fork before the server thread starts; they wait in the backlog meanwhile. */
START_TEST(peers_checked)
{
	const uid_t nobody = 65534;
	gid_t op = OPERATOR_GID;
	pid_t file_mode, refused;

	if (geteuid() != 0)
		WM_SKIP_TEST("needs root (to ask as another user)");
	ck_assert_int_eq(chmod(tmpdir, 0711), 0);
	start_server((gid_t)-1);
	file_mode = ask_as(nobody, nobody, NULL, 0);	/* 0600: the kernel says no */
	ck_assert_int_eq(exit_code(file_mode), EACCES);
	/* With the file opened up, the server's own check refuses. */
	ck_assert_int_eq(chmod(path, 0666), 0);
	refused = ask_as(nobody, nobody, &op, 1);	/* op is not the server's group here */
	run_server();
	ck_assert_int_eq(exit_code(refused), EACCES);
	expect_reply("echo root", "root");
	stop_server();
}
END_TEST

START_TEST(operator_group)
{
	const uid_t nobody = 65534;
	gid_t op = OPERATOR_GID;
	pid_t primary, supplementary, outsider, listed;
	struct passwd *pw;

	if (geteuid() != 0)
		WM_SKIP_TEST("needs root (to ask as other users and groups)");
	ck_assert_int_eq(chmod(tmpdir, 0711), 0);
	start_server(OPERATOR_GID);
	primary = ask_as(nobody, OPERATOR_GID, NULL, 0);
	supplementary = ask_as(nobody, nobody, &op, 1);
	outsider = ask_as(nobody, nobody, NULL, 0);
	run_server();
	ck_assert_int_eq(exit_code(primary), 0);
	ck_assert_int_eq(exit_code(supplementary), 0);
	ck_assert_int_eq(exit_code(outsider), EACCES);
	stop_server();

	/*
	 * Member by the user database only: nobody's group (nogroup) as the operator group, asked
	 * by a process that dropped it. The file is opened up so the server decides.
	 */
	pw = getpwuid(nobody);
	if (!pw || pw->pw_gid != nobody)
		return;
	ev_async_start(loop, &stop_async);
	start_server(nobody);
	ck_assert_int_eq(chmod(path, 0666), 0);
	listed = ask_as(nobody, OPERATOR_GID, NULL, 0);
	outsider = ask_as(12345, 12345, NULL, 0);
	run_server();
	ck_assert_int_eq(exit_code(listed), 0);
	ck_assert_int_eq(exit_code(outsider), EACCES);
	stop_server();
}
END_TEST

/* The server's framing, without a socket: a table of streams, whole and one byte at a time. */
START_TEST(parse_line_table)
{
	static const struct {
		const char *in;
		size_t len;
		int want;
	} cases[] = {
		{ "status\n", 7, 6 },
		{ "ip laptop\nignored", 17, 9 },
		{ "\n", 1, 0 },
		{ "", 0, -EAGAIN },
		{ "stat", 4, -EAGAIN },
		{ "ip a\0b\n", 7, -EBADMSG },
		{ "ping x\n\0", 8, 6 },	/* a NUL after the line is not the line's */
	};
	char buf[WM_CONTROL_MAX_LINE + 1];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = -EAGAIN;

		memcpy(buf, cases[i].in, cases[i].len);
		ck_assert_int_eq(wm_control_parse_line(buf, cases[i].len), cases[i].want);
		if (cases[i].want >= 0)
			ck_assert_int_eq(buf[cases[i].want], '\0');
		memcpy(buf, cases[i].in, cases[i].len);
		for (size_t len = 1; len <= cases[i].len && n == -EAGAIN; len++)
			n = wm_control_parse_line(buf, len);
		ck_assert_int_eq(n, cases[i].want);
	}

	/* The longest line fits; one byte more without a '\n' is refused, and so is a '\n' late. */
	memset(buf, 'a', sizeof(buf));
	buf[WM_CONTROL_MAX_LINE] = '\n';
	ck_assert_int_eq(wm_control_parse_line(buf, sizeof(buf)), WM_CONTROL_MAX_LINE);
	memset(buf, 'a', sizeof(buf));
	ck_assert_int_eq(wm_control_parse_line(buf, WM_CONTROL_MAX_LINE), -EAGAIN);
	ck_assert_int_eq(wm_control_parse_line(buf, sizeof(buf)), -EMSGSIZE);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("control");
	TCase *tc = tcase_create("socket");
	SRunner *sr;
	int failures;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, big_reply);
	tcase_add_test(tc, later_reply);
	tcase_add_test(tc, not_running);
	tcase_add_test(tc, address_in_use);
	tcase_add_test(tc, oversized_line);
	tcase_add_test(tc, socket_mode);
	tcase_add_test(tc, socket_mode_operator_group);
	tcase_add_test(tc, idle_client);
	tcase_add_test(tc, stalled_reader);
	tcase_add_test(tc, connection_limit);
	tcase_add_test(tc, pending_at_stop);
	tcase_add_test(tc, peers_checked);
	tcase_add_test(tc, operator_group);
	tcase_add_test(tc, parse_line_table);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
