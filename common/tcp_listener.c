/* SPDX-License-Identifier: MIT */
#include "common/tcp_listener.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int wm_listen_addr_parse(struct wm_endpoint *ep, const char *text)
{
	memset(ep, 0, sizeof(*ep));
	if (text[0] == ':') {
		char *end;
		long port = strtol(text + 1, &end, 10);

		if (!text[1] || *end || port < 0 || port > 65535)
			return -EINVAL;
		ep->addr.in6.sin6_family = AF_INET6;
		ep->addr.in6.sin6_addr = in6addr_any;
		ep->addr.in6.sin6_port = htons((uint16_t)port);
		return 0;
	}
	return wm_endpoint_parse(ep, text) ? -EINVAL : 0;
}

int wm_tcp_listen(const char *text, int backlog, char *err, size_t errlen)
{
	struct wm_endpoint ep;
	int one = 1, zero = 0, fd, e;

	if (wm_listen_addr_parse(&ep, text)) {
		snprintf(err, errlen, "'%s' is not ADDR:PORT, [V6ADDR]:PORT or :PORT", text);
		return -EINVAL;
	}
	fd = socket(ep.addr.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 && errno == EAFNOSUPPORT && text[0] == ':') {
		/* No IPv6 on this host: ":PORT" means every IPv4 address then. */
		uint16_t port = ep.addr.in6.sin6_port;

		memset(&ep, 0, sizeof(ep));
		ep.addr.in4.sin_family = AF_INET;
		ep.addr.in4.sin_port = port;
		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	}
	if (fd < 0) {
		e = errno;
		snprintf(err, errlen, "socket: %s", strerror(e));
		return -e;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ep.addr.sa.sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, &ep.addr.sa, wm_endpoint_socklen(&ep)) || listen(fd, backlog)) {
		e = errno;
		snprintf(err, errlen, "cannot listen on %s: %s", text, strerror(e));
		close(fd);
		return -e;
	}
	return fd;
}
