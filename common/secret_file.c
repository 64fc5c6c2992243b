/* SPDX-License-Identifier: MIT */
#include "common/secret_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t w = write(fd, data, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		data += w;
		len -= (size_t)w;
	}
	return 0;
}

static int sync_dir(int dirfd)
{
	int fd = dirfd, ret;

	if (dirfd == AT_FDCWD && (fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	ret = fsync(fd) ? -errno : 0;
	if (fd != dirfd)
		close(fd);
	return ret;
}

static int exists(int dirfd, const char *name)
{
	struct stat sb;

	if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0)
		return -EEXIST;
	return errno == ENOENT ? 0 : -errno;
}

/* Moves the written temp file to name; CREATE links, so that an existing name is never hit. */
static int put_in_place(int dirfd, const char *tmp, const char *name, enum wm_secret_file_how how)
{
	int ret;

	if (how == WM_SECRET_FILE_REPLACE)
		return renameat(dirfd, tmp, dirfd, name) ? -errno : 0;
	if (linkat(dirfd, tmp, dirfd, name, 0) == 0) {
		unlinkat(dirfd, tmp, 0);	/* if this fails, the next write removes it */
		return 0;
	}
	if (errno != EPERM && errno != EOPNOTSUPP)
		return -errno;
	/* A file system without hard links: rename, after one more look. */
	if ((ret = exists(dirfd, name)) < 0)
		return ret;
	return renameat(dirfd, tmp, dirfd, name) ? -errno : 0;
}

int wm_secret_file_write_at(int dirfd, const char *name, const void *data, size_t len,
			    enum wm_secret_file_how how)
{
	char tmp[NAME_MAX + 1];
	int fd, ret;

	if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return -EINVAL;
	if ((size_t)snprintf(tmp, sizeof(tmp), ".%s.tmp", name) >= sizeof(tmp))
		return -ENAMETOOLONG;
	/* Before anything is made: an existing file is no error about the directory. */
	if (how == WM_SECRET_FILE_CREATE && (ret = exists(dirfd, name)) < 0)
		return ret;
	/* A temp file left by a crash may have any mode: start afresh. */
	if (unlinkat(dirfd, tmp, 0) && errno != ENOENT)
		return -errno;
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	/* The umask may have taken bits from 0600; no other mode is right. */
	ret = fchmod(fd, 0600) ? -errno : 0;
	if (!ret)
		ret = write_all(fd, data, len);
	if (!ret && fsync(fd))
		ret = -errno;
	if (close(fd) && !ret)
		ret = -errno;
	if (!ret)
		ret = put_in_place(dirfd, tmp, name, how);
	if (ret) {
		unlinkat(dirfd, tmp, 0);
		return ret;
	}
	return sync_dir(dirfd);
}

int wm_secret_file_write(const char *path, const void *data, size_t len,
			 enum wm_secret_file_how how)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];
	size_t dir_len;
	int dirfd, ret;

	if (!slash)
		return wm_secret_file_write_at(AT_FDCWD, path, data, len, how);
	dir_len = slash == path ? 1 : (size_t)(slash - path);
	if (dir_len >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, path, dir_len);
	dir[dir_len] = '\0';
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	ret = wm_secret_file_write_at(dirfd, slash + 1, data, len, how);
	close(dirfd);
	return ret;
}
