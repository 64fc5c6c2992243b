/* SPDX-License-Identifier: MIT */
#include "common/unix_listener.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* 0 when path is free (a stale socket there was removed), else -errno. */
static int claim_path(const struct sockaddr_un *addr)
{
	struct stat st;
	int fd, err;

	if (lstat(addr->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	/* Non-blocking: a live server with a full backlog says EAGAIN instead of stalling us. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	err = connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) < 0 ? errno : 0;
	close(fd);
	if (err == ECONNREFUSED) {
		/* Left by a process that died. */
		if (unlink(addr->sun_path) < 0 && errno != ENOENT)
			return -errno;
		return 0;
	}
	if (err == ENOENT)
		return 0;
	if (err == 0 || err == EAGAIN || err == EINPROGRESS)
		return -EADDRINUSE;
	return -err;
}

int wm_unix_listener_open(const char *path, mode_t mode, uid_t owner, gid_t group, int backlog)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	mode_t old_umask;
	int fd, err;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, path);
	err = claim_path(&addr);
	if (err < 0)
		return err;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Born with the owner's bits only, so it is never more open than it ends up. The umask
	 * is the process's: a thread that creates files meanwhile gets this one. */
	old_umask = umask(0777 & ~(mode & 0700));
	err = bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ? -errno : 0;
	umask(old_umask);
	if (err < 0) {
		close(fd);
		return err;
	}
	if (((owner != (uid_t)-1 || group != (gid_t)-1) && chown(path, owner, group) < 0) ||
	    ((mode & 07777) != (mode & 0700) && chmod(path, mode & 07777) < 0) ||
	    listen(fd, backlog) < 0) {
		err = -errno;
		unlink(path);
		close(fd);
		return err;
	}
	return fd;
}

int wm_unix_listener_accept(int listen_fd)
{
	int fd;

	do
		fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	return fd < 0 ? -errno : fd;
}

void wm_unix_listener_close(int listen_fd, const char *path)
{
	if (listen_fd >= 0)
		close(listen_fd);
	if (path)
		unlink(path);
}
