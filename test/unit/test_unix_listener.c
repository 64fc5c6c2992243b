/* SPDX-License-Identifier: MIT */
/*
 * common/unix_listener: a live socket is refused, a stale one replaced, anything else left
 * alone; the file's mode and group; accepted connections are non-blocking and close-on-exec.
 */
#include "common/unix_listener.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "test/unit/scratch.h"
#include "test/unit/skip.h"

#define OTHER_GID ((gid_t)54321)	/* any group; root may give a socket to it */

static char dir[64];
static char path[128];

static void make_base(void)
{
	wm_scratch_create("unix");
}

static void remove_base(void)
{
	wm_scratch_remove();
}

static void setup(void)
{
	wm_scratch_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/test.sock", dir);
}

static struct stat stat_of(const char *p)
{
	struct stat sb;

	ck_assert_int_eq(lstat(p, &sb), 0);
	return sb;
}

/* A client's connect: 0, or the errno. */
static int try_connect(const char *p, int *fd_out)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), err;

	ck_assert_int_ge(fd, 0);
	strcpy(addr.sun_path, p);
	err = connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ? errno : 0;
	if (!err && fd_out)
		*fd_out = fd;
	else
		close(fd);
	return err;
}

/* A socket file whose process is gone: bound, never unlinked, closed. */
static void leave_stale_socket(const char *p)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	strcpy(addr.sun_path, p);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	close(fd);
	ck_assert(S_ISSOCK(stat_of(p).st_mode));
}

START_TEST(test_listen_accept_close)
{
	mode_t old = umask(0);
	int fd = wm_unix_listener_open(path, 0600, (uid_t)-1, (gid_t)-1, 4), client = -1, conn;

	ck_assert_int_ge(fd, 0);
	ck_assert_uint_eq(umask(old), 0);	/* the caller's umask is back */
	ck_assert(S_ISSOCK(stat_of(path).st_mode));
	ck_assert_uint_eq(stat_of(path).st_mode & 07777, 0600);
	ck_assert(fcntl(fd, F_GETFL) & O_NONBLOCK);
	ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);

	ck_assert_int_eq(wm_unix_listener_accept(fd), -EAGAIN);
	ck_assert_int_eq(try_connect(path, &client), 0);
	conn = wm_unix_listener_accept(fd);
	ck_assert_int_ge(conn, 0);
	ck_assert(fcntl(conn, F_GETFL) & O_NONBLOCK);
	ck_assert(fcntl(conn, F_GETFD) & FD_CLOEXEC);
	ck_assert_int_eq(write(client, "x", 1), 1);
	{
		char c;

		ck_assert_int_eq(read(conn, &c, 1), 1);
		ck_assert_int_eq(c, 'x');
	}
	close(conn);
	close(client);

	wm_unix_listener_close(fd, path);
	ck_assert_int_ne(access(path, F_OK), 0);
	wm_unix_listener_close(-1, NULL);	/* nothing to do, no harm */
}
END_TEST

START_TEST(test_modes)
{
	int fd;

	fd = wm_unix_listener_open(path, 0700, (uid_t)-1, (gid_t)-1, 4);
	ck_assert_int_ge(fd, 0);
	ck_assert_uint_eq(stat_of(path).st_mode & 07777, 0700);
	wm_unix_listener_close(fd, path);

	/* Group bits come after the group: a group of our own needs no privilege. */
	fd = wm_unix_listener_open(path, 0660, (uid_t)-1, getegid(), 4);
	ck_assert_int_ge(fd, 0);
	ck_assert_uint_eq(stat_of(path).st_mode & 07777, 0660);
	ck_assert_uint_eq(stat_of(path).st_gid, getegid());
	wm_unix_listener_close(fd, path);
}
END_TEST

START_TEST(test_group_of_root)
{
	int fd;

	if (geteuid() != 0)
		WM_SKIP_TEST("needs root to give a socket to another group");
	fd = wm_unix_listener_open(path, 0660, (uid_t)-1, OTHER_GID, 4);
	ck_assert_int_ge(fd, 0);
	ck_assert_uint_eq(stat_of(path).st_gid, OTHER_GID);
	ck_assert_uint_eq(stat_of(path).st_mode & 07777, 0660);
	wm_unix_listener_close(fd, path);
}
END_TEST

/* A group we may not give files to: the error, and no socket file left behind. */
START_TEST(test_chown_refused)
{
	int fd;

	if (geteuid() == 0)
		WM_SKIP_TEST("root may give a socket to any group");
	fd = wm_unix_listener_open(path, 0660, (uid_t)-1, OTHER_GID, 4);
	ck_assert_int_eq(fd, -EPERM);
	ck_assert_int_ne(access(path, F_OK), 0);
}
END_TEST

START_TEST(test_live_socket_refused)
{
	int first = wm_unix_listener_open(path, 0600, (uid_t)-1, (gid_t)-1, 4), conn, client = -1;

	ck_assert_int_ge(first, 0);
	ck_assert_int_eq(wm_unix_listener_open(path, 0600, (uid_t)-1, (gid_t)-1, 4), -EADDRINUSE);
	/* The first one still serves: its file was not taken away. */
	ck_assert_int_eq(try_connect(path, &client), 0);
	/* The refused open's probe connected too; take it off the queue first. */
	while ((conn = wm_unix_listener_accept(first)) >= 0)
		close(conn);
	ck_assert_int_eq(conn, -EAGAIN);
	close(client);
	wm_unix_listener_close(first, path);
}
END_TEST

/* A live server too busy to take another connection is still live. */
START_TEST(test_full_backlog_is_live)
{
	int first = wm_unix_listener_open(path, 0600, (uid_t)-1, (gid_t)-1, 0), fds[64], n = 0;

	ck_assert_int_ge(first, 0);
	while (n < 64 && try_connect(path, &fds[n]) == 0)
		n++;
	ck_assert_int_lt(n, 64);	/* the backlog filled: a non-blocking connect says EAGAIN */
	ck_assert_int_eq(wm_unix_listener_open(path, 0600, (uid_t)-1, (gid_t)-1, 4), -EADDRINUSE);
	ck_assert(S_ISSOCK(stat_of(path).st_mode));
	while (n)
		close(fds[--n]);
	wm_unix_listener_close(first, path);
}
END_TEST

START_TEST(test_stale_socket_replaced)
{
	int fd, client = -1;

	leave_stale_socket(path);
	ck_assert_int_eq(try_connect(path, NULL), ECONNREFUSED);
	fd = wm_unix_listener_open(path, 0600, (uid_t)-1, (gid_t)-1, 4);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(try_connect(path, &client), 0);
	close(client);
	wm_unix_listener_close(fd, path);
}
END_TEST

START_TEST(test_other_files_left_alone)
{
	char link_path[160];
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs("not a socket", f);
	fclose(f);
	ck_assert_int_eq(wm_unix_listener_open(path, 0600, (uid_t)-1, (gid_t)-1, 4), -EEXIST);
	ck_assert(S_ISREG(stat_of(path).st_mode));
	ck_assert_int_eq(unlink(path), 0);

	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_int_eq(wm_unix_listener_open(path, 0600, (uid_t)-1, (gid_t)-1, 4), -EEXIST);
	ck_assert(S_ISDIR(stat_of(path).st_mode));
	ck_assert_int_eq(rmdir(path), 0);

	/* A link, even to a stale socket, is not ours to remove. */
	snprintf(link_path, sizeof(link_path), "%s/stale.sock", dir);
	leave_stale_socket(link_path);
	ck_assert_int_eq(symlink(link_path, path), 0);
	ck_assert_int_eq(wm_unix_listener_open(path, 0600, (uid_t)-1, (gid_t)-1, 4), -EEXIST);
	ck_assert(S_ISLNK(stat_of(path).st_mode));
	ck_assert(S_ISSOCK(stat_of(link_path).st_mode));
}
END_TEST

START_TEST(test_bad_paths)
{
	char long_path[WM_UNIX_PATH_MAX + 8], no_dir[160];

	memset(long_path, 'p', sizeof(long_path) - 1);
	long_path[0] = '/';
	long_path[WM_UNIX_PATH_MAX] = '\0';	/* one character too many */
	ck_assert_int_eq(wm_unix_listener_open(long_path, 0600, (uid_t)-1, (gid_t)-1, 4),
			 -ENAMETOOLONG);
	snprintf(no_dir, sizeof(no_dir), "%s/no/such.sock", dir);
	ck_assert_int_eq(wm_unix_listener_open(no_dir, 0600, (uid_t)-1, (gid_t)-1, 4), -ENOENT);
}
END_TEST

static Suite *unix_listener_suite(void)
{
	Suite *s = suite_create("unix_listener");
	TCase *tc = tcase_create("unix_listener");

	tcase_add_unchecked_fixture(tc, make_base, remove_base);
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_listen_accept_close);
	tcase_add_test(tc, test_modes);
	tcase_add_test(tc, test_group_of_root);
	tcase_add_test(tc, test_chown_refused);
	tcase_add_test(tc, test_live_socket_refused);
	tcase_add_test(tc, test_full_backlog_is_live);
	tcase_add_test(tc, test_stale_socket_replaced);
	tcase_add_test(tc, test_other_files_left_alone);
	tcase_add_test(tc, test_bad_paths);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(unix_listener_suite());
	int failures;

	srunner_run_all(sr, CK_NORMAL);
	failures = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failures != 0;
}
