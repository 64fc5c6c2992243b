/* SPDX-License-Identifier: MIT */
/*
 * The STUN binding server (net/stunserver/stunserver.go): each binding request is answered with
 * the address it came from in XOR-MAPPED-ADDRESS. Tailscale's server also insists on SOFTWARE
 * "tailnode"; this one answers any well-formed binding request (a valid FINGERPRINT, if there
 * is one), which Tailscale clients send too. The reply is never larger than the request plus
 * 24 bytes, and nothing else is ever sent, so the server is a poor amplifier.
 */
#include "relay-server/stun_server.h"

#include <errno.h>
#include <ev.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/endpoint.h"
#include "common/stun.h"

#define STUN_BATCH 64	/* datagrams per wakeup */

struct wm_relay_stun {
	struct ev_loop *loop;
	struct wm_relay_stun_counters *n;
	int fd;
	ev_io io;
};

/*
 * Sends a reply to the request's sender from the address the request came to, as stunserver.go
 * does: on a host with several addresses a reply from another one would not get back through
 * the client's NAT.
 */
static bool send_reply(int fd, struct msghdr *req, const uint8_t *out, size_t len)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = (void *)out, .iov_len = len };
	struct msghdr msg = { .msg_name = req->msg_name, .msg_namelen = req->msg_namelen,
			      .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm, *c;

	memset(&ctl, 0, sizeof(ctl));
	for (cm = CMSG_FIRSTHDR(req); cm; cm = CMSG_NXTHDR(req, cm)) {
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			pi.ipi_ifindex = 0;
			pi.ipi_spec_dst = pi.ipi_addr;
			msg.msg_control = ctl.buf;
			msg.msg_controllen = CMSG_SPACE(sizeof(pi));
			c = CMSG_FIRSTHDR(&msg);
			c->cmsg_level = IPPROTO_IP;
			c->cmsg_type = IP_PKTINFO;
			c->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(c), &pi, sizeof(pi));
			break;
		}
		if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			pi.ipi6_ifindex = 0;
			msg.msg_control = ctl.buf;
			msg.msg_controllen = CMSG_SPACE(sizeof(pi));
			c = CMSG_FIRSTHDR(&msg);
			c->cmsg_level = IPPROTO_IPV6;
			c->cmsg_type = IPV6_PKTINFO;
			c->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(c), &pi, sizeof(pi));
			break;
		}
	}
	return sendmsg(fd, &msg, 0) == (ssize_t)len;
}

static void on_datagram(struct ev_loop *loop, ev_io *w, int revents)
{
	struct wm_relay_stun *s = w->data;

	(void)loop;
	(void)revents;
	for (int i = 0; i < STUN_BATCH; i++) {
		uint8_t buf[1500], out[WM_STUN_RESPONSE_MAX];
		union {
			char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
			struct cmsghdr align;
		} ctl;
		struct wm_stun_request req;
		struct wm_endpoint from, mapped;
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr msg = { .msg_name = &from.addr, .msg_namelen = sizeof(from.addr),
				      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
				      .msg_controllen = sizeof(ctl.buf) };
		ssize_t n, m;

		memset(&from, 0, sizeof(from));
		n = recvmsg(s->fd, &msg, 0);
		if (n < 0)
			return;
		s->n->requests++;
		if ((msg.msg_flags & MSG_TRUNC) || wm_stun_request_parse(&req, buf, (size_t)n)) {
			s->n->bad++;
			continue;
		}
		/* A v4 client on a dual-stack socket is seen as ::ffff:a.b.c.d: answer a.b.c.d. */
		mapped = from;
		if (from.addr.sa.sa_family == AF_INET6 &&
		    IN6_IS_ADDR_V4MAPPED(&from.addr.in6.sin6_addr)) {
			memset(&mapped, 0, sizeof(mapped));
			mapped.addr.in4.sin_family = AF_INET;
			mapped.addr.in4.sin_port = from.addr.in6.sin6_port;
			memcpy(&mapped.addr.in4.sin_addr, from.addr.in6.sin6_addr.s6_addr + 12, 4);
		}
		m = wm_stun_response_encode(out, sizeof(out), req.txid, &mapped);
		if (m <= 0)
			continue;
		if (send_reply(s->fd, &msg, out, (size_t)m))
			s->n->replies++;
	}
}


struct wm_relay_stun *wm_relay_stun_start(struct ev_loop *loop, const char *text,
					  const struct sockaddr *sa, socklen_t len,
					  struct wm_relay_stun_counters *n, char *err,
					  size_t errlen)
{
	struct wm_relay_stun *s = calloc(1, sizeof(*s));
	int zero = 0, one = 1;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->loop = loop;
	s->n = n;
	s->fd = socket(sa->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd >= 0 && sa->sa_family == AF_INET6) {
		setsockopt(s->fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		setsockopt(s->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
	} else if (s->fd >= 0) {
		setsockopt(s->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	}
	if (s->fd < 0 || bind(s->fd, sa, len)) {
		snprintf(err, errlen, "STUN on %s: %s", text, strerror(errno));
		if (s->fd >= 0)
			close(s->fd);
		free(s);
		return NULL;
	}
	ev_io_init(&s->io, on_datagram, s->fd, EV_READ);
	s->io.data = s;
	ev_io_start(loop, &s->io);
	return s;
}

void wm_relay_stun_stop(struct wm_relay_stun *s)
{
	if (!s)
		return;
	ev_io_stop(s->loop, &s->io);
	close(s->fd);
	free(s);
}

int wm_relay_stun_fd(const struct wm_relay_stun *s)
{
	return s->fd;
}
