/* SPDX-License-Identifier: MIT */
#include "common/sockmark.h"

#include <errno.h>
#include <sys/socket.h>

static uint32_t process_mark;

void wm_sockmark_set(uint32_t mark)
{
	__atomic_store_n(&process_mark, mark, __ATOMIC_RELAXED);
}

uint32_t wm_sockmark_get(void)
{
	return __atomic_load_n(&process_mark, __ATOMIC_RELAXED);
}

int wm_sockmark_apply(int fd)
{
	uint32_t mark = wm_sockmark_get();

	if (!mark)
		return 0;
#ifdef SO_MARK
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0)
		return -errno;
	return 0;
#else
	(void)fd;
	return -EOPNOTSUPP;
#endif
}
