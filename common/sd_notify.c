/* SPDX-License-Identifier: MIT */
#include "common/sd_notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int wm_sd_notify_address(const char *text, struct sockaddr_un *sa, socklen_t *len)
{
	size_t n = text ? strlen(text) : 0;

	if (n < 2 || (text[0] != '/' && text[0] != '@'))
		return -EINVAL;
	if (n > sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, text, n);
	/* An abstract name starts with a NUL byte and is exactly as long as given, no NUL after;
	 * a path is NUL-terminated when there is room, and the length covers it either way. */
	if (text[0] == '@')
		sa->sun_path[0] = '\0';
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	return 0;
}

int wm_sd_notify(const char *state)
{
	const char *where = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	socklen_t len;
	ssize_t sent;
	int fd, r, err;

	if (!where || !*where)
		return 0;
	if ((r = wm_sd_notify_address(where, &sa, &len)) < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	sent = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
	err = errno;
	close(fd);
	if (sent < 0)
		return -err;
	return (size_t)sent == strlen(state) ? 1 : -EMSGSIZE;
}

int wm_sd_notify_status(const char *message)
{
	char line[512];

	snprintf(line, sizeof(line), "STATUS=%.*s", (int)strcspn(message, "\n"), message);
	return wm_sd_notify(line);
}
